"""The body of a letter as the template draws it: paragraphs, list items, tables and the meeting block.

Each block is a mapping with a ``kind`` (paragraph, item, table, meeting) the template branches on, and its
texts already in the letter's digits. ``kind`` and a table's ``widths`` decide the shape of the letter
(saraban.letters.shapes); every other value is text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import lru_cache
from typing import Any

from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Emu, Pt
from PIL import ImageFont

from saraban.letters.paper.fonts import TH_SARABUN_SCALE, sarabun_file
from saraban.letters.parts import ListBlock, Meeting, MeetingPlace, TableBlock
from saraban.letters.spec import LetterSpec
from thai_text import apply_digits, format_thai_date

Text = Callable[[str | None], str]  # a text of the spec in the letter's digits

TABLE_WIDTH = Cm(16)  # the text width: A4 less the 3 cm and 2 cm margins
BODY_TABLE = "saraban:body-table"  # the description that names a body table in the template
MEETING_QR_CAPTION = "QR Code สำหรับเข้าร่วมประชุมออนไลน์"
_WEEKDAYS = ("จันทร์", "อังคาร", "พุธ", "พฤหัสบดี", "ศุกร์", "เสาร์", "อาทิตย์")


def thai_weekday_date(d: date, digits: str) -> str:
    """``วันพฤหัสบดีที่ ๔ มิถุนายน ๒๕๖๓``: the day of the week, as invitations name a meeting's day."""
    return f"วัน{_WEEKDAYS[d.weekday()]}ที่ {format_thai_date(d, digits=digits)}"


def _labels(block: ListBlock, digits: str) -> list[str]:
    if block.style == "bullet":
        return ["•"] * len(block.list)
    form = "({})" if block.style == "bracketed" else "{}."
    return [apply_digits(form.format(i), digits) for i in range(1, len(block.list) + 1)]


_PAD = Cm(0.5)  # a cell's margins (0.19 cm a side) and a little air
_WIDEST_WORD = Cm(4)  # a longer run without a space may wrap inside it


@lru_cache(maxsize=2)
def _font(style: str) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(sarabun_file(style)), 1000)


def text_width(text: str, *, bold: bool = False) -> int:
    """How wide ``text`` prints at 16 pt in TH Sarabun (Sarabun at TH Sarabun's size), in EMU."""
    thousandths = _font("Bold" if bold else "Regular").getlength(text)
    return int(Pt(16 * TH_SARABUN_SCALE) * thousandths / 1000)


def column_widths(header: list[str], rows: list[list[str]]) -> list[int]:
    """Widths in twips that fill the text width: each column as wide as its longest line if all fit,
    else at least its widest word (the header's included, bold), the rest shared by what each holds."""
    natural, least = [], []
    for i, head in enumerate(header):
        lines = [(line, True) for line in head.splitlines()] + [
            (line, False) for row in rows for line in row[i].splitlines()]
        natural.append(max((text_width(line, bold=bold) for line, bold in lines), default=0) + _PAD)
        words = [(word, bold) for line, bold in lines for word in line.split()]
        widest = max((text_width(word, bold=bold) for word, bold in words), default=0)
        least.append(min(natural[-1], min(widest, _WIDEST_WORD) + _PAD))
    total = TABLE_WIDTH
    if sum(natural) <= total:
        emu = [n * total / sum(natural) for n in natural]
    elif sum(least) >= total:
        emu = [m * total / sum(least) for m in least]
    else:
        room, want = total - sum(least), sum(n - m for n, m in zip(natural, least, strict=True))
        emu = [m + room * (n - m) / want for n, m in zip(natural, least, strict=True)]
    widths = [int(Emu(int(e)).twips) for e in emu]
    widths[-1] += int(Emu(total).twips) - sum(widths)
    return widths


