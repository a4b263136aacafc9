"""Per-recipient copies of one letter that differ only by an image: the recipient's tracking QR code.

A national circular goes to thousands of offices, each copy with its own tracking link. Rendering
and converting each copy would cost ~0.2 s of LibreOffice per copy; instead the master is rendered
once with a *placeholder* QR code (:func:`saraban.letters.paper.qr.placeholder_qr_png`) and converted to PDF once,
and each copy swaps the placeholder image for the recipient's code:

- in the .docx, the zip member holding the placeholder PNG is replaced; every other member is copied
  as it is, still compressed (:func:`swap_docx_image`);
- in the PDF, the image XObject showing the placeholder (found by its pixels: LibreOffice re-encodes
  images, so the comparison is of black and white after thresholding, not of bytes) gets the new
  image as a lossless 1-bit (or grey) image; for a PDF with a classic cross-reference table
  (LibreOffice's, pypdf's), the copy is the master's bytes with that object moved to the end and
  rewritten, and the cross-reference table rewritten, nothing else (:func:`swap_pdf_image`).

:class:`CopyMaker` parses both masters once and makes copies for payloads.
"""

from __future__ import annotations

import bisect
import hashlib
import io
import itertools
import re
import threading
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from PIL import Image, ImageChops
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    DictionaryObject,
    IndirectObject,
    NameObject,
    NumberObject,
    StreamObject,
)

from saraban.letters.paper.qr import tracking_qr_pngs, tracking_qr_rows_many, tracking_qr_version_of
from saraban.letters.zip_splice import ZipSplice, ZipSpliceError

T = TypeVar("T")
# A PDF image shows the placeholder when at most this share of its pixels differ from it in black
# and white (JPEG re-encoding blurs module edges; a different code of the same version differs in
# about a quarter of its pixels).
MATCH_TOLERANCE = 0.03


class PlaceholderNotFound(ValueError):
    """The master has no image equal to the placeholder."""


class CopyError(ValueError):
    """The new image cannot stand in for the placeholder (another size), or the master is unreadable."""


def _as_bytes(pdf: bytes | Path | str) -> bytes:
    return pdf if isinstance(pdf, bytes | bytearray) else Path(pdf).read_bytes()


def _png_size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as im:
        return im.size


# ---------------------------------------------------------------------------------------------- docx

class DocxTemplate:
    """A .docx (any zip) parsed once; :meth:`render` gives it with the placeholder member's bytes
    replaced. The other members' local headers and compressed data are copied as they are."""

    def __init__(self, master: bytes, placeholder: bytes) -> None:
        self.master = master
        self.placeholder = placeholder
        try:
            archive = zipfile.ZipFile(io.BytesIO(master))
            self._zip = ZipSplice(master)
        except (zipfile.BadZipFile, ZipSpliceError) as e:
            raise CopyError(f"the master .docx is not a zip archive we can copy: {e}") from e
        crc = zlib.crc32(placeholder)
        self.hits = [
            info.filename for info in archive.infolist()
            if info.file_size == len(placeholder) and crc == info.CRC and archive.read(info) == placeholder
        ]
        if not self.hits:
            raise PlaceholderNotFound("the master .docx has no image equal to the placeholder QR code")

    def render(self, new_png: bytes) -> bytes:
        return self._zip.with_members(dict.fromkeys(self.hits, new_png))


def swap_docx_image(master_docx: bytes, old_png: bytes, new_png: bytes) -> bytes:
    """``master_docx`` with the media member whose bytes equal ``old_png`` replaced by ``new_png``.

    Raises :class:`PlaceholderNotFound` when no member equals ``old_png``.
    """
    if _png_size(new_png) != _png_size(old_png):
        raise CopyError(f"the new image is {_png_size(new_png)} pixels, the placeholder {_png_size(old_png)}")
    return DocxTemplate(master_docx, old_png).render(new_png)


# ----------------------------------------------------------------------------------------------- PDF


_THRESHOLD = [0] * 128 + [255] * 128


def _black_and_white(image: Image.Image, size: tuple[int, int] | None = None) -> Image.Image:
    if image.mode in ("RGBA", "LA", "P", "PA"):
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, "white")
        image = Image.alpha_composite(white, image)
    grey = image.convert("L")
    if size and grey.size != size:
        grey = grey.resize(size, Image.Resampling.NEAREST)
    return grey.point(_THRESHOLD)


