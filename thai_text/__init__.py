"""Pure Thai-text helpers for official letters: digits, dates, reference numbers, baht.

>>> from thai_text import RefNo, format_thai_date
>>> str(RefNo.parse("มท 0820.2/ว 1144"))
'มท ๐๘๒๐.๒/ว ๑๑๔๔'
"""

from thai_text.baht import baht_text
from thai_text.dates import (
    THAI_MONTHS,
    THAI_MONTHS_ABBR,
    ThaiDateError,
    be_year,
    fiscal_year,
    format_thai_date,
    parse_thai_date,
)
from thai_text.numerals import (
    apply_digits,
    register_number,
    thai_digits_in_prose,
    to_arabic_digits,
    to_thai_digits,
)
from thai_text.refno import RefNo, RefNoError

__all__ = [
    "THAI_MONTHS",
    "THAI_MONTHS_ABBR",
    "RefNo",
    "RefNoError",
    "ThaiDateError",
    "apply_digits",
    "baht_text",
    "be_year",
    "fiscal_year",
    "format_thai_date",
    "parse_thai_date",
    "register_number",
    "thai_digits_in_prose",
    "to_arabic_digits",
    "to_thai_digits",
]
