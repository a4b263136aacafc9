"""A letter's PDF followed by the pages attached to it (reply form, recipients list, the received letter a
forward carries): one PDF, the letter's pages first and as they were.

Every letter of a cascade is merged (a forward carries the stamped copy it received, itself carrying the
letters above it), so the merge copies objects as bytes: each input's cross-reference data gives the objects'
offsets (pypdf reads it, classic tables or streams, updates included), the objects the pages reach are copied
with their references renumbered, stream data untouched, a stream met again with the same content (the
emblem of every level a forward carries: a quarter of a district's copy) written once; only a new catalog and
page tree are written. An input this does not handle (objects in object streams, something unexpected in an
object) is merged by pypdf.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, IndirectObject, NameObject, NumberObject, TextStringObject

# "12 0 R" between delimiters (not the tail of a name or a number).
_REF = re.compile(rb"(?<![^\s\[\]<>(){}/])(\d+)\s+(\d+)\s+R(?![^\s\[\]<>(){}/])")
_OBJ_HEAD = re.compile(rb"(\d+)\s+(\d+)\s+obj\b")
# What ends an object's text outside its strings: its stream, its end, or a string or comment to skip.
_OBJ_PART = re.compile(rb"stream(?:\r\n|\n|\r)|endobj|\(|%")
_STRING_PART = re.compile(rb"\\.|[()]", re.DOTALL)
_ENDSTREAM = re.compile(rb"\s*endstream\s+endobj")
_TYPE = re.compile(rb"/Type\s*/(Pages|Page)(?![^\s\[\]<>(){}/])")
_KIDS = re.compile(rb"/Kids\s*\[([^\]]*)\]")
_LENGTH = re.compile(rb"/Length\s+(\d+)(?:\s+(\d+)\s+R)?(?![^\s\[\]<>(){}/])")
_PAGES = re.compile(rb"/Pages\s+(\d+)\s+\d+\s+R")
_INHERITED = (b"/Resources", b"/MediaBox", b"/CropBox", b"/Rotate")


class _Unmergeable(Exception):
    """An input the byte-level merge does not handle: pypdf merges it."""


def append_pages(letter_pdf: bytes, attached: Sequence[bytes | Path]) -> bytes:
    """``letter_pdf`` with every page of each of ``attached`` after its own, in order. Nothing attached:
    the letter's bytes as they are."""
    if not attached:
        return letter_pdf
    pdfs = [letter_pdf, *(pdf if isinstance(pdf, bytes) else Path(pdf).read_bytes() for pdf in attached)]
    try:
        return _merged(pdfs)
    except _Unmergeable:
        return _merged_by_pypdf(pdfs)


def in_one_section(pdf: bytes) -> bytes:
    """``pdf`` written again whole: one cross-reference table, no incremental update (a master its copies are
    spliced from must be so: saraban.letters.paper.copies)."""
    try:
        return _merged([pdf])
    except _Unmergeable:
        return _merged_by_pypdf([pdf])


def _merged_by_pypdf(pdfs: list[bytes]) -> bytes:
    writer = PdfWriter()
    for data in pdfs:
        writer.append(PdfReader(io.BytesIO(data)), import_outline=False)
    # The letter's own document information (title, subject, author: the letter's) is kept.
    info = PdfReader(io.BytesIO(pdfs[0])).metadata
    if info:
        writer.add_metadata({k: v for k, v in info.items() if isinstance(v, str)})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _skip_string(data: bytes, at: int) -> int:
    """The end of the literal string opening at ``at`` (balanced parentheses, backslash escapes)."""
    depth, pos = 0, at
    while m := _STRING_PART.search(data, pos):
        pos = m.end()
        if m.group() == b"(":
            depth += 1
        elif m.group() == b")":
            depth -= 1
            if depth == 0:
                return pos
    raise _Unmergeable("an unterminated string")


