"""Build the letter templates in templates/letters/ (and the placeholder emblem).

The .docx files are the templates: open them in Word or LibreOffice and restyle them freely, keeping
the ``{{ ... }}`` and ``{%p ... %}`` tags. This script only makes the first version of them; run it
again only to start over: ``.venv/bin/python scripts/build_templates.py``.

Layout (practice of the Prime Minister's Office printing standard, see shared/reference/letters.md):
A4, margins left 3 cm, right 2 cm, top 1.5 cm, bottom 2 cm; 16 pt Thai font, single spacing; first
line of each paragraph indented 2.5 cm; closing and signature centred over the right half.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Emu, Pt, RGBColor
from PIL import Image, ImageDraw

from saraban.letters.blocks import BODY_TABLE  # names a body table: the renderer sets its column widths
from saraban.letters.render import EMBLEM_CELL  # the renderer fits the emblem in its cell

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "templates" / "letters"
FONT = "TH SarabunIT๙"
RED = RGBColor(0xC0, 0x00, 0x00)
TEXT_WIDTH = Cm(16)  # 21 cm - 3 cm - 2 cm
HALF = Cm(8)
INDENT = Cm(2.5)


def set_run_font(run, *, size: float = 16, bold: bool = False, color: RGBColor | None = None) -> None:
    """Thai is a complex script in Word: size and bold must be set for both sz and szCs."""
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    run.font.size = Pt(size)
    if bold:
        run.font.bold = True
        rpr.get_or_add_bCs()
    if color is not None:
        run.font.color.rgb = color
    add_size_cs(rpr, size)


def add_size_cs(rpr, size: float) -> None:
    """w:szCs right after w:sz, where the schema wants it (Word rejects misordered run props)."""
    szcs = OxmlElement("w:szCs")
    szcs.set(qn("w:val"), str(int(size * 2)))
    rpr.sz.addnext(szcs)


def para(container, text: str = "", *, align=None, indent_first=None, left=None, hanging=None,
         size: float = 16, bold: bool = False, color=None, tabs=(), keep_next: bool = False):
    p = container.add_paragraph()
    fmt = p.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    if align is not None:
        fmt.alignment = align
    if indent_first is not None:
        fmt.first_line_indent = indent_first
    if left is not None:
        fmt.left_indent = left
    if hanging is not None:
        fmt.left_indent = (left or 0) + hanging
        fmt.first_line_indent = -hanging
    for position, alignment in tabs:
        fmt.tab_stops.add_tab_stop(position, alignment)
    if keep_next:
        fmt.keep_with_next = True
    if text:
        set_run_font(p.add_run(text), size=size, bold=bold, color=color)
    return p


def labelled(container, label: str, value: str, *, tab=None, label_size: float = 16,
             label_bold: bool = False, left=None):
    """'label<tab>value', wrapped lines aligned under the value; ``left``: the label's indent."""
    tab = tab if tab is not None else Cm(3)
    p = para(container, left=left, hanging=tab, tabs=[((left or 0) + tab, WD_TAB_ALIGNMENT.LEFT)])
    set_run_font(p.add_run(label), size=label_size, bold=label_bold)
    set_run_font(p.add_run("\t" + value))
    return p


def thai_distribute(p) -> None:
    """Thai distributed justification: Word honours it; LibreOffice 7.4 prints it left-aligned."""
    ppr = p._p.get_or_add_pPr()
    jc = OxmlElement("w:jc")
    jc.set(qn("w:val"), "thaiDistribute")
    ppr.append(jc)


def borderless(table) -> None:
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    tbl_pr.append(borders)
    table.alignment = WD_TABLE_ALIGNMENT.LEFT


def cell_text(cell, text: str, **kw):
    """Put text in a cell's first paragraph (python-docx gives each cell one empty paragraph)."""
    p = cell.paragraphs[0]
    fmt = p.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    if "align" in kw:
        fmt.alignment = kw.pop("align")
    if text:
        set_run_font(p.add_run(text), **kw)
    return p


def new_document() -> Document:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin, section.right_margin = Cm(3), Cm(2)
    section.top_margin, section.bottom_margin = Cm(1.5), Cm(2)
    section.header_distance, section.footer_distance = Cm(0.6), Cm(0.8)
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(16)
    rpr = normal.element.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    add_size_cs(rpr, 16)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "th-TH")
    lang.set(qn("w:bidi"), "th-TH")
    rpr.append(lang)
    pf = normal.paragraph_format
    pf.space_before, pf.space_after, pf.line_spacing = Pt(0), Pt(0), 1.0
    # Secrecy marks: red, top and bottom centre of every page.
    for part in (section.header, section.footer):
        p = part.paragraphs[0]
        p.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
        set_run_font(p.add_run("{{ secrecy }}"), size=20, bold=True, color=RED)
    return doc


