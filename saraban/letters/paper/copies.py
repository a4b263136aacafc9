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
  (LibreOffice's), the copy is the master's bytes with that object and the cross-reference table
  rewritten, nothing else (:func:`swap_pdf_image`).

:class:`CopyMaker` parses both masters once and makes copies for payloads.
"""

from __future__ import annotations

import io
import re
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

from saraban.letters.paper.qr import tracking_qr_image, tracking_qr_png, tracking_qr_version_of
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


def _black_and_white(image: Image.Image, size: tuple[int, int] | None = None) -> Image.Image:
    if image.mode in ("RGBA", "LA", "P", "PA"):
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, "white")
        image = Image.alpha_composite(white, image)
    grey = image.convert("L")
    if size and grey.size != size:
        grey = grey.resize(size, Image.Resampling.NEAREST)
    return grey.point(lambda v: 255 if v >= 128 else 0)


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


def _decoded(obj: StreamObject) -> Image.Image | None:
    try:
        return obj.decode_as_image()
    except Exception:  # an image pypdf cannot decode is not the placeholder
        return None


_XREF_ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf])")


class PdfTemplate:
    """A PDF parsed once, with the image XObjects that show the placeholder found; :meth:`render`
    gives the PDF with those images' streams replaced.

    For a single-section PDF with a classic cross-reference table (as LibreOffice writes), a copy is
    the master's bytes with the image objects and the table rewritten (offsets moved), everything
    else byte for byte; for any other PDF, pypdf writes the whole file.
    """

    def __init__(self, master: bytes, placeholder: bytes | Image.Image) -> None:
        self.master = master
        try:
            reader = PdfReader(io.BytesIO(master))
            images = list(_image_xobjects(reader))
        except Exception as e:
            raise CopyError(f"the master PDF cannot be read: {e}") from e
        wanted = placeholder if isinstance(placeholder, Image.Image) else Image.open(io.BytesIO(placeholder))
        self.size = wanted.size
        reference = _black_and_white(wanted)
        self.targets: list[tuple[int, int]] = []
        for ref, obj in images:
            width, height = int(obj.get("/Width", 0)), int(obj.get("/Height", 0))
            # The converter may have resampled the image, never to another shape.
            if width * self.size[1] != height * self.size[0]:
                continue
            decoded = _decoded(obj)
            if decoded is None:
                continue
            if _differing_share(_black_and_white(decoded, self.size), reference) <= MATCH_TOLERANCE:
                self.targets.append((ref.idnum, ref.generation))
        if not self.targets:
            raise PlaceholderNotFound(
                f"the master PDF has no image showing the placeholder QR code (of {len(images)} images)")
        self._reader = reader
        self._splice = self._plan_splice(reader)

    # -- fast path: rewrite the objects and the cross-reference table in the master's bytes

    def _plan_splice(self, reader: PdfReader):
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
        # The table: subsections of "first count" and 20-byte entries.
        sections: list[tuple[int, list[list]]] = []
        tokens = data[xref_at + 4:trailer_at]
        pos = 0
        header = re.compile(rb"\s*(\d+)\s+(\d+)\s*?(?:\r\n|\r|\n| \r| \n)")
        while True:
            m = header.match(tokens, pos)
            if not m:
                break
            first, count = int(m.group(1)), int(m.group(2))
            pos = m.end()
            entries = []
            for _ in range(count):
                e = _XREF_ENTRY.search(tokens, pos, pos + 24)
                if not e:
                    return None
                entries.append([int(e.group(1)), e.group(2), e.group(3)])
                pos = e.end()
                while pos < len(tokens) and tokens[pos:pos + 1] in b" \r\n":
                    pos += 1
            sections.append((first, entries))
        offsets = {first + k: entry for first, entries in sections for k, entry in enumerate(entries)}
        spans = []
        for idnum, gen in self.targets:
            entry = offsets.get(idnum)
            if entry is None or entry[2] != b"n" or int(entry[1]) != gen:
                return None
            start = entry[0]
            if not re.match(rb"%d\s+%d\s+obj" % (idnum, gen), data[start:start + 32]):
                return None
            obj = reader.get_object(IndirectObject(idnum, gen, reader))
            stream_kw = data.find(b"stream", start)
            body = stream_kw + 6
            body += 2 if data[body:body + 2] == b"\r\n" else 1
            end = data.find(b"endobj", body + len(obj._data))
            if end < 0 or end > xref_at:
                return None
            spans.append((start, end + 6, idnum, gen, self._dict_bytes(obj)))
        spans.sort()
        return {"xref_at": xref_at, "trailer": data[trailer_at:at], "sections": sections, "spans": spans}

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
        data = self.master
        parts, moves = [], []  # moves: (position in the master, shift of what follows)
        pos, shift = 0, 0
        for start, end, idnum, gen, entries in plan["spans"]:
            new = self._object_bytes(idnum, gen, entries, image)
            parts += [data[pos:start], new]
            shift += len(new) - (end - start)
            moves.append((start, shift))
            pos = end
        xref_at = plan["xref_at"]
        parts.append(data[pos:xref_at])
        new_xref_at = xref_at + shift
        lines = [b"xref\n"]
        for first, entries in plan["sections"]:
            lines.append(b"%d %d\n" % (first, len(entries)))
            for offset, gen, kind in entries:
                if kind == b"n":
                    for start, moved in reversed(moves):
                        if offset > start:
                            offset += moved
                            break
                lines.append(b"%010d %s %s\r\n" % (offset, gen, kind))
        parts += lines
        parts += [plan["trailer"], b"startxref\n%d\n%%%%EOF\n" % new_xref_at]
        return b"".join(parts)

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
        if image.size != self.size:
            raise CopyError(f"the new image is {image.size} pixels, the placeholder {self.size}")
        samples = pdf_image(image)
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

    def _image(self, payload: str, draw: Callable[[str, int], T] = tracking_qr_image) -> T:
        try:
            return draw(payload, self.version)
        except ValueError:
            raise CopyError(
                f"{payload!r} is too long for the placeholder ({self.size[0]} pixels, QR version {self.version}): "
                "a copy's payload must be no longer than the placeholder's length") from None

    def docx_for(self, payload: str) -> bytes:
        if self._docx is None:
            raise CopyError("this CopyMaker was made without a master .docx")
        return self._docx.render(self._image(payload, tracking_qr_png))

    def pdf_for(self, payload: str) -> bytes:
        if self._pdf is None:
            raise CopyError("this CopyMaker was made without a master PDF")
        return self._pdf.render(self._image(payload))

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