def _differing_share(a: Image.Image, b: Image.Image) -> float:
    histogram = ImageChops.difference(a, b).histogram()
    return 1 - histogram[0] / (a.width * a.height)


@dataclass(frozen=True)
class _PdfImage:
    """An image ready to be written as a PDF image XObject's stream."""

    data: bytes  # Flate-compressed samples
    width: int
    height: int
    bits: int
    colour_space: str


def pdf_image(image: Image.Image) -> _PdfImage:
    """An image as Flate-compressed samples: 1-bit grey for black and white, else 8-bit grey or RGB."""
    if image.mode == "1":
        bits, space, raw = 1, "/DeviceGray", image.tobytes()
    elif image.mode in ("L", "LA"):
        bits, space, raw = 8, "/DeviceGray", image.convert("L").tobytes()
    else:  # colour, perhaps with transparency: flattened on white
        rgba = image.convert("RGBA")
        flat = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("RGB")
        bits, space, raw = 8, "/DeviceRGB", flat.tobytes()
    return _PdfImage(zlib.compress(raw, 6), image.width, image.height, bits, space)


_IMAGE_SUBTYPE = re.compile(rb"/Subtype\s*/Image(?![^\s\[\]<>(){}/%])")


def _image_objects(reader: PdfReader, data: bytes) -> list[tuple[IndirectObject, StreamObject]]:
    """Every image object of the file but soft masks, once: (reference, object). Found in the bytes (the
    page tree, resources and forms walked by pypdf cost more than all the rest), each image dictionary at
    the offset the cross-reference data gives (not an object an update replaced); a file with objects in
    object streams is walked (:func:`_image_xobjects`)."""
    if reader.xref_objStm:
        return list(_image_xobjects(reader))
    live = sorted((offset, idnum, gen) for gen, objects in reader.xref.items() for idnum, offset in objects.items())
    starts = [offset for offset, _, _ in live]
    found: dict[tuple[int, int], tuple[IndirectObject, StreamObject]] = {}
    masks: set[tuple[int, int]] = set()
    for hit in _IMAGE_SUBTYPE.finditer(data):
        k = bisect.bisect_right(starts, hit.start()) - 1
        if k < 0:
            continue
        offset, idnum, gen = live[k]
        # In that object's dictionary: before its stream, and the object not ended before the hit.
        if not (hit.start() < data.find(b"stream", offset) and hit.start() < data.find(b"endobj", offset)):
            continue
        ref = IndirectObject(idnum, gen, reader)
        obj = ref.get_object()
        if not isinstance(obj, StreamObject) or obj.get("/Subtype") != "/Image":
            continue
        found[idnum, gen] = ref, obj
        for key in ("/SMask", "/Mask"):
            mask = obj.raw_get(key) if key in obj else None
            if isinstance(mask, IndirectObject):
                masks.add((mask.idnum, mask.generation))
    return [image for key, image in found.items() if key not in masks]


def _image_xobjects(reader: PdfReader):
    """Every image XObject of every page (and of the forms they draw), once: (reference, object)."""
    seen: set[tuple[int, int]] = set()

    def walk(resources):
        if resources is None:
            return
        xobjects = resources.get_object().get("/XObject")
        if xobjects is None:
            return
        for ref in xobjects.get_object().values():
            if not isinstance(ref, IndirectObject):
                continue
            key = (ref.idnum, ref.generation)
            if key in seen:
                continue
            seen.add(key)
            obj = ref.get_object()
            if obj.get("/Subtype") == "/Image":
                yield ref, obj
            elif obj.get("/Subtype") == "/Form":
                yield from walk(obj.get("/Resources"))

    for page in reader.pages:
        yield from walk(page.get("/Resources"))


# The samples of the images the converters write (LibreOffice, pypdf) that Pillow reads as they are.
_RAW_MODES = {("/DeviceGray", 1): "1", ("/DeviceGray", 8): "L", ("/DeviceRGB", 8): "RGB"}


