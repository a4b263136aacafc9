"""Thai ⇄ Arabic digit conversion for letter text."""

from __future__ import annotations

import re
from collections.abc import Sequence

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


# A code-like chunk: Latin letters and digits, joined by - . _ / : + (PM2.5, COVID-19, A1:A3, 0903/12).
_CHUNK = re.compile(r"[A-Za-z0-9]+(?:[-._/:+][A-Za-z0-9]+)*")
_LATIN = re.compile(r"[A-Za-z]")
# Between a Latin word and the digits that belong to it: spaces, after an optional . : or # (Passcode: 2563).
_LATIN_GAP = re.compile(r"[ \t\u00a0]*[.:#]?[ \t\u00a0]+")
# A count after a Latin name is Thai prose: "Zoom 2 ครั้ง", "EIA 3 ฉบับ".
_THAI_UNIT = re.compile(r"[ \t\u00a0]*(?:ครั้ง|ฉบับ|คน|ท่าน|แห่ง|วัน|สัปดาห์|เดือน|ราย|ชั่วโมง|นาที|บาท|หน่วย|"
                        r"เครื่อง|ชุด|เล่ม|ตัว|รายการ)(?!ที่)")
_ARABIC_DIGIT = re.compile(r"[0-9]")
_MAY_KEEP = re.compile(r"[A-Za-z@]")  # without these (and no span to keep) every digit turns


def _spans_of(text: str, keep: Sequence[str]) -> list[tuple[int, int]]:
    """Where each string of ``keep`` occurs in ``text``."""
    spans = []
    for word in keep:
        start = text.find(word) if word else -1
        while start >= 0:
            spans.append((start, start + len(word)))
            start = text.find(word, start + len(word))
    return spans


def arabic_spans(text: str, keep: Sequence[str] = ()) -> list[tuple[int, int]]:
    """The spans of ``text`` whose digits stay as typed in a Thai-digit letter (see :func:`thai_digits_in_prose`).

    >>> t = "ค่า PM2.5 ปี 2567"
    >>> [t[a:b] for a, b in arabic_spans(t)]
    ['PM2.5']
    >>> t = "Meeting ID 912 345 6789 ครั้งที่ 1"
    >>> [t[a:b] for a, b in arabic_spans(t)]
    ['Meeting', 'ID', '912', '345', '6789']
    """
    spans = _spans_of(text, keep)
    links = [(m.start(), m.end()) for m in _TOKEN.finditer(text) if _is_link(m.group())]
    spans += links
    latin_end = -1  # where the last Latin word (or digits kept after one) ends
    for m in _CHUNK.finditer(text):
        if any(a <= m.start() < b for a, b in links):
            latin_end = -1  # a link is kept whole, and what follows it is prose again
            continue
        follows_latin = (latin_end >= 0 and _LATIN_GAP.fullmatch(text, latin_end, m.start()) is not None
                         and not _THAI_UNIT.match(text, m.end()))
        if _LATIN.search(m.group()) or follows_latin:
            spans.append(m.span())
            latin_end = m.end()
        else:
            latin_end = -1
    return spans


def _convert_outside(text: str, spans: list[tuple[int, int]], table: dict[int, int]) -> str:
    """``text`` translated by ``table`` except inside ``spans``."""
    kept = bytearray(len(text))
    for a, b in spans:
        kept[a:b] = b"\x01" * (b - a)
    out, start = [], 0
    for m in re.finditer(b"\x01+", bytes(kept)):
        out += [text[start:m.start()].translate(table), text[m.start():m.end()]]
        start = m.end()
    out.append(text[start:].translate(table))
    return "".join(out)


def thai_digits_in_prose(text: str, keep: Sequence[str] = ()) -> str:
    """Like :func:`to_thai_digits`, but digits that belong to Latin text, links and ``keep`` stay as typed.

    Kept: a whitespace-separated token containing ``@``, ``://`` or ``www.`` (URLs, e-mail addresses), as
    a whole; digits joined to Latin letters (``PM2.5``, ``PM10``, ``COVID-19``); digits after a Latin
    word and spaces, and the groups that follow them (``ASEAN ESC Award 2021``, ``Meeting ID 912 345
    6789``, ``Passcode: 2563``, ``ISO 14001``); every occurrence of a string of ``keep``. Digits in Thai
    context turn (``ปี 2567``, ``ครั้งที่ 1/2567``, ``ทส 0903/12``); whitespace is preserved exactly.

    >>> thai_digits_in_prose("โทร 0 2241 9000 ต่อ 2112")
    'โทร ๐ ๒๒๔๑ ๙๐๐๐ ต่อ ๒๑๑๒'
    >>> thai_digits_in_prose("ดู https://x.org/a1 หรือ saraban1@x.go.th ข้อ 3")
    'ดู https://x.org/a1 หรือ saraban1@x.go.th ข้อ ๓'
    >>> thai_digits_in_prose("ฝุ่น PM2.5 และ PM10 ใน ASEAN ESC Award 2021 ปี 2564")
    'ฝุ่น PM2.5 และ PM10 ใน ASEAN ESC Award 2021 ปี ๒๕๖๔'
    >>> thai_digits_in_prose("ประชุมผ่าน Zoom 2 ครั้ง")
    'ประชุมผ่าน Zoom ๒ ครั้ง'
    >>> thai_digits_in_prose("ครั้งที่ 2/2567 ของ ISO ครั้งที่ 3", keep=["ครั้งที่ 2/2567 ของ ISO"])
    'ครั้งที่ 2/2567 ของ ISO ครั้งที่ ๓'
    """
    if not keep and not _MAY_KEEP.search(text):
        return text.translate(_TO_THAI)
    if not _ARABIC_DIGIT.search(text):  # nothing to turn (most names and lines of a letter): nothing to look for
        return text
    return _convert_outside(text, arabic_spans(text, keep), _TO_THAI)


def apply_digits(text: str, digits: str, keep: Sequence[str] = ()) -> str:
    """Render *text* in the digit style ``"thai"`` (prose-safe) or ``"arabic"``; the strings of ``keep``
    print as typed in both.

    >>> apply_digits("ลงวันที่ 9", "thai")
    'ลงวันที่ ๙'
    >>> apply_digits("ลงวันที่ ๙", "arabic")
    'ลงวันที่ 9'
    >>> apply_digits("ลงวันที่ ๙ รหัส ก๑", "arabic", keep=["ก๑"])
    'ลงวันที่ 9 รหัส ก๑'
    >>> apply_digits("9", "roman")
    Traceback (most recent call last):
    ...
    ValueError: digits must be 'thai' or 'arabic', not 'roman'
    """
    if digits == "thai":
        return thai_digits_in_prose(text, keep)
    if digits == "arabic":
        return _convert_outside(text, _spans_of(text, keep), _TO_ARABIC) if keep else to_arabic_digits(text)
    raise ValueError(f"digits must be 'thai' or 'arabic', not {digits!r}")


def register_number(number: int, year: int, digits: str = "thai") -> str:
    """A register number as clerks write it, number then B.E. year: ``๑/๒๕๖๙`` (เลขรับ ๑/๒๕๖๙).

    >>> register_number(1, 2569)
    '๑/๒๕๖๙'
    >>> register_number(1649, 2567, digits="arabic")
    '1649/2567'
    """
    return apply_digits(f"{number}/{year}", digits)
