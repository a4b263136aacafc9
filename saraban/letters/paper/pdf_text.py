"""Text in Saraban TH drawn on a PDF: faces, HarfBuzz shaping, fonts embedded as subsets, shaped lines shown.

The text is real PDF text in "Saraban TH" (see :mod:`saraban.letters.paper.fonts`), shaped with HarfBuzz
(:func:`shape`) so that Thai marks stack as the font means them to (a tone mark above an upper vowel, a
vowel moved left beside ป, ญ without its tail above a lower vowel ...). HarfBuzz takes ำ apart into ํ + า
and may put a mark on a glyph of its own, so a glyph does not always stand for one character: every glyph
is given the characters of its cluster in the ToUnicode map (a glyph used with two different texts gets two
codes: :class:`FontUse`), and text extraction gives back exactly the text shown.

The faces are made once per process (a Thai, ASCII and Latin-1 subset of Saraban TH, ~0.25 s:
:func:`saraban_face`); each PDF embeds them with the outlines of its own glyphs only (~6 KB a weight:
:meth:`FontUse.pdf_font`). Used by the receipt stamp (:mod:`.stamps`) and a letter's page marks
(:mod:`.page_marks`).
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import uharfbuzz as hb
from fontTools import subset as ft_subset
from fontTools.ttLib import TTFont
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

from saraban.kernel.settings import Settings
from saraban.letters.paper.fonts import fontconfig_file
from saraban.letters.paper.pdf_update import AddObject

# What the embedded subset covers: Thai, ASCII, Latin-1, common punctuation, the dotted circle.
SUBSET_UNICODES = [
    *range(0x20, 0x7F), *range(0xA0, 0x100), *range(0x0E01, 0x0E5C),
    0x2013, 0x2014, 0x2018, 0x2019, 0x201C, 0x201D, 0x2026, 0x25CC,
]


@dataclass(frozen=True, eq=False)  # one face is one object: hashed by identity (the caches below)
class Face:
    """One weight of Saraban TH, subset (Thai, ASCII, Latin-1), ready to shape and to embed.

    A PDF embeds the subset with the outlines of only the glyphs it shows (the others are left
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
def _load_face(path: str, mtime_ns: int) -> Face:
    # The subset keeps the face's timestamp: a stamp made again (a run started again after a crash, in
    # another process) is the same bytes, which the file it left behind is checked against (write_new).
    font = TTFont(path, recalcTimestamp=False)
    options = ft_subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    options.glyph_names = True
    subsetter = ft_subset.Subsetter(options)
    subsetter.populate(unicodes=SUBSET_UNICODES)
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
    return Face(
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


def saraban_face(settings: Settings, style: str) -> Face:
    """Saraban TH in ``style`` ("Regular", "Bold", ...), made in the data folder if missing, loaded once a
    process (again if its file changes)."""
    fonts_dir = settings.data_dir / "fonts"
    path = fonts_dir / f"SarabanTH-{style}.ttf"
    try:  # one stat when the face is there (a stamp asks twice): fontconfig_file reads more
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        fontconfig_file(fonts_dir, settings.font_name)  # makes the Saraban TH faces
        mtime = path.stat().st_mtime_ns
    return _load_face(str(path), mtime)


# ------------------------------------------------------------------------------------------- shaping


@dataclass(frozen=True)
class Glyph:
    """One glyph of a shaped line, where HarfBuzz put it (font units)."""

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


def shape(face: Face, text: str) -> list[Glyph]:
    """``text`` as HarfBuzz lays it out in ``face``: glyphs with their offsets, each with the text it gives
    back when extracted (a mark's on its base: :func:`_marks_to_bases`)."""
    return list(_shape_cached(face, text))


@lru_cache(maxsize=4096)  # every stamp of a run has the same date line, many the same time
def _shape_cached(face: Face, text: str) -> tuple[Glyph, ...]:
    return tuple(_shaped(face, text))


def _shaped(face: Face, text: str) -> list[Glyph]:
    buf = hb.Buffer()
    buf.add_str(text)
    buf.guess_segment_properties()
    buf.cluster_level = hb.BufferClusterLevel.MONOTONE_CHARACTERS
    hb.shape(face.hb_font, buf, {"kern": True, "liga": True})
    infos, positions = buf.glyph_infos, buf.glyph_positions
    starts = sorted({info.cluster for info in infos})
    ends = {start: end for start, end in zip(starts, [*starts[1:], len(text)], strict=True)}
    glyphs: list[Glyph] = []
    k = 0
    while k < len(infos):
        cluster = infos[k].cluster
        j = k
        while j < len(infos) and infos[j].cluster == cluster:
            j += 1
        gids = [info.codepoint for info in infos[k:j]]
        texts = _cluster_texts(gids, text[cluster:ends[cluster]], face.gid_char)
        for gid, part, pos in zip(gids, texts, positions[k:j], strict=True):
            glyphs.append(Glyph(gid, part, pos.x_advance, pos.x_offset, pos.y_offset))
        k = j
    return _marks_to_bases(glyphs)


def _marks_to_bases(glyphs: list[Glyph]) -> list[Glyph]:
    """Give a mark's text (a glyph with no advance: a vowel or tone mark above or below) to the base
    glyph before it. A mark's origin can be a little right of the next base's, or at the same place as
    the mark before it, and text extraction (poppler) orders characters by where they start: so only
    base glyphs carry text, e.g. ญ carries "ญี่"."""
    merged: list[Glyph] = []
    base = -1
    for glyph in glyphs:
        if glyph.advance == 0 and base >= 0 and glyph.text:
            b = merged[base]
            merged[base] = Glyph(b.gid, b.text + glyph.text, b.advance, b.x_offset, b.y_offset)
            glyph = Glyph(glyph.gid, "", 0, glyph.x_offset, glyph.y_offset)
        elif glyph.advance:
            base = len(merged)
        merged.append(glyph)
    return merged


def line_width(face: Face, glyphs: Sequence[Glyph], size: float) -> float:
    """The advance of a shaped line at ``size`` pt, in pt."""
    return sum(g.advance for g in glyphs) * size / face.upem


# ---------------------------------------------------------------------------------------- in the PDF


def num(value: float) -> str:
    """A number as a content stream writes it: at most 3 decimals, no trailing zeros."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


@lru_cache(maxsize=1024)  # a stamp's text lines (เลขรับ, วันที่, เวลา) use much the same glyphs on every copy
def _font_file(face: Face, gids: frozenset[int]) -> tuple[bytes, int, str]:
    """The subset of ``face`` with the outlines of ``gids``: deflated, its length, its six-capital tag."""
    program = face.font_program(set(gids))
    tag = "".join(chr(65 + b % 26) for b in hashlib.sha256(program).digest()[:6])
    return zlib.compress(program, 6), len(program), tag


class FontUse:
    """The codes one face is shown with in a PDF (on one or more pages): one per glyph, text and width.

    A code's width is where HarfBuzz moves the pen to after the glyph, counted from where the glyph is
    drawn: a kerned advance, or a mark's shift to the left taken back. So a line is one TJ array
    with hardly a number in it, and text extraction (pypdf) sees no gap where there is no space."""

    def __init__(self, face: Face, resource: str) -> None:
        self.face = face
        self.resource = resource
        self.codes: dict[tuple[int, str, int], int] = {}

    def code(self, glyph: Glyph, width: int) -> int:
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

    def pdf_font(self, add: AddObject) -> IndirectObject:
        """The Type0 font showing these codes, its objects added with ``add``."""
        face = self.face
        cid_to_gid = bytearray(2 * (len(self.codes) + 1))
        widths = ArrayObject()
        for (gid, _text, width), code in sorted(self.codes.items(), key=lambda item: item[1]):
            cid_to_gid[2 * code:2 * code + 2] = gid.to_bytes(2, "big")
            widths += [NumberObject(code), ArrayObject([FloatObject(round(face.pdf_units(width), 2))])]
        packed, length, tag = _font_file(face, frozenset(gid for gid, _text, _width in self.codes))
        ps_name = f"{tag}+{face.name}"
        font_file = StreamObject()
        font_file._data = packed
        font_file[NameObject("/Filter")] = NameObject("/FlateDecode")
        font_file[NameObject("/Length1")] = NumberObject(length)
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
            NameObject("/FontFile2"): add(font_file),
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
            NameObject("/FontDescriptor"): add(descriptor),
            NameObject("/DW"): NumberObject(0),
            NameObject("/W"): widths,
            NameObject("/CIDToGIDMap"): add(cid_map.flate_encode()),
        })
        to_unicode = DecodedStreamObject()
        to_unicode.set_data(self.to_unicode())
        return add(DictionaryObject({
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type0"),
            NameObject("/BaseFont"): NameObject("/" + ps_name),
            NameObject("/Encoding"): NameObject("/Identity-H"),
            NameObject("/DescendantFonts"): ArrayObject([add(cid_font)]),
            NameObject("/ToUnicode"): add(to_unicode.flate_encode()),
        }))


def show(glyphs: Sequence[Glyph], face: Face, size: float, use: FontUse) -> list[str]:
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
            ops.append(f"{num(glyph_rise)} Ts")
            rise = glyph_rise
        shift = face.pdf_units(at - target)
        if abs(shift) > 0.001:
            items.append(num(shift))
        width = max(glyph.advance - glyph.x_offset, 0)
        items.append(f"<{use.code(glyph, width):04X}>")
        at = target + width
        pen += glyph.advance
    if items:
        ops.append(f"[{' '.join(items)}] TJ")
    if rise:
        ops.append("0 Ts")
    return ops