def _direct_image(obj: StreamObject, with_mask: bool = True) -> Image.Image | None:
    """The pixels pypdf's ``decode_as_image`` gives (alpha from /SMask, /Decode inversion applied), for a
    Flate or JPEG image in grey or RGB, without its round trip through an image file (it re-encodes each
    image: a masked JPEG as JPEG 2000, ~10 ms); None for any other image (then pypdf decodes it)."""
    filters = obj.get("/Filter")
    if isinstance(filters, list):
        filters = filters[0] if len(filters) == 1 else None
    space, bits = obj.get("/ColorSpace"), obj.get("/BitsPerComponent", 8)
    mode = _RAW_MODES.get((space, bits)) if isinstance(space, str) else None
    if mode is None or obj.get("/ImageMask") or "/Mask" in obj:
        return None
    size = (int(obj["/Width"]), int(obj["/Height"]))
    if filters == "/FlateDecode":
        data = obj.get_data()  # inflated, predictors undone
        need = (size[0] * bits * len(mode.replace("1", "L")) + 7) // 8 * size[1]
        if len(data) < need:
            return None
        image = Image.frombytes(mode, size, data[:need])
    elif filters == "/DCTDecode":
        image = Image.open(io.BytesIO(obj.get_data()), formats=("JPEG",))
        image.load()
        if image.mode not in ("L", "RGB") or image.size != size:
            return None
    else:
        return None
    decode = obj.get("/Decode")
    if decode is not None:
        values = [float(v) for v in decode]
        if values == [1.0, 0.0] * len(image.getbands()) and image.mode != "1":
            image = image.point([255 - v for v in range(256)] * len(image.getbands()))
        elif values != [0.0, 1.0] * len(image.getbands()):
            return None
    mask = obj.get("/SMask")
    if mask is not None:
        alpha = _direct_image(mask.get_object(), with_mask=False) if with_mask else None
        if alpha is None or alpha.size != image.size:
            return None
        image = image.convert("L") if image.mode == "1" else image
        image.putalpha(alpha.convert("L"))
    return image


def _decoded(obj: StreamObject) -> Image.Image | None:
    try:
        return _direct_image(obj) or obj.decode_as_image()
    except Exception:  # an image pypdf cannot decode is not the placeholder
        return None


def _image_key(obj: StreamObject, masked: bool = True) -> tuple:
    """What an image's pixels depend on: the same key, the same pixels (an emblem or a QR code repeated by
    the copies a forward carries is decoded once)."""
    mask = obj.get("/SMask")
    masked = masked and isinstance(mask, IndirectObject)
    mask_key = _image_key(mask.get_object(), masked=False) if masked else repr(mask)
    return obj._data, tuple((k, repr(v)) for k, v in obj.items() if k not in ("/SMask", "/Length")), mask_key


_XREF_ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf])(?: \r| \n|\r\n)")
_XREF_SUBSECTION = re.compile(rb"\s*(\d+)\s+(\d+)\s*?(?:\r\n|\r|\n| \r| \n)")
# What PdfTemplate found in a master, by the digests of the master and the placeholder: the most recent ones.
_FOUND: dict[tuple[bytes, bytes], dict[tuple[int, int], tuple[int, bytes]]] = {}
_FOUND_KEPT = 4096  # a few hundred bytes each: more than the letters of a national cascade
_FOUND_LOCK = threading.Lock()


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


@dataclass(frozen=True)
class _Splice:
    """A copy is ``body``, each of ``objects`` (number, generation, the dictionary entries kept) written
    with the new image, ``table`` (the cross-reference table and the trailer; the offsets at ``slots``, one
    per object, patched when there is more than one) and ``startxref``."""

    body: bytes
    objects: list[tuple[int, int, bytes]]
    table: bytes
    slots: list[int]


