"""Letters of more than one page, as the practice wants them (reference/letters.md):

- from page 2 on, the page number centred at the top, in the letter's digits between dashes: ``- ๒ -``;
- at the foot of every page but the last, at the right, the carry-on words: a slash, the first words
  of the next page and an ellipsis (``/จึงเรียนมา...``);
- the signature block (closing, signature space, name, position) and the foot (owner block, QR codes)
  on one page (the templates keep them together), and never a page that starts with the signature:
  the last lines of the text go over with it.

Where the pages break is what LibreOffice made of the letter (the PDF is read back with
``pdftotext -bbox-layout``); the .docx then gets one section per page, each with its own header (page
number) and footer (carry-on words, in the margin, so the pages hold the same lines), and a page that
starts inside a paragraph splits that paragraph there, its first part justified to the end. Word and
LibreOffice then show the same pages.
"""

from __future__ import annotations

import copy
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.pkgwriter import _ContentTypesItem
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.section import Section
from docx.shared import Pt
from lxml import etree

from saraban.letters.paper.lean_docx import lean_document
from saraban.letters.paper.typeset import SIGNATURE_MARK
from saraban.letters.zip_splice import ZipSplice
from thai_text import to_thai_digits
from thai_text.linebreak import base_chars, strip_marks

CARRY_WORDS_MIN = 6  # characters of the next page's first words in the carry-on words
MARK_SIZE = 16.0  # pt: the page number and the carry-on words
MARK_ASCENT, MARK_DESCENT = 1286 / 1515, 567 / 1515  # Saraban TH's (= TH Sarabun's) line, in em
_CHANGED = re.compile(r"word/(document|header\d+|footer\d+)\.xml")  # and their relationships
_LIST_MARKER = re.compile(r"^(?:\(?[0-9๐-๙]+[.)]|[•\-])\s*")
_XHTML = "{http://www.w3.org/1999/xhtml}"


@dataclass(frozen=True)
class Line:
    text: str
    x_min: float
    y_min: float
    x_max: float
    y_max: float


@dataclass(frozen=True)
class Page:
    width: float
    height: float
    lines: list[Line]


def read_pages(pdf: Path) -> list[Page]:
    """Every page of a PDF with its text lines and their boxes (points, origin top left)."""
    out = subprocess.run(["pdftotext", "-bbox-layout", str(pdf), "-"], capture_output=True, check=True).stdout
    root = etree.fromstring(out, etree.XMLParser(recover=True, huge_tree=True))
    pages = []
    for page in root.iter(f"{_XHTML}page"):
        lines = []
        for line in page.iter(f"{_XHTML}line"):
            words = [w.text or "" for w in line.iter(f"{_XHTML}word")]
            lines.append(Line(" ".join(words), float(line.get("xMin")), float(line.get("yMin")),
                              float(line.get("xMax")), float(line.get("yMax"))))
        pages.append(Page(float(page.get("width")), float(page.get("height")), lines))
    return pages


squeeze = base_chars  # what lines and paragraphs are compared by


# --- where each page starts in the document ------------------------------------------------------


@dataclass(frozen=True)
class Spot:
    """A place in the body: top-level block ``block``, ``offset`` characters into its squeezed text."""

    block: int
    offset: int


def _block_text(el: etree._Element) -> str:
    return squeeze("".join(t.text or "" for t in el.iter(qn("w:t"))))


def body_lines(page: Page, top: float, bottom: float) -> list[Line]:
    """The lines of the page's text area: not the header's nor the footer's."""
    return [line for line in page.lines if line.y_min >= top - 2 and line.y_max <= bottom + 2 and squeeze(line.text)]


def align_lines(blocks: list[etree._Element], pages: list[list[Line]]) -> list[list[Spot | None]]:
    """Where each line of each page starts in the blocks: lines follow the blocks in order; a table's
    lines (its cells side by side) are found anywhere in its text."""
    texts = [_block_text(b) for b in blocks]
    tables = [b.tag == qn("w:tbl") for b in blocks]
    at = Spot(0, 0)
    found: list[list[Spot | None]] = []
    for lines in pages:
        spots: list[Spot | None] = []
        for line in lines:
            text = squeeze(line.text)
            spot = None
            for i in range(at.block, len(blocks)):
                if tables[i]:
                    if text in texts[i]:
                        spot = Spot(i, texts[i].find(text))
                        break
                    continue
                offset = texts[i].find(text, at.offset if i == at.block else 0)
                if offset >= 0:
                    spot = Spot(i, offset)
                    break
            if spot is not None:
                at = Spot(spot.block, spot.offset + (0 if tables[spot.block] else len(text)))
                if not tables[spot.block] and at.offset >= len(texts[spot.block]):
                    at = Spot(spot.block + 1, 0)
            spots.append(spot)
        found.append(spots)
    return found


