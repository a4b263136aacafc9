"""The status report of a letter (a circular and every letter that carried it down the chain), to .xlsx
and .docx: where it is per level and per unit, and who is still missing.

- .xlsx, three sheets: ``สรุป`` (per level: ระดับ · ส่งแล้ว · ลงรับแล้ว · ส่งต่อแล้ว · ยังไม่ลงรับ, and a
  total), ``รายหน่วยงาน`` (one row per unit in tree order: ลำดับ · ชั้น · หน่วยงาน (indented by depth) ·
  ระดับ · สถานะ · เลขรับ · วันเวลาที่รับ · ส่งต่อโดยหนังสือที่ · ได้รับจากหนังสือที่), ``ยังไม่ครบ`` (the
  units of :meth:`LetterStatus.missing` and why). Every sheet starts with the title lines (ที่, the
  sender, เรื่อง, ข้อมูล ณ วันที่) and repeats its header row on every printed page.
- .docx, with templates/reports/status.docx (scripts/build_report_templates.py): the title lines, the
  summary table, the missing units, then the per-unit table on a new page; the level in these two long
  tables abbreviated (สถจ., อำเภอ, อบต. ...). Each of these two tables prints at most ``max_rows``
  rows (default :data:`DOCX_MAX_ROWS`), with a note that the .xlsx has them all: the units of the top
  levels of the tree that fit (e.g. every province and district of a national circular, without the
  อปท. below), else the first ``max_rows``. The .xlsx always has every row.

Timings (2 cores; a national chain of 9,196 units, 2,736 of them missing): the .xlsx 1.8 s; the .docx
1.2 s with the default cap (988 + 2,000 rows; LibreOffice makes a 192-page PDF of it in 21 s), 5.3 s
uncut (11,932 rows, 650 MB of memory while rendering) — but LibreOffice did not finish laying that one
out in 15 minutes (2,000 + 2,000 rows: 35 s, 242 pages; 1,000 + 1,000: 10 s), hence the cap.

The numbers are those of :meth:`LetterStatus.by_level` and the rows those of :meth:`LetterStatus.nodes`
and :meth:`LetterStatus.missing`, nothing recounted. เลขรับ is the number of the unit's receive register
(the year is in the date beside it, as on the receipt stamp); dates as ``๒๙ มี.ค. ๒๕๖๗ ๑๐.๓๐ น.``;
every digit in Thai digits unless ``digits="arabic"``. Text from the database is always text (the .docx
is rendered with autoescape, .xlsx cells are strings, never formulas), as in saraban.reports.registers;
counts, ลำดับ, ชั้น and เลขรับ are numbers in the .xlsx (shown in Thai digits by their number format) and the
report's rows hold them as ``int`` until the .docx prints them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from docxtpl import DocxTemplate
from openpyxl import Workbook

from saraban.chain.status import STATE_TH, LetterStatus, Node, cancelled_text
from saraban.directory.levels import LEVEL_NAMES, LEVELS
from saraban.kernel.clock import at_or_now, moment_text
from saraban.kernel.files import saved, write_replacing
from saraban.kernel.settings import Settings, load_settings, template_file
from saraban.letters.render import use_office_font
from saraban.reports.cells import printable
from saraban.reports.sheets import write_sheet
from thai_text import apply_digits

TITLE = "รายงานสถานะการรับและส่งต่อหนังสือ"
SHEETS = ("สรุป", "รายหน่วยงาน", "ยังไม่ครบ")
SUMMARY_HEADERS = ("ระดับ", "ส่งแล้ว", "ลงรับแล้ว", "ส่งต่อแล้ว", "ยังไม่ลงรับ")
UNIT_HEADERS = ("ลำดับ", "ชั้น", "หน่วยงาน", "ระดับ", "สถานะ", "เลขรับ", "วันเวลาที่รับ", "ส่งต่อโดยหนังสือที่",
                "ได้รับจากหนังสือที่")
MISSING_HEADERS = ("ลำดับ", "หน่วยงาน", "ระดับ", "ได้รับจากหนังสือที่", "ส่งโดย", "ส่งเมื่อ", "ยังขาด")
# The usual abbreviations, printed in the .docx's long tables (a full name such as สำนักงานส่งเสริมการ
# ปกครองท้องถิ่นจังหวัด takes three lines of a narrow column); the .xlsx and the summary print full names.
LEVEL_SHORT = {"province_office": "สถจ.", "district_office": "อำเภอ", "pao": "อบจ.", "city_municipality": "ทน.",
               "town_municipality": "ทม.", "subdistrict_municipality": "ทต.", "sao": "อบต."}
_SHORT_BY_NAME = {LEVEL_NAMES[level]: short for level, short in LEVEL_SHORT.items()}
TOTAL = "รวม"
DOCX_MAX_ROWS = 2000
WHY_NOT_RECEIVED = "ยังไม่ลงรับ"
WHY_NOT_FORWARDED = "ลงรับแล้ว ยังไม่ส่งต่อ"
SEE_XLSX = "ดูรายละเอียดครบทุกหน่วยงานในไฟล์ xlsx"
# Excel column widths (characters of the default font), sheet by sheet.
SUMMARY_WIDTHS = (44, 14, 14, 14, 14)
UNIT_WIDTHS = (8, 6, 48, 26, 20, 9, 22, 20, 20)
MISSING_WIDTHS = (8, 48, 26, 20, 36, 22, 22)


@dataclass(frozen=True)
class SummaryRow:
    """One line of the summary: the level as printed, its counts."""

    level: str
    sent: int
    received: int
    forwarded: int
    missing: int


@dataclass(frozen=True)
class UnitRow:
    """One unit of the tree, as printed; numbers as numbers."""

    no: int
    depth: int
    name: str
    level: str
    state: str
    receipt: int | None  # the number in the unit's receive register
    received_at: str
    forwarded: str  # ส่งต่อโดยหนังสือที่: the unit's own letter that carried it on
    letter: str  # ได้รับจากหนังสือที่: the letter the unit was sent


@dataclass(frozen=True)
class MissingRow:
    """One unit still missing, as printed, and why."""

    no: int
    name: str
    level: str
    letter: str
    sent_by: str
    sent_at: str
    why: str


@dataclass(frozen=True)
class StatusReport:
    """The report's text: title lines and the rows of its three tables. ``depths`` and
    ``missing_depths``: each unit row's and missing row's depth in the tree, from 1."""

    title_lines: list[str]
    summary: list[SummaryRow]
    total: SummaryRow
    units: list[UnitRow]
    depths: list[int]
    missing: list[MissingRow]
    missing_depths: list[int]
    digits: str = "thai"


def level_name(level: str) -> str:
    """The Thai name of a level (its key when it has none)."""
    return LEVEL_NAMES.get(level, level)


def walk(status: LetterStatus) -> Iterator[tuple[Node, int, str]]:
    """Each node in the order of :meth:`LetterStatus.nodes`, with its depth (from 1) and who sent it the
    letter (the letter's sender for the first level, else the unit above)."""
    stack = [(n, 1, status.sender) for n in reversed(status.recipients)]
    while stack:
        node, depth, sent_by = stack.pop()
        yield node, depth, sent_by
        stack += [(c, depth + 1, node.unit_name) for c in reversed(node.children)]


def _count(n: int, digits: str) -> str:
    return apply_digits(f"{n:,}", digits)


def _receipt_number(receipt: str | None) -> int | None:
    """``"2567/1649"`` → ``1649``."""
    number = receipt.rpartition("/")[2] if receipt else ""
    return int(number) if number.isdigit() else None


# Numbers printed without a thousands separator (a register number is written 11282, not 11,282).
_PLAIN = {"receipt"}


def printed(row: SummaryRow | UnitRow | MissingRow, digits: str = "thai") -> dict[str, str]:
    """A row's fields as the .docx prints them: numbers in ``digits``, counts with a thousands separator."""
    def text(name: str, value) -> str:
        if value is None:
            return ""
        if isinstance(value, int):
            return apply_digits(str(value), digits) if name in _PLAIN else _count(value, digits)
        return value

    return {name: text(name, value) for name, value in vars(row).items()}


def _levels_in_order(levels: dict[str, dict[str, int]]) -> list[str]:
    """Top down, as in the directory; levels it does not know at the end, as met."""
    known = {level: i for i, level in enumerate(LEVELS)}
    return sorted(levels, key=lambda level: known.get(level, len(known)))


def status_report(status: LetterStatus, *, digits: str = "thai", at: datetime | None = None) -> StatusReport:
    """The text of the report of ``status``, as of ``at`` (default: now, Thai time)."""
    apply_digits("", digits)  # rejects an unknown digit style before any work
    at = at_or_now(at)

    def t(value: str | None) -> str:
        return apply_digits(printable(value), digits)

    titles = [TITLE, f"ที่ {t(status.ref)}", t(status.sender), f"เรื่อง {t(status.subject)}",
              f"ข้อมูล ณ วันที่ {moment_text(at, digits)}"]
    if status.cancelled:
        titles.insert(4, t(cancelled_text(status.cancelled, digits)))
    by_level = status.by_level()
    summary = [SummaryRow(t(level_name(level)), *(by_level[level].get(k, 0)
                                                  for k in ("sent", "received", "forwarded", "missing")))
               for level in _levels_in_order(by_level)]
    total = SummaryRow(TOTAL, *(sum(c.get(k, 0) for c in by_level.values())
                                for k in ("sent", "received", "forwarded", "missing")))
    units, depths, seen = [], [], {}
    for i, (n, depth, sent_by) in enumerate(walk(status), 1):
        seen[id(n)] = (depth, sent_by)
        depths.append(depth)
        units.append(UnitRow(
            no=i, depth=depth, name=t(n.unit_name),
            level=t(level_name(n.level)), state=STATE_TH[n.state], receipt=_receipt_number(n.receipt),
            received_at=moment_text(n.received_at, digits) if n.received_at else "", forwarded=t(n.forwarded_ref),
            letter=t(n.letter_ref)))
    missing_nodes = status.missing()
    missing = [MissingRow(
        no=i, name=t(n.unit_name), level=t(level_name(n.level)), letter=t(n.letter_ref),
        sent_by=t(seen[id(n)][1]), sent_at=moment_text(n.sent_at, digits),
        why=WHY_NOT_RECEIVED if n.owes == "receipt" else WHY_NOT_FORWARDED)
        for i, n in enumerate(missing_nodes, 1)]
    return StatusReport(titles, summary, total, units, depths, missing, [seen[id(n)][0] for n in missing_nodes],
                        digits)


# --- .xlsx --------------------------------------------------------------------------------------------


def _rows(items) -> list[tuple[str | int | None, ...]]:
    return [tuple(vars(x).values()) for x in items]


def status_report_xlsx(status: LetterStatus, path: Path | str, *, digits: str = "thai",
                       at: datetime | None = None, report: StatusReport | None = None) -> Path:
    """Write the status report as a workbook of three sheets (สรุป, รายหน่วยงาน, ยังไม่ครบ); every unit is
    there, however many."""
    path = Path(path)
    report = report or status_report(status, digits=digits, at=at)
    wb = Workbook()
    summary, units, missing = wb.active, wb.create_sheet(), wb.create_sheet()
    for ws, name in zip((summary, units, missing), SHEETS, strict=True):
        ws.title = name
    d = report.digits
    write_sheet(summary, report.title_lines, SUMMARY_HEADERS, _rows([*report.summary, report.total]), SUMMARY_WIDTHS,
           centre={1, 2, 3, 4}, bold_last=True, digits=d)
    write_sheet(units, report.title_lines, UNIT_HEADERS, _rows(report.units), UNIT_WIDTHS, centre={0, 1, 5, 6},
           indents=report.depths, indent_col=2, digits=d, formats={5: "0"})  # เลขรับ: 11282, not 11,282
    write_sheet(missing, report.title_lines, MISSING_HEADERS, _rows(report.missing), MISSING_WIDTHS,
           centre={0, 5}, digits=d)
    wb.properties.title = " ".join(report.title_lines[:4])
    wb.properties.creator = "saraban"
    write_replacing(path, saved(wb.save))  # whole or not at all; a report may be made again
    return path


# --- .docx --------------------------------------------------------------------------------------------


def _capped(rows: list, depths: Sequence[int], max_rows: int | None, digits: str) -> tuple[list, list[str]]:
    """The rows the .docx prints, and the note saying what was left out: the rows of the top levels of the
    tree when they fit in ``max_rows``, else the first ``max_rows``."""
    if max_rows is None or len(rows) <= max_rows:
        return rows, []
    per_depth = Counter(depths)
    keep, upto = 0, 0
    for depth in sorted(per_depth):
        if upto + per_depth[depth] > max_rows:
            break
        keep, upto = depth, upto + per_depth[depth]
    of = f"{_count(len(rows), digits)} หน่วยงาน) {SEE_XLSX}"
    if keep:
        levels = apply_digits("1" if keep == 1 else f"1–{keep}", digits)
        return ([r for r, d in zip(rows, depths, strict=True) if d <= keep],
                [f"แสดงเฉพาะหน่วยงานชั้นที่ {levels} ({_count(upto, digits)} จาก {of}"])
    return rows[:max_rows], [f"แสดง {_count(max_rows, digits)} หน่วยงานแรก (จาก {of}"]


def _short_level(row: UnitRow | MissingRow, digits: str) -> dict[str, str]:
    return printed(row, digits) | {"level": _SHORT_BY_NAME.get(row.level, row.level)}


def status_report_docx(status: LetterStatus, path: Path | str, settings: Settings | None = None, *,
                       digits: str = "thai", at: datetime | None = None, max_rows: int | None = DOCX_MAX_ROWS,
                       report: StatusReport | None = None) -> Path:
    """Write the status report with templates/reports/status.docx: A4 landscape, the title lines, the
    summary per level, the units still missing, the per-unit table. Each of the two long tables prints
    at most ``max_rows`` rows (the top levels of the tree that fit, else the first rows), with a note
    pointing to the .xlsx; ``None``: all of them (LibreOffice cannot lay out 10,000 rows in good time)."""
    path = Path(path)
    settings = settings or load_settings()
    report = report or status_report(status, digits=digits, at=at)
    digits = report.digits
    units, units_notes = _capped(report.units, report.depths, max_rows, digits)
    missing, missing_notes = _capped(report.missing, report.missing_depths, max_rows, digits)
    if not report.missing:
        missing_notes = ["ครบทุกหน่วยงานแล้ว"]
    tpl = DocxTemplate(str(template_file(settings, "reports/status.docx")))
    context = {
        "title_lines": report.title_lines,
        "summary_heading": "สรุปตามระดับหน่วยงาน",
        "summary_headers": list(SUMMARY_HEADERS),
        "levels": [printed(r, report.digits) for r in report.summary],
        "total": printed(report.total, report.digits),
        "missing_heading": f"หน่วยงานที่ยังไม่ครบ {_count(len(report.missing), digits)} หน่วยงาน",
        "missing_notes": missing_notes,
        "missing_headers": list(MISSING_HEADERS),
        "missing": [_short_level(r, report.digits) for r in missing],
        "units_heading": f"รายหน่วยงาน {_count(len(report.units), digits)} หน่วยงาน",
        "units_notes": units_notes,
        "unit_headers": list(UNIT_HEADERS),
        "units": [_short_level(r, report.digits) for r in units],
    }
    tpl.render(context, autoescape=True)
    use_office_font(tpl, settings.font_name)
    props = tpl.docx.core_properties
    props.title = " ".join(report.title_lines[:4])
    props.author = "saraban"
    props.last_modified_by = "saraban"
    write_replacing(path, saved(tpl.save))
    return path


def write_status_report(status: LetterStatus, out_dir: Path | str, settings: Settings | None = None, *,
                        digits: str = "thai", at: datetime | None = None,
                        max_rows: int | None = DOCX_MAX_ROWS) -> list[Path]:
    """Write ``status-<letter id>.docx`` and ``status-<letter id>.xlsx`` to ``out_dir``; their paths."""
    out_dir = Path(out_dir)
    report = status_report(status, digits=digits, at=at)
    stem = f"status-{int(status.letter_id)}"
    return [status_report_docx(status, out_dir / f"{stem}.docx", settings, max_rows=max_rows, report=report),
            status_report_xlsx(status, out_dir / f"{stem}.xlsx", report=report)]
