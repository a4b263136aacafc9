"""The copy of a .docx that LibreOffice prints: Thai line breaks and justification as Word makes them.

The .docx a clerk opens keeps its text as typed and its Thai paragraphs ``thaiDistribute``, which Word
justifies. LibreOffice 7.4 prints ``thaiDistribute`` ragged and breaks Thai words wherever ICU's
dictionary allows. So the copy it converts has every text marked with where a line may break
(:func:`thai_text.linebreak.mark_breaks`: pythainlp's words, reference numbers and dates whole) and
``thaiDistribute`` turned into ``both``, which LibreOffice justifies Thai with, spacing between the
characters as Word does. And the text's last paragraph is kept with the signature block (``keepNext``:
its last lines go over with it, never the signature alone at a page's top), so that LibreOffice's pages
are already the letter's pages (:mod:`.pages`) and a letter is printed once.
"""

from __future__ import annotations

import io
import re
import zipfile

from lxml import etree

from saraban.letters.zip_splice import ZipSplice
from thai_text.linebreak import mark_breaks

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_TEXT = f"{{{_W}}}t"
_JC = f"{{{_W}}}jc"
_BODY = f"{{{_W}}}body"
_P = f"{{{_W}}}p"
_PPR = f"{{{_W}}}pPr"
_PSTYLE = f"{{{_W}}}pStyle"
_KEEP_NEXT = f"{{{_W}}}keepNext"
_BOOKMARK = f"{{{_W}}}bookmarkStart"
_NAME = f"{{{_W}}}name"
SIGNATURE_MARK = "saraban_signature"  # the bookmark where the signature block starts (scripts/build_templates.py)
_VAL = f"{{{_W}}}val"
_PARTS = re.compile(r"word/(document|header\d*|footer\d*)\.xml")


def print_ready_xml(xml: bytes) -> bytes:
    root = etree.fromstring(xml)
    for t in root.iter(_TEXT):
        if t.text:
            t.text = mark_breaks(t.text)
    for jc in root.iter(_JC):
        if jc.get(_VAL) == "thaiDistribute":
            jc.set(_VAL, "both")
    _keep_with_signature(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _keep_with_signature(root: etree._Element) -> None:
    """``keepNext`` on the last paragraph with text before the signature block (its own paragraphs and
    the spacers before it keep with what follows already)."""
    body = root.find(_BODY)
    if body is None:
        return
    blocks = list(body)
    at = next((i for i, el in enumerate(blocks)
               if any(m.get(_NAME) == SIGNATURE_MARK for m in el.iter(_BOOKMARK))), None)
    if at is None:
        return
    text = next((el for el in reversed(blocks[:at]) if el.tag == _P and "".join(el.itertext()).strip()), None)
    if text is None:
        return
    ppr = text.find(_PPR)
    if ppr is None:
        ppr = etree.SubElement(text, _PPR)
        text.insert(0, ppr)
    if ppr.find(_KEEP_NEXT) is None:
        style = ppr.find(_PSTYLE)
        ppr.insert(0 if style is None else 1, etree.Element(_KEEP_NEXT))  # the schema's order: pStyle, keepNext


def print_ready(docx: bytes) -> bytes:
    """The .docx to hand to LibreOffice: the same document with line-break marks and Thai justification."""
    with zipfile.ZipFile(io.BytesIO(docx)) as src:
        parts = {name: print_ready_xml(src.read(name)) for name in src.namelist() if _PARTS.fullmatch(name)}
    return ZipSplice(docx).with_members(parts)  # the other members copied as they are, still compressed
