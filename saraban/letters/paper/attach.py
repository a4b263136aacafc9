"""A letter and the pages attached after it (reply form, recipients list) as ONE .docx for LibreOffice.

The clerk keeps two files (``letter.docx`` and ``letter-แนบ.docx``); LibreOffice is given one document: the
letter, then, after a section break (a new page), the body of its attached pages with their own header and
footer (the letter's page numbers and carry-on words are not theirs). Both come from the templates of one
family (same styles and numbering); what the attached body uses that the letter lacks is copied across:
relationships and their parts (images, headers, footers), styles, numbering.

:func:`own_pages` then tells, from the pages LibreOffice made, which are the letter's own.
"""

from __future__ import annotations

import copy
import io
import posixpath
import re
import zipfile
from collections.abc import Sequence

from lxml import etree

from saraban.letters.paper.pages import Page, body_lines, squeeze
from saraban.letters.zip_splice import ZipSplice

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PR = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
_HEADER = f"{_R}/header"
_FOOTER = f"{_R}/footer"
_PART_TYPES = {
    _HEADER: "application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml",
    _FOOTER: "application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml",
}
_EMPTY = {_HEADER: f'<w:hdr xmlns:w="{_W}"><w:p/></w:hdr>', _FOOTER: f'<w:ftr xmlns:w="{_W}"><w:p/></w:ftr>'}


def w(tag: str) -> str:
    return f"{{{_W}}}{tag}"


_DOCUMENT = "word/document.xml"
_RELS = "word/_rels/document.xml.rels"
_TYPES = "[Content_Types].xml"
_STYLES = "word/styles.xml"
_NUMBERING = "word/numbering.xml"
_STYLE_REFS = (w("pStyle"), w("rStyle"), w("tblStyle"), w("numStyle"))
_STYLE_LINKS = (w("basedOn"), w("next"), w("link"))


def _xml(data: bytes) -> etree._Element:
    return etree.fromstring(data, etree.XMLParser(huge_tree=True))


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _target(base: str, target: str) -> str:
    """The part a relationship of a part in folder ``base`` names (relative to it, or from the root)."""
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))


