"""Build the report templates in templates/reports/: register.docx (ทะเบียนหนังสือรับ / ส่ง),
status.docx (where a circular is: per level and per unit) and programme.docx (a programme's applications).

Each .docx is a template: open it in Word or LibreOffice and restyle it freely, keeping the
``{{ ... }}``, ``{%p ... %}`` and ``{%tr ... %}`` tags. This script makes the first version of them and
may be run again at any time to start over (it overwrites the files):
``.venv/bin/python scripts/build_report_templates.py [--out DIR]``.

Layout (register and status): A4 landscape, margins 2 cm left, 1.5 cm right, top and bottom; the title lines centred
and bold; tables in TH SarabunIT๙ 16 whose header rows repeat at the top of every page.

register.docx: a receive register's table of nine columns when ``receive``, else a send register's of
eight; their rows come from ``{%tr for r in rows %}``. saraban.reports.registers fills in ``title_lines``,
``headers`` (the headings), ``receive`` and ``rows`` (number, received (receive registers only), ref,
dated, sender, recipient, subject, action, note).

Column widths: every header word, a reference number (มท ๐๘๒๐.๒/ว ๑๑๔๔) and a date (๒๖ มี.ค. ๒๕๖๗) fit
on one line of their column (cell margins 0.1 cm each side), so the PDF never breaks them inside.

status.docx: three tables, filled in by saraban.reports.status: the summary per level (``summary_headers``,
``levels`` and the bold ``total``: level, sent, received, forwarded, missing); the units still missing
(``missing_headers``, ``missing``: no, name, level, letter, sent_by, sent_at, why; the table only when
there are any); the per-unit table on a new page (``unit_headers``, ``units``: no, depth, name, level,
state, receipt, received_at, forwarded, letter; the level of these two abbreviated: สถจ., อำเภอ, อบต. ...).
Headings and notes: ``summary_heading``, ``missing_heading``, ``missing_notes``, ``units_heading``,
``units_notes``.

programme.docx (A4 portrait, margins 2.5 cm left, 1.5 cm right, 2 cm top and bottom), filled in by
saraban.reports.programmes: ``title_lines``; ``total_lines``; the table per province
(``province_headers``, ``provinces``: no, name, eligible, applicants, share, and the bold
``province_total``); the table per level (``level_headers``, ``levels``: name, eligible, applicants,
share; ``level_total``); the provisional levels (``provisional_headers``, ``provisional``: name, count;
the table only when there are any); ``missing_line`` (จังหวัดที่ยังไม่มีผู้สมัคร N จังหวัด: ...); the
chart ``chart`` (an InlineImage) on a new page; the reminder history (``reminder_lines``,
``reminder_headers``, ``reminders``: no, unit, kind, step, letter, mail, date; the table only when
there are any). Headings: ``province_heading``, ``level_heading``, ``provisional_heading``,
``missing_heading``, ``chart_heading``, ``reminder_heading``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

# The run and table helpers are the letter templates' (same folder; also when loaded by path in tests).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_templates import add_size_cs, set_run_font, set_widths  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "templates" / "reports"
FONT = "TH SarabunIT๙"
SIZE = 16
# Send registers' eight columns: number, ที่, ลงวันที่, จาก, ถึง, เรื่อง, การปฏิบัติ, หมายเหตุ (26.2 cm of text
# width); a receive register's nine, with วันเวลาที่รับ after the number. เลขทะเบียน (bold) needs 2.1 cm,
# a reference number 3.6 cm (การปฏิบัติ: 4 cm for ที่ <ref> after ส่งต่อ), an abbreviated date 2.6 cm.
FIELDS = ("number", "ref", "dated", "sender", "recipient", "subject", "action", "note")
WIDTHS = (Cm(2.1), Cm(3.6), Cm(2.6), Cm(3.4), Cm(3.4), Cm(5.5), Cm(3.0), Cm(2.6))
RECEIVE_FIELDS = ("number", "received", *FIELDS[1:])
RECEIVE_WIDTHS = (Cm(2.1), Cm(2.6), Cm(3.6), Cm(2.6), Cm(2.7), Cm(2.4), Cm(4.4), Cm(4.0), Cm(1.8))
CENTRED = {"number", "dated", "received"}
CELL_MARGIN = Cm(0.1)  # left and right of every cell's text (Word's default is 0.19 cm)
FIXED_TIME = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def tidy(p, *, align=None):
    fmt = p.paragraph_format
    fmt.space_before = fmt.space_after = Pt(0)
    if align is not None:
        fmt.alignment = align
    return p


def para(container, text: str = "", *, align=None, bold: bool = False, size: float = SIZE):
    p = tidy(container.add_paragraph(), align=align)
    if text:
        set_run_font(p.add_run(text), size=size, bold=bold)
    return p


def cell_text(cell, text: str, *, align=None, bold: bool = False) -> None:
    """Text in a cell's first paragraph (python-docx gives each cell one empty paragraph)."""
    p = tidy(cell.paragraphs[0], align=align)
    if text:
        set_run_font(p.add_run(text), bold=bold)


