"""The receipt stamp (ตรารับหนังสือ) a registry puts on a letter it receives.

A box at the top right of the first page, in the margin above the letter's own text (the emblem is at
the top centre and "ที่ ..." at the left, both lower down), in stamp-pad blue, with four lines:

    สำนักงานส่งเสริมการปกครองท้องถิ่น
    เลขรับ ๑๖๔๙
    วันที่ ๒๖ มี.ค. ๒๕๖๗
    เวลา ๑๐.๓๐ น.

The text is real PDF text in Saraban TH, shaped with HarfBuzz, and text extraction gives back exactly
the lines above (:mod:`.pdf_text`).

The stamp is added as an incremental update (:mod:`.pdf_update`): the original bytes are kept as they
are, and only the first page's dictionary, a copy of its resources and the new objects (the stamp's
content, one embedded font per weight) are appended, reading only the objects of the first page; a file
that cannot be read that way (damaged, encrypted) is left to pypdf. A stamp adds ~12 KB to the file and
takes ~3 ms whatever the document's size.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject

from saraban.kernel.clock import date_text, time_text
from saraban.kernel.files import write_new, write_replacing
from saraban.kernel.settings import Settings, load_settings
from saraban.letters.paper.pdf_text import Face, FontUse, Glyph, line_width, num, saraban_face, shape, show
from saraban.letters.paper.pdf_update import (
    READ_ERRORS,
    AddObject,
    IncrementalUpdate,
    PdfObjects,
    draw_over,
    inherited,
    page_fonts,
    resource_name,
)
from thai_text import apply_digits

CM = 72 / 2.54
# The box: 6.5 x 2.6 cm, 1 cm from the page's right edge and 0.8 cm from its top.
BOX_WIDTH = 6.5 * CM
BOX_HEIGHT = 2.6 * CM
BOX_RIGHT_GAP = 1.0 * CM
BOX_TOP_GAP = 0.8 * CM
PAD_X = 0.2 * CM
PAD_Y = 0.1 * CM
BORDER = 1.2  # pt
INK = (0.11, 0.25, 0.66)  # stamp-pad blue
# Sizes as TH Sarabun sizes (Saraban TH draws at TH Sarabun's size for the same point size).
NAME_SIZE = 16.0
MIN_NAME_SIZE = 13.0  # a longer name is wrapped onto two lines rather than shrunk below this
WRAPPED_NAME_SIZE = 14.0
LINE_SIZE = 15.0
LABEL_INDENT = 0.15 * CM
# Ink extent of Saraban TH in em (font units / unitsPerEm): stacked marks reach 0.79, lower vowels -0.22.
INK_TOP, INK_BOTTOM = 0.80, 0.22
WEIGHTS = {"name": "Bold", "text": "Regular"}


class StampError(ValueError):
    """The stamp cannot be put on this PDF, or its data is wrong."""


def stamp_lines(unit_name: str, number: int, received_at: datetime, digits: str = "thai") -> list[str]:
    """The stamp's four lines: unit, เลขรับ, วันที่ (abbreviated month, B.E.), เวลา (HH.MM น.), the date
    and time in Thai time whatever zone ``received_at`` is given in (a naive time is Thai time).

    >>> from datetime import UTC
    >>> from saraban.kernel.clock import BANGKOK
    >>> stamp_lines("สำนักงานส่งเสริมการปกครองท้องถิ่น", 1649, datetime(2024, 3, 26, 10, 30, tzinfo=BANGKOK))
    ['สำนักงานส่งเสริมการปกครองท้องถิ่น', 'เลขรับ ๑๖๔๙', 'วันที่ ๒๖ มี.ค. ๒๕๖๗', 'เวลา ๑๐.๓๐ น.']
    >>> stamp_lines("กองคลัง", 7, datetime(2024, 12, 15, 2, 5, tzinfo=UTC), digits="arabic")
    ['กองคลัง', 'เลขรับ 7', 'วันที่ 15 ธ.ค. 2567', 'เวลา 09.05 น.']
    """
    name = " ".join(unit_name.split())
    if not name:
        raise StampError("the receiving unit's name is empty")
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise StampError(f"the receipt number must be a whole number from 1, not {number!r}")
    return [
        apply_digits(name, digits),
        apply_digits(f"เลขรับ {number}", digits),
        f"วันที่ {date_text(received_at, digits)}",
        f"เวลา {time_text(received_at, digits)}",
    ]


# -------------------------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class _Line:
    glyphs: list[Glyph]
    face: Face
    size: float
    centred: bool


# A break at a space is taken unless a break between words gives lines this much narrower.
SPACE_BREAK_SLACK = 1.15


def _break_points(text: str) -> list[tuple[int, bool]]:
    """Where a long unit name may be broken: at spaces (True) and between Thai words (False)."""
    from pythainlp.tokenize import word_tokenize  # slow to import: only for names too long for a line

    points, pos = {i: True for i, c in enumerate(text) if c == " "}, 0
    for word in word_tokenize(text, engine="newmm", keep_whitespace=True)[:-1]:
        pos += len(word)
        points.setdefault(pos, False)
    return sorted(points.items())


def _name_lines(name: str, face: Face, avail: float) -> list[_Line]:
    glyphs = shape(face, name)
    width = line_width(face, glyphs, NAME_SIZE)
    if width * MIN_NAME_SIZE / NAME_SIZE <= avail:
        size = min(NAME_SIZE, NAME_SIZE * avail / width) if width else NAME_SIZE
        return [_Line(glyphs, face, size, centred=True)]
    best: tuple[float, float, list[list[Glyph]]] | None = None
    for point, at_space in _break_points(name):
        parts = [name[:point].strip(), name[point:].strip()]
        if not all(parts):
            continue
        shaped = [shape(face, p) for p in parts]
        widest = max(line_width(face, g, 1.0) for g in shaped)
        score = widest if at_space else widest * SPACE_BREAK_SLACK
        if best is None or score < best[0]:
            best = (score, widest, shaped)
    if best is None:  # nowhere to break: one line, as small as it takes
        return [_Line(glyphs, face, NAME_SIZE * avail / width, centred=True)]
    size = min(WRAPPED_NAME_SIZE, avail / best[1])
    return [_Line(g, face, size, centred=True) for g in best[2]]


def _layout(lines: Sequence[str], name_face: Face, text_face: Face) -> list[_Line]:
    avail = BOX_WIDTH - 2 * PAD_X
    laid = _name_lines(lines[0], name_face, avail)
    for text in lines[1:]:
        glyphs = shape(text_face, text)
        width = line_width(text_face, glyphs, LINE_SIZE)
        size = min(LINE_SIZE, LINE_SIZE * (avail - LABEL_INDENT) / width) if width else LINE_SIZE
        laid.append(_Line(glyphs, text_face, size, centred=False))
    return laid


# ------------------------------------------------------------------------------------------- the PDF


def _stamp_content(lines: Sequence[_Line], left: float, bottom: float, uses: dict[int, FontUse]) -> bytes:
    ink = " ".join(num(c) for c in INK)
    ops = ["q", f"{ink} RG {ink} rg", f"{num(BORDER)} w 0 J 0 j",
           f"{num(left)} {num(bottom)} {num(BOX_WIDTH)} {num(BOX_HEIGHT)} re S", "BT"]
    # Each line gets a share of the height by its size; its ink is centred in its share.
    inner = BOX_HEIGHT - 2 * PAD_Y - BORDER
    total = sum(line.size for line in lines)
    top = bottom + BOX_HEIGHT - PAD_Y - BORDER / 2
    current: tuple[str, float] | None = None
    for line in lines:
        pitch = inner * line.size / total
        spare = pitch - (INK_TOP + INK_BOTTOM) * line.size
        baseline = top - spare / 2 - INK_TOP * line.size
        top -= pitch
        face, size = line.face, line.size
        use = uses[id(face)]
        width = line_width(face, line.glyphs, size)
        x = left + (BOX_WIDTH - width) / 2 if line.centred else left + PAD_X + LABEL_INDENT
        if current != (use.resource, size):
            ops.append(f"{use.resource} {num(size)} Tf")
            current = (use.resource, size)
        ops.append(f"1 0 0 1 {num(x)} {num(baseline)} Tm")
        ops += show(line.glyphs, face, size, use)
    ops += ["ET", "Q"]
    return "\n".join(ops).encode("ascii")


def _stamp_page(page: DictionaryObject, add: AddObject, lines: Sequence[str], faces: tuple[Face, Face],
                pdf_in: str) -> None:
    """Put the stamp on ``page`` (a first page's dictionary, changed in place): its resources become a copy
    with the stamp's fonts added, its contents the page's own in a saved graphics state, then the stamp's
    (:func:`.pdf_update.draw_over`). The new objects are added with ``add``."""
    rotate = int(inherited(page, "/Rotate") or 0) % 360
    if rotate:
        raise StampError(f"{pdf_in}: the first page is rotated by {rotate}°; only upright pages are stamped")
    box = inherited(page, "/CropBox") or inherited(page, "/MediaBox")
    box = box.get_object() if box is not None else None
    if not isinstance(box, ArrayObject) or len(box) < 4:
        raise StampError(f"{pdf_in}: the first page has no media box")
    left = float(box[2]) - BOX_RIGHT_GAP - BOX_WIDTH
    bottom = float(box[3]) - BOX_TOP_GAP - BOX_HEIGHT

    name_face, text_face = faces
    fonts = page_fonts(page)
    uses: dict[int, FontUse] = {}
    for face, base in ((name_face, "/SarabanStampB"), (text_face, "/SarabanStampR")):
        if id(face) not in uses:
            uses[id(face)] = FontUse(face, resource_name(fonts, base))
    content = _stamp_content(_layout(lines, name_face, text_face), left, bottom, uses)
    for use in uses.values():
        if use.codes:
            fonts[NameObject(use.resource)] = use.pdf_font(add)
    draw_over(page, add, fonts, content)


def _stamped_by_hand(source: bytes, lines: Sequence[str], faces: tuple[Face, Face], pdf_in: str) -> bytes:
    """The stamped PDF written as an incremental update of ``source``, reading only the objects of its
    first page (page tree, resources, contents): a few ms whatever the document's size."""
    update = IncrementalUpdate(PdfObjects(source))
    page = update.edit_page(0)
    if page is None:
        raise StampError(f"{pdf_in}: the PDF has no pages")
    _stamp_page(page, update.add, lines, faces, pdf_in)
    return update.write()


def _stamped_by_pypdf(source: bytes, lines: Sequence[str], faces: tuple[Face, Face], pdf_in: str) -> bytes:
    """The same with pypdf, which reads (and repairs) the whole document: for a PDF :class:`PdfObjects`
    cannot read."""
    try:
        writer = PdfWriter(io.BytesIO(source), incremental=True)
    except Exception as e:  # pypdf raises several kinds for a file that is not a PDF
        raise StampError(f"{pdf_in}: not a readable PDF ({e})") from e
    if not writer.pages:
        raise StampError(f"{pdf_in}: the PDF has no pages")
    _stamp_page(writer.pages[0], writer._add_object, lines, faces, pdf_in)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def stamp_receipt(
    pdf_in: Path,
    pdf_out: Path,
    *,
    unit_name: str,
    number: int,
    received_at: datetime,
    digits: str = "thai",
    settings: Settings | None = None,
    issued: bool = False,
) -> Path:
    """Put the receipt stamp on the first page of ``pdf_in``; write ``pdf_out`` (may be ``pdf_in``), whole
    and private; with ``issued`` (a receipt of the register), never over another file (kernel.files).

    The other pages, and the first page's own content, are left byte for byte as they were.
    """
    stamped = stamped_pdf(Path(pdf_in).read_bytes(), unit_name=unit_name, number=number, received_at=received_at,
                          digits=digits, settings=settings, name=str(pdf_in))
    pdf_out = Path(pdf_out)
    (write_new if issued else write_replacing)(pdf_out, stamped)
    return pdf_out


def stamped_pdf(source: bytes, *, unit_name: str, number: int, received_at: datetime, digits: str = "thai",
                settings: Settings | None = None, name: str = "the PDF") -> bytes:
    """``source`` (a PDF's bytes) with the receipt stamp on its first page (see :func:`stamp_receipt`);
    ``name`` says which file in an error."""
    pdf_in = name
    settings = settings or load_settings()
    lines = stamp_lines(unit_name, number, received_at, digits)
    faces = saraban_face(settings, WEIGHTS["name"]), saraban_face(settings, WEIGHTS["text"])
    try:
        return _stamped_by_hand(source, lines, faces, pdf_in)
    except READ_ERRORS as e:
        if isinstance(e, StampError):
            raise
        return _stamped_by_pypdf(source, lines, faces, pdf_in)