class _Source:
    """One input PDF: its objects by number, read as bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.xref_objStm:
                raise _Unmergeable("objects in object streams")
            self.offsets = {idnum: offset for gen in sorted(reader.xref) for idnum, offset in reader.xref[gen].items()}
            self.trailer = reader.trailer
            self.reader = reader
        except _Unmergeable:
            raise
        except Exception as e:  # pypdf's reading errors are many: then pypdf tries the whole file itself
            raise _Unmergeable(str(e)) from e
        self._parts: dict[int, tuple[bytes, bytes | None]] = {}
        self.tree: set[int] = set()  # the page tree's nodes (pages()): the merged file has a tree of its own
        self._keys: dict[int, bytes | None] = {}

    def content_key(self, idnum: int) -> bytes | None:
        """What an object holds, hashed with what it refers to (the emblem a forward carries at every level is
        the same image): None for a page or page tree node, or one that refers to one, or back to itself."""
        if idnum in self._keys:
            return self._keys[idnum]
        self._keys[idnum] = None  # while it is hashed: a reference back to it makes it unshared
        if idnum not in self.offsets:
            return None
        text, stream = self.parts(idnum)
        key = None
        if not _TYPE.search(text):
            refs = [int(m.group(1)) for m in _REF.finditer(text)]
            children = [self.content_key(ref) if ref in self.offsets else b"null" for ref in refs]
            if None not in children:
                digest = hashlib.sha256(_REF.sub(b"R", text))
                for child in children:
                    digest.update(child)
                digest.update(b"stream" if stream is not None else b"")
                digest.update(stream or b"")
                key = digest.digest()
        self._keys[idnum] = key
        return key

    def parts(self, idnum: int) -> tuple[bytes, bytes | None]:
        """An object's text (a stream's dictionary) and its stream data, if any."""
        if idnum in self._parts:
            return self._parts[idnum]
        data, offset = self.data, self.offsets.get(idnum)
        head = _OBJ_HEAD.match(data, offset) if offset is not None else None
        if head is None or int(head.group(1)) != idnum:
            raise _Unmergeable(f"object {idnum} is not where the cross-reference data says")
        pos = head.end()
        while m := _OBJ_PART.search(data, pos):
            if m.group() == b"(":
                pos = _skip_string(data, m.start())
            elif m.group() == b"%":
                raise _Unmergeable("a comment in an object")
            elif m.group() == b"endobj":
                found = data[head.end():m.start()].strip(), None
                break
            else:
                text = data[head.end():m.start()].strip()
                length = _LENGTH.search(text)
                if length is None:
                    raise _Unmergeable(f"object {idnum}: a stream without a length")
                size = int(length.group(1)) if length.group(2) is None else int(self.parts(int(length.group(1)))[0])
                end = m.end() + size
                if not _ENDSTREAM.match(data, end):
                    raise _Unmergeable(f"object {idnum}: its stream is not as long as it says")
                found = text, data[m.end():end]
                break
        else:
            raise _Unmergeable(f"object {idnum} has no end")
        self._parts[idnum] = found
        return found

    def pages(self) -> list[int]:
        """The numbers of the page objects, in order (those of the tree's nodes in ``tree``); raises when a
        page inherits an attribute from a node (the new tree could not give it)."""
        root = self.trailer.raw_get("/Root") if "/Root" in self.trailer else None
        if not isinstance(root, IndirectObject) or "/Encrypt" in self.trailer:
            raise _Unmergeable("no catalog, or encrypted")
        top = _PAGES.search(self.parts(root.idnum)[0])
        if top is None:
            raise _Unmergeable("no page tree")
        found: list[int] = []

        def walk(idnum: int, inherited: tuple[bytes, ...]) -> None:
            text = self.parts(idnum)[0]
            kind = _TYPE.search(text)
            if kind is None or kind.group(1) == b"Page":
                if any(key not in text for key in inherited):
                    raise _Unmergeable("a page inherits an attribute")
                found.append(idnum)
                return
            if idnum in self.tree:
                raise _Unmergeable("a cycle in the page tree")
            self.tree.add(idnum)
            kids = _KIDS.search(text)
            inherited += tuple(key for key in _INHERITED if key in text)
            for kid in _REF.finditer(kids.group(1) if kids else b""):
                walk(int(kid.group(1)), inherited)

        walk(int(top.group(1)), ())
        return found


def _renumbered(text: bytes, number: Callable[[int], int | None]) -> bytes:
    """``text`` with each reference renumbered (``number``: the new number, None for an object that does not
    exist: null); strings left as they are."""

    def ref(m: re.Match) -> bytes:
        new = number(int(m.group(1)))
        return b"null" if new is None else b"%d 0 R" % new

    if b"(" not in text:
        return _REF.sub(ref, text)
    out, pos = [], 0
    while (at := text.find(b"(", pos)) >= 0:
        end = _skip_string(text, at)
        out += [_REF.sub(ref, text[pos:at]), text[at:end]]
        pos = end
    out.append(_REF.sub(ref, text[pos:]))
    return b"".join(out)


def _merged(pdfs: list[bytes]) -> bytes:
    """The byte-level merge of whole PDFs; the letter's (the first's) document information kept."""
    sources = [_Source(data) for data in pdfs]
    letter = sources[0]
    info = letter.trailer.raw_get("/Info") if "/Info" in letter.trailer else None
    return _written([(source, source.pages()) for source in sources],
                    info.idnum if isinstance(info, IndirectObject) else None)


def pages_apart(pdf: bytes, starts: Sequence[int], infos: Sequence[Mapping[str, str]]) -> list[bytes]:
    """``pdf`` cut into PDFs: the k-th of its pages from ``starts[k]`` (0-based, rising) to the next start
    (the last to its end), with ``infos[k]`` (title, subject…; "" for none) over its document information (its
    producer and dates kept). Raises ValueError when the PDF is not one this can cut."""
    source, pages = _paged(pdf)
    return _apart(source, pages, starts, infos)


def pages_apart_at(pdf: bytes, names: Sequence[str], infos: Iterable[Mapping[str, str]]) -> list[bytes]:
    """:func:`pages_apart` where the named destinations ``names`` (LibreOffice's, from bookmarks) are. Raises
    ValueError when one is not in the PDF."""
    source, pages = _paged(pdf)
    found = _destinations(source, pages)
    lost = [k for k, name in enumerate(names) if name not in found]
    if lost:
        raise ValueError(f"the starts of documents {lost} of {len(names)} are not in the PDF (no destination so named)")
    return _apart(source, pages, [found[name] for name in names], infos)


def _paged(pdf: bytes) -> tuple[_Source, list[int]]:
    try:
        source = _Source(pdf)
        return source, source.pages()
    except _Unmergeable as e:
        raise ValueError(f"a PDF that cannot be cut into parts: {e}") from e


def _apart(source: _Source, pages: list[int], starts: Sequence[int],
           infos: Iterable[Mapping[str, str]]) -> list[bytes]:
    bounds = [*starts, len(pages)]
    if bounds[0] != 0 or any(a >= b for a, b in itertools.pairwise(bounds)):
        raise ValueError(f"parts that do not cover the {len(pages)} pages one after the other: {list(starts)}")
    whole = {key: value for key, value in (source.reader.metadata or {}).items() if isinstance(value, str)}
    return [_written([(source, pages[a:b])], None, {key: value for key, value in {**whole, **info}.items() if value})
            for (a, b), info in zip(itertools.pairwise(bounds), infos, strict=True)]


def _destinations(source: _Source, pages: list[int]) -> dict[str, int]:
    """The named destinations of the PDF: the page (0-based) each is on."""
    at = {idnum: k for k, idnum in enumerate(pages)}
    dests = _DESTS.search(source.parts(source.trailer.raw_get("/Root").idnum)[0])
    if dests is None:
        return {}
    text = source.parts(int(dests.group(1)))[0] if dests.group(1) else dests.group(2)
    return {m.group(1).decode(): at[int(m.group(2))] for m in _DEST.finditer(text) if int(m.group(2)) in at}


_DESTS = re.compile(rb"/Dests\s*(?:(\d+)\s+\d+\s+R|(<<.*?>>))", re.DOTALL)
_DEST = re.compile(rb"/([A-Za-z0-9]+)\s*\[\s*(\d+)\s+\d+\s+R")


def _written(parts: list[tuple[_Source, list[int]]], info: int | None,
             new_info: Mapping[str, str] | None = None) -> bytes:
    """1 0 obj the catalog, 2 0 obj the page tree, then each part's objects that its pages reach (and the
    first's document information ``info``, an object number), renumbered in the order they are reached; or
    ``new_info`` written as the document information."""
    counter = itertools.count(3)
    body: list[bytes] = []
    kids: list[int] = []
    info_number = None
    shared: dict[bytes, int] = {}  # a stream's content_key: its number here (written once, however often met)
    for k, (source, pages) in enumerate(parts):
        numbers = dict.fromkeys(source.tree, 2)  # the old page tree: the new one (each page's /Parent)
        queue: list[int] = []

        def number(old: int, numbers: dict[int, int] = numbers, queue: list[int] = queue,
                   source: _Source = source) -> int | None:
            if old not in numbers:
                if old not in source.offsets:
                    return None
                key = source.content_key(old) if source.parts(old)[1] is not None else None
                if key is not None and key in shared:
                    numbers[old] = shared[key]
                    return numbers[old]
                numbers[old] = next(counter)
                queue.append(old)
                if key is not None:
                    shared[key] = numbers[old]
            return numbers[old]

        kids += [number(idnum) for idnum in pages]
        if k == 0 and info is not None:
            info_number = number(info)
        for old in queue:  # grows as objects are reached
            text, stream = source.parts(old)
            head = b"%d 0 obj\n%s\n" % (numbers[old], _renumbered(text, number))
            body.append(head + b"endobj\n" if stream is None else
                        head + b"stream\n" + stream + b"\nendstream\nendobj\n")
    if new_info is not None:
        info_number = next(counter)
        text = io.BytesIO()
        DictionaryObject({NameObject(key): TextStringObject(value) for key, value in new_info.items()}
                         ).write_to_stream(text)
        body.append(b"%d 0 obj\n%s\nendobj\n" % (info_number, text.getvalue()))
    datas = [source.data for source, _ in parts]
    version = max((data[5:8] for data in datas if re.match(rb"%PDF-\d\.\d", data)), default=b"1.4")
    head = [b"%%PDF-%s\n%%\xe2\xe3\xcf\xd3\n" % version,
            b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n",
            b"2 0 obj\n<< /Type /Pages /Count %d /Kids [ %s ] >>\nendobj\n"
            % (len(kids), b" ".join(b"%d 0 R" % kid for kid in kids))]
    objects = [*head, *body]  # numbered in the order they were reached: in order
    offsets, at = [], 0
    for part in objects:
        offsets.append(at)
        at += len(part)
    trailer = DictionaryObject({NameObject("/Size"): NumberObject(len(objects)),
                                NameObject("/Root"): IndirectObject(1, 0, None)})
    if info_number is not None:
        trailer[NameObject("/Info")] = IndirectObject(info_number, 0, None)
    out = io.BytesIO()
    trailer.write_to_stream(out)
    table = b"".join([b"xref\n0 %d\n0000000000 65535 f \n" % len(objects),
                      *(b"%010d 00000 n \n" % offset for offset in offsets[1:]),
                      b"trailer\n", out.getvalue(), b"\nstartxref\n%d\n%%%%EOF\n" % at])
    return b"".join([*objects, table])
