"""Thai ⇄ Arabic digit conversion for letter text."""

from __future__ import annotations

import re

DIGIT_STYLES = ("thai", "arabic")

_TO_THAI = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
_TO_ARABIC = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")

_TOKEN = re.compile(r"\S+")
_WWW = re.compile(r"(?i)\bwww\.")


def to_thai_digits(text: str | int) -> str:
    """Turn every Arabic digit 0-9 into ๐-๙; other characters are kept.

    >>> to_thai_digits("ต่อ 2112")
    'ต่อ ๒๑๑๒'
    >>> to_thai_digits(2567)
    '๒๕๖๗'
    """
    return str(text).translate(_TO_THAI)


def to_arabic_digits(text: str) -> str:
    """Turn every Thai digit ๐-๙ into 0-9; other characters are kept.

    >>> to_arabic_digits("มท ๐๘๒๐.๒/ว ๑๑๔๔")
    'มท 0820.2/ว 1144'
    """
    return text.translate(_TO_ARABIC)


def _is_link(token: str) -> bool:
    return "@" in token or "://" in token or _WWW.search(token) is not None


def thai_digits_in_prose(text: str) -> str:
    """Like :func:`to_thai_digits`, but keep URLs and e-mail addresses as they are.

    A whitespace-separated token containing ``@``, ``://`` or ``www.`` is left
    untouched as a whole; whitespace is preserved exactly.

    >>> thai_digits_in_prose("โทร 0 2241 9000 ต่อ 2112")
    'โทร ๐ ๒๒๔๑ ๙๐๐๐ ต่อ ๒๑๑๒'
    >>> thai_digits_in_prose("ดู https://x.org/a1 หรือ saraban1@x.go.th ข้อ 3")
    'ดู https://x.org/a1 หรือ saraban1@x.go.th ข้อ ๓'
    """
    return _TOKEN.sub(
        lambda m: m.group() if _is_link(m.group()) else to_thai_digits(m.group()),
        text,
    )


def apply_digits(text: str, digits: str) -> str:
    """Render *text* in the digit style ``"thai"`` (prose-safe) or ``"arabic"``.

    >>> apply_digits("ลงวันที่ 9", "thai")
    'ลงวันที่ ๙'
    >>> apply_digits("ลงวันที่ ๙", "arabic")
    'ลงวันที่ 9'
    >>> apply_digits("9", "roman")
    Traceback (most recent call last):
    ...
    ValueError: digits must be 'thai' or 'arabic', not 'roman'
    """
    if digits == "thai":
        return thai_digits_in_prose(text)
    if digits == "arabic":
        return to_arabic_digits(text)
    raise ValueError(f"digits must be 'thai' or 'arabic', not {digits!r}")


def register_number(number: int, year: int, digits: str = "thai") -> str:
    """A register number as clerks write it, number then B.E. year: ``๑/๒๕๖๙`` (เลขรับ ๑/๒๕๖๙).

    >>> register_number(1, 2569)
    '๑/๒๕๖๙'
    >>> register_number(1649, 2567, digits="arabic")
    '1649/2567'
    """
    return apply_digits(f"{number}/{year}", digits)