def emblem_row(doc, *, urgency: bool = True) -> None:
    """Urgency (red, 32 pt, top left) | emblem 3 cm (top centre) | empty."""
    table = doc.add_table(rows=1, cols=3)
    borderless(table)
    side = Emu((TEXT_WIDTH - EMBLEM_CELL["external"]) // 2)
    set_widths(table, (side, EMBLEM_CELL["external"], side))
    for cell in table.rows[0].cells:
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.BOTTOM
    left, middle, _ = table.rows[0].cells
    if urgency:
        cell_text(left, "{{ urgency }}", size=32, bold=True, color=RED)
    cell_text(middle, "{{ emblem }}", align=WD_ALIGN_PARAGRAPH.CENTER)


def loop(doc, tag: str, *lines) -> None:
    para(doc, f"{{%p {tag} %}}")
    for line in lines:
        line(doc)
    para(doc, "{%p end" + tag.split()[0] + " %}")


ITEM_HANG = Cm(1)  # a list item's number (๑. / (๑) / •) before its text; the text wraps under the text
LABEL_WIDTH = Cm(3)  # the meeting block's labels (ช่องทางออนไลน์ is 2.5 cm at 16 pt)


def body_paragraphs(doc) -> None:
    """The body's blocks (saraban.letters.blocks): paragraphs, list items with a hanging indent, tables,
    and the meeting block with its labels aligned."""
    para(doc, "{%p for block in body %}")
    para(doc, "{%p if block.kind == 'paragraph' %}")
    thai_distribute(para(doc, "{{ block.text }}", indent_first=INDENT))
    para(doc, "{%p elif block.kind == 'item' %}")
    item = para(doc, "{{ block.label }}\t{{ block.text }}", left=INDENT, hanging=ITEM_HANG,
                tabs=[(INDENT + ITEM_HANG, WD_TAB_ALIGNMENT.LEFT)])
    thai_distribute(item)
    para(doc, "{%p elif block.kind == 'table' %}")
    kept(gap(doc))
    body_table(doc)
    gap(doc)
    para(doc, "{%p elif block.kind == 'meeting' %}")
    para(doc, "{%p for line in block.lines %}")
    kept(labelled(doc, "{{ line.label }}", "{{ line.text }}", tab=LABEL_WIDTH, left=INDENT))  # one block
    para(doc, "{%p endfor %}")
    para(doc, "{%p endif %}")
    para(doc, "{%p endfor %}")


def body_table(doc) -> None:
    """A bordered table: the header row (bold, centred, repeated on each page) and as many rows as given;
    as many columns as the header has (docxtpl's {%tc %} loops; the renderer sets the widths)."""
    table = doc.add_table(rows=4, cols=3)
    bordered(table)
    descr = OxmlElement("w:tblDescription")
    descr.set(qn("w:val"), BODY_TABLE)
    table._tbl.tblPr.append(descr)
    set_widths(table, (Cm(0.5), Cm(15), Cm(0.5)))
    header, row_start, row, row_end = table.rows
    header._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    for tr in (header, row):
        tr._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    cell_text(header.cells[0], "{%tc for h in block.header %}")
    cell_text(header.cells[1], "{{ h }}", align=WD_ALIGN_PARAGRAPH.CENTER, bold=True)
    cell_text(header.cells[2], "{%tc endfor %}")
    cell_text(row_start.cells[0], "{%tr for row in block.rows %}")
    cell_text(row.cells[0], "{%tc for c in row %}")
    cell_text(row.cells[1], "{{ c }}")
    cell_text(row.cells[2], "{%tc endfor %}")
    cell_text(row_end.cells[0], "{%tr endfor %}")


def bordered(table) -> None:
    """Single 0.5 pt lines around and between every cell."""
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{side}")
        for key, value in (("val", "single"), ("sz", "4"), ("space", "0"), ("color", "000000")):
            el.set(qn(f"w:{key}"), value)
        borders.append(el)
    table._tbl.tblPr.append(borders)
    table.alignment = WD_TABLE_ALIGNMENT.LEFT


def listed(doc, field: str, label: str) -> None:
    """อ้างถึง / สิ่งที่ส่งมาด้วย: the label on the first line only, numbered when several."""
    loop(doc, f"for item in {field}", lambda d: labelled(d, f"{{{{ '{label}' if loop.first else '' }}}}",
                                                         "{{ item }}"))


def right_half(doc, text: str, *, bold: bool = False, keep_next: bool = False):
    """A line centred over the right half of the page (closing, signature, sender, date)."""
    return para(doc, text, left=HALF - Cm(1.5), align=WD_ALIGN_PARAGRAPH.CENTER, bold=bold, keep_next=keep_next)


SIGNATURE_MARK = "saraban_signature"  # the bookmark where the signature block starts (see letters/paper/pages.py)


def signature_start(p) -> None:
    """Mark the paragraph that starts the signature block: the pagination never lets a page start there
    (it moves the last lines of the text over with it)."""
    start, end = OxmlElement("w:bookmarkStart"), OxmlElement("w:bookmarkEnd")
    start.set(qn("w:id"), "0")
    start.set(qn("w:name"), SIGNATURE_MARK)
    end.set(qn("w:id"), "0")
    p._p.insert(1 if p._p.pPr is not None else 0, start)
    p._p.append(end)


def kept(p):
    """Keep with the next paragraph: the signature block and the foot stay on one page."""
    p.paragraph_format.keep_with_next = True
    return p


def acting_lines(doc) -> None:
    """ปฏิบัติราชการแทน / รักษาราชการแทน …: lines under the signer's position, kept with it."""
    loop(doc, "for line in signer_acting", lambda d: right_half(d, "{{ line }}", keep_next=True))


def contact_block(doc) -> None:
    """ส่วนราชการเจ้าของเรื่อง, โทร, โทรสาร, e-mail, ผู้ประสานงาน — bottom left."""
    loop(doc, "for line in owner_lines", lambda d: para(d, "{{ line }}"))


def gap(doc):
    """Half a line of space between the parts of the head of a letter."""
    p = para(doc)
    p.paragraph_format.line_spacing = Pt(9)
    return p


def foot(doc, *, contact: bool = True) -> None:
    """The foot of the letter: the owner division's contact block on the left (ส่วนราชการเจ้าของเรื่อง,
    โทร, โทรสาร, e-mail) and the QR codes on the right, each with its caption below it."""
    table = doc.add_table(rows=1, cols=2)
    borderless(table)
    cant_split = OxmlElement("w:cantSplit")  # the owner block and the QR codes never part
    table.rows[0]._tr.get_or_add_trPr().append(cant_split)
    left, right = table.rows[0].cells
    set_widths(table, (Cm(10.5), Cm(5.5)))
    right.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.BOTTOM
    if contact:
        cell_text(left, "{%p for line in owner_lines %}")
        cell_para(left, "{{ line }}")
        cell_para(left, "{%p endfor %}")
        cell_para(left, "{%p for item in copies_to %}")
        p = cell_para(left, "", tabs=[(Cm(2), WD_TAB_ALIGNMENT.LEFT)])
        p.paragraph_format.left_indent, p.paragraph_format.first_line_indent = Cm(2), -Cm(2)
        set_run_font(p.add_run("{{ 'สำเนาส่ง' if loop.first else '' }}\t{{ item }}"))
        cell_para(left, "{%p endfor %}")
    cell_text(right, "{%p for code in qr %}")
    cell_para(right, "{{ code.image }}", align=WD_ALIGN_PARAGRAPH.CENTER)
    cell_para(right, "{{ code.caption }}", align=WD_ALIGN_PARAGRAPH.CENTER, size=13)
    cell_para(right, "{%p endfor %}")


def cell_para(cell, text: str, *, align=None, size: float = 16, tabs=()):
    p = cell.add_paragraph()
    fmt = p.paragraph_format
    fmt.space_before = fmt.space_after = Pt(0)
    if align is not None:
        fmt.alignment = align
    for position, alignment in tabs:
        fmt.tab_stops.add_tab_stop(position, alignment)
    if text:
        set_run_font(p.add_run(text), size=size)
    return p


def set_widths(table, widths) -> None:
    """Column widths in both places Word and LibreOffice read them (grid and cells)."""
    for col, width in zip(table._tbl.tblGrid.findall(qn("w:gridCol")), widths, strict=False):
        col.set(qn("w:w"), str(int(width.twips)))
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=False):
            cell.width = width


