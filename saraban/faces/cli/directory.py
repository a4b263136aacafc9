"""`saraban directory`: the directory of units — import, show as a tree, select, edit, load the skeleton.

Every command opens the configured database (``SARABAN_DATABASE_URL`` or SQLite in the data folder) and
loads the built-in skeleton first when the directory is empty. Problems → a red message, exit code 2.
A unit may be named by its key, its exact Thai name or a unique part of one. The core is imported inside
each command (see common.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from saraban.faces.cli.common import UNIT_HELP, current_actor, fail

if TYPE_CHECKING:
    from saraban.records.db import Database

app = typer.Typer(help="ทำเนียบหน่วยงาน: หน่วยงาน สายการบังคับบัญชา รหัสหนังสือ อีเมล / The directory of units: "
                       "offices, their chain, letter codes, e-mails.", no_args_is_help=True, rich_markup_mode=None)


def _open() -> Database:
    from saraban.directory.skeleton import ensure_directory
    from saraban.records.db import open_database

    db = open_database()
    current_actor()  # events of this process say they came from the CLI
    added = ensure_directory(db)
    if added:
        typer.echo(f"โหลดทำเนียบหน่วยงานพื้นฐาน {added} หน่วย / Loaded the built-in directory: {added} units",
                   err=True)
    return db


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="ไฟล์ .csv (หัวตาราง key,name,level,parent,letter_code,email,phone,"
                                              "address,sender_name,short_name) หรือ .yaml / A .csv or .yaml file.",
                                         show_default=False)],
    update: Annotated[bool, typer.Option(
        "--update", help="แก้หน่วยงานที่มีอยู่แล้วตามไฟล์ / Change units already in the directory to what the "
                         "file says.")] = False,
) -> None:
    """นำเข้าหน่วยงานจาก CSV หรือ YAML / Import units.

    นำเข้าหน่วยงานจากไฟล์ CSV หรือ YAML ทั้งหมดหรือไม่นำเข้าเลย / Import units from a CSV or YAML file, all
    or nothing.

    ตรวจทุกแถวก่อน: แถวใดผิด → แสดงทุกปัญหา ไม่นำเข้า exit code 2 / Every row is checked first: any bad row →
    each problem listed, nothing imported, exit code 2. Importing the same file again changes nothing."""
    from saraban.directory.imports import DirectoryImportError, import_units
    from saraban.directory.levels import DirectoryError

    try:
        db = _open()
        with db.transaction() as session:
            report = import_units(session, file, update=update, actor=current_actor())
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
        help=f"หน่วยงาน (ค่าเริ่มต้น: ทั้งทำเนียบ) / A unit: {UNIT_HELP}; default: the whole directory.",
        show_default=False)] = None,
    depth: Annotated[int | None, typer.Option(
        "--depth", min=0, help="จำนวนระดับที่แสดงใต้หน่วยงาน / Levels to show below the top (default: all below "
                               "UNIT; 2 for the whole directory).", show_default=False)] = None,
) -> None:
    """แสดงหน่วยงานในสังกัด / Show a unit's tree.

    แสดงหน่วยงานและหน่วยงานในสังกัดเป็นแผนภูมิ / Show UNIT and the units below it as a tree.

    แต่ละบรรทัด: ชื่อ รหัส ระดับ รหัสหนังสือ ("?": ยังไม่แน่นอน) อีเมล / Each line: name, key, level, letter
    code ("?": not known for certain), e-mail."""
    from saraban.directory.levels import DirectoryError
    from saraban.directory.units import render_tree

    try:
        db = _open()
        with db.transaction() as session:
            typer.echo(render_tree(session, unit, depth if depth is not None or unit else 2))
    except DirectoryError as e:
        fail(str(e))


@app.command("select")
def select(
    selector: Annotated[str, typer.Argument(
        help="หน่วยงาน (รหัสหรือชื่อ) และกฎ คั่นด้วยจุลภาค / Units (key or name) and rules, comma-separated: "
             "all:<level>, under:<unit>[:<level>], children:<unit>[:<level>], province:<code or name>[:<level>]; "
             "e.g. 'province:กระบี่:district_office,pao.81'.", show_default=False)],
) -> None:
    """ผู้รับตามตัวเลือก / List a selector's units.

    แสดงหน่วยงานที่ตัวเลือกผู้รับระบุ (ผู้รับหนังสือเวียน) / List the units a selector names (the recipients
    of a circular)."""
    from saraban.directory.levels import DirectoryError
    from saraban.directory.selectors import select_units

    try:
        db = _open()
        with db.transaction() as session:
            units = select_units(session, selector)
            for u in units:
                typer.echo(f"{u.key}\t{u.name}")
    except DirectoryError as e:
        fail(str(e))
    typer.echo(f"{len(units)} หน่วยงาน / {len(units)} unit(s)", err=True)


@app.command("set")
def set_(
    unit: Annotated[str, typer.Argument(help=f"หน่วยงาน / The unit: {UNIT_HELP}.", show_default=False)],
    name: Annotated[str | None, typer.Option(help="ชื่อเต็ม / Its full name.", show_default=False)] = None,
    parent: Annotated[str | None, typer.Option(
        help="หน่วยงานต้นสังกัด (รหัสหรือชื่อ) / The unit above it (key or name).", show_default=False)] = None,
    letter_code: Annotated[str | None, typer.Option(
        help="รหัสหนังสือ เช่น 'กบ 0023.6' ('' ล้างค่า) / Its letter code (Thai or Arabic digits); '' clears it.",
        show_default=False)] = None,
    certain: Annotated[bool | None, typer.Option(
        "--certain/--uncertain", help="รหัสหนังสือแน่นอนหรือไม่ / Whether the letter code is known for certain "
                                      "(default with --letter-code: certain).", show_default=False)] = None,
    email: Annotated[str | None, typer.Option(help="อีเมล ('' ล้างค่า) / E-mail ('' clears it).",
                                              show_default=False)] = None,
    phone: Annotated[str | None, typer.Option(help="โทรศัพท์ / Phone.", show_default=False)] = None,
    address: Annotated[str | None, typer.Option(help="ที่อยู่ / Address.", show_default=False)] = None,
    sender_name: Annotated[str | None, typer.Option(
        help="ชื่อที่พิมพ์เป็นผู้ส่ง เช่น จังหวัดกระบี่ / The name printed as the sender of its letters.",
        show_default=False)] = None,
    short_name: Annotated[str | None, typer.Option(
        help="ชื่อย่อ เช่น สถจ.กระบี่ / Short name.", show_default=False)] = None,
) -> None:
    """แก้ข้อมูลหน่วยงาน / Change a unit.

    แก้ข้อมูลหน่วยงาน แล้วแสดงข้อมูลปัจจุบัน / Change a unit's fields; print it as it is now."""
    from saraban.directory.imports import update_unit
    from saraban.directory.levels import DirectoryError
    from saraban.directory.units import render_tree, resolve_unit

    changes = {k: v for k, v in {
        "name": name, "parent": parent, "letter_code": letter_code, "letter_code_certain": certain,
        "email": email, "phone": phone, "address": address, "sender_name": sender_name,
        "short_name": short_name}.items() if v is not None}
    if not changes:
        fail("ไม่ได้ระบุสิ่งที่จะแก้ไข / nothing to change: give --letter-code, --email ... (see --help)")
    try:
        db = _open()
        with db.transaction() as session:
            key = resolve_unit(session, unit).key
            if changes.get("parent"):
                changes["parent"] = resolve_unit(session, changes["parent"]).key
            changed = update_unit(session, key, actor=current_actor(), **changes)
            typer.echo(render_tree(session, changed.key, 0))
    except DirectoryError as e:
        fail(str(e))


