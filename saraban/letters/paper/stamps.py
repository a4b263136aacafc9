"""The receipt stamp (ตรารับหนังสือ) a registry puts on a letter it receives.

A box at the top right of the first page, in the margin above the letter's own text (the emblem is at
the top centre and "ที่ ..." at the left, both lower down), in stamp-pad blue, with four lines:

    สำนักงานส่งเสริมการปกครองท้องถิ่น
    เลขรับ ๑๖๔๙
    วันที่ ๒๖ มี.ค. ๒๕๖๗
    เวลา ๑๐.๓๐ น.

The text is real PDF text in "Saraban TH" (see :mod:`saraban.letters.paper.fonts`), shaped with HarfBuzz so that Thai
marks stack as the font means them to (a tone mark above an upper vowel, a vowel moved left beside ป,
ญ without its tail above a lower vowel ...). HarfBuzz takes ำ apart into ํ + า and may put a mark on a
glyph of its own, so a glyph does not always stand for one character: every glyph is given the
characters of its cluster in the ToUnicode map (a glyph used with two different texts gets two
codes), and text extraction gives back exactly the lines above.

The stamp is added as an incremental update: the original bytes are kept as they are, and only the
first page's dictionary, a copy of its resources and the new objects (the stamp's content, one
embedded font per weight) are appended. The fonts are made once per process (a Thai, ASCII and
Latin-1 subset of Saraban TH, ~0.25 s); each stamp embeds them with the outlines of its own glyphs
only (~6 KB a weight), so a stamp adds ~12 KB to the file and takes ~5 ms.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import uharfbuzz as hb
from fontTools import subset as ft_subset
from fontTools.ttLib import TTFont
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

from saraban.kernel.clock import date_text, time_text
from saraban.kernel.files import write_new, write_replacing
from saraban.kernel.settings import Settings, load_settings
from saraban.letters.paper.fonts import fontconfig_file
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
# What the embedded subset covers: Thai, ASCII, Latin-1, common punctuation, the dotted circle.
STAMP_UNICODES = [
    *range(0x20, 0x7F), *range(0xA0, 0x100), *range(0x0E01, 0x0E5C),
    0x2013, 0x2014, 0x2018, 0x2019, 0x201C, 0x201D, 0x2026, 0x25CC,
]
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


# ---------------------------------------------------------------------------------------------- font


@dataclass(frozen=True)
class _Face:
    """One weight of Saraban TH, subset for stamps (Thai, ASCII, Latin-1), ready to shape and to embed.

    A stamp embeds the subset with the outlines of only the glyphs it shows (the others are left
    empty, keeping every glyph id): :meth:`font_program`.
    """

    name: str  # PostScript name
    ttf: bytes  # the subset, for shaping
    tables: dict[str, bytes]  # its tables but glyf and loca
    outlines: tuple[bytes, ...]  # glyf data by glyph id
    components: dict[int, tuple[int, ...]]  # a composite glyph's components
    hb_font: hb.Font
    upem: int
    advances: tuple[int, ...]  # by glyph id, font units
    gid_char: dict[int, str]  # the character a glyph stands for by the cmap
    bbox: tuple[int, int, int, int]
    ascent: int
    descent: int
    cap_height: int

    def pdf_units(self, value: float) -> float:
        return value * 1000 / self.upem

    def font_program(self, gids: set[int]) -> bytes:
        """The subset as a TrueType file in which only ``gids`` (and their components) have outlines."""
        keep, todo = {0}, list(gids)
        while todo:
            gid = todo.pop()
            if gid not in keep:
                keep.add(gid)
                todo += self.components.get(gid, ())
        glyf, loca, at = [], [], 0
        for gid, data in enumerate(self.outlines):
            loca.append(at)
            if gid in keep and data:
                data += b"\0" * (-len(data) % 4)
                glyf.append(data)
                at += len(data)
        loca.append(at)
        # A PDF places every glyph itself: the layout tables and the glyph names are not needed.
        tables = {tag: data for tag, data in self.tables.items() if tag not in ("GDEF", "GPOS", "GSUB")}
        tables["post"] = struct.pack(">L", 0x00030000) + self.tables["post"][4:32]
        tables["glyf"] = b"".join(glyf) or b"\0\0\0\0"
        tables["loca"] = struct.pack(f">{len(loca)}L", *loca)
        head = bytearray(tables["head"])
        struct.pack_into(">L", head, 8, 0)  # checkSumAdjustment, set below
        struct.pack_into(">h", head, 50, 1)  # indexToLocFormat: long offsets
        tables["head"] = bytes(head)
        return _sfnt(tables)


def _checksum(data: bytes) -> int:
    data += b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(data) // 4}L", data)) & 0xFFFFFFFF


def _sfnt(tables: dict[str, bytes]) -> bytes:
    """A TrueType file of ``tables``, with its checksums."""
    count = len(tables)
    power = 1 << (count.bit_length() - 1)
    header = struct.pack(">LHHHH", 0x00010000, count, power * 16, power.bit_length() - 1, count * 16 - power * 16)
    records, body = [], []
    offset = 12 + 16 * count
    for tag in sorted(tables):
        data = tables[tag]
        records.append(struct.pack(">4sLLL", tag.encode("ascii"), _checksum(data), offset, len(data)))
        padded = data + b"\0" * (-len(data) % 4)
        body.append(padded)
        offset += len(padded)
    font = bytearray(header + b"".join(records) + b"".join(body))
    head_at = 12 + 16 * count + sum(len(b) for t, b in zip(sorted(tables), body, strict=True) if t < "head")
    struct.pack_into(">L", font, head_at + 8, (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF)
    return bytes(font)


def _tables(ttf: bytes) -> dict[str, bytes]:
    count, = struct.unpack_from(">H", ttf, 4)
    tables = {}
    for k in range(count):
        tag, _checksum_, offset, length = struct.unpack_from(">4sLLL", ttf, 12 + 16 * k)
        tables[tag.decode("ascii")] = ttf[offset:offset + length]
    return tables


@lru_cache(maxsize=8)
def _load_face(path: str, mtime_ns: int) -> _Face:
    font = TTFont(path)
    options = ft_subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    options.glyph_names = True
    subsetter = ft_subset.Subsetter(options)
    subsetter.populate(unicodes=STAMP_UNICODES)
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    ttf = buffer.getvalue()
    order = font.getGlyphOrder()
    index = {name: gid for gid, name in enumerate(order)}
    tables = _tables(ttf)
    long_loca = struct.unpack_from(">h", tables["head"], 50)[0] == 1
    n = len(order) + 1
    loca = (struct.unpack(f">{n}L", tables["loca"][:4 * n]) if long_loca
            else tuple(2 * v for v in struct.unpack(f">{n}H", tables["loca"][:2 * n])))
    glyf_data = tables.pop("glyf")
    del tables["loca"]
    glyf = font["glyf"]
    components = {
        index[name]: tuple(index[c] for c in glyf[name].getComponentNames(glyf))
        for name in order if glyf[name].isComposite()
    }
    hmtx = font["hmtx"].metrics
    gid_char: dict[int, str] = {}
    for code, name in sorted(font.getBestCmap().items(), reverse=True):
        gid_char[index[name]] = chr(code)  # the lowest code point wins for a shared glyph
    head, hhea = font["head"], font["hhea"]
    return _Face(
        name=font["name"].getDebugName(6) or "SarabanTH",
        ttf=ttf,
        tables=tables,
        outlines=tuple(glyf_data[loca[i]:loca[i + 1]] for i in range(len(order))),
        components=components,
        hb_font=hb.Font(hb.Face(hb.Blob(ttf))),
        upem=head.unitsPerEm,
        advances=tuple(hmtx[name][0] for name in order),
        gid_char=gid_char,
        bbox=(head.xMin, head.yMin, head.xMax, head.yMax),
        ascent=hhea.ascent,
        descent=hhea.descent,
        cap_height=getattr(font["OS/2"], "sCapHeight", 0) or hhea.ascent,
    )


def _face(fonts_dir: Path, style: str) -> _Face:
    path = fonts_dir / f"SarabanTH-{style}.ttf"
    return _load_face(str(path), path.stat().st_mtime_ns)


# ------------------------------------------------------------------------------------------- shaping


@dataclass(frozen=True)
class _Glyph:
    gid: int
    text: str  # the characters this glyph gives back when the text is extracted
    advance: int  # font units
    x_offset: int
    y_offset: int


def _cluster_texts(gids: Sequence[int], text: str, gid_char: dict[int, str]) -> list[str]:
    """Share a cluster's characters among its glyphs, in the glyphs' order.

    A glyph that stands for one of the cluster's characters (by the cmap) takes it; the characters
    left (ำ taken apart into ํ + า, a ligature, a substituted mark) go to the last glyph not yet given
    one, the other glyphs give nothing. If that would not give the cluster's text back in order, the
    first glyph takes it all.
    """
    remaining = list(text)
    texts: list[str | None] = [None] * len(gids)
    for k, gid in enumerate(gids):
        char = gid_char.get(gid)
        if char is not None and char in remaining:
            remaining.remove(char)
            texts[k] = char
    if remaining:
        free = [k for k, t in enumerate(texts) if t is None]
        last = free[-1] if free else len(gids) - 1
        texts[last] = (texts[last] or "") + "".join(remaining)
    result = [t or "" for t in texts]
    if "".join(result) != text:
        result = [text] + [""] * (len(gids) - 1)
    return result


def _shape(face: _Face, text: str) -> list[_Glyph]:
    buf = hb.Buffer()
    buf.add_str(text)
    buf.guess_segment_properties()
    buf.cluster_level = hb.BufferClusterLevel.MONOTONE_CHARACTERS
    hb.shape(face.hb_font, buf, {"kern": True, "liga": True})
    infos, positions = buf.glyph_infos, buf.glyph_positions
    starts = sorted({info.cluster for info in infos})
    ends = {start: end for start, end in zip(starts, [*starts[1:], len(text)], strict=True)}
    glyphs: list[_Glyph] = []
    k = 0
    while k < len(infos):
        cluster = infos[k].cluster
        j = k
        while j < len(infos) and infos[j].cluster == cluster:
            j += 1
        gids = [info.codepoint for info in infos[k:j]]
        texts = _cluster_texts(gids, text[cluster:ends[cluster]], face.gid_char)
        for gid, part, pos in zip(gids, texts, positions[k:j], strict=True):
            glyphs.append(_Glyph(gid, part, pos.x_advance, pos.x_offset, pos.y_offset))
        k = j
    return _marks_to_bases(glyphs)


def _marks_to_bases(glyphs: list[_Glyph]) -> list[_Glyph]:
    """Give a mark's text (a glyph with no advance: a vowel or tone mark above or below) to the base
    glyph before it. A mark's origin can be a little right of the next base's, or at the same place as
    the mark before it, and text extraction (poppler) orders characters by where they start: so only
    base glyphs carry text, e.g. ญ carries "ญี่"."""
    merged: list[_Glyph] = []
    base = -1
    for glyph in glyphs:
        if glyph.advance == 0 and base >= 0 and glyph.text:
            b = merged[base]
            merged[base] = _Glyph(b.gid, b.text + glyph.text, b.advance, b.x_offset, b.y_offset)
            glyph = _Glyph(glyph.gid, "", 0, glyph.x_offset, glyph.y_offset)
        elif glyph.advance:
            base = len(merged)
        merged.append(glyph)
    return merged


def _width(face: _Face, glyphs: Sequence[_Glyph], size: float) -> float:
    return sum(g.advance for g in glyphs) * size / face.upem


# -------------------------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class _Line:
    glyphs: list[_Glyph]
    face: _Face
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


def _name_lines(name: str, face: _Face, avail: float) -> list[_Line]:
    glyphs = _shape(face, name)
    width = _width(face, glyphs, NAME_SIZE)
    if width * MIN_NAME_SIZE / NAME_SIZE <= avail:
        size = min(NAME_SIZE, NAME_SIZE * avail / width) if width else NAME_SIZE
        return [_Line(glyphs, face, size, centred=True)]
    best: tuple[float, float, list[list[_Glyph]]] | None = None
    for point, at_space in _break_points(name):
        parts = [name[:point].strip(), name[point:].strip()]
        if not all(parts):
            continue
        shaped = [_shape(face, p) for p in parts]
        widest = max(_width(face, g, 1.0) for g in shaped)
        score = widest if at_space else widest * SPACE_BREAK_SLACK
        if best is None or score < best[0]:
            best = (score, widest, shaped)
    if best is None:  # nowhere to break: one line, as small as it takes
        return [_Line(glyphs, face, NAME_SIZE * avail / width, centred=True)]
    size = min(WRAPPED_NAME_SIZE, avail / best[1])
    return [_Line(g, face, size, centred=True) for g in best[2]]


def _layout(lines: Sequence[str], name_face: _Face, text_face: _Face) -> list[_Line]:
    avail = BOX_WIDTH - 2 * PAD_X
    laid = _name_lines(lines[0], name_face, avail)
    for text in lines[1:]:
        glyphs = _shape(text_face, text)
        width = _width(text_face, glyphs, LINE_SIZE)
        size = min(LINE_SIZE, LINE_SIZE * (avail - LABEL_INDENT) / width) if width else LINE_SIZE
        laid.append(_Line(glyphs, text_face, size, centred=False))
    return laid


# ------------------------------------------------------------------------------------------- the PDF


def _num(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


class _FontUse:
    """The codes one face is shown with on the stamp: one per glyph, text and width.

    A code's width is where HarfBuzz moves the pen to after the glyph, counted from where the glyph is
    drawn: a kerned advance, or a mark's shift to the left taken back. So a line is one TJ array
    with hardly a number in it, and text extraction (pypdf) sees no gap where there is no space."""

    def __init__(self, face: _Face, resource: str) -> None:
        self.face = face
        self.resource = resource
        self.codes: dict[tuple[int, str, int], int] = {}

    def code(self, glyph: _Glyph, width: int) -> int:
        key = (glyph.gid, glyph.text, width)
        if key not in self.codes:
            self.codes[key] = len(self.codes) + 1
        return self.codes[key]

    def to_unicode(self) -> bytes:
        entries = []
        for (_gid, text, _width), code in self.codes.items():
            entries.append(f"<{code:04X}> <{text.encode('utf-16-be').hex().upper()}>")
        blocks = []
        for start in range(0, len(entries), 100):
            chunk = entries[start:start + 100]
            blocks.append(f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar")
        return (
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
            + "\n".join(blocks)
            + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
        ).encode("ascii")

    def pdf_font(self, writer: PdfWriter) -> IndirectObject:
        face = self.face
        cid_to_gid = bytearray(2 * (len(self.codes) + 1))
        widths = ArrayObject()
        for (gid, _text, width), code in sorted(self.codes.items(), key=lambda item: item[1]):
            cid_to_gid[2 * code:2 * code + 2] = gid.to_bytes(2, "big")
            widths += [NumberObject(code), ArrayObject([FloatObject(round(face.pdf_units(width), 2))])]
        gids = {gid for gid, _text, _width in self.codes}
        program = face.font_program(gids)
        # A subset's name: six capitals of its own, then the font's name.
        tag = "".join(chr(65 + b % 26) for b in hashlib.sha256(program).digest()[:6])
        ps_name = f"{tag}+{face.name}"
        font_file = StreamObject()
        font_file._data = zlib.compress(program, 6)
        font_file[NameObject("/Filter")] = NameObject("/FlateDecode")
        font_file[NameObject("/Length1")] = NumberObject(len(program))
        descriptor = DictionaryObject({
            NameObject("/Type"): NameObject("/FontDescriptor"),
            NameObject("/FontName"): NameObject("/" + ps_name),
            NameObject("/Flags"): NumberObject(4),
            NameObject("/FontBBox"): ArrayObject([FloatObject(round(face.pdf_units(v))) for v in face.bbox]),
            NameObject("/ItalicAngle"): NumberObject(0),
            NameObject("/Ascent"): FloatObject(round(face.pdf_units(face.ascent))),
            NameObject("/Descent"): FloatObject(round(face.pdf_units(face.descent))),
            NameObject("/CapHeight"): FloatObject(round(face.pdf_units(face.cap_height))),
            NameObject("/StemV"): NumberObject(80),
            NameObject("/FontFile2"): writer._add_object(font_file),
        })
        cid_map = DecodedStreamObject()
        cid_map.set_data(bytes(cid_to_gid))
        cid_font = DictionaryObject({
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/CIDFontType2"),
            NameObject("/BaseFont"): NameObject("/" + ps_name),
            NameObject("/CIDSystemInfo"): DictionaryObject({
                NameObject("/Registry"): TextStringObject("Adobe"),
                NameObject("/Ordering"): TextStringObject("Identity"),
                NameObject("/Supplement"): NumberObject(0),
            }),
            NameObject("/FontDescriptor"): writer._add_object(descriptor),
            NameObject("/DW"): NumberObject(0),
            NameObject("/W"): widths,
            NameObject("/CIDToGIDMap"): writer._add_object(cid_map.flate_encode()),
        })
        to_unicode = DecodedStreamObject()
        to_unicode.set_data(self.to_unicode())
        return writer._add_object(DictionaryObject({
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type0"),
            NameObject("/BaseFont"): NameObject("/" + ps_name),
            NameObject("/Encoding"): NameObject("/Identity-H"),
            NameObject("/DescendantFonts"): ArrayObject([writer._add_object(cid_font)]),
            NameObject("/ToUnicode"): writer._add_object(to_unicode.flate_encode()),
        }))


def _stamp_content(lines: Sequence[_Line], left: float, bottom: float, uses: dict[int, _FontUse]) -> bytes:
    ink = " ".join(_num(c) for c in INK)
    ops = ["q", f"{ink} RG {ink} rg", f"{_num(BORDER)} w 0 J 0 j",
           f"{_num(left)} {_num(bottom)} {_num(BOX_WIDTH)} {_num(BOX_HEIGHT)} re S", "BT"]
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
        width = _width(face, line.glyphs, size)
        x = left + (BOX_WIDTH - width) / 2 if line.centred else left + PAD_X + LABEL_INDENT
        if current != (use.resource, size):
            ops.append(f"{use.resource} {_num(size)} Tf")
            current = (use.resource, size)
        ops.append(f"1 0 0 1 {_num(x)} {_num(baseline)} Tm")
        ops += _show(line.glyphs, face, size, use)
    ops += ["ET", "Q"]
    return "\n".join(ops).encode("ascii")


def _show(glyphs: Sequence[_Glyph], face: _Face, size: float, use: _FontUse) -> list[str]:
    """Text operators showing one shaped line from the line's start: TJ arrays whose numbers move
    each glyph to where HarfBuzz put it, and a text rise (Ts) for a mark moved up or down."""
    ops: list[str] = []
    items: list[str] = []
    rise = 0.0
    at = 0.0  # where the text position is, in font units from the line's start
    pen = 0
    for glyph in glyphs:
        target = pen + glyph.x_offset
        glyph_rise = glyph.y_offset * size / face.upem
        if glyph_rise != rise:
            if items:
                ops.append(f"[{' '.join(items)}] TJ")
                items = []
            ops.append(f"{_num(glyph_rise)} Ts")
            rise = glyph_rise
        shift = face.pdf_units(at - target)
        if abs(shift) > 0.001:
            items.append(_num(shift))
        width = max(glyph.advance - glyph.x_offset, 0)
        items.append(f"<{use.code(glyph, width):04X}>")
        at = target + width
        pen += glyph.advance
    if items:
        ops.append(f"[{' '.join(items)}] TJ")
    if rise:
        ops.append("0 Ts")
    return ops


def _resource_name(existing: DictionaryObject, base: str) -> str:
    name, n = base, 1
    while name in existing:
        n += 1
        name = f"{base}{n}"
    return name


def _inherited(page: DictionaryObject, key: str):
    """A page's attribute, or the one it inherits from the page tree."""
    node = page
    for _ in range(64):
        if key in node:
            return node.raw_get(key)
        if "/Parent" not in node:
            return None
        node = node["/Parent"]
    return None