class PdfTemplate:
    """A PDF parsed once, with the image XObjects that show the placeholder found; :meth:`render`
    gives the PDF with those images' streams replaced.

    For a single-section PDF with a classic cross-reference table (as LibreOffice writes), a copy is
    the master's bytes with the image objects rewritten after the others and the table rewritten (offsets
    moved), everything else byte for byte: a copy costs what copying the bytes costs; for any other PDF,
    pypdf writes the whole file.
    """

    def __init__(self, master: bytes, placeholder: bytes | Image.Image) -> None:
        self.master = master
        wanted = placeholder if isinstance(placeholder, Image.Image) else Image.open(io.BytesIO(placeholder))
        self.size = wanted.size
        # The file copy and then the recipients' copies are made from one master: found once (by content).
        key = None if isinstance(placeholder, Image.Image) else (_digest(master), _digest(placeholder))
        with _FOUND_LOCK:
            found = _FOUND.get(key) if key else None
        if found is None:
            found = self._find(wanted)
            if key:
                with _FOUND_LOCK:
                    _FOUND[key] = found
                    if len(_FOUND) > _FOUND_KEPT:
                        del _FOUND[next(iter(_FOUND))]
        self.targets: list[tuple[int, int]] = list(found)
        self._splice = self._plan_splice(found)

    def _find(self, wanted: Image.Image) -> dict[tuple[int, int], tuple[int, bytes]]:
        """The image objects showing ``wanted``: for each (number, generation), its stream's length and the
        dictionary entries a copy keeps (:meth:`_dict_bytes`)."""
        try:
            reader = PdfReader(io.BytesIO(self.master))
            images = _image_objects(reader, self.master)
        except Exception as e:
            raise CopyError(f"the master PDF cannot be read: {e}") from e
        reference = _black_and_white(wanted)
        found: dict[tuple[int, int], tuple[int, bytes]] = {}
        shows: dict[tuple, bool] = {}  # by _image_key: whether it shows the placeholder
        # A converter gives an image a soft mask only for its transparency: an opaque placeholder has none.
        opaque = wanted.mode in ("1", "L", "RGB", "P") and "transparency" not in wanted.info
        for ref, obj in images:
            width, height = int(obj.get("/Width", 0)), int(obj.get("/Height", 0))
            # The converter may have resampled the image, never to another shape.
            if width * self.size[1] != height * self.size[0] or (opaque and "/SMask" in obj):
                continue
            key = _image_key(obj)
            if key not in shows:
                decoded = _decoded(obj)
                shows[key] = decoded is not None and _differing_share(
                    _black_and_white(decoded, self.size), reference) <= MATCH_TOLERANCE
            if shows[key]:
                found[ref.idnum, ref.generation] = len(obj._data), self._dict_bytes(obj)
        if not found:
            raise PlaceholderNotFound(
                f"the master PDF has no image showing the placeholder QR code (of {len(images)} images)")
        return found

    # -- fast path: the master's bytes without the image objects, which follow them rewritten

    def _plan_splice(self, found: dict[tuple[int, int], tuple[int, bytes]]) -> _Splice | None:
        """The copy's bytes that do not depend on the image, for a master with one classic cross-reference
        table (else None: pypdf writes each copy). The image objects are cut out and written after the
        others: every other object moves by what was cut before it, the same for every copy, and the first
        image object lands at the same offset; so the table is fixed too, but for the offsets of any image
        objects after the first (patched per copy) and the position of the table itself."""
        data = self.master
        tail = data.rstrip()
        at = tail.rfind(b"startxref")
        if at < 0:
            return None
        try:
            xref_at = int(tail[at + 9:].split()[0])
        except (ValueError, IndexError):
            return None
        if not data.startswith(b"xref", xref_at):
            return None  # a cross-reference stream
        trailer_at = data.find(b"trailer", xref_at)
        if trailer_at < 0 or any(data.find(key, trailer_at, at) >= 0 for key in (b"/Prev", b"/XRefStm")):
            return None  # more than one section
        if data.rfind(b"%%EOF", 0, xref_at) >= 0 and data.count(b"startxref") > 1:
            return None  # an incrementally updated file
        # The table: subsections of "first count" and 20-byte entries (offset, generation, n or f).
        sections: list[tuple[int, list[tuple[bytes, bytes, bytes]]]] = []
        tokens = data[xref_at + 4:trailer_at]
        pos = 0
        while m := _XREF_SUBSECTION.match(tokens, pos):
            first, count = int(m.group(1)), int(m.group(2))
            pos = m.end()
            entries = _XREF_ENTRY.findall(tokens, pos, pos + 20 * count)
            if len(entries) != count:
                return None  # not 20 bytes each
            sections.append((first, entries))
            pos += 20 * count
        offsets = {first + k: entry for first, entries in sections for k, entry in enumerate(entries)}
        spans = []
        for idnum, gen in self.targets:
            entry = offsets.get(idnum)
            if entry is None or entry[2] != b"n" or int(entry[1]) != gen:
                return None
            start = int(entry[0])
            if not re.match(rb"%d\s+%d\s+obj" % (idnum, gen), data[start:start + 32]):
                return None
            length, entries = found[idnum, gen]
            stream_kw = data.find(b"stream", start)
            body = stream_kw + 6
            body += 2 if data[body:body + 2] == b"\r\n" else 1
            end = data.find(b"endobj", body + length)
            if end < 0 or end > xref_at:
                return None
            spans.append((start, end + 6, idnum, gen, entries))
        spans.sort()
        if any(a[1] > b[0] for a, b in itertools.pairwise(spans)):
            return None
        kept, pos = [], 0
        for start, end, *_ in spans:
            kept.append(data[pos:start])
            pos = end
        kept.append(data[pos:xref_at])
        if not kept[-1].endswith((b"\n", b"\r")):
            kept.append(b"\n")
        body_bytes = b"".join(kept)
        cut_at = [start for start, *_ in spans]
        cut_sizes = list(itertools.accumulate(end - start for start, end, *_ in spans))
        moved = {(idnum, gen): k for k, (_, _, idnum, gen, _) in enumerate(spans)}
        lines, slots = [b"xref\n"], [0] * len(spans)
        size = 5
        for first, entries in sections:
            lines.append(b"%d %d\n" % (first, len(entries)))
            size += len(lines[-1])
            for k, (offset, gen, kind) in enumerate(entries):
                if kind == b"n":
                    offset = int(offset)
                    if (first + k, int(gen)) in moved:
                        slots[moved[first + k, int(gen)]] = size + 20 * k
                        offset = len(body_bytes)  # the first image object's; the others' are patched per copy
                    elif offset > cut_at[0]:
                        offset -= cut_sizes[bisect.bisect_left(cut_at, offset) - 1]
                    lines.append(b"%010d %s n\r\n" % (offset, gen))
                else:
                    lines.append(b"%s %s f\r\n" % (offset, gen))
            size += 20 * len(entries)
        return _Splice(body_bytes, [(idnum, gen, entries) for _, _, idnum, gen, entries in spans],
                       b"".join(lines) + data[trailer_at:at], slots)

    @staticmethod
    def _dict_bytes(obj: StreamObject) -> bytes:
        """The image dictionary's entries that stay (not those describing the old samples)."""
        keep = DictionaryObject({
            k: v for k, v in obj.items()
            if k not in ("/Length", "/Filter", "/DecodeParms", "/BitsPerComponent", "/ColorSpace", "/SMask",
                         "/Mask", "/Decode", "/Length1", "/DL", "/Width", "/Height")
        })
        out = io.BytesIO()
        keep.write_to_stream(out)
        return out.getvalue()[2:-2]  # without "<<" ">>"

    def _object_bytes(self, idnum: int, gen: int, entries: bytes, image: _PdfImage) -> bytes:
        head = (b"%d %d obj\n<<%s/Width %d/Height %d/BitsPerComponent %d/ColorSpace %s/Filter/FlateDecode"
                b"/Length %d>>\nstream\n" % (idnum, gen, entries, image.width, image.height, image.bits,
                                                image.colour_space.encode(), len(image.data)))
        return head + image.data + b"\nendstream\nendobj"

    def _render_splice(self, image: _PdfImage) -> bytes:
        plan = self._splice
        objects = [self._object_bytes(idnum, gen, entries, image) + b"\n" for idnum, gen, entries in plan.objects]
        table = plan.table
        if len(objects) > 1:  # the offsets of the image objects after the first depend on the image's size
            table = bytearray(table)
            offset = len(plan.body)
            for slot, obj in zip(plan.slots, objects, strict=True):
                table[slot:slot + 10] = b"%010d" % offset
                offset += len(obj)
        table_at = len(plan.body) + sum(map(len, objects))
        return b"".join([plan.body, *objects, table, b"startxref\n%d\n%%%%EOF\n" % table_at])

    # -- any PDF: pypdf writes it

    def _render_pypdf(self, image: _PdfImage) -> bytes:
        writer = PdfWriter(io.BytesIO(self.master), incremental=True)
        for idnum, gen in self.targets:
            obj = writer.get_object(IndirectObject(idnum, gen, writer))
            for key in ("/DecodeParms", "/SMask", "/Mask", "/Decode", "/DL"):
                obj.pop(NameObject(key), None)
            obj._data = image.data
            obj[NameObject("/Filter")] = NameObject("/FlateDecode")
            obj[NameObject("/BitsPerComponent")] = NumberObject(image.bits)
            obj[NameObject("/ColorSpace")] = NameObject(image.colour_space)
            obj[NameObject("/Width")] = NumberObject(image.width)
            obj[NameObject("/Height")] = NumberObject(image.height)
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    def render(self, new_image: Image.Image | bytes) -> bytes:
        image = new_image if isinstance(new_image, Image.Image) else Image.open(io.BytesIO(new_image))
        return self.render_samples(pdf_image(image))

    def render_samples(self, samples: _PdfImage) -> bytes:
        """The PDF with the placeholder's images showing ``samples`` (the same size)."""
        if (samples.width, samples.height) != self.size:
            raise CopyError(f"the new image is {samples.width, samples.height} pixels, the placeholder {self.size}")
        if self._splice is not None:
            return self._render_splice(samples)
        return self._render_pypdf(samples)


