"""The copy of a .docx that LibreOffice prints: Thai line breaks and justification as Word makes them.

The .docx a clerk opens keeps its text as typed and its Thai paragraphs ``thaiDistribute``, which Word
justifies. LibreOffice 7.4 prints ``thaiDistribute`` ragged and breaks Thai words wherever ICU's
dictionary allows. So the copy it converts has every text marked with where a line may break
(:func:`thai_text.linebreak.mark_breaks`: pythainlp's words, reference numbers and dates whole) and
``thaiDistribute`` turned into ``both``, which LibreOffice justifies Thai with, spacing between the
characters as Word does.
"""

from __future__ import annotations

import io
import re
import zipfile

from lxml import etree

from thai_text.linebreak import mark_breaks

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_TEXT = f"{{{_W}}}t"
_JC = f"{{{_W}}}jc"
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
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def print_ready(docx: bytes) -> bytes:
    """The .docx to hand to LibreOffice: the same document with line-break marks and Thai justification."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if _PARTS.fullmatch(info.filename):
                data = print_ready_xml(data)
            dst.writestr(info, data)
    return out.getvalue()