def build_external() -> Document:
    """หนังสือภายนอก (แบบที่ ๑)."""
    doc = new_document()
    emblem_row(doc)
    head = doc.add_table(rows=1, cols=2)
    borderless(head)
    set_widths(head, (HALF, HALF))
    left, right = head.rows[0].cells
    cell_text(left, "ที่ {{ ref }}")
    cell_text(right, "{{ sender_name }}")
    cell_para(right, "{{ sender_address }}")
    gap(doc)
    para(doc, "{{ date }}", left=HALF - Cm(1))
    gap(doc)
    labelled(doc, "เรื่อง", "{{ subject }}", tab=Cm(1.25))
    gap(doc)
    para(doc, "{{ salutation }} {{ to }}")
    gap(doc)
    listed(doc, "references", "อ้างถึง")
    listed(doc, "enclosures", "สิ่งที่ส่งมาด้วย")
    para(doc, "{%p if references or enclosures %}")
    gap(doc)
    para(doc, "{%p endif %}")
    body_paragraphs(doc)
    kept(gap(doc))
    signature_start(right_half(doc, "{{ closing }}", keep_next=True))
    kept(para(doc))
    kept(para(doc))
    right_half(doc, "({{ signer_name }})", keep_next=True)
    right_half(doc, "{{ signer_position }}", keep_next=True)
    acting_lines(doc)
    kept(gap(doc))
    foot(doc)
    return doc