# --- the paged .docx ---------------------------------------------------------------------------------


def _digits(doc_xml: etree._Element) -> str:
    text = "".join(t.text or "" for t in doc_xml.iter(qn("w:t")))
    return "thai" if re.search("[๐-๙]", text) else "arabic"


def _cut(p: etree._Element, offset: int) -> tuple[int, int]:
    """(index of the w:t, index in its text) of the ``offset``-th squeezed character of ``p``."""
    count = 0
    for n, t in enumerate(p.iter(qn("w:t"))):
        for i, ch in enumerate(t.text or ""):
            if base_chars(ch):
                if count == offset:
                    return n, i
                count += 1
    raise ValueError(f"no character {offset} in the paragraph")


def _keep(p: etree._Element, where: tuple[int, int], *, before: bool) -> None:
    """Keep only what comes before (or from) ``where`` in paragraph ``p``."""
    n, i = where
    t = list(p.iter(qn("w:t")))[n]
    text = t.text or ""
    t.text = text[:i] if before else text[i:]
    run = t.getparent()
    runs = [r for r in p.iter(qn("w:r"))]
    at = runs.index(run)
    for other in (runs[at + 1:] if before else runs[:at]):
        other.getparent().remove(other)
    # within the run itself: what follows (precedes) the text
    siblings = list(run)
    k = siblings.index(t)
    for child in (siblings[k + 1:] if before else siblings[:k]):
        if child.tag != qn("w:rPr"):
            run.remove(child)


def _split_paragraph(p: etree._Element, offset: int) -> etree._Element:
    """Split paragraph ``p`` before its ``offset``-th squeezed character; return the second part (placed
    after ``p``). The first part keeps the paragraph's look and is justified to its last line (it ends
    a page mid-paragraph); the second starts at the margin, without a first-line indent."""
    where = _cut(p, offset)
    second = copy.deepcopy(p)
    p.addnext(second)
    _keep(p, where, before=True)
    _keep(second, where, before=False)
    for bookmark in [*second.iter(qn("w:bookmarkStart"), qn("w:bookmarkEnd"))]:
        bookmark.getparent().remove(bookmark)
    ppr = p.find(qn("w:pPr"))
    jc = ppr.find(qn("w:jc")) if ppr is not None else None
    if jc is not None and jc.get(qn("w:val")) in ("both", "thaiDistribute"):
        jc.set(qn("w:val"), "distribute")
    ppr2 = second.find(qn("w:pPr"))
    ind = ppr2.find(qn("w:ind")) if ppr2 is not None else None
    if ind is not None:
        for attr in ("w:firstLine", "w:hanging", "w:firstLineChars", "w:hangingChars"):
            ind.attrib.pop(qn(attr), None)
    return second


def _section_end(body: etree._Element, before: etree._Element) -> etree._Element:
    """The paragraph that ends the section before ``before``: the block before it, or a paragraph of no
    height put there when that block is a table."""
    prev = before.getprevious()
    if prev is not None and prev.tag == qn("w:p"):
        return prev
    p = OxmlElement("w:p")
    ppr = OxmlElement("w:pPr")
    spacing = OxmlElement("w:spacing")
    spacing.set(qn("w:line"), "20")
    spacing.set(qn("w:lineRule"), "exact")
    ppr.append(spacing)
    p.append(ppr)
    before.addprevious(p)
    return p


def _set_text(paragraph, text: str, align, *, size: float = 16) -> None:
    paragraph.paragraph_format.alignment = align
    paragraph.paragraph_format.space_before = paragraph.paragraph_format.space_after = Pt(0)
    run = paragraph.add_run(text)
    run.font.size = Pt(size)
    rpr = run._element.get_or_add_rPr()
    szcs = OxmlElement("w:szCs")
    szcs.set(qn("w:val"), str(int(size * 2)))
    rpr.append(szcs)


def _text_from(p: etree._Element, offset: int, length: int = 80) -> str:
    """The text of paragraph ``p`` from its ``offset``-th squeezed character (tabs as spaces); "" for a table."""
    if p.tag != qn("w:p"):
        return ""
    n, i = _cut(p, offset)
    pieces, seen = [], -1
    for el in p.iter(qn("w:t"), qn("w:tab")):
        if el.tag == qn("w:tab"):
            if seen >= n:
                pieces.append(" ")
            continue
        seen += 1
        if seen == n:
            pieces.append((el.text or "")[i:])
        elif seen > n:
            pieces.append(el.text or "")
        if sum(map(len, pieces)) >= length:
            break
    return "".join(pieces)