def meeting_lines(meeting: Meeting, t: Text, digits: str) -> list[dict[str, str]]:
    """วันที่ / เวลา / สถานที่ / ช่องทางออนไลน์ as label and text; the link, Meeting ID and passcode as typed."""
    lines = []
    if meeting.number:
        lines.append({"label": "ครั้งที่", "text": t(meeting.number)})
    lines.append({"label": "วันที่", "text": thai_weekday_date(meeting.date, digits)})
    lines.append({"label": "เวลา", "text": t(meeting.time)})
    if meeting.place:
        lines.append({"label": "สถานที่", "text": t(meeting.place)})
    if meeting.online:
        online = meeting.online
        where = f"{t(online.platform)} {online.url}" if online.platform else online.url
        lines.append({"label": "ช่องทางออนไลน์", "text": where})
        codes = [f"{label} {value}" for label, value in (("Meeting ID", online.meeting_id),
                                                         ("Passcode", online.passcode)) if value]
        if codes:
            lines.append({"label": "", "text": "   ".join(codes)})
    return lines


def body_blocks(spec: LetterSpec, t: Text) -> list[dict[str, Any]]:
    """The body's blocks in order; the meeting block where the body says ``meeting: true``, else after the
    first paragraph (the one that introduces it)."""
    blocks: list[dict[str, Any]] = []
    placed = any(isinstance(entry, MeetingPlace) for entry in spec.body)
    meeting = ({"kind": "meeting", "lines": meeting_lines(spec.meeting, t, spec.digits)}
               if spec.meeting is not None else None)
    for i, entry in enumerate(spec.body):
        if isinstance(entry, str):
            blocks.append({"kind": "paragraph", "text": t(entry)})
        elif isinstance(entry, ListBlock):
            blocks += [{"kind": "item", "label": label, "text": t(item)}
                       for label, item in zip(_labels(entry, spec.digits), entry.list, strict=True)]
        elif isinstance(entry, TableBlock):
            header = [t(h) for h in entry.table.header]
            rows = [[t(c) for c in row] for row in entry.table.rows]
            blocks.append({"kind": "table", "header": header, "rows": rows, "widths": column_widths(header, rows)})
        elif meeting is not None:  # the meeting's place
            blocks.append(meeting)
        if i == 0 and meeting is not None and not placed:
            blocks.append(meeting)
    return blocks


def qr_codes(spec: LetterSpec, t: Text) -> list[tuple[str, str]]:
    """The QR codes at the foot as (link, caption): the online meeting's first, then the spec's."""
    codes = []
    if spec.meeting is not None and spec.meeting.online is not None:
        online = spec.meeting.online
        codes.append((online.url, t(online.caption or MEETING_QR_CAPTION)))
    return codes + [(q.url, t(q.caption)) for q in spec.qr]


def qr_links(spec: LetterSpec) -> list[str]:
    """The links of :func:`qr_codes`, in the same order."""
    return [link for link, _ in qr_codes(spec, lambda text: text or "")]


def fit_body_tables(document: Any, blocks: list[dict[str, Any]]) -> None:
    """Give each body table (in the rendered document's XML, in order) its block's column widths, in the
    grid and in every cell, where Word and LibreOffice read them."""
    widths = [block["widths"] for block in blocks if block["kind"] == "table"]
    tables = [tbl for tbl in document.iter(qn("w:tbl"))
              if (d := tbl.find(f"{qn('w:tblPr')}/{qn('w:tblDescription')}")) is not None
              and d.get(qn("w:val")) == BODY_TABLE]
    for tbl, columns in zip(tables, widths, strict=False):
        grid = tbl.find(qn("w:tblGrid"))
        for col in list(grid):
            grid.remove(col)
        for width in columns:
            col = OxmlElement("w:gridCol")
            col.set(qn("w:w"), str(width))
            grid.append(col)
        for tr in tbl.iter(qn("w:tr")):
            for tc, width in zip(tr.findall(qn("w:tc")), columns, strict=False):
                tc_w = tc.get_or_add_tcPr().get_or_add_tcW()
                tc_w.set(qn("w:type"), "dxa")
                tc_w.set(qn("w:w"), str(width))
