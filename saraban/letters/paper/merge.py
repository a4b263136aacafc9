"""A letter's PDF followed by the pages attached to it (reply form, recipients list, the received letter a
forward carries): one PDF, the letter's pages first and as they were."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from pypdf import PdfReader, PdfWriter


def append_pages(letter_pdf: bytes, attached: Sequence[bytes | Path]) -> bytes:
    """``letter_pdf`` with every page of each of ``attached`` after its own, in order. Nothing attached:
    the letter's bytes as they are."""
    if not attached:
        return letter_pdf
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(letter_pdf)), import_outline=False)
    for pdf in attached:
        data = pdf if isinstance(pdf, bytes) else Path(pdf).read_bytes()
        writer.append(PdfReader(io.BytesIO(data)), import_outline=False)
    # The letter's own document information (title, subject, author: the letter's) is kept.
    info = PdfReader(io.BytesIO(letter_pdf)).metadata
    if info:
        writer.add_metadata({k: v for k, v in info.items() if isinstance(v, str)})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