def _rels_of(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{name}.rels")


class _Package:
    """The first document's members (those read), to which parts of the documents joined after it are added
    under names of their own (``added``); ``source``: the one being joined now."""

    def __init__(self, names: set[str], types: bytes) -> None:
        self.names = set(names)
        self.added: dict[str, bytes] = {}
        self.types = _xml(types)

    def joining(self, source: zipfile.ZipFile) -> None:
        self.source = source
        self.source_types = _xml(source.read(_TYPES))
        self.copied: dict[str, str] = {}  # the joined document's part → its name here

    def free_name(self, part: str) -> str:
        folder, name = posixpath.split(part)
        stem, ext = posixpath.splitext(name)
        stem = re.sub(r"\d+$", "", stem)
        n = 1
        while posixpath.join(folder, f"{stem}{n}{ext}") in self.names:
            n += 1
        return posixpath.join(folder, f"{stem}{n}{ext}")

    def add(self, part: str, data: bytes, content_type: str | None) -> None:
        self.names.add(part)
        self.added[part] = data
        ext = posixpath.splitext(part)[1].lstrip(".").lower()
        defaults = {d.get("Extension", "").lower() for d in self.types.iter(f"{{{_CT}}}Default")}
        if content_type is not None:
            override = etree.SubElement(self.types, f"{{{_CT}}}Override")
            override.set("PartName", f"/{part}")
            override.set("ContentType", content_type)
        elif ext not in defaults:
            found = next((d.get("ContentType") for d in self.source_types.iter(f"{{{_CT}}}Default")
                          if d.get("Extension", "").lower() == ext), "application/octet-stream")
            default = etree.Element(f"{{{_CT}}}Default")
            default.set("Extension", ext)
            default.set("ContentType", found)
            self.types.insert(0, default)

    def copy_part(self, part: str) -> str:
        """The joined document's ``part`` (and what its relationships name) copied here: its new name."""
        if part in self.copied:
            return self.copied[part]
        new = self.free_name(part)
        self.copied[part] = new
        content_type = next((o.get("ContentType") for o in self.source_types.iter(f"{{{_CT}}}Override")
                             if o.get("PartName") == f"/{part}"), None)
        self.add(new, self.source.read(part), content_type)
        rels = _rels_of(part)
        if rels in self.source.namelist():
            root = _xml(self.source.read(rels))
            for rel in root:
                if rel.get("TargetMode") != "External":
                    target = _target(posixpath.dirname(part), rel.get("Target"))
                    rel.set("Target", posixpath.relpath(self.copy_part(target), posixpath.dirname(new)))
            self.add(_rels_of(new), _bytes(root), None)
        return new


def followed_by(letter: bytes, attached: bytes) -> bytes:
    """``letter`` (a .docx) with the body of ``attached`` after its own, from a new page, in a section of its
    own (its page size, margins, header and footer). The letter's document properties are kept."""
    return joined([letter, attached])


def joined(docs: Sequence[bytes], marks: Sequence[str] | None = None) -> bytes:
    """The first of ``docs`` (.docx) with the body of each of the others after its own, each from a new page in
    its own sections (page size, margins, headers and footers: a header or footer it lacks is an empty one, not
    the one before it). The first's document properties are kept. ``marks``: a bookmark of that name where each
    document starts (:mod:`.bundle` finds each one's first page by it)."""
    first = docs[0]
    splice = ZipSplice(first)
    with zipfile.ZipFile(io.BytesIO(first)) as lz:
        members = {name: lz.read(name) for name in (_DOCUMENT, _RELS, _TYPES, _STYLES, _NUMBERING)
                   if name in splice.names}
        even = "word/settings.xml" in splice.names and b"evenAndOddHeaders" in lz.read("word/settings.xml")
    read = dict(members)
    package = _Package(splice.names, members[_TYPES])
    doc, rels = _xml(members[_DOCUMENT]), _xml(members[_RELS])
    ids = {rel.get("Id") for rel in rels}

    def relate(rel_type: str, target: str, external: bool) -> str:
        n = len(ids) + 1
        while f"rId{n}" in ids:
            n += 1
        rid = f"rId{n}"
        ids.add(rid)
        rel = etree.SubElement(rels, f"{{{_PR}}}Relationship")
        rel.set("Id", rid)
        rel.set("Type", rel_type)
        rel.set("Target", target)
        if external:
            rel.set("TargetMode", "External")
        return rid

    body = doc.find(w("body"))
    if marks:
        _mark(body, marks[0], 0)
    pieces: list[etree._Element] = []
    empty: dict[str, str] = {}  # an empty header, an empty footer: their relationship, one each for all
    for k, data in enumerate(docs[1:], 1):
        with zipfile.ZipFile(io.BytesIO(data)) as az:
            package.joining(az)
            other, other_rels = _xml(az.read(_DOCUMENT)), _xml(az.read(_RELS))
            other_body = other.find(w("body"))
            blocks = [el for el in other_body if el.tag != w("sectPr")]
            final = other_body.find(w("sectPr"))
            section = copy.deepcopy(final) if final is not None else etree.Element(w("sectPr"))
            section.attrib.clear()  # rsids
            by_id = {rel.get("Id"): rel for rel in other_rels}
            moved: dict[str, str] = {}

            def remap(old: str, by_id: dict[str, etree._Element] = by_id, moved: dict[str, str] = moved) -> str:
                if old not in moved:
                    rel = by_id[old]
                    external = rel.get("TargetMode") == "External"
                    target = rel.get("Target") if external else posixpath.relpath(
                        package.copy_part(_target("word", rel.get("Target"))), "word")
                    moved[old] = relate(rel.get("Type"), target, external)
                return moved[old]

            for el in [*blocks, section]:
                for value in el.xpath(".//@*[namespace-uri()=$r]", r=_R):
                    if value in by_id:
                        value.getparent().set(value.attrname, remap(value))
            # Its first section shows every header and footer of its own: one it lacks would be the one of the
            # section before it (the letter's page number).
            sections = [*(s for el in blocks for s in el.iter(w("sectPr"))), section]
            opening = sections[0]
            shown = (["default"] + (["first"] if any(s.find(w("titlePg")) is not None for s in sections) else [])
                     + (["even"] if even else []))
            for kind, rel_type in (("headerReference", _HEADER), ("footerReference", _FOOTER)):
                have = {ref.get(w("type"), "default") for ref in opening.findall(w(kind))}
                for which in shown:
                    if which not in have:
                        if rel_type not in empty:
                            part = package.free_name(f"word/{kind[:6]}1.xml")
                            package.add(part, _EMPTY[rel_type].encode(), _PART_TYPES[rel_type])
                            empty[rel_type] = relate(rel_type, posixpath.relpath(part, "word"), False)
                        ref = etree.Element(w(kind))
                        ref.set(w("type"), which)
                        ref.set(f"{{{_R}}}id", empty[rel_type])
                        opening.insert(0, ref)
            for el in opening.findall(w("type")):  # it starts on a new page
                opening.remove(el)
            _copy_styles(members, az, blocks)
            _copy_numbering(members, az, blocks)
        if blocks and blocks[0].tag == w("p"):  # the section break starts the page already
            for el in blocks[0].iterfind(f"{w('pPr')}/{w('pageBreakBefore')}"):
                el.getparent().remove(el)
        if marks:
            _mark(other_body, marks[k], k)
        if final is not None:
            other_body.remove(final)
        other_body.append(section)
        pieces.append(other)
    for piece in [doc, *pieces[:-1]]:  # each but the last ends its section with its last paragraph
        _end_section(piece.find(w("body")))
    members[_DOCUMENT] = _concatenated(doc, pieces)
    members[_RELS] = _bytes(rels)
    members[_TYPES] = _bytes(package.types)
    return splice.with_members({name: data for name, data in members.items() if data is not read.get(name)},
                               package.added)


def _mark(body: etree._Element, name: str, k: int) -> None:
    """A bookmark ``name`` at the start of the first paragraph of ``body``."""
    first = next(body.iter(w("p")), None)
    if first is None:
        return
    start, end = etree.Element(w("bookmarkStart")), etree.Element(w("bookmarkEnd"))
    start.set(w("id"), str(_MARK_IDS + k))
    start.set(w("name"), name)
    end.set(w("id"), str(_MARK_IDS + k))
    at = 1 if len(first) and first[0].tag == w("pPr") else 0
    first.insert(at, end)
    first.insert(at, start)


_MARK_IDS = 900000  # bookmark ids of the marks (a letter's own are small numbers)


def _end_section(body: etree._Element) -> None:
    """The body's own section (its last ``sectPr``) moved into its last paragraph, which then ends it (a
    paragraph of no height is added after a closing table)."""
    own = body.find(w("sectPr"))
    body.remove(own)
    last = body[-1] if len(body) else None
    if last is None or last.tag != w("p") or last.find(f"{w('pPr')}/{w('sectPr')}") is not None:
        last = etree.SubElement(body, w("p"))
        spacing = etree.SubElement(etree.SubElement(last, w("pPr")), w("spacing"))
        spacing.set(w("line"), "20")
        spacing.set(w("lineRule"), "exact")
    ppr = last.find(w("pPr"))
    if ppr is None:
        ppr = etree.Element(w("pPr"))
        last.insert(0, ppr)
    change = ppr.find(w("pPrChange"))
    if change is not None:
        change.addprevious(own)
    else:
        ppr.append(own)


def _concatenated(doc: etree._Element, pieces: list[etree._Element]) -> bytes:
    """``doc``'s document.xml with the body of each of ``pieces`` after its own. Moving a large tree between
    two lxml documents is slow (~5 ms for a list of 77 rows): when the documents name their namespaces alike,
    the bodies are spliced in as text."""
    if doc.nsmap.get("w") == _W and all(doc.nsmap.get(prefix) == uri for piece in pieces
                                        for prefix, uri in piece.nsmap.items()):
        mine = _bytes(doc)
        end = mine.rindex(b"</w:body>")
        texts = []
        for piece in pieces:
            theirs = _bytes(piece)
            texts.append(theirs[theirs.index(b">", theirs.index(b"<w:body")) + 1:theirs.rindex(b"</w:body>")])
        return b"".join([mine[:end], *texts, mine[end:]])
    body = doc.find(w("body"))
    for piece in pieces:
        body.extend(list(piece.find(w("body"))))
    return _bytes(doc)


def _copy_styles(members: dict[str, bytes], source: zipfile.ZipFile, blocks: list[etree._Element]) -> None:
    """The styles the attached body uses that the letter's styles lack (those of the same id stay the letter's)."""
    if _STYLES not in source.namelist():
        return
    theirs = source.read(_STYLES)
    if _STYLES in members and members[_STYLES] == theirs:
        return
    used = {ref.get(w("val")) for el in blocks for ref in el.iter(*_STYLE_REFS)}
    if not used or _STYLES not in members:
        return
    mine = _xml(members[_STYLES])
    have = {s.get(w("styleId")) for s in mine.iter(w("style"))}
    by_id = {s.get(w("styleId")): s for s in _xml(theirs).iter(w("style"))}
    todo = sorted(used - have)
    while todo:
        sid = todo.pop()
        if sid in have or sid not in by_id:
            continue
        have.add(sid)
        mine.append(copy.deepcopy(by_id[sid]))
        todo += [link.get(w("val")) for link in by_id[sid].iter(*_STYLE_LINKS)]
    members[_STYLES] = _bytes(mine)


def _copy_numbering(members: dict[str, bytes], source: zipfile.ZipFile, blocks: list[etree._Element]) -> None:
    """The lists the attached body numbers, added to the letter's numbering under new ids (the same
    numbering part, as the templates of one family have, needs nothing)."""
    refs = [ref for el in blocks for ref in el.iter(w("numId"))]
    if not refs or _NUMBERING not in source.namelist():
        return
    theirs = source.read(_NUMBERING)
    if members.get(_NUMBERING) == theirs or _NUMBERING not in members:
        return  # no numbering part in the letter: LibreOffice shows the paragraphs unnumbered
    mine, other = _xml(members[_NUMBERING]), _xml(theirs)
    abstracts = {a.get(w("abstractNumId")): a for a in other.iter(w("abstractNum"))}
    nums = {n.get(w("numId")): n for n in other.iter(w("num"))}
    next_abstract = 1 + max((int(a.get(w("abstractNumId"))) for a in mine.iter(w("abstractNum"))), default=-1)
    next_num = 1 + max((int(n.get(w("numId"))) for n in mine.iter(w("num"))), default=0)
    new_ids: dict[str, str] = {}
    for ref in refs:
        old = ref.get(w("val"))
        if old not in nums:
            continue
        if old not in new_ids:
            num = copy.deepcopy(nums[old])
            link = num.find(w("abstractNumId"))
            if link is not None and link.get(w("val")) in abstracts:
                abstract = copy.deepcopy(abstracts[link.get(w("val"))])
                abstract.set(w("abstractNumId"), str(next_abstract))
                link.set(w("val"), str(next_abstract))
                next_abstract += 1
                first_num = mine.find(w("num"))  # abstractNum elements come before num elements
                if first_num is not None:
                    first_num.addprevious(abstract)
                else:
                    mine.append(abstract)
            num.set(w("numId"), str(next_num))
            new_ids[old] = str(next_num)
            next_num += 1
            mine.append(num)
        ref.set(w("val"), new_ids[old])
    members[_NUMBERING] = _bytes(mine)


def opening(attached: bytes) -> tuple[str, int, int]:
    """What the attached pages start with (their first two paragraphs of text, squeezed), and their top and
    bottom margins (twips): what :func:`own_pages` looks for."""
    with zipfile.ZipFile(io.BytesIO(attached)) as z:
        body = _xml(z.read(_DOCUMENT)).find(w("body"))
    texts = []
    for el in body:
        if el.tag == w("p") and (text := squeeze("".join(t.text or "" for t in el.iter(w("t"))))):
            texts.append(text)
            if len(texts) == 2:
                break
    margins = body.find(f"{w('sectPr')}/{w('pgMar')}")
    top = int(margins.get(w("top"), "0")) if margins is not None else 0
    bottom = int(margins.get(w("bottom"), "0")) if margins is not None else 0
    return "".join(texts), top, bottom


def own_pages(pages: list[Page], attached: bytes) -> list[Page] | None:
    """The letter's own pages among ``pages`` (a PDF of the letter followed by its attached pages): those
    before the first (from the second on) that starts as the attached pages do; None when none does."""
    start, top, bottom = opening(attached)
    if not start:
        return None
    for k in range(1, len(pages)):
        page = pages[k]
        lines = sorted(body_lines(page, abs(top) / 20, page.height - abs(bottom) / 20),
                       key=lambda line: (round(line.y_min), line.x_min))
        text = ""
        for line in lines:
            text += squeeze(line.text)
            if len(text) >= len(start):
                break
        if text.startswith(start):
            return pages[:k]
    return None
