"""`saraban directory`: the directory of units — import, show as a tree, select, edit, load the skeleton.

Every command opens the configured database (``SARABAN_DATABASE_URL`` or SQLite in the data folder) and
loads the built-in skeleton first when the directory is empty. Problems → a red message, exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from saraban.directory.imports import DirectoryImportError, import_units, update_unit
from saraban.directory.levels import DirectoryError
from saraban.directory.selectors import select_units
from saraban.directory.skeleton import add_synthetic_local_layer, ensure_directory, load_municipalities, load_skeleton
from saraban.directory.units import level_counts, render_tree
from saraban.records.db import Database, open_database

app = typer.Typer(help="The directory of units (ทำเนียบหน่วยงาน): offices, their chain, letter codes, e-mails.",
                  no_args_is_help=True)


def fail(message: str) -> None:
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(2)


def _open() -> Database:
    db = open_database()
    added = ensure_directory(db)
    if added:
        typer.echo(f"Loaded the built-in directory: {added} units / โหลดทำเนียบหน่วยงานพื้นฐาน {added} หน่วย",
                   err=True)
    return db


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A .csv (header key,name,level,parent,letter_code,email,phone,"
                                              "address,sender_name,short_name) or .yaml file.",
                                         show_default=False)],
    update: Annotated[bool, typer.Option(
        "--update", help="Change units already in the directory to what the file says.")] = False,
) -> None:
    """Import units from a CSV or YAML file, all or nothing.

    Every row is checked first: any bad row → each problem listed, nothing imported, exit code 2.
    Importing the same file again changes nothing."""
    try:
        db = _open()
        with db.transaction() as session:
            report = import_units(session, file, update=update)
    except DirectoryImportError as e:
        typer.secho(str(e).splitlines()[0], err=True, fg=typer.colors.RED)
        for problem in e.problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(2) from None
    except DirectoryError as e:
        fail(str(e))
    typer.secho(str(report), fg=typer.colors.GREEN)


@app.command("show")
def show(
    unit: Annotated[str | None, typer.Argument(
        help="A unit's key (or exact name); default: the whole directory.", show_default=False)] = None,
    depth: Annotated[int | None, typer.Option(
        "--depth", min=0, help="Levels to show below the top (default: all below UNIT; 2 for the whole "
                               "directory).", show_default=False)] = None,
) -> None:
    """Show UNIT and the units below it as a tree.

    Each line: name, key, level, letter code ("?": not known for certain), e-mail."""
    try:
        db = _open()
        with db.transaction() as session:
            typer.echo(render_tree(session, unit, depth if depth is not None or unit else 2))
    except DirectoryError as e:
        fail(str(e))


@app.command("select")
def select(
    selector: Annotated[str, typer.Argument(
        help="Unit keys and rules, comma-separated: all:<level>, under:<key>[:<level>], children:<key>"
             "[:<level>], province:<code or name>[:<level>]; e.g. 'province:กระบี่:district_office,pao.81'.",
        show_default=False)],
) -> None:
    """List the units a selector names (the recipients of a circular)."""
    try:
        db = _open()
        with db.transaction() as session:
            units = select_units(session, selector)
            for u in units:
                typer.echo(f"{u.key}\t{u.name}")
    except DirectoryError as e:
        fail(str(e))
    typer.echo(f"{len(units)} unit(s) / {len(units)} หน่วยงาน", err=True)


@app.command("set")
def set_(
    key: Annotated[str, typer.Argument(help="The unit's key.", show_default=False)],
    name: Annotated[str | None, typer.Option(help="Its full name.", show_default=False)] = None,
    parent: Annotated[str | None, typer.Option(
        help="The key of the unit above it.", show_default=False)] = None,
    letter_code: Annotated[str | None, typer.Option(
        help="Its letter code, e.g. 'กบ 0023.6' (Thai or Arabic digits); '' clears it.",
        show_default=False)] = None,
    certain: Annotated[bool | None, typer.Option(
        "--certain/--uncertain", help="Whether the letter code is known for certain (default with "
                                      "--letter-code: certain).", show_default=False)] = None,
    email: Annotated[str | None, typer.Option(help="E-mail ('' clears it).", show_default=False)] = None,
    phone: Annotated[str | None, typer.Option(help="Phone.", show_default=False)] = None,
    address: Annotated[str | None, typer.Option(help="Address.", show_default=False)] = None,
    sender_name: Annotated[str | None, typer.Option(
        help="The name printed as the sender of its letters, e.g. จังหวัดกระบี่.", show_default=False)] = None,
    short_name: Annotated[str | None, typer.Option(
        help="Short name, e.g. สถจ.กระบี่.", show_default=False)] = None,
) -> None:
    """Change a unit's fields; print it as it is now."""
    changes = {k: v for k, v in {
        "name": name, "parent": parent, "letter_code": letter_code, "letter_code_certain": certain,
        "email": email, "phone": phone, "address": address, "sender_name": sender_name,
        "short_name": short_name}.items() if v is not None}
    if not changes:
        fail("nothing to change: give --letter-code, --email ... (see --help) / ไม่ได้ระบุสิ่งที่จะแก้ไข")
    try:
        db = _open()
        with db.transaction() as session:
            unit = update_unit(session, key, **changes)
            typer.echo(render_tree(session, unit.key, 0))
    except DirectoryError as e:
        fail(str(e))


@app.command("load-skeleton")
def load_skeleton_command(
    synthetic: Annotated[bool, typer.Option(
        "--synthetic", help="Also add one made-up local administration per subdistrict (7,256; for "
                            "benchmarks).")] = False,
) -> None:
    """Load the built-in directory; units already there are left as they are.

    Ministries, the department and its divisions, 76 provincial offices, 878 district offices, 76 PAOs
    and the municipalities of the field examples."""
    try:
        db = open_database()
        with db.transaction() as session:
            added = load_skeleton(session) + load_municipalities(session)
            if synthetic:
                added += add_synthetic_local_layer(session)
            counts = level_counts(session)
    except DirectoryError as e:
        fail(str(e))
    typer.echo(f"{added} unit(s) added / เพิ่ม {added} หน่วย")
    for level, count in counts.items():
        typer.echo(f"  {level}: {count}")
