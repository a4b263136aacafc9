"""The registers printed as the regulation's tables: ทะเบียนหนังสือรับ and ทะเบียนหนังสือส่ง, to .xlsx and .docx.

Columns (ระเบียบงานสารบรรณ, see shared/reference/letters.md "Receiving"):

- receive: เลขทะเบียนรับ · วันเวลาที่รับ · ที่ · ลงวันที่ · จาก · ถึง · เรื่อง · การปฏิบัติ · หมายเหตุ
- send and circular: เลขทะเบียนส่ง · ที่ · ลงวันที่ · จาก · ถึง · เรื่อง · การปฏิบัติ · หมายเหตุ; the circular
  series is a send register whose numbers print as ``ว ๑``, ``ว ๒`` ...

ลงวันที่ is the letter's own date. The paper receive register is dated by the day it is written in and
the receipt stamp carries the time, so a receive register prints the moment of receipt
(``RegisterEntry.entered_at``) in its own column beside the number, as the stamp does:
``๒๖ มี.ค. ๒๕๖๗ ๑๐.๓๐ น.`` (for a cancellation line, when it was written). Send registers print no time.

การปฏิบัติ holds what was done, one per line: the action stored with the entry, then what the records
know of a received letter: ``ส่งต่อ ที่ กบ ๐๐๒๓.๖/ว ๑`` when the unit forwarded it (``(ยกเลิกแล้ว)`` when
that letter was cancelled), ``สมัครเข้าร่วมโครงการแล้ว <date>`` when it was a programme's invitation and
the unit applied. Being received is not an action: a line only received stays empty.

A cancelled line keeps its number and shows ``ยกเลิก (ดูเลขที่ n)`` in its หมายเหตุ, n being the
cancellation line that records who cancelled it and why. หมายเหตุ holds, one per line: the cancellation
mark, the note stored with the entry.

Dates as ``๒๖ มี.ค. ๒๕๖๗``; every digit in Thai digits unless ``digits="arabic"`` (URLs and e-mail
addresses are kept as typed). Text from the database is always text: the .docx is rendered with
autoescape and values are never read as templates; in the .xlsx the register numbers are numbers (shown
``๑``, ``ว ๑`` by their number format) and everything else strings, never formulas.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from docxtpl import DocxTemplate
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saraban.kernel.clock import as_thai, moment_text
from saraban.kernel.files import saved, write_replacing
from saraban.kernel.settings import Settings, load_settings, template_file
from saraban.letters.render import use_office_font
from saraban.records.models import Application, Delivery, Letter, Programme, RegisterEntry, Unit
from saraban.records.registers import SERIES, SERIES_NAMES, RegisterError, entries
from saraban.reports.cells import printable
from saraban.reports.sheets import write_sheet
from thai_text import apply_digits, format_thai_date

FORMATS = ("xlsx", "docx")
# Excel column widths (characters of the default font): send registers' eight columns, and the receive
# register's with วันเวลาที่รับ after the number.
XLSX_WIDTHS = (11, 20, 13, 24, 24, 44, 22, 24)
RECEIVE_XLSX_WIDTHS = (11, 22, 20, 13, 24, 24, 44, 22, 24)
CANCELLED = "ยกเลิก"
FORWARDED = "ส่งต่อ"
APPLIED = "สมัครเข้าร่วมโครงการแล้ว"


@dataclass(frozen=True)
class RegisterRow:
    """One printed line of a register, column by column, as text; ``received`` (วันเวลาที่รับ) is printed
    in receive registers only (:meth:`cells`), ``value`` is the register number as a number (.xlsx)."""

    number: str  # เลขทะเบียนรับ / เลขทะเบียนส่ง
    ref: str  # ที่
    dated: str  # ลงวันที่
    sender: str  # จาก
    recipient: str  # ถึง
    subject: str  # เรื่อง
    action: str  # การปฏิบัติ
    note: str  # หมายเหตุ
    received: str | None = None  # วันเวลาที่รับ (receive registers); None in a send register
    value: int | None = field(default=None, compare=False, repr=False)

    def cells(self) -> tuple[str, ...]:
        """The printed columns, in the order of :func:`headers`."""
        return tuple(getattr(self, name) for name in self.fields())

    def fields(self) -> tuple[str, ...]:
        return RECEIVE_FIELDS if self.received is not None else FIELDS


FIELDS = ("number", "ref", "dated", "sender", "recipient", "subject", "action", "note")
RECEIVE_FIELDS = ("number", "received", *FIELDS[1:])


def headers(series: str) -> tuple[str, ...]:
    """The column headings of a register of ``series``."""
    _check_series(series)
    if series == "receive":
        return ("เลขทะเบียนรับ", "วันเวลาที่รับ", "ที่", "ลงวันที่", "จาก", "ถึง", "เรื่อง", "การปฏิบัติ", "หมายเหตุ")
    return ("เลขทะเบียนส่ง", "ที่", "ลงวันที่", "จาก", "ถึง", "เรื่อง", "การปฏิบัติ", "หมายเหตุ")


def title_lines(unit: Unit, year: int, series: str, digits: str = "thai") -> list[str]:
    """``ทะเบียนหนังสือรับ`` / the unit's name / ``ประจำปี พ.ศ. ๒๕๖๗``."""
    _check_series(series)
    return [SERIES_NAMES[series], unit.name, apply_digits(f"ประจำปี พ.ศ. {year}", digits)]


