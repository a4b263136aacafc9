"""`saraban register export`: a unit's register (ทะเบียนหนังสือรับ / ส่ง) of one B.E. year to .xlsx / .docx."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from saraban.kernel.settings import load_settings
from saraban.records.db import open_database
from saraban.records.registers import RegisterError
from saraban.reports.registers import export_register
from thai_text import be_year

app = typer.Typer(help="Registers (ทะเบียนหนังสือรับ / ทะเบียนหนังสือส่ง): print them as tables.",
                  no_args_is_help=True)


class Series(StrEnum):
    receive = "receive"
    send = "send"
    circular = "circular"


class Format(StrEnum):
    xlsx = "xlsx"
    docx = "docx"
    both = "both"


class Digits(StrEnum):
    thai = "thai"
    arabic = "arabic"


@app.callback()
def registers() -> None:
    """Registers (ทะเบียนหนังสือรับ / ทะเบียนหนังสือส่ง): print them as tables."""


def fail(message: str) -> None:
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(2)


@app.command("export")
def export(
    unit: Annotated[str, typer.Argument(help="The unit's key (as in the directory of units).",
                                        show_default=False)],
    series: Annotated[Series, typer.Option(
        "--series", help="receive: ทะเบียนหนังสือรับ; send: ทะเบียนหนังสือส่ง; circular: the ว series.",
        show_default=False)],
    year: Annotated[int | None, typer.Option(
        "--year", help="B.E. calendar year, e.g. 2567 (default: this year).", show_default=False)] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Folder to write to (default: <data folder>/out/registers).",
        show_default=False)] = None,
    fmt: Annotated[Format, typer.Option("--format", help="xlsx, docx or both.")] = Format.both,
    digits: Annotated[Digits, typer.Option(
        "--digits", help="Print digits as Thai (๑๒๓) or Arabic.")] = Digits.thai,
) -> None:
    """Export UNIT's register of one series and year; print each file written. Exit code 2 when the unit,
    series or year is wrong."""
    settings = load_settings()
    year = year if year is not None else be_year(date.today())
    out = out if out is not None else settings.output_dir / "registers"
    formats = ("xlsx", "docx") if fmt is Format.both else (fmt.value,)
    db = open_database(settings)
    try:
        with db.transaction() as session:
            try:
                paths = export_register(session, unit, year, series.value, out, formats,
                                        digits=digits.value, settings=settings)
            except RegisterError as e:
                fail(str(e))
    finally:
        db.engine.dispose()
    for path in paths:
        typer.echo(str(path))