def row_flag(row, tag: str) -> None:
    """A row property without a value: w:tblHeader (repeat on every page), w:cantSplit."""
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement(f"w:{tag}")
    tr_pr.append(el)


def fixed_layout(table) -> None:
    """Fixed column widths (Word and LibreOffice otherwise re-fit the columns to the text), and narrow
    cell margins (:data:`CELL_MARGIN`), the widths being counted with them."""
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), str(CELL_MARGIN.twips))
        el.set(qn("w:type"), "dxa")
        margins.append(el)
    tbl_pr = table._tbl.tblPr
    look = tbl_pr.find(qn("w:tblLook"))  # the schema's order: ... tblLayout, tblCellMar, tblLook
    for el in (layout, margins):
        if look is not None:
            look.addprevious(el)
        else:
            tbl_pr.append(el)


def new_document() -> Document:
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21)
    section.left_margin, section.right_margin = Cm(2), Cm(1.5)
    section.top_margin, section.bottom_margin = Cm(1.5), Cm(1.5)
    section.header_distance, section.footer_distance = Cm(0.6), Cm(0.8)
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(SIZE)
    rpr = normal.element.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    add_size_cs(rpr, SIZE)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "th-TH")
    lang.set(qn("w:bidi"), "th-TH")
    rpr.append(lang)
    pf = normal.paragraph_format
    pf.space_before, pf.space_after, pf.line_spacing = Pt(0), Pt(0), 1.0
    return doc


def register_table(doc, fields, widths) -> None:
    table = doc.add_table(rows=4, cols=len(fields))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    fixed_layout(table)
    set_widths(table, widths)
    head, loop_start, line, loop_end = table.rows
    row_flag(head, "tblHeader")
    row_flag(head, "cantSplit")
    for i, cell in enumerate(head.cells):
        cell_text(cell, f"{{{{ headers[{i}] }}}}", align=WD_ALIGN_PARAGRAPH.CENTER, bold=True)
    row_flag(line, "cantSplit")  # a line of the register stays on one page
    cell_text(loop_start.cells[0], "{%tr for r in rows %}")
    for field, cell in zip(fields, line.cells, strict=True):
        cell_text(cell, f"{{{{ r.{field} }}}}",
                  align=WD_ALIGN_PARAGRAPH.CENTER if field in CENTRED else WD_ALIGN_PARAGRAPH.LEFT)
    cell_text(loop_end.cells[0], "{%tr endfor %}")


def build_register() -> Document:
    """ทะเบียนหนังสือรับ / ทะเบียนหนังสือส่ง: title lines, then the receive or the send table."""
    doc = new_document()
    para(doc, "{%p for line in title_lines %}")
    para(doc, "{{ line }}", align=WD_ALIGN_PARAGRAPH.CENTER, bold=True)
    para(doc, "{%p endfor %}")
    para(doc)
    para(doc, "{%p if receive %}")
    register_table(doc, RECEIVE_FIELDS, RECEIVE_WIDTHS)
    para(doc, "{%p else %}")
    register_table(doc, FIELDS, WIDTHS)
    para(doc, "{%p endif %}")
    # A document ends with a paragraph (Word adds one after a closing table otherwise); keep it tiny.
    end = para(doc)
    end.paragraph_format.line_spacing = Pt(1)
    return doc