def _check_series(series: str) -> None:
    if series not in SERIES:
        raise RegisterError(f"ไม่รู้จักทะเบียน {series!r} / unknown register series {series!r}; expected one of "
                            f"{', '.join(SERIES)}")


def _number(n: int, series: str, digits: str) -> str:
    return apply_digits(f"ว {n}" if series == "circular" else str(n), digits)


def register_rows(session: Session, unit_id: int, year: int, series: str,
                  digits: str = "thai", *, offset: int = 0, limit: int | None = None) -> list[RegisterRow]:
    """The lines of one unit's register of ``series`` in B.E. ``year``, by number; ``offset`` and ``limit``:
    one page of them (the web shows a register 100 lines at a time)."""
    _check_series(series)
    apply_digits("", digits)  # rejects an unknown digit style before any work
    if offset or limit is not None:
        lines = list(session.scalars(
            select(RegisterEntry).where(RegisterEntry.unit_id == unit_id, RegisterEntry.year == year,
                                        RegisterEntry.series == series)
            .order_by(RegisterEntry.number).offset(offset).limit(limit)))
        these = [e.id for e in lines]
    else:
        lines = entries(session, unit_id, year, series)
        these = select(RegisterEntry.id).where(RegisterEntry.unit_id == unit_id, RegisterEntry.year == year,
                                               RegisterEntry.series == series)
    cancelled_by: dict[int, RegisterEntry] = {}
    for c in session.scalars(select(RegisterEntry).where(RegisterEntry.cancels_id.in_(these))
                             .order_by(RegisterEntry.id)):
        cancelled_by.setdefault(c.cancels_id, c)  # the first cancellation, should there be more

    def t(value: str | None) -> str:
        return apply_digits(printable(value), digits)

    done = _done(session, lines, digits) if series == "receive" else {}
    rows = []
    for e in lines:
        note: list[str] = []
        cancellation = cancelled_by.get(e.id)
        if cancellation is not None:
            note.append(f"{CANCELLED} (ดูเลขที่ {_number(cancellation.number, cancellation.series, digits)})")
        if e.note:
            note.append(t(e.note))
        action = [t(e.action)] if e.action else []
        rows.append(RegisterRow(
            number=_number(e.number, series, digits), ref=t(e.ref_text),
            dated=format_thai_date(e.letter_date, abbreviated=True, digits=digits),
            sender=t(e.from_text), recipient=t(e.to_text), subject=t(e.subject),
            action="\n".join(action + done.get(e.id, [])), note="\n".join(note),
            received=moment_text(e.entered_at, digits) if series == "receive" else None, value=e.number))
    return rows


