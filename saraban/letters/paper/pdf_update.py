"""A PDF's objects read only as they are needed, pages drawn over, and an incremental update written.

Something drawn on a page (a receipt stamp, page marks) is added as an incremental update: the original
bytes are kept as they are, and only the changed pages' dictionaries, a copy of their resources and the new
objects (the drawing's content, its fonts) are appended. The update is written here, not by pypdf (which
would parse and clone every object of the document: 6-60 ms a file): the cross-reference sections are
followed from the last ``startxref`` and only the objects asked for are read (:class:`PdfObjects`), so a
change costs a few ms whatever the document's size. A file that cannot be read that way (damaged,
encrypted: :class:`Unreadable`, or any of :data:`READ_ERRORS`) is left to pypdf by the caller.

:func:`page_fonts` and :func:`draw_over` change a page's dictionary the same way whichever writes it
(:class:`IncrementalUpdate` or pypdf's ``PdfWriter``).
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from itertools import islice

from pypdf.errors import PyPdfError
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NullObject,
    NumberObject,
    PdfObject,
    StreamObject,
    read_object,
)

# Adds an object to the PDF being written, giving its reference.
AddObject = Callable[[PdfObject], IndirectObject]


class Unreadable(Exception):
    """The PDF's structure is not one :class:`PdfObjects` reads (a damaged or encrypted file, ...): pypdf,
    which repairs what it can, is to change it instead."""


# What reading a PDF by hand may raise for a file pypdf may still read (pypdf's parser raises several kinds).
READ_ERRORS = (Unreadable, PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError)

_ENTRY = re.compile(rb"\d{10} \d{5} [nf]")
_SUBSECTION = re.compile(rb"[\0\t\n\f\r ]*(\d+) +(\d+)[ \t]*(?:\r\n|\r|\n)")
_TRAILER = re.compile(rb"[\0\t\n\f\r ]*trailer[\0\t\n\f\r ]*")
_OBJ = re.compile(rb"[\0\t\n\f\r ]*(\d+)[\0\t\n\f\r ]+(\d+)[\0\t\n\f\r ]+obj[\0\t\n\f\r ]*")
_STARTXREF = re.compile(rb"startxref[\0\t\n\f\r ]+(\d+)")
# An entry: ("n", offset, generation), ("c", object stream's number, index in it) or ("f", 0, 0).
_Entry = tuple[str, int, int]


class _Table:
    """A classic cross-reference section: subsections of fixed-size entries, looked up in place."""

    def __init__(self, data: bytes, at: int) -> None:
        self.data = data
        self.subsections: list[tuple[int, int, int, int]] = []  # first, count, where, entry size
        pos = at + 4
        while m := _SUBSECTION.match(data, pos):
            first, count = int(m[1]), int(m[2])
            where = m.end()
            # 20 bytes an entry, as the standard says; a few writers end an entry with one byte only.
            size = 20 if data[where + 18:where + 20] in (b" \n", b" \r", b"\r\n") else 19
            for k in (0, count - 1) if count else ():
                if not _ENTRY.match(data, where + k * size):
                    raise Unreadable(f"a cross-reference entry at {where + k * size}")
            self.subsections.append((first, count, where, size))
            pos = where + count * size
        m = _TRAILER.match(data, pos)
        if not m:
            raise Unreadable(f"no trailer after the cross-reference table at {at}")
        self.trailer_at = m.end()

    def entry(self, idnum: int) -> _Entry | None:
        for first, count, where, size in self.subsections:
            if first <= idnum < first + count:
                at = where + (idnum - first) * size
                line = self.data[at:at + 18]
                return ("n", int(line[:10]), int(line[11:16])) if line[17:18] == b"n" else ("f", 0, 0)
        return None


class _XrefStream:
    """A cross-reference stream's entries, decoded when one is looked up."""

    def __init__(self, stream: StreamObject) -> None:
        self.widths = [int(w) for w in stream["/W"]]
        index = [int(v) for v in stream.get("/Index", [0, stream["/Size"]])]
        self.ranges = list(zip(index[::2], index[1::2], strict=True))
        self.rows = stream.get_data()

    def entry(self, idnum: int) -> _Entry | None:
        row = 0
        for first, count in self.ranges:
            if first <= idnum < first + count:
                at = (row + idnum - first) * sum(self.widths)
                fields = []
                for width in self.widths:
                    fields.append(int.from_bytes(self.rows[at:at + width], "big"))
                    at += width
                kind = fields[0] if self.widths[0] else 1
                if kind == 1:
                    return ("n", fields[1], fields[2] if self.widths[2] else 0)
                return ("c", fields[1], fields[2]) if kind == 2 else ("f", 0, 0)
            row += count
        return None