# status.docx: the three tables (26.2 cm of text width each) and their fields.
SUMMARY_FIELDS = ("level", "sent", "received", "forwarded", "missing")
SUMMARY_WIDTHS = (Cm(10.2), Cm(4.0), Cm(4.0), Cm(4.0), Cm(4.0))
MISSING_FIELDS = ("no", "name", "level", "letter", "sent_by", "sent_at", "why")
# ลำดับ / ระดับ need 1.8 cm at 16 pt, a reference number (มท ๐๘๒๐.๒/ว ๑๑๔๔) about 3.6 cm.
MISSING_WIDTHS = (Cm(1.8), Cm(6.8), Cm(1.8), Cm(3.8), Cm(4.2), Cm(4.0), Cm(3.8))
UNIT_FIELDS = ("no", "depth", "name", "level", "state", "receipt", "received_at", "forwarded", "letter")
# The two reference-number columns 3.9 cm: a glued reference number on one line.
UNIT_WIDTHS = (Cm(1.8), Cm(1.0), Cm(6.2), Cm(1.8), Cm(3.0), Cm(1.6), Cm(3.0), Cm(3.9), Cm(3.9))
STATUS_CENTRED = {"no", "depth", "receipt", "received_at", "sent_at", "sent", "received", "forwarded",
                  "missing"}


def loop_table(doc, fields, widths, *, headers: str, rows: str, after: str | None = None,
               centred: set[str] = STATUS_CENTRED):
    """A table: a header row repeated on every page (``{{ <headers>[i] }}``), one row per item of
    ``rows`` (``{{ r.<field> }}``), and a bold last row from the mapping ``after`` when given."""
    table = doc.add_table(rows=4 + (after is not None), cols=len(fields))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    fixed_layout(table)
    set_widths(table, widths)
    head, loop_start, line, loop_end = table.rows[:4]
    row_flag(head, "tblHeader")
    row_flag(head, "cantSplit")
    for i, cell in enumerate(head.cells):
        cell_text(cell, f"{{{{ {headers}[{i}] }}}}", align=WD_ALIGN_PARAGRAPH.CENTER, bold=True)
    row_flag(line, "cantSplit")
    cell_text(loop_start.cells[0], f"{{%tr for r in {rows} %}}")

    def align(field):
        return WD_ALIGN_PARAGRAPH.CENTER if field in centred else WD_ALIGN_PARAGRAPH.LEFT

    for field, cell in zip(fields, line.cells, strict=True):
        cell_text(cell, f"{{{{ r.{field} }}}}", align=align(field))
    cell_text(loop_end.cells[0], "{%tr endfor %}")
    if after is not None:
        last = table.rows[4]
        row_flag(last, "cantSplit")
        for field, cell in zip(fields, last.cells, strict=True):
            cell_text(cell, f"{{{{ {after}.{field} }}}}", align=align(field), bold=True)
    return table


def build_status() -> Document:
    """รายงานสถานะหนังสือ: title lines, the summary per level, the units still missing, the per-unit table."""
    doc = new_document()
    para(doc, "{%p for line in title_lines %}")
    para(doc, "{{ line }}", align=WD_ALIGN_PARAGRAPH.CENTER, bold=True)
    para(doc, "{%p endfor %}")
    para(doc)
    para(doc, "{{ summary_heading }}", bold=True)
    loop_table(doc, SUMMARY_FIELDS, SUMMARY_WIDTHS, headers="summary_headers", rows="levels", after="total")
    para(doc)
    para(doc, "{{ missing_heading }}", bold=True)
    para(doc, "{%p for line in missing_notes %}")
    para(doc, "{{ line }}")
    para(doc, "{%p endfor %}")
    para(doc, "{%p if missing %}")
    loop_table(doc, MISSING_FIELDS, MISSING_WIDTHS, headers="missing_headers", rows="missing")
    para(doc, "{%p endif %}")
    heading = para(doc, "{{ units_heading }}", bold=True)
    heading.paragraph_format.page_break_before = True
    para(doc, "{%p for line in units_notes %}")
    para(doc, "{{ line }}")
    para(doc, "{%p endfor %}")
    loop_table(doc, UNIT_FIELDS, UNIT_WIDTHS, headers="unit_headers", rows="units")
    end = para(doc)
    end.paragraph_format.line_spacing = Pt(1)
    return doc