def _done(session: Session, lines: Sequence[RegisterEntry], digits: str) -> dict[int, list[str]]:
    """What the records know was done with each received letter of ``lines`` (by line id): the forward
    that carried it on (``ส่งต่อ ที่ …``), the unit's application when it was a programme's invitation."""
    by_delivery = {e.delivery_id: e.id for e in lines if e.delivery_id is not None and e.cancels_id is None}
    done: dict[int, list[str]] = {}
    if not by_delivery:
        return done
    cancelled = (select(RegisterEntry.id).where(RegisterEntry.letter_id == Letter.id,
                                                RegisterEntry.cancels_id.is_not(None),
                                                RegisterEntry.series.in_(("send", "circular"))).exists())
    for delivery_id, ref, was_cancelled in session.execute(
            select(Delivery.id, Letter.ref_text, cancelled).join(Letter, Letter.id == Delivery.forwarded_letter_id)
            .where(Delivery.id.in_(by_delivery)).order_by(Delivery.id)):
        line = f"{FORWARDED} ที่ {apply_digits(ref, digits)}" + (" (ยกเลิกแล้ว)" if was_cancelled else "")
        done.setdefault(by_delivery[delivery_id], []).append(line)
    for delivery_id, submitted_at in session.execute(
            select(Delivery.id, Application.submitted_at)
            .join(Programme, Programme.invitation_letter_id == Delivery.letter_id)
            .join(Application, (Application.programme_id == Programme.id) & (Application.unit_id == Delivery.unit_id))
            .where(Delivery.id.in_(by_delivery)).order_by(Delivery.id)):
        line = f"{APPLIED} {format_thai_date(as_thai(submitted_at).date(), abbreviated=True, digits=digits)}"
        done.setdefault(by_delivery[delivery_id], []).append(line)
    return done


def count_lines(session: Session, unit_id: int, year: int, series: str) -> int:
    """How many lines the unit's register of ``series`` has in B.E. ``year``."""
    return session.scalar(select(func.count()).select_from(RegisterEntry).where(
        RegisterEntry.unit_id == unit_id, RegisterEntry.year == year, RegisterEntry.series == series)) or 0


def register_years(session: Session, unit_id: int) -> dict[int, dict[str, int]]:
    """The B.E. years in which the unit's registers have lines, newest first: ``{year: {series: lines}}``."""
    rows = session.execute(select(RegisterEntry.year, RegisterEntry.series, func.count())
                           .where(RegisterEntry.unit_id == unit_id)
                           .group_by(RegisterEntry.year, RegisterEntry.series)).all()
    years: dict[int, dict[str, int]] = {}
    for year, series, n in sorted(rows, key=lambda r: -r[0]):
        years.setdefault(year, {})[series] = n
    return years


# The file a clerk downloads: ทะเบียนหนังสือรับ-2569.xlsx
FILE_NAMES = {"send": "ทะเบียนหนังสือส่ง", "circular": "ทะเบียนหนังสือเวียน", "receive": "ทะเบียนหนังสือรับ"}


def download_name(series: str, year: int, fmt: str) -> str:
    """``ทะเบียนหนังสือรับ-2569.xlsx``."""
    _check_series(series)
    return f"{FILE_NAMES[series]}-{year}.{fmt}"


def _series_of(series: str | None, titles: Sequence[str]) -> str:
    """The series the headings are for: as given, else read from the first title line."""
    if series is not None:
        _check_series(series)
        return series
    first = titles[0] if titles else ""
    if first.startswith(SERIES_NAMES["circular"]):
        return "circular"
    return "send" if first.startswith(SERIES_NAMES["send"]) else "receive"


# The register number's format in the .xlsx (before the digits' prefix): ๑, ว ๑.
NUMBER_FORMATS = {"circular": '"ว "0'}


def sheet_name(series: str, title_lines: Sequence[str] = ()) -> str:
    """``ทะเบียนหนังสือรับ ๒๕๖๗``: the register's short name (:data:`FILE_NAMES`; SERIES_NAMES' circular
    one is longer than the 31 characters a sheet name may hold) and the B.E. year of the last title line."""
    year = re.search(r"[0-9๐-๙]{4}\s*$", title_lines[-1]) if title_lines else None
    return (FILE_NAMES[series] + (f" {year[0].strip()}" if year else ""))[:31]


