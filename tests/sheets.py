"""Reading saraban's .xlsx back as a clerk sees it: a number cell shown by its number format.

Only the formats saraban writes are understood (saraban.reports.sheets): ``0``, ``#,##0``, ``0.0`` and
``"ว "0``, each with or without the Thai-digits prefix ``[$-D00041E]``; any other format fails the test.
"""

from __future__ import annotations

from saraban.reports.sheets import THAI_DIGITS

_TO_THAI = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
PATTERNS = {"0": "{:d}", "#,##0": "{:,d}", "0.0": "{:.1f}", '"ว "0': "ว {:d}"}


def shown(cell) -> str:
    """The cell's text as Excel or LibreOffice shows it; a number cell must be a number with a known format."""
    if cell.value is None:
        return ""
    if cell.data_type != "n":
        return cell.value
    fmt = cell.number_format
    thai = fmt.startswith(THAI_DIGITS)
    pattern = fmt.removeprefix(THAI_DIGITS)
    assert pattern in PATTERNS, f"{cell.coordinate}: unexpected number format {fmt!r}"
    text = PATTERNS[pattern].format(cell.value)
    return text.translate(_TO_THAI) if thai else text


def shown_rows(ws, min_row: int = 1) -> list[list[str]]:
    return [[shown(c) for c in row] for row in ws.iter_rows(min_row=min_row)]