# programme.docx: A4 portrait, 17 cm of text width.
PROVINCE_FIELDS = ("no", "name", "eligible", "applicants", "share")
PROVINCE_WIDTHS = (Cm(1.6), Cm(6.4), Cm(3.2), Cm(3.0), Cm(2.8))
LEVEL_FIELDS = ("name", "eligible", "applicants", "share")
LEVEL_WIDTHS = (Cm(8.0), Cm(3.2), Cm(3.0), Cm(2.8))
PROVISIONAL_FIELDS = ("name", "count")
PROVISIONAL_WIDTHS = (Cm(8.0), Cm(4.0))
REMINDER_FIELDS = ("no", "unit", "kind", "step", "letter", "mail", "date")
REMINDER_WIDTHS = (Cm(1.4), Cm(3.0), Cm(2.2), Cm(2.2), Cm(3.8), Cm(1.6), Cm(2.8))  # หนังสือที่: a whole reference
PROGRAMME_CENTRED = {"no", "eligible", "applicants", "share", "count", "step", "date", "mail"}


def portrait_document() -> Document:
    doc = new_document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin, section.right_margin = Cm(2.5), Cm(1.5)
    section.top_margin, section.bottom_margin = Cm(2), Cm(2)
    return doc


def lines(doc, name: str, *, align=None, bold: bool = False) -> None:
    """One paragraph per item of the list ``name``."""
    para(doc, f"{{%p for line in {name} %}}")
    para(doc, "{{ line }}", align=align, bold=bold)
    para(doc, "{%p endfor %}")


def build_programme() -> Document:
    """รายงานผลการรับสมัคร: title lines, totals, per province, per level, provisional levels, provinces
    without an applicant, the chart, the reminder history."""
    doc = portrait_document()
    lines(doc, "title_lines", align=WD_ALIGN_PARAGRAPH.CENTER, bold=True)
    para(doc)
    lines(doc, "total_lines")
    para(doc)
    para(doc, "{{ province_heading }}", bold=True)
    loop_table(doc, PROVINCE_FIELDS, PROVINCE_WIDTHS, headers="province_headers", rows="provinces",
               after="province_total", centred=PROGRAMME_CENTRED)
    para(doc)
    para(doc, "{{ missing_heading }}", bold=True)
    para(doc, "{{ missing_line }}")
    para(doc)
    para(doc, "{{ level_heading }}", bold=True)
    loop_table(doc, LEVEL_FIELDS, LEVEL_WIDTHS, headers="level_headers", rows="levels", after="level_total",
               centred=PROGRAMME_CENTRED)
    para(doc, "{%p if provisional %}")
    para(doc)
    para(doc, "{{ provisional_heading }}", bold=True)
    loop_table(doc, PROVISIONAL_FIELDS, PROVISIONAL_WIDTHS, headers="provisional_headers", rows="provisional",
               centred=PROGRAMME_CENTRED)
    para(doc, "{%p endif %}")
    heading = para(doc, "{{ chart_heading }}", align=WD_ALIGN_PARAGRAPH.CENTER, bold=True)
    heading.paragraph_format.page_break_before = True
    para(doc, "{{ chart }}", align=WD_ALIGN_PARAGRAPH.CENTER)
    heading = para(doc, "{{ reminder_heading }}", bold=True)
    heading.paragraph_format.page_break_before = True
    lines(doc, "reminder_lines")
    para(doc, "{%p if reminders %}")
    loop_table(doc, REMINDER_FIELDS, REMINDER_WIDTHS, headers="reminder_headers", rows="reminders",
               centred=PROGRAMME_CENTRED)
    para(doc, "{%p endif %}")
    end = para(doc)
    end.paragraph_format.line_spacing = Pt(1)
    return doc


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder to write to (default {OUT})")
    out: Path = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in (("register", build_register), ("status", build_status),
                        ("programme", build_programme)):
        doc = build()
        props = doc.core_properties
        props.title = f"saraban template: {name}"
        props.author = props.last_modified_by = "saraban"
        props.created = props.modified = FIXED_TIME
        props.revision = 1
        path = out / f"{name}.docx"
        doc.save(path)
        print(path)
        written.append(path)
    return written


if __name__ == "__main__":
    main()
