"""`saraban circular issue|forward`, `saraban receive`, `saraban status`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from saraban.chain.circulars import (
    CircularError,
    cancel_letter,
    find_letter,
    forward,
    issue_circular,
    make_files,
    receive,
)
from saraban.chain.status import as_dict, as_text, letter_status, mail_problems, mail_problems_text
from saraban.directory.levels import DirectoryError
from saraban.faces.cli.common import fail, open_data
from saraban.letters.paper.pdf import PdfError
from saraban.letters.spec import SpecError, load_spec

app = typer.Typer(help="Issue and forward circulars (หนังสือเวียน).", no_args_is_help=True)

Selector = Annotated[str, typer.Option(
    "--to", help="Recipients: unit keys separated by commas, or a rule such as 'all:province_office', "
                 "'province:กระบี่:district_office', 'under:amphoe.8101', 'children:prov.81'.")]


def _guard(action):
    try:
        return action()
    except SpecError as e:
        fail("\n".join(["the spec has problems — nothing was issued:", *[f"  - {p}" for p in e.problems]]))
    except (CircularError, DirectoryError, PdfError) as e:
        fail(str(e))


@app.command("issue")
def issue_command(
    spec: Annotated[Path, typer.Argument(help="The circular's letter spec (.yaml), without 'ref'.")],
    sender: Annotated[str, typer.Option("--from", help="The issuing unit's key, e.g. dla.env.2.")],
    to: Selector,
    pdf: Annotated[bool, typer.Option("--pdf", help="Also make the PDFs (LibreOffice).")] = False,
) -> None:
    """Number a circular in the sender's ว series, record it, and make every recipient's copy."""
    settings, db = open_data()
    issued = _guard(lambda: issue_circular(db, settings, load_spec(spec), sender_key=sender, to=to))
    if pdf:
        _guard(lambda: make_files(db, settings, [issued.letter_id], pdf=True))
    word = "issued" if issued.new else "already issued (nothing new numbered)"
    typer.echo(f"{word}: letter {issued.letter_id}, ที่ {issued.ref}, {issued.recipients} recipients")
    typer.echo(f"files: {settings.output_dir / 'letters'}")


@app.command("forward")
def forward_command(
    letter: Annotated[str, typer.Argument(help="The received letter: its id or its reference number.")],
    unit: Annotated[str, typer.Option("--unit", help="The unit that forwards (it must have received it).")],
    to: Annotated[str | None, typer.Option("--to", help="Recipients (default: the next level of the chain).")]
    = None,
    pdf: Annotated[bool, typer.Option("--pdf", help="Also make the PDFs (LibreOffice).")] = False,
) -> None:
    """Make the unit's own circular that carries a received one on, with its own ว number."""
    settings, db = open_data()
    issued = _guard(lambda: forward(db, settings, letter, unit, to))
    if pdf:
        _guard(lambda: make_files(db, settings, [issued.letter_id], pdf=True))
    word = "forwarded" if issued.new else "already forwarded"
    typer.echo(f"{word}: letter {issued.letter_id}, ที่ {issued.ref}, {issued.recipients} recipients")


@app.command("cancel")
def cancel_command(
    letter: Annotated[str, typer.Argument(help="The letter: its id or its reference number.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is cancelled (kept in the register).")],
    actor: Annotated[str, typer.Option("--by", help="Who cancels it (kept in the event log).")] = "saraban",
) -> None:
    """ยกเลิก a letter: it keeps its number; the send register gets a cancellation line."""
    settings, db = open_data()
    number = _guard(lambda: cancel_letter(db, letter, reason=reason, actor=actor))
    typer.echo(f"cancelled: the cancellation is line {number} of the send register")


def receive_command(
    letter: Annotated[str, typer.Argument(help="The letter: its id or its reference number.")],
    unit: Annotated[str, typer.Option("--unit", help="The receiving unit's key.")],
) -> None:
    """ลงรับ: give the letter the next number of the unit's receive register and stamp its PDF copy."""
    settings, db = open_data()
    r = _guard(lambda: receive(db, settings, letter, unit))
    word = "received" if r.new else "already received"
    typer.echo(f"{word}: เลขรับ {r.number}/{r.year} at {r.received_at:%Y-%m-%d %H:%M}")
    if r.stamped_pdf:
        typer.echo(f"stamped copy: {r.stamped_pdf}")


def status_command(
    letter: Annotated[str, typer.Argument(help="The letter: its id or its reference number.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Write the status report to this folder (status-<letter id>.docx and .xlsx) and print "
                         "the paths of the two files instead of the tree.", file_okay=False, show_default=False)]
    = None,
) -> None:
    """Who has the letter and who does not: per level and per unit, down the whole chain."""
    from saraban.reports.status import write_status_report

    if as_json and report is not None:
        fail("--json and --report do not go together: the one prints the status, the other the report's files")
    settings, db = open_data()

    def find() -> int:
        with db.transaction() as s:
            return find_letter(s, letter).id

    status = letter_status(db, _guard(find))
    if report is not None:
        try:
            paths = write_status_report(status, report, settings)
        except OSError as e:
            fail(f"could not write the report to {report}: {e}")
        for path in paths:
            typer.echo(str(path))
        return
    problems = mail_problems(db, status)
    if as_json:
        typer.echo(json.dumps(as_dict(status) | {"mail_problems": problems}, ensure_ascii=False, indent=1))
    else:
        typer.echo(as_text(status))
        if problems:
            typer.echo("\n" + mail_problems_text(problems))
