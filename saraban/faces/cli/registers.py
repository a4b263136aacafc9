"""`saraban register export`: a unit's register (ทะเบียนหนังสือรับ / ส่ง) of one B.E. year to .xlsx / .docx.
The core is imported inside the command (see common.py)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from saraban.faces.cli.common import UNIT_HELP, fail

app = typer.Typer(help="ทะเบียนหนังสือรับ / ทะเบียนหนังสือส่ง: พิมพ์เป็นตาราง / Registers: print them as tables.",
                  no_args_is_help=True, rich_markup_mode=None)

class Format(StrEnum):
    xlsx = "xlsx"
    docx = "docx"
    both = "both"


class Digits(StrEnum):
    thai = "thai"
    arabic = "arabic"


@app.callback()
def registers() -> None:
    """ทะเบียนหนังสือรับ / ทะเบียนหนังสือส่ง: พิมพ์เป็นตาราง / Registers: print them as tables."""


@app.command("export")
def export(
    unit: Annotated[str, typer.Argument(help=f"หน่วยงาน / The unit: {UNIT_HELP}.", show_default=False)],
    series: Annotated[str, typer.Option(
        "--series", help="รับ (receive): ทะเบียนหนังสือรับ; ส่ง (send): ทะเบียนหนังสือส่ง; ว or เวียน (circular): "
                         "เลข ว ของหนังสือเวียน / the register series.", show_default=False)],
    year: Annotated[int | None, typer.Option(
        "--year", help="ปี พ.ศ. เช่น 2567 (ค่าเริ่มต้น: ปีนี้) / B.E. calendar year (default: this year).",
        show_default=False)] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="โฟลเดอร์ที่จะเขียน / Folder to write to (default: <data folder>/out/registers).",
        show_default=False)] = None,
    fmt: Annotated[Format, typer.Option("--format", help="xlsx, docx หรือ both / xlsx, docx or both.")] = Format.both,
    digits: Annotated[Digits, typer.Option(
        "--digits", help="เลขไทย (๑๒๓) หรือเลขอารบิก / Print digits as Thai or Arabic.")] = Digits.thai,
) -> None:
    """ส่งออกทะเบียนเป็น .xlsx / .docx / Export a register.

    ส่งออกทะเบียนของหน่วยงาน หนึ่งชุดหนึ่งปี แล้วแสดงไฟล์ที่เขียน / Export UNIT's register of one series and
    year; print each file written. Exit code 2 when the unit, series or year is wrong."""
    from saraban.faces.cli.common import unit_key
    from saraban.kernel.clock import today
    from saraban.kernel.settings import load_settings
    from saraban.records.db import open_database
    from saraban.records.registers import RegisterError, resolve_series
    from saraban.reports.registers import export_register
    from thai_text import be_year

    try:
        wanted = resolve_series(series)
    except RegisterError as e:
        fail(str(e))
    settings = load_settings()
    year = year if year is not None else be_year(today())
    out = out if out is not None else settings.output_dir / "registers"
    formats = ("xlsx", "docx") if fmt is Format.both else (fmt.value,)
    db = open_database(settings)
    try:
        key = unit_key(db, unit)
        with db.transaction() as session:
            try:
                paths = export_register(session, key, year, wanted, out, formats,
                                        digits=digits.value, settings=settings)
            except RegisterError as e:
                fail(str(e))
    finally:
        db.engine.dispose()
    for path in paths:
        typer.echo(str(path))
