"""What goes into a report's cells: database text made printable in .docx/.xlsx, times as Thai text."""

from __future__ import annotations

import re
from datetime import datetime

from thai_text import apply_digits, format_thai_date

# Characters XML 1.0 cannot hold (.docx and .xlsx are XML): printed as a space.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def printable(value: str | None) -> str:
    """Database text as printable XML text: line ends as \\n, control characters as spaces."""
    if not value:
        return ""
    return _ILLEGAL_XML.sub(" ", value.replace("\r\n", "\n").replace("\r", "\n"))


def moment_text(at: datetime, digits: str) -> str:
    return f"{format_thai_date(at.date(), abbreviated=True, digits=digits)} " + apply_digits(
        f"{at:%H.%M} น.", digits)