def _row_text(line: Line, page: list[Line]) -> str:
    """The text of the whole row a line is on: pdftotext gives a list item's number (``๓.``) or a table's
    cells as lines of their own."""
    row = sorted((other for other in page if abs(other.y_min - line.y_min) < 3), key=lambda other: other.x_min)
    return " ".join(other.text for other in row) or line.text


def _carry_words(line: str) -> str:
    """``/<the first words of the next page>...``."""
    from pythainlp.tokenize import word_tokenize

    text = strip_marks(line).strip()
    marker = _LIST_MARKER.match(text)  # a list item's number goes with its first words, and is not counted
    lead, text = (marker.group(), text[marker.end():]) if marker else ("", text)
    words, taken = word_tokenize(text, engine="newmm", keep_whitespace=True), lead
    for word in words:
        taken += word
        if len(taken.strip()) - len(lead.strip()) >= CARRY_WORDS_MIN:
            break
    return f"/{taken.strip().rstrip('.')}..."


@dataclass(frozen=True)
class PageMark:
    """Text a page gets in its margin: the page number in the header or the carry-on words in the footer,
    at ``x`` (its centre or its right edge, by ``align``) on the baseline ``y`` (points, origin bottom
    left), where LibreOffice draws the header or footer paragraph the .docx gets for it."""

    page: int  # 0-based
    text: str
    x: float
    y: float
    size: float
    align: str  # "center" | "right"


@dataclass(frozen=True)
class Paginated:
    """A letter given its pages: ``docx`` with one section per page; ``marks``, what each section's header
    and footer show; ``as_printed``: the sections start where LibreOffice's pages did (no lines moved to
    keep the signature company, no spacer before a table, no secrecy mark), so LibreOffice would lay the
    paged .docx out line for line as the PDF it was read from: that PDF with the marks drawn on it is the
    letter's PDF, and it need not be printed again."""

    docx: bytes
    marks: list[PageMark]
    as_printed: bool


def paginate(docx: bytes, pdf: Path, *, pages: list[Page] | None = None) -> Paginated | None:
    """The .docx with one section per page of ``pdf`` (what LibreOffice made of it), page numbers and
    carry-on words; None when the letter has one page, or when its pages cannot be matched to it.
    ``pages``: the letter's own pages, already read from ``pdf`` (its attached pages follow them there)."""
    pages = read_pages(pdf) if pages is None else pages
    if len(pages) < 2:
        return None
    doc = lean_document(docx)
    body = doc.element.body
    final = body.find(qn("w:sectPr"))
    top = final.find(qn("w:pgMar"))
    page_h = pages[0].height
    top_pt = int(top.get(qn("w:top"))) / 20
    bottom_pt = page_h - int(top.get(qn("w:bottom"))) / 20
    blocks = [el for el in body if el.tag in (qn("w:p"), qn("w:tbl"))]
    lines = [body_lines(p, top_pt, bottom_pt) for p in pages]
    spots = align_lines(blocks, lines)
    signature = next((i for i, b in enumerate(blocks)
                      if any(m.get(qn("w:name")) == SIGNATURE_MARK for m in b.iter(qn("w:bookmarkStart")))), None)
    # Where each page from the second on starts, with the line that starts it.
    starts: list[tuple[Spot, str]] = []
    as_printed = True
    for k in range(1, len(pages)):
        first = next(((s, ln) for s, ln in zip(spots[k], lines[k], strict=True) if s is not None), None)
        if first is None:
            return None
        spot, line = first
        if signature is not None and spot.block >= signature:
            # The page would start with the signature: its last two lines of text go over with it
            # (typeset.print_ready keeps them together, so LibreOffice seldom leaves this to do).
            as_printed = False
            before = [(s, ln) for s, ln in zip(spots[k - 1], lines[k - 1], strict=True)
                      if s is not None and s.block < signature and _block_text(blocks[s.block])]
            if not before:
                return None
            last = before[-1][0].block
            same = [(s, ln) for s, ln in before if s.block == last]
            spot, line = same[-2] if len(same) >= 3 else (Spot(last, 0), same[0][1])
            if blocks[last].tag == qn("w:tbl"):
                spot = Spot(last, 0)
        page_lines = lines[k] if line in lines[k] else lines[k - 1]
        starts.append((spot, _row_text(line, page_lines)))
    # Make the sections, last page first so that block indexes stay valid.
    digits = _digits(doc.element)
    ends: list[etree._Element] = []
    carry: list[str] = []
    for spot, text in reversed(starts):
        block = blocks[spot.block]
        # The words as typed (the PDF's text has spaces where justification spread a word).
        text = _text_from(block, spot.offset) or text
        if block.tag == qn("w:tbl") or spot.offset == 0:
            before = block.getprevious()
            end = _section_end(body, block)
            # Not a spacer paragraph put before a table, nor a table LibreOffice split (the section takes it whole).
            as_printed = as_printed and end is before and not (block.tag == qn("w:tbl") and spot.offset > 0)
        else:
            _split_paragraph(block, spot.offset)
            end = block
        ends.insert(0, end)
        carry.insert(0, _carry_words(text))
    marks = [[copy.deepcopy(p._p) for p in part.paragraphs if p.text.strip()]
             for part in (doc.sections[0].header, doc.sections[0].footer)]  # the secrecy mark, if any
    template = copy.deepcopy(final)
    for ref in template.findall(qn("w:headerReference")) + template.findall(qn("w:footerReference")):
        template.remove(ref)
    for el in template.findall(qn("w:titlePg")):
        template.remove(el)
    sections = []
    for end in ends:
        ppr = end.find(qn("w:pPr"))
        if ppr is None:
            ppr = OxmlElement("w:pPr")
            end.insert(0, ppr)
        sect = copy.deepcopy(template)
        kind = OxmlElement("w:type")
        kind.set(qn("w:val"), "nextPage")
        sect.insert(0, kind)
        ppr.append(sect)
        sections.append(Section(sect, doc.part))
    sections.append(Section(final, doc.part))
    geometry = _Geometry.of(final, pages[0])
    page_marks: list[PageMark] = []
    for n, section in enumerate(sections, 1):
        header, footer = section.header, section.footer
        header.is_linked_to_previous = False
        footer.is_linked_to_previous = False
        for part in (header, footer):
            for p in list(part.paragraphs):
                p._p.getparent().remove(p._p)
        for part, kept in ((header, marks[0]), (footer, marks[1])):
            for p in kept:
                part._element.append(copy.deepcopy(p))
        if n > 1:
            number = to_thai_digits(n) if digits == "thai" else str(n)
            _set_text(header.add_paragraph(), f"- {number} -", WD_ALIGN_PARAGRAPH.CENTER, size=MARK_SIZE)
            page_marks.append(geometry.header_mark(n - 1, f"- {number} -"))
        if n < len(sections):
            _set_text(footer.add_paragraph(), carry[n - 1], WD_ALIGN_PARAGRAPH.RIGHT, size=MARK_SIZE)
            page_marks.append(geometry.footer_mark(n - 1, carry[n - 1]))
        for part in (header, footer):
            if not part.paragraphs:
                part.add_paragraph()
    as_printed = as_printed and not any(marks)
    return Paginated(_saved(doc, docx), page_marks, as_printed)