def swap_pdf_image(master_pdf: bytes | Path, old_png: bytes, new_png: bytes) -> bytes:
    """``master_pdf`` with every image XObject showing ``old_png`` replaced by ``new_png``'s pixels.

    Images are compared in black and white (the converter may have re-encoded the placeholder as a
    JPEG); ``new_png`` must have ``old_png``'s size. Raises :class:`PlaceholderNotFound` when no image
    shows ``old_png``.
    """
    return PdfTemplate(_as_bytes(master_pdf), old_png).render(new_png)


# ---------------------------------------------------------------------------------- many copies


class CopyMaker:
    """Copies of one master letter, each with its own tracking QR code in place of the placeholder.

    >>> maker = CopyMaker(master_docx, master_pdf, placeholder_qr_png(len(url)))  # doctest: +SKIP
    >>> maker.docx_for(url), maker.pdf_for(url)  # doctest: +SKIP
    """

    def __init__(self, master_docx: bytes | None, master_pdf: bytes | Path | None, placeholder_png: bytes) -> None:
        self.placeholder_png = placeholder_png
        self.size = _png_size(placeholder_png)
        # Every code is drawn at the placeholder's version: a payload shorter than the one it was made for
        # (a tracking link where the placeholder fits the longer verify link) gets the same pixel size.
        self.version = tracking_qr_version_of(self.size[0])
        self._docx = DocxTemplate(master_docx, placeholder_png) if master_docx is not None else None
        self._pdf = PdfTemplate(_as_bytes(master_pdf), placeholder_png) if master_pdf is not None else None

    def _images(self, payloads: Sequence[str], draw: Callable[[Sequence[str], int], list[T]]) -> list[T]:
        try:
            return draw(payloads, self.version)
        except ValueError:
            longest = max(payloads, key=lambda p: len(p.encode("utf-8")))
            raise CopyError(
                f"{longest!r} is too long for the placeholder ({self.size[0]} pixels, QR version {self.version}): "
                "a copy's payload must be no longer than the placeholder's length") from None

    def _image(self, payload: str, draw: Callable[[Sequence[str], int], list[T]]) -> T:
        return self._images([payload], draw)[0]

    def docx_for(self, payload: str) -> bytes:
        return self.docx_many([payload])[0]

    def docx_many(self, payloads: Sequence[str]) -> list[bytes]:
        """The .docx copy of each payload; their codes drawn together (qr.tracking_qr_pngs: faster than one by one)."""
        if self._docx is None:
            raise CopyError("this CopyMaker was made without a master .docx")
        return [self._docx.render(png) for png in self._images(payloads, tracking_qr_pngs)] if payloads else []

    def pdf_for(self, payload: str) -> bytes:
        if self._pdf is None:
            raise CopyError("this CopyMaker was made without a master PDF")
        rows, width, height = self._image(payload, tracking_qr_rows_many)
        # Deflate level 1: a few hundred bytes more than level 6, a fifth of its time.
        return self._pdf.render_samples(_PdfImage(zlib.compress(rows, 1), width, height, 1, "/DeviceGray"))

    def copies_for(self, payloads: Sequence[str], *, pdf: bool = True) -> list[tuple[bytes, bytes | None]]:
        """(docx, pdf) for each payload, in order."""
        return [(self.docx_for(p), self.pdf_for(p) if pdf else None) for p in payloads]


__all__ = [
    "CopyError",
    "CopyMaker",
    "DocxTemplate",
    "PdfTemplate",
    "PlaceholderNotFound",
    "pdf_image",
    "swap_docx_image",
    "swap_pdf_image",
]
