"""Many letters printed as ONE LibreOffice document, then cut back into a PDF each.

LibreOffice spends most of a letter's ~0.25 s on the document, not on its pages: 40 letters of a cascade
took 10.0 s converted as 40 documents of one run and 4.7 s joined in one document (one LibreOffice start,
~1.4 s, in each). So letters whose packages lay out alike (the same styles, numbering, settings, fonts and
theme) are joined (:func:`saraban.letters.paper.attach.joined`), each from a new page in sections of its own
(its own page size, margins, headers and footers) with a bookmark where it starts. LibreOffice exports the
bookmarks as named destinations (the page each is on), where the PDF is cut
(:func:`saraban.letters.paper.merge.pages_apart_at`); each part gets its letter's document information (title,
subject, keywords, author) as LibreOffice gives a document printed alone.

A letter is printed alone when sharing a document could change what it shows: numbered paragraphs (their
numbers would count on from the letter before), fields (a page number would), notes or comments.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence

from lxml import etree

from saraban.letters.paper.attach import joined
from saraban.letters.paper.merge import pages_apart_at

PACK = 40  # letters per document: LibreOffice's time per letter no longer falls beyond ~20–40
MARK = "sarabanpart"  # + the letter's place in its bundle: the bookmark where it starts (letters and digits only:
# LibreOffice writes other characters of a destination's name escaped)

_LAYOUT = ("word/styles.xml", "word/numbering.xml", "word/settings.xml", "word/fontTable.xml",
           "word/theme/theme1.xml", "word/webSettings.xml", "word/stylesWithEffects.xml")
_NOT_SHARED = ("word/footnotes.xml", "word/endnotes.xml", "word/comments.xml")
_COUNTS_ON = re.compile(rb"<w:numPr\b|<w:fldSimple\b|<w:instrText\b|<w:fldChar\b")
_STYLE_USED = re.compile(rb'<w:pStyle w:val="([^"]+)"')
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_CORE = {"/Title": "{http://purl.org/dc/elements/1.1/}title",
         "/Subject": "{http://purl.org/dc/elements/1.1/}subject",
         "/Author": "{http://purl.org/dc/elements/1.1/}creator",
         "/Keywords": "{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}keywords"}


def layout_key(docx: bytes) -> tuple | None:
    """What a letter shares with those it may be printed with: the parts that lay it out, each by the CRC-32
    and size its zip entry records (nothing to decompress: the styles alone are ~0.8 MB a letter); None when
    it is to be printed alone."""
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        entries = {info.filename: info for info in z.infolist()}
        if set(entries).intersection(_NOT_SHARED) or "word/document.xml" not in entries:
            return None
        own = {name: z.read(name) for name in entries
               if name.startswith("word/") and name.endswith(".xml") and name not in _LAYOUT}
        if any(_COUNTS_ON.search(data) for data in own.values()):
            return None
        key = tuple((name, entries[name].CRC, entries[name].file_size) if name in entries else (name,)
                    for name in _LAYOUT)
        styles = entries.get("word/styles.xml")
        numbered = _numbered_styles(key, z.read(styles) if styles and key not in _NUMBERED else b"")
    if set(_STYLE_USED.findall(own["word/document.xml"])) & numbered:
        return None
    return key


_NUMBERED: dict[tuple, frozenset[bytes]] = {}  # by layout_key: the styles read once


def _numbered_styles(key: tuple, styles: bytes) -> frozenset[bytes]:
    """The paragraph styles that number their paragraphs (themselves or by a style they are based on)."""
    if key in _NUMBERED:
        return _NUMBERED[key]
    based: dict[str, str | None] = {}
    numbered: set[str] = set()
    for style in etree.fromstring(styles, etree.XMLParser(huge_tree=True)).iter(f"{{{_W}}}style") if styles else ():
        sid = style.get(f"{{{_W}}}styleId")
        parent = style.find(f"{{{_W}}}basedOn")
        based[sid] = parent.get(f"{{{_W}}}val") if parent is not None else None
        if style.find(f"{{{_W}}}pPr/{{{_W}}}numPr") is not None:
            numbered.add(sid)

    def numbers(sid: str | None, seen: frozenset[str] = frozenset()) -> bool:
        return sid is not None and sid not in seen and (sid in numbered or numbers(based.get(sid), seen | {sid}))

    _NUMBERED[key] = found = frozenset(sid.encode() for sid in based if numbers(sid))
    return found


def bundles(docs: Sequence[bytes]) -> tuple[list[list[int]], list[int]]:
    """The documents (their places in ``docs``) printed together, at most PACK in each bundle and in their
    order; and those printed alone."""
    groups: dict[tuple, list[int]] = {}
    alone = []
    for k, docx in enumerate(docs):
        key = layout_key(docx)
        if key is None:
            alone.append(k)
        else:
            groups.setdefault(key, []).append(k)
    together = []
    for members in groups.values():
        if len(members) == 1:
            alone += members
            continue
        n = -(-len(members) // PACK)
        size = -(-len(members) // n)  # bundles of (nearly) equal size
        together += [members[start:start + size] for start in range(0, len(members), size)]
    return together, sorted(alone)


def bundled(docs: Sequence[bytes]) -> bytes:
    """The documents joined into one, each from a new page, each starting with its mark."""
    return joined(docs, [f"{MARK}{k}" for k in range(len(docs))])


def cut(pdf: bytes, docs: Sequence[bytes]) -> list[bytes]:
    """The PDF LibreOffice printed of :func:`bundled` ``docs``, cut into each document's. Raises ValueError
    when a document's start is not in it."""
    # the information read once the starts are found
    return pages_apart_at(pdf, [f"{MARK}{k}" for k in range(len(docs))], (_information(docx) for docx in docs))


def _information(docx: bytes) -> dict[str, str]:
    """The PDF document information LibreOffice gives a document of its own (its core properties; the
    keywords separated by ", "); "" for what it does not have."""
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        core = etree.fromstring(z.read("docProps/core.xml")) if "docProps/core.xml" in z.namelist() else None
    info = {}
    for key, tag in _CORE.items():
        el = core.find(tag) if core is not None else None
        text = (el.text or "").strip() if el is not None else ""
        if key == "/Keywords":
            text = ", ".join(word for word in (w.strip() for w in re.split(r"[,;:]", text)) if word)
        info[key] = text
    return info
