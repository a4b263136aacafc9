"""python-docx's Document, opened without parsing the parts a reader of the body does not need.

The templates' styles.xml is ~350 KB: python-docx parses it (and numbering.xml) on opening, 8 of the 11 ms
that opening a letter takes. Here they stay bytes (python-docx's plain Part), written back as they were.
"""

from __future__ import annotations

import io
from typing import cast

from docx.document import Document as DocxDocument
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.package import Unmarshaller
from docx.opc.part import Part, PartFactory
from docx.opc.pkgreader import PackageReader
from docx.package import Package
from docx.parts.document import DocumentPart


class _LeanParts(PartFactory):
    part_type_for = {**PartFactory.part_type_for, CT.WML_STYLES: Part, CT.WML_NUMBERING: Part}


def lean_document(docx: bytes) -> DocxDocument:
    """The .docx for reading and changing its body, sections, headers and footers (not its styles or lists)."""
    package = Package()
    Unmarshaller.unmarshal(PackageReader.from_file(io.BytesIO(docx)), package, _LeanParts)
    part = cast(DocumentPart, package.main_document_part)
    if part.content_type != CT.WML_DOCUMENT_MAIN:
        raise ValueError(f"not a Word document: its content type is '{part.content_type}'")
    return part.document