class PdfObjects:
    """A PDF's objects, each read when asked for through its cross-reference sections (tables or streams,
    the newest first along /Prev): drawing on a page needs a handful of them, not the whole document parsed.

    Plays the document for pypdf's parser: an :class:`IndirectObject` read here resolves through
    :meth:`get_object`. An encrypted file is :class:`Unreadable` (its objects would need decrypting)."""

    strict = False  # read by pypdf's parser

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.xref: dict = {}  # read by pypdf's parser for a stream without a length
        self._stream = io.BytesIO(data)
        self._cache: dict[int, PdfObject] = {}
        self._object_streams: dict[int, tuple[bytes, list[int]]] = {}
        tail_at = max(len(data) - 2048, 0)
        at = data.rfind(b"startxref", tail_at)
        m = _STARTXREF.match(data, at) if at >= 0 else None
        if not m:
            raise Unreadable("no startxref")
        self.startxref = int(m[1])
        self.sections: list[_Table | _XrefStream] = []
        self.trailer: DictionaryObject | None = None
        self.table = True  # the newest section is a table (else a stream)
        offset: int | None = self.startxref
        seen: set[int] = set()
        while offset is not None:
            if offset in seen or len(seen) > 256:
                raise Unreadable("the cross-reference sections loop")
            seen.add(offset)
            trailer = self._read_section(offset, first=self.trailer is None)
            self.trailer = self.trailer if self.trailer is not None else trailer
            prev = trailer.get("/Prev")
            offset = int(prev) if prev is not None else None
        if "/Encrypt" in self.trailer:
            raise Unreadable("an encrypted PDF")

    def _read_section(self, offset: int, first: bool) -> DictionaryObject:
        if self.data.startswith(b"xref", offset):
            table = _Table(self.data, offset)
            self.sections.append(table)
            trailer = self._read_at(table.trailer_at)
            if not isinstance(trailer, DictionaryObject):
                raise Unreadable(f"the trailer at {table.trailer_at}")
            if "/XRefStm" in trailer:  # a hybrid file: the objects not in the table are in a stream
                stream = self._read_object_at(int(trailer["/XRefStm"]))
                self.sections.append(_XrefStream(stream))
            return trailer
        stream = self._read_object_at(offset)
        if not isinstance(stream, StreamObject) or stream.get("/Type") != "/XRef":
            raise Unreadable(f"no cross-reference section at {offset}")
        self.sections.append(_XrefStream(stream))
        if first:
            self.table = False
        return stream

    def _read_at(self, at: int) -> PdfObject:
        self._stream.seek(at)
        return read_object(self._stream, self)

    def _read_object_at(self, at: int, idnum: int | None = None) -> PdfObject:
        m = _OBJ.match(self.data, at)
        if not m or (idnum is not None and int(m[1]) != idnum):
            raise Unreadable(f"no object {idnum if idnum is not None else ''} at {at}")
        return self._read_at(m.end())

    def entry(self, idnum: int) -> _Entry | None:
        for section in self.sections:
            found = section.entry(idnum)
            if found is not None:
                return found
        return None

    def get_object(self, ref: IndirectObject | int) -> PdfObject:
        idnum = ref if isinstance(ref, int) else ref.idnum
        if idnum in self._cache:
            return self._cache[idnum]
        found = self.entry(idnum)
        if found is None or found[0] == "f":
            obj: PdfObject = NullObject()
        elif found[0] == "n":
            obj = self._read_object_at(found[1], idnum)
        else:
            obj = self._compressed(found[1], found[2])
        self._cache[idnum] = obj
        return obj

    def _compressed(self, stream_num: int, index: int) -> PdfObject:
        if stream_num not in self._object_streams:
            stream = self.get_object(stream_num)
            if not isinstance(stream, StreamObject):
                raise Unreadable(f"object stream {stream_num}")
            data = stream.get_data()
            first = int(stream["/First"])
            numbers = [int(v) for v in data[:first].split()]
            self._object_streams[stream_num] = (data, [first + v for v in numbers[1::2]])
        data, offsets = self._object_streams[stream_num]
        if index >= len(offsets):
            raise Unreadable(f"object {index} of object stream {stream_num}")
        stream = io.BytesIO(data)
        stream.seek(offsets[index])
        return read_object(stream, self)

    def pages(self) -> Iterator[tuple[IndirectObject, DictionaryObject]]:
        """The pages' references and dictionaries in order (the leaves of the page tree), read as they are
        asked for: the first page reads the tree down to it and no more."""
        assert self.trailer is not None
        root = self.trailer["/Root"]
        todo = [root.raw_get("/Pages")] if isinstance(root, DictionaryObject) and "/Pages" in root else []
        seen: set[int] = set()
        while todo:
            ref = todo.pop()
            if not isinstance(ref, IndirectObject) or ref.idnum in seen or len(seen) > 100_000:
                raise Unreadable("the page tree")
            seen.add(ref.idnum)
            node = ref.get_object()
            if not isinstance(node, DictionaryObject):
                raise Unreadable(f"page tree node {ref.idnum}")
            if node.get("/Type") == "/Pages" or "/Kids" in node:
                kids = node.get("/Kids")
                todo += reversed(kids) if isinstance(kids, ArrayObject) else ()
            else:
                yield ref, node

    def page(self, index: int) -> tuple[IndirectObject, DictionaryObject] | None:
        """Page ``index``'s (from 0) reference and dictionary, None if the document has fewer pages."""
        return next(islice(self.pages(), index, None), None) if index >= 0 else None