@dataclass(frozen=True)
class _Geometry:
    """Where LibreOffice puts a header's and a footer's one line of MARK_SIZE text: the header's top at
    its distance from the page's top, the footer's bottom at its distance from the page's bottom, the
    line as high as the font's ascent and descent, centred or at the right between the margins."""

    height: float
    left: float
    right: float
    header: float
    footer: float

    @classmethod
    def of(cls, sect_pr: etree._Element, page: Page) -> _Geometry:
        margins = sect_pr.find(qn("w:pgMar"))

        def points(name: str) -> float:
            return int(margins.get(qn(f"w:{name}"), "0")) / 20

        return cls(page.height, points("left"), page.width - points("right"), points("header"), points("footer"))

    def header_mark(self, page: int, text: str) -> PageMark:
        return PageMark(page, text, (self.left + self.right) / 2,
                        self.height - self.header - MARK_ASCENT * MARK_SIZE, MARK_SIZE, "center")

    def footer_mark(self, page: int, text: str) -> PageMark:
        return PageMark(page, text, self.right, self.footer + MARK_DESCENT * MARK_SIZE, MARK_SIZE, "right")


def _saved(doc: DocxDocument, original: bytes) -> bytes:
    """The paged document as a .docx: ``original``'s members as they were (same bytes), the parts paginate
    changes or adds (the body, headers, footers, their relationships, the content types) written anew
    (python-docx would write every member again: twice the time of the rest of paginate)."""
    package = doc.part.package
    parts = list(package.iter_parts())
    changed = {"[Content_Types].xml": _ContentTypesItem.from_parts(parts).blob}
    for part in parts:
        if _CHANGED.fullmatch(part.partname.membername):
            changed[part.partname.membername] = part.blob
            if len(part.rels):
                changed[part.partname.rels_uri.membername] = part.rels.xml
    splice = ZipSplice(original)
    return splice.with_members({n: data for n, data in changed.items() if n in splice.names},
                               {n: data for n, data in changed.items() if n not in splice.names})