def export_xlsx(rows: Iterable[RegisterRow], path: Path | str, *, title_lines: Sequence[str],
                series: str | None = None, digits: str = "thai") -> Path:
    """Write the register as a workbook: the title lines, the header row (bold, repeated on every printed
    page), one row per line; TH SarabunIT๙ 16, wrapped text, A4 landscape one page wide. The register
    numbers are numbers, shown in ``digits``."""
    path = Path(path)
    series = _series_of(series, title_lines)
    rows = list(rows)
    wb = Workbook()
    ws = wb.active
    ws.title = sheet_name(series, title_lines)
    receive = series == "receive"

    def cells(row: RegisterRow) -> tuple[str | int, ...]:
        texts = [printable(v) for v in row.cells()]
        return (texts[0] if row.value is None else row.value, *texts[1:])  # the number as a number

    write_sheet(ws, [printable(line) for line in title_lines], headers(series), [cells(row) for row in rows],
                RECEIVE_XLSX_WIDTHS if receive else XLSX_WIDTHS,
                centre={0, 1, 3} if receive else {0, 2},  # number, moment and date columns
                digits=digits, formats={0: NUMBER_FORMATS.get(series, "0")})
    wb.properties.title = " ".join(printable(line) for line in title_lines)
    wb.properties.creator = "saraban"
    write_replacing(path, saved(wb.save))  # whole or not at all; a report may be made again
    return path


def export_docx(rows: Iterable[RegisterRow], path: Path | str, *, title_lines: Sequence[str],
                settings: Settings | None = None, series: str | None = None) -> Path:
    """Write the register with templates/reports/register.docx: A4 landscape, one table whose header row
    repeats on every page, one table row per line."""
    path = Path(path)
    settings = settings or load_settings()
    series = _series_of(series, title_lines)
    tpl = DocxTemplate(str(template_file(settings, "reports/register.docx")))
    context = {
        "title_lines": [printable(line) for line in title_lines],
        "headers": list(headers(series)),
        "receive": series == "receive",
        "rows": [{name: printable(value) for name, value in zip(row.fields(), row.cells(), strict=True)}
                 for row in rows],
    }
    tpl.render(context, autoescape=True)
    use_office_font(tpl, settings.font_name)
    props = tpl.docx.core_properties
    props.title = " ".join(context["title_lines"])
    props.author = "saraban"
    props.last_modified_by = "saraban"
    write_replacing(path, saved(tpl.save))
    return path


def find_unit(session: Session, unit_key_or_id: str | int) -> Unit:
    """A unit by its key (``str``) or id (``int``); RegisterError when there is none."""
    if isinstance(unit_key_or_id, int):
        unit = session.get(Unit, unit_key_or_id)
    else:
        unit = session.scalar(select(Unit).where(Unit.key == unit_key_or_id))
    if unit is None:
        raise RegisterError(f"ไม่พบหน่วยงาน {unit_key_or_id} / no unit {unit_key_or_id!r}")
    return unit


def export_register(session: Session, unit_key_or_id: str | int, year: int, series: str,
                    out_dir: Path | str, formats: Sequence[str] = FORMATS, *, digits: str = "thai",
                    settings: Settings | None = None) -> list[Path]:
    """Export one unit's register of ``series`` in B.E. ``year`` to ``out_dir``; the paths written, in
    the order of ``formats``. Files are named ``register-<series>-<unit key>-<year>.<format>``."""
    _check_series(series)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise RegisterError(f"ไม่รู้จักรูปแบบไฟล์ {unknown or list(formats)} / unknown export format(s) "
                            f"{unknown or list(formats)}; expected {', '.join(FORMATS)}")
    if year < 2400:
        raise RegisterError(f"ปี {year} เป็น ค.ศ. ทะเบียนเก็บตามปี พ.ศ. (เช่น {year + 543}) / year {year} looks like "
                            f"C.E.: registers are kept by B.E. year (e.g. {year + 543})")
    unit = find_unit(session, unit_key_or_id)
    rows = register_rows(session, unit.id, year, series, digits=digits)
    titles = title_lines(unit, year, series, digits)
    out_dir = Path(out_dir)
    stem = f"register-{series}-{re.sub(r'[^A-Za-z0-9._-]', '_', unit.key)}-{year}"
    paths = []
    for fmt in dict.fromkeys(formats):
        path = out_dir / f"{stem}.{fmt}"
        if fmt == "xlsx":
            paths.append(export_xlsx(rows, path, title_lines=titles, series=series, digits=digits))
        else:
            paths.append(export_docx(rows, path, title_lines=titles, settings=settings, series=series))
    return paths
