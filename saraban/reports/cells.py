"""What goes into a report's cells: database text made printable in .docx/.xlsx (times: saraban.kernel.clock)."""

from __future__ import annotations

import re

# Characters XML 1.0 cannot hold (.docx and .xlsx are XML): printed as a space.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def printable(value: str | None) -> str:
    """Database text as printable XML text: line ends as \\n, control characters as spaces."""
    if not value:
        return ""
    return _ILLEGAL_XML.sub(" ", value.replace("\r\n", "\n").replace("\r", "\n"))