@app.command("load-skeleton")
def load_skeleton_command(
    synthetic: Annotated[bool, typer.Option(
        "--synthetic", help="เพิ่ม อปท. สมมติตำบลละหนึ่งแห่ง (7,256 แห่ง สำหรับวัดความเร็ว) / Also add one made-up "
                            "local administration per subdistrict (7,256; for benchmarks).")] = False,
) -> None:
    """โหลดทำเนียบพื้นฐาน / Load the built-in directory.

    โหลดทำเนียบพื้นฐาน หน่วยงานที่มีอยู่แล้วคงเดิม / Load the built-in directory; units already there are
    left as they are.

    Ministries, the department and its divisions, 76 provincial offices, 878 district offices, 76 PAOs
    and the municipalities of the field examples."""
    from saraban.directory.levels import DirectoryError
    from saraban.directory.skeleton import add_synthetic_local_layer, load_municipalities, load_skeleton
    from saraban.directory.units import level_counts
    from saraban.records.db import open_database

    try:
        db = open_database()
        with db.transaction() as session:
            actor = current_actor()
            added = load_skeleton(session, actor) + load_municipalities(session, actor)
            if synthetic:
                added += add_synthetic_local_layer(session, actor=actor)
            counts = level_counts(session)
    except DirectoryError as e:
        fail(str(e))
    typer.echo(f"เพิ่ม {added} หน่วย / {added} unit(s) added")
    for level, count in counts.items():
        typer.echo(f"  {level}: {count}")