class IncrementalUpdate:
    """The objects of an incremental update and how it is written after the original bytes: a classic
    cross-reference section, or a cross-reference stream if the document's newest section is one.

    New objects are written in the order they were added, then the pages taken with :meth:`edit_page`."""

    def __init__(self, source: PdfObjects) -> None:
        self.source = source
        assert source.trailer is not None
        self.trailer = source.trailer
        self.next = int(self.trailer["/Size"])
        self.objects: list[tuple[int, int, PdfObject]] = []
        self._pages: dict[int, tuple[IndirectObject, DictionaryObject]] = {}

    def add(self, obj: PdfObject) -> IndirectObject:
        ref = IndirectObject(self.next, 0, self.source)
        self.next += 1
        self.objects.append((ref.idnum, 0, obj))
        return ref

    def replace(self, ref: IndirectObject, obj: PdfObject) -> None:
        self.objects.append((ref.idnum, ref.generation, obj))

    def edit_page(self, index: int) -> DictionaryObject | None:
        """A copy of page ``index``'s dictionary (the same copy if asked again), to change: it replaces the
        page when the update is written. None if the document has fewer pages."""
        if index not in self._pages:
            found = self.source.page(index)
            if found is None:
                return None
            ref, page = found
            self._pages[index] = ref, DictionaryObject(page.items())
        return self._pages[index][1]

    def write(self) -> bytes:
        data = self.source.data
        out = io.BytesIO()
        out.write(data)
        if not data.endswith((b"\n", b"\r")):
            out.write(b"\n")
        where: dict[int, tuple[int, int]] = {}  # number: (offset, generation)
        edited = [(ref.idnum, ref.generation, page) for ref, page in self._pages.values()]
        for idnum, gen, obj in self.objects + edited:
            where[idnum] = (out.tell(), gen)
            out.write(b"%d %d obj\n" % (idnum, gen))
            _write(obj, out)
            out.write(b"\nendobj\n")
        trailer = DictionaryObject({NameObject(k): self.trailer.raw_get(k)
                                    for k in ("/Root", "/Info", "/ID") if k in self.trailer})
        trailer[NameObject("/Prev")] = NumberObject(self.source.startxref)
        xref_at = out.tell()
        if self.source.table:
            trailer[NameObject("/Size")] = NumberObject(max(self.next, int(self.trailer["/Size"])))
            out.write(b"xref\n")
            for first, numbers in _runs(sorted(where)):
                out.write(b"%d %d\n" % (first, len(numbers)))
                out.write(b"".join(b"%010d %05d n\r\n" % where[n] for n in numbers))
            out.write(b"trailer\n")
            _write(trailer, out)
        else:  # the update's section is a stream too, listing itself
            idnum = self.next
            where[idnum] = (xref_at, 0)
            index = ArrayObject()
            rows = []
            for first, numbers in _runs(sorted(where)):
                index += [NumberObject(first), NumberObject(len(numbers))]
                rows += [struct.pack(">BLH", 1, *where[n]) for n in numbers]
            xref = StreamObject()
            xref.update(trailer)
            xref.update({NameObject("/Type"): NameObject("/XRef"), NameObject("/Size"): NumberObject(idnum + 1),
                         NameObject("/Index"): index, NameObject("/W"): ArrayObject(
                             [NumberObject(1), NumberObject(4), NumberObject(2)]),
                         NameObject("/Filter"): NameObject("/FlateDecode")})
            xref._data = zlib.compress(b"".join(rows))
            out.write(b"%d 0 obj\n" % idnum)
            _write(xref, out)
            out.write(b"\nendobj")
        out.write(b"\nstartxref\n%d\n%%%%EOF\n" % xref_at)
        return out.getvalue()