def build_stamped() -> Document:
    """หนังสือประทับตรา (แบบที่ ๓): no เรื่อง, no salutation, no closing, no signature."""
    doc = new_document()
    emblem_row(doc)
    para(doc, "ที่ {{ ref }}")
    gap(doc)
    labelled(doc, "ถึง", "{{ to }}", tab=Cm(1))
    gap(doc)
    listed(doc, "references", "อ้างถึง")
    listed(doc, "enclosures", "สิ่งที่ส่งมาด้วย")
    para(doc, "{%p if references or enclosures %}")
    gap(doc)
    para(doc, "{%p endif %}")
    body_paragraphs(doc)
    kept(gap(doc))
    signature_start(right_half(doc, "{{ sender_name }}", keep_next=True))
    # Room for the red office stamp (ตราชื่อส่วนราชการ) and the initials beside it.
    kept(para(doc))
    kept(para(doc))
    right_half(doc, "{{ date }}", keep_next=True)
    kept(gap(doc))
    foot(doc)
    return doc


def build_memo() -> Document:
    """บันทึกข้อความ (แบบที่ ๒): emblem 1.5 cm top left beside the heading; no closing."""
    doc = new_document()
    para(doc, "{%p if urgency %}")
    para(doc, "{{ urgency }}", size=32, bold=True, color=RED)
    para(doc, "{%p endif %}")
    head = doc.add_table(rows=1, cols=2)
    borderless(head)
    set_widths(head, (EMBLEM_CELL["memo"], Emu(TEXT_WIDTH - EMBLEM_CELL["memo"])))
    left, right = head.rows[0].cells
    right.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    cell_text(left, "{{ emblem }}")
    cell_text(right, "บันทึกข้อความ", align=WD_ALIGN_PARAGRAPH.CENTER, size=29, bold=True)
    p = para(doc)
    set_run_font(p.add_run("ส่วนราชการ"), size=20, bold=True)
    set_run_font(p.add_run(" {{ sender_name }}{{ memo_phone }}"))
    p = para(doc, tabs=[(HALF, WD_TAB_ALIGNMENT.LEFT)])
    set_run_font(p.add_run("ที่"), size=20, bold=True)
    set_run_font(p.add_run(" {{ ref }}\t"))
    set_run_font(p.add_run("วันที่"), size=20, bold=True)
    set_run_font(p.add_run(" {{ date }}"))
    labelled(doc, "เรื่อง", "{{ subject }}", tab=Cm(1.25), label_size=20, label_bold=True)
    gap(doc)
    para(doc, "{{ salutation }} {{ to }}")
    body_paragraphs(doc)
    signature_start(kept(para(doc)))
    kept(para(doc))
    right_half(doc, "({{ signer_name }})", keep_next=True)
    right_half(doc, "{{ signer_position }}", keep_next=True)
    acting_lines(doc)
    kept(gap(doc))
    foot(doc, contact=False)
    return doc


def build_placeholder_emblem(path: Path) -> None:
    """A neutral grey emblem: the office replaces it with its garuda (ตราครุฑ) or own emblem."""
    size = 600
    img = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    draw = ImageDraw.Draw(img)
    draw.ellipse((20, 20, size - 20, size - 20), outline=(110, 110, 110, 255), width=18)
    draw.ellipse((120, 120, size - 120, size - 120), outline=(160, 160, 160, 255), width=10)
    draw.line((size // 2, 150, size // 2, size - 150), fill=(160, 160, 160, 255), width=10)
    draw.line((150, size // 2, size - 150, size // 2), fill=(160, 160, 160, 255), width=10)
    img.save(path)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, build in (("external", build_external), ("stamped", build_stamped), ("memo", build_memo)):
        doc = build()
        doc.core_properties.title = f"saraban template: {name}"
        doc.core_properties.author = "saraban"
        doc.save(OUT / f"{name}.docx")
        print(OUT / f"{name}.docx")
    emblem = ROOT / "templates" / "images" / "emblem-placeholder.png"
    emblem.parent.mkdir(parents=True, exist_ok=True)
    build_placeholder_emblem(emblem)
    print(emblem)


if __name__ == "__main__":
    main()
