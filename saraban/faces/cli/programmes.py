"""`saraban programme create|show|invite` and `saraban apply` (register ``apply_command`` at the top level)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from saraban.directory.levels import DirectoryError
from saraban.directory.skeleton import ensure_directory
from saraban.kernel.settings import load_settings
from saraban.letters.paper.pdf import PdfError
from saraban.letters.spec import SpecError
from saraban.programmes.applications import apply, create_programme, describe, get_programme, send_invitation
from saraban.programmes.definitions import ProgrammeError, load_programme_file
from saraban.records.db import open_database

app = typer.Typer(help="Programmes local administrations apply to (โครงการ): define, show, invite.",
                  no_args_is_help=True)


def _database():
    settings = load_settings()
    db = open_database(settings)
    ensure_directory(db)
    return settings, db


def _fail(problems: list[str]) -> None:
    if len(problems) == 1:
        typer.secho(problems[0], err=True, fg=typer.colors.RED)
    else:
        typer.secho(f"{len(problems)} problem(s) — nothing was written / พบข้อผิดพลาด ไม่มีการบันทึก:", err=True,
                    fg=typer.colors.RED)
        for problem in problems:
            typer.echo(f"  - {problem}", err=True)
    raise typer.Exit(2)


def _guard(action):
    try:
        return action()
    except (ProgrammeError, SpecError) as e:
        _fail(e.problems)
    except (DirectoryError, PdfError) as e:
        _fail([str(e)])


@app.command("create")
def create_command(
    file: Annotated[Path, typer.Argument(help="The programme's definition (.yaml).")],
    update: Annotated[bool, typer.Option("--update", help="Replace the definition of a programme already "
                                                          "recorded under the same key.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Only check the file; write nothing.")] = False,
) -> None:
    """Record a programme from its YAML definition (the same file again changes nothing)."""
    if check:
        d = _guard(lambda: load_programme_file(file))
        typer.echo(f"ok  {file}: {d['key']} — {d['name']}")
        return
    settings, db = _database()
    programme = _guard(lambda: create_programme(db, file, update=update))
    typer.echo(f"programme {programme.key}: {programme.name} ประจำปี {programme.year} (id {programme.id})")


@app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="The programme's key (or its exact name).")],
) -> None:
    """The programme: owner, window, eligibility, assessment structure, invitation, applications."""
    settings, db = _database()

    def text() -> str:
        with db.transaction() as s:
            return describe(s, get_programme(s, name))

    typer.echo(_guard(text))


@app.command("invite")
def invite_command(
    name: Annotated[str, typer.Argument(help="The programme's key.")],
    to: Annotated[str, typer.Option("--to", help="Recipients: a selector such as 'all:subdistrict_municipality', "
                                                 "'province:สระบุรี:local' or 'ทุกจังหวัด'.")],
) -> None:
    """Issue the programme's invitation as a circular of its owner (each copy's QR opens the application)."""
    settings, db = _database()
    issued = _guard(lambda: send_invitation(db, settings, name, to=to))
    word = "issued" if issued.new else "already issued (nothing new numbered)"
    typer.echo(f"{word}: letter {issued.letter_id}, ที่ {issued.ref}, {issued.recipients} recipients")


def _scores(items: list[str], file: Path | None) -> dict[str, str] | None:
    scores: dict[str, str] = {}
    if file is not None:
        import yaml

        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8-sig"))
        except (OSError, yaml.YAMLError) as e:
            _fail([f"--scores {file}: cannot read it: {e}"])
        if not isinstance(data, dict):
            _fail([f"--scores {file}: expected a mapping of indicator: score"])
        scores |= {str(k): v for k, v in data.items()}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            _fail([f"--score '{item}': expected INDICATOR=SCORE, e.g. 1.1=4"])
        scores[key.strip()] = value.strip()
    return scores or None


def apply_command(
    programme: Annotated[str, typer.Argument(help="The programme's key, e.g. eco-town-2565.")],
    unit: Annotated[str, typer.Option("--unit", help="The applying unit's key, e.g. muni.1913.naphralan.")],
    contact: Annotated[str, typer.Option("--contact", help="The contact person's name (ผู้ประสานงาน).")],
    email: Annotated[str | None, typer.Option("--email", help="The contact's e-mail (the acknowledgement "
                                                              "goes there and to the unit's e-mail).")] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="The contact's phone.")] = None,
    position: Annotated[str | None, typer.Option("--position", help="The contact's position.")] = None,
    score: Annotated[list[str] | None, typer.Option("--score", help="A self-assessment score, INDICATOR=SCORE "
                                                                    "(repeat it).")] = None,
    scores_file: Annotated[Path | None, typer.Option("--scores", help="Self-assessment scores: a YAML "
                                                                      "mapping of indicator: score.")] = None,
    at: Annotated[datetime | None, typer.Option("--at", help="When it was submitted (Thai time; default now).",
                                                formats=["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M",
                                                         "%Y-%m-%dT%H:%M:%S"])] = None,
) -> None:
    """Apply a unit to a programme; a second application updates the first. The first is acknowledged by
    a หนังสือประทับตรา numbered in the owner's send register, and by e-mail."""
    settings, db = _database()
    given = {"name": contact, "email": email, "phone": phone, "position": position}
    result = _guard(lambda: apply(db, settings, programme, unit, contact={k: v for k, v in given.items() if v},
                                  scores=_scores(score or [], scores_file), at=at))
    if result.new:
        typer.echo(f"application {result.application_id} recorded; acknowledgement: letter {result.ack_letter_id}, "
                   f"ที่ {result.ack_ref}")
    else:
        typer.echo(f"application {result.application_id} updated (revision {result.revision}); no new "
                   f"acknowledgement letter (ที่ {result.ack_ref})")
    if result.provisional_level:
        typer.echo(f"provisional level (self-assessment): {result.provisional_level}")
    if result.mail is None:
        typer.echo("e-mail: no address (give --email or set the unit's e-mail)")
    elif result.mail.ok:
        typer.echo(f"e-mail sent to {', '.join(result.mail.to)}")
    else:
        typer.secho(f"e-mail not sent: {result.mail.error}", fg=typer.colors.YELLOW)