# A name written as it is (pypdf escapes a name character by character: slow for the ~120 names of a stamp).
_PLAIN_NAME = re.compile(r"/[A-Za-z0-9_.+\-]*")


def _write(obj: PdfObject, out: io.BytesIO) -> None:
    """``obj`` in PDF syntax, as pypdf writes it, faster for the kinds of objects drawing on a page writes."""
    if isinstance(obj, IndirectObject):
        out.write(b"%d %d R" % (obj.idnum, obj.generation))
    elif isinstance(obj, NameObject):
        if _PLAIN_NAME.fullmatch(obj):
            out.write(obj.encode("ascii"))
        else:
            obj.write_to_stream(out)
    elif isinstance(obj, NumberObject):
        out.write(b"%d" % obj)
    elif isinstance(obj, DictionaryObject):
        data = obj._data if isinstance(obj, StreamObject) else None
        out.write(b"<<\n")
        for key, value in obj.items():
            if key == "/Length" and data is not None:
                continue
            _write(key, out)
            out.write(b" ")
            _write(value, out)
            out.write(b"\n")
        if data is not None:
            out.write(b"/Length %d\n>>\nstream\n" % len(data))
            out.write(data)
            out.write(b"\nendstream")
        else:
            out.write(b">>")
    elif isinstance(obj, ArrayObject):
        out.write(b"[")
        for k, item in enumerate(obj):
            if k:
                out.write(b" ")
            _write(item, out)
        out.write(b"]")
    else:
        obj.write_to_stream(out)


def _runs(numbers: list[int]) -> list[tuple[int, list[int]]]:
    """Sorted object numbers in runs of consecutive ones: (first, the run)."""
    runs: list[tuple[int, list[int]]] = []
    for n in numbers:
        if runs and runs[-1][1][-1] == n - 1:
            runs[-1][1].append(n)
        else:
            runs.append((n, [n]))
    return runs


# ------------------------------------------------------------------------------------ drawing over a page


def inherited(page: DictionaryObject, key: str):
    """A page's attribute, or the one it inherits from the page tree."""
    node = page
    for _ in range(64):
        if key in node:
            return node.raw_get(key)
        if "/Parent" not in node:
            return None
        node = node["/Parent"]
    return None


def resource_name(existing: DictionaryObject, base: str) -> str:
    """``base``, or ``base`` with a number, whichever ``existing`` (a resource dictionary) does not name."""
    name, n = base, 1
    while name in existing:
        n += 1
        name = f"{base}{n}"
    return name


def page_fonts(page: DictionaryObject) -> DictionaryObject:
    """A copy of the fonts of ``page``'s resources (inherited or its own), to add fonts to for
    :func:`draw_over`."""
    resources = inherited(page, "/Resources")
    fonts = resources.get_object().get("/Font") if resources else None
    return DictionaryObject(fonts.get_object().items()) if fonts else DictionaryObject()


def _content_refs(add: AddObject, contents) -> list:
    if contents is None:
        return []
    obj = contents.get_object()
    if isinstance(obj, ArrayObject):
        return list(obj)
    return [contents if isinstance(contents, IndirectObject) else add(obj)]


def draw_over(page: DictionaryObject, add: AddObject, fonts: DictionaryObject, content: bytes) -> None:
    """Draw ``content`` (content stream operators) over ``page`` (a page's dictionary, changed in place):
    its resources become a copy with ``fonts`` (:func:`page_fonts` and the fonts ``content`` uses), its
    contents the page's own in a saved graphics state, so that ``content`` starts from the default one,
    then ``content``. The new objects are added with ``add``."""
    resources_obj = inherited(page, "/Resources")
    resources = DictionaryObject(resources_obj.get_object().items()) if resources_obj else DictionaryObject()
    resources[NameObject("/Font")] = fonts
    page[NameObject("/Resources")] = resources
    drawn, save, restore = DecodedStreamObject(), DecodedStreamObject(), DecodedStreamObject()
    drawn.set_data(content)
    save.set_data(b"q\n")
    restore.set_data(b"\nQ\n")
    own = _content_refs(add, page.raw_get("/Contents") if "/Contents" in page else None)
    drawn_ref = add(drawn.flate_encode())
    page[NameObject("/Contents")] = ArrayObject([add(save), *own, add(restore), drawn_ref])