def _content_refs(writer: PdfWriter, contents) -> list:
    if contents is None:
        return []
    obj = contents.get_object()
    if isinstance(obj, ArrayObject):
        return list(obj)
    return [contents if isinstance(contents, IndirectObject) else writer._add_object(obj)]


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
    fonts_dir = settings.data_dir / "fonts"
    fontconfig_file(fonts_dir, settings.font_name)  # makes the Saraban TH faces if missing
    name_face, text_face = _face(fonts_dir, WEIGHTS["name"]), _face(fonts_dir, WEIGHTS["text"])

    try:
        writer = PdfWriter(io.BytesIO(source), incremental=True)
    except Exception as e:  # pypdf raises several kinds for a file that is not a PDF
        raise StampError(f"{pdf_in}: not a readable PDF ({e})") from e
    if not writer.pages:
        raise StampError(f"{pdf_in}: the PDF has no pages")
    page = writer.pages[0]
    box = page.cropbox
    rotate = int(page.get("/Rotate", 0) or 0) % 360
    if rotate:
        raise StampError(f"{pdf_in}: the first page is rotated by {rotate}°; only upright pages are stamped")
    left = float(box.right) - BOX_RIGHT_GAP - BOX_WIDTH
    bottom = float(box.top) - BOX_TOP_GAP - BOX_HEIGHT

    resources_obj = _inherited(page, "/Resources")
    resources = DictionaryObject(resources_obj.get_object().items()) if resources_obj else DictionaryObject()
    fonts_obj = resources.get("/Font")
    fonts = DictionaryObject(fonts_obj.get_object().items()) if fonts_obj else DictionaryObject()
    uses: dict[int, _FontUse] = {}
    for face, base in ((name_face, "/SarabanStampB"), (text_face, "/SarabanStampR")):
        if id(face) not in uses:
            uses[id(face)] = _FontUse(face, _resource_name(fonts, base))
    laid = _layout(lines, name_face, text_face)
    content = DecodedStreamObject()
    content.set_data(_stamp_content(laid, left, bottom, uses))
    for use in uses.values():
        if use.codes:
            fonts[NameObject(use.resource)] = use.pdf_font(writer)
    resources[NameObject("/Font")] = fonts
    page[NameObject("/Resources")] = resources

    # The page's own content runs in a saved graphics state, so the stamp starts from the default one.
    save, restore = DecodedStreamObject(), DecodedStreamObject()
    save.set_data(b"q\n")
    restore.set_data(b"\nQ\n")
    own = _content_refs(writer, page.raw_get("/Contents") if "/Contents" in page else None)
    stamp = writer._add_object(content.flate_encode())
    page[NameObject("/Contents")] = ArrayObject(
        [writer._add_object(save), *own, writer._add_object(restore), stamp])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
