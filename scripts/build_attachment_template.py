"""Build templates/letters/attachment.docx: the pages attached after a letter (issue 12 §4), filled in by
saraban.letters.attachments.

The .docx is a template: open it in Word or LibreOffice and restyle it freely, keeping the ``{{ ... }}``,
``{%p ... %}`` and ``{%tr ... %}`` tags. This script makes the first version of it and may be run again at
any time to start over (it overwrites the file): ``.venv/bin/python scripts/build_attachment_template.py``.

Layout: A4 with the letters' margins; every attached page starts on a new page (its title paragraph has
"page break before") and carries no page number of the letter.

- ``reply_forms`` (แบบตอบรับ), each: ``title``, ``about`` (แนบท้ายหนังสือ…), ``cited`` (ที่ … ลงวันที่ …), ``subject``,
  ``choices`` (ticked by the one who replies), ``fields`` (a label and a dotted line to the margin),
  ``instructions`` (how to return it), then the signature lines of the one who replies.
- ``recipient_lists`` (บัญชีรายชื่อผู้รับ), each: ``title``, ``about``, ``cited``, ``subject``, and a bordered table
  ลำดับ | หน่วยงาน whose header row repeats on every page (``rows``: ``no``, ``name``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.oxml import OxmlElement
from docx.shared import Cm, Pt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_templates import (  # noqa: E402
    HALF,
    INDENT,
    RED,
    TEXT_WIDTH,
    cell_text,
    new_document,
    para,
    set_run_font,
    set_widths,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "templates" / "letters"
CENTRE = WD_ALIGN_PARAGRAPH.CENTER
NUMBER_WIDTH, NAME_WIDTH = Cm(2), Cm(14)


def title(doc, text: str):
    """The title of an attached page: bold, centred, always at the top of a new page."""
    p = para(doc, text, align=CENTRE, bold=True, size=18)
    p.paragraph_format.page_break_before = True
    p.paragraph_format.keep_with_next = True
    return p


def row_flag(row, tag: str) -> None:
    """A row property without a value: w:tblHeader (repeat on every page), w:cantSplit."""
    row._tr.get_or_add_trPr().append(OxmlElement(f"w:{tag}"))


def reply_form(doc) -> None:
    para(doc, "{%p for form in reply_forms %}")
    title(doc, "{{ form.title }}")
    para(doc, "{{ form.about }}", align=CENTRE)
    para(doc, "{{ form.cited }}", align=CENTRE)
    para(doc, "เรื่อง  {{ form.subject }}", align=CENTRE)
    para(doc)
    para(doc, "{%p for choice in form.choices %}")
    para(doc, "(      )  {{ choice }}", left=INDENT)
    para(doc, "{%p endfor %}")
    para(doc, "{%p for field in form.fields %}")
    p = para(doc, "{{ field }}", tabs=[(TEXT_WIDTH, WD_TAB_ALIGNMENT.RIGHT)])
    p.paragraph_format.tab_stops[0]._tab.leader = WD_TAB_LEADER.DOTS  # a dotted line to fill in by hand
    p.paragraph_format.space_before = Pt(6)
    set_run_font(p.add_run("\t"))
    para(doc, "{%p endfor %}")
    para(doc)
    para(doc, "{%p for line in form.instructions %}")
    para(doc, "{{ line }}", indent_first=INDENT)
    para(doc, "{%p endfor %}")
    para(doc)
    para(doc)
    for line in ("ลงชื่อ.......................................................ผู้ตอบ",
                 "(.......................................................)",
                 "ตำแหน่ง.......................................................",
                 "วันที่......................................................."):
        para(doc, line, left=HALF - Cm(2), align=CENTRE, keep_next=True)
    para(doc, "{%p endfor %}")


def recipients_list(doc) -> None:
    para(doc, "{%p for list in recipient_lists %}")
    title(doc, "{{ list.title }}")
    para(doc, "{{ list.about }}", align=CENTRE)
    para(doc, "{{ list.cited }}", align=CENTRE)
    para(doc, "เรื่อง  {{ list.subject }}", align=CENTRE)
    para(doc)
    table = doc.add_table(rows=4, cols=2)
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    set_widths(table, (NUMBER_WIDTH, NAME_WIDTH))
    head, loop_start, line, loop_end = table.rows
    row_flag(head, "tblHeader")
    row_flag(head, "cantSplit")
    row_flag(line, "cantSplit")
    cell_text(head.cells[0], "ลำดับ", align=CENTRE, bold=True)
    cell_text(head.cells[1], "หน่วยงาน", align=CENTRE, bold=True)
    cell_text(loop_start.cells[0], "{%tr for r in list.rows %}")
    cell_text(line.cells[0], "{{ r.no }}", align=CENTRE)
    cell_text(line.cells[1], "{{ r.name }}")
    cell_text(loop_end.cells[0], "{%tr endfor %}")
    para(doc, "{%p endfor %}")


def own_header_and_footer(doc) -> None:
    """Only the secrecy mark at the top and the bottom: attached pages carry no page number of the letter
    (whatever the letters' page furniture holds)."""
    section = doc.sections[0]
    section.different_first_page_header_footer = False
    for part in (section.header, section.footer):
        for child in list(part._element):
            part._element.remove(child)
        p = para(part, "{{ secrecy }}", align=CENTRE, size=20, bold=True, color=RED)
        p.paragraph_format.keep_with_next = False


def build_attachment():
    doc = new_document()
    own_header_and_footer(doc)
    reply_form(doc)
    recipients_list(doc)
    # A document ends with a paragraph (Word adds one after a closing table otherwise); keep it tiny.
    end = para(doc)
    end.paragraph_format.line_spacing = Pt(1)
    return doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    doc = build_attachment()
    doc.core_properties.title = "saraban template: attached pages"
    doc.core_properties.author = "saraban"
    path = args.out / "attachment.docx"
    doc.save(path)
    print(path)


if __name__ == "__main__":
    main()
