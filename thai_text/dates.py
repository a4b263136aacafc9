"""Thai (B.E.) dates as written in official letters."""

from __future__ import annotations

import calendar
import re
from datetime import date

from thai_text.numerals import apply_digits, to_arabic_digits, to_thai_digits

# As pythainlp.util.date has them (written out: importing pythainlp costs ~0.1 s on every command).
THAI_MONTHS: tuple[str, ...] = (
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
)  # fmt: skip
THAI_MONTHS_ABBR: tuple[str, ...] = (
    "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.",
)  # fmt: skip
_ENGLISH_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
)  # fmt: skip
BE_OFFSET = 543
#: Smallest year read as B.E. by :func:`parse_thai_date`; below it, the year looks C.E.
MIN_BE_YEAR = 2400

_MONTH_LOOKUP = {
    name.replace(".", ""): number
    for number, names in enumerate(
        zip(THAI_MONTHS, THAI_MONTHS_ABBR, strict=True), start=1
    )
    for name in names
}
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_THAI = re.compile(r"(\d+) ?(\D+?) ?(?:พ\. ?ศ\.? ?)?(\d+)")
_SPACES = re.compile(r"[\s\u200b]+")


class ThaiDateError(ValueError):
    """A text that is not a valid Thai date; the message is Thai / English."""


def be_year(d: date) -> int:
    """Buddhist Era year of *d* (C.E. + 543).

    >>> be_year(date(2024, 4, 9))
    2567
    """
    return d.year + BE_OFFSET


def format_thai_date(
    d: date, *, abbreviated: bool = False, digits: str = "thai"
) -> str:
    """Write *d* as in a letter: day (no leading zero), month name, B.E. year.

    >>> format_thai_date(date(2024, 4, 9))
    '๙ เมษายน ๒๕๖๗'
    >>> format_thai_date(date(2024, 4, 9), abbreviated=True)
    '๙ เม.ย. ๒๕๖๗'
    >>> format_thai_date(date(2024, 4, 9), digits="arabic")
    '9 เมษายน 2567'
    """
    months = THAI_MONTHS_ABBR if abbreviated else THAI_MONTHS
    return apply_digits(f"{d.day} {months[d.month - 1]} {be_year(d)}", digits)


def _fail(text: str, thai: str, english: str) -> ThaiDateError:
    return ThaiDateError(f"วันที่ไม่ถูกต้อง '{text}': {thai} / invalid date: {english}")


def _build(text: str, year: int, month: int, day: int, *, be: bool) -> date:
    """The date for *year* (B.E. if *be*, else C.E.), or a ThaiDateError."""
    ce_year = year - BE_OFFSET if be else year
    th_year = to_thai_digits(year) if be else f"ค.ศ. {to_thai_digits(year)}"
    en_year = str(year) if be else f"{year} C.E."
    if not 1 <= ce_year <= 9999:
        raise _fail(
            text, f"ปี {th_year} อยู่นอกช่วงที่รองรับ", f"year {en_year} is out of range"
        )
    if not 1 <= month <= 12:
        raise _fail(
            text, f"ไม่มีเดือนที่ {to_thai_digits(month)}", f"there is no month {month}"
        )
    days = calendar.monthrange(ce_year, month)[1]
    if not 1 <= day <= days:
        raise _fail(
            text,
            f"เดือน{THAI_MONTHS[month - 1]} {th_year} มี {to_thai_digits(days)} วัน",
            f"{_ENGLISH_MONTHS[month - 1]} {en_year} has {days} days",
        )
    return date(ce_year, month, day)


def _month(text: str, month_text: str) -> int:
    month = _MONTH_LOOKUP.get(month_text.replace(".", "").replace(" ", ""))
    if month is None:
        raise _fail(
            text,
            f"ไม่รู้จักเดือน '{month_text}' ใช้ได้: {' '.join(THAI_MONTHS)} "
            f"หรือ {' '.join(THAI_MONTHS_ABBR)}",
            f"unknown month '{month_text}'; expected one of: "
            f"{', '.join(THAI_MONTHS)} or {', '.join(THAI_MONTHS_ABBR)}",
        )
    return month


def _be_year(text: str, year_text: str) -> int:
    year = int(year_text)
    if len(year_text) < 4:
        raise _fail(
            text,
            f"ปี '{to_thai_digits(year_text)}' ไม่ครบสี่หลัก กำกวม ต้องเขียนปี พ.ศ. เต็ม",
            f"year '{year_text}' is ambiguous; write the full four-digit B.E. year",
        )
    if year < MIN_BE_YEAR:
        guess = year + BE_OFFSET
        raise _fail(
            text,
            f"ปี {to_thai_digits(year)} ดูเป็นปี ค.ศ. ต้องใช้ปี พ.ศ. "
            f"หมายถึง {to_thai_digits(guess)} หรือไม่",
            f"year {year} looks C.E.; a B.E. year is expected, did you mean {guess}?",
        )
    return year


def parse_thai_date(text: str) -> date:
    """Read a date written as in a letter (B.E. year), or an ISO date (C.E.).

    Accepts Thai or Arabic digits, full or abbreviated month names (dots
    optional), extra spaces, a leading ``วันที่`` and ``พ.ศ.`` before the year.
    Years of fewer than four digits, and years below 2400 (they look C.E.), are
    refused. Raises :class:`ThaiDateError`.

    >>> parse_thai_date("๒๖ มี.ค. ๒๕๖๗")
    datetime.date(2024, 3, 26)
    >>> parse_thai_date("วันที่  26 มีนาคม พ.ศ. 2567")
    datetime.date(2024, 3, 26)
    >>> parse_thai_date("2024-03-26")
    datetime.date(2024, 3, 26)
    >>> parse_thai_date("๓๒ มีนาคม ๒๕๖๗")
    Traceback (most recent call last):
    ...
    thai_text.dates.ThaiDateError: วันที่ไม่ถูกต้อง '๓๒ มีนาคม ๒๕๖๗': \
เดือนมีนาคม ๒๕๖๗ มี ๓๑ วัน / invalid date: March 2567 has 31 days
    """
    clean = _SPACES.sub(" ", to_arabic_digits(text)).strip()
    clean = re.sub(r"^วันที่ ?", "", clean)
    if m := _ISO.fullmatch(clean):
        return _build(text, *map(int, m.groups()), be=False)
    m = _THAI.fullmatch(clean)
    if m is None:
        raise _fail(
            text,
            "ต้องเขียนแบบ ๙ เมษายน ๒๕๖๗ หรือ 2024-04-09",
            "expected e.g. '9 เมษายน 2567', '9 เม.ย. 2567' or ISO '2024-04-09'",
        )
    day_text, month_text, year_text = m.groups()
    month = _month(text, month_text)
    return _build(text, _be_year(text, year_text), month, int(day_text), be=True)


def fiscal_year(d: date) -> int:
    """Thai government fiscal year (1 Oct – 30 Sep), as the B.E. year it ends in.

    >>> fiscal_year(date(2021, 10, 1)), fiscal_year(date(2022, 9, 30))
    (2565, 2565)
    >>> fiscal_year(date(2022, 10, 1))
    2566
    """
    return be_year(d) + (1 if d.month >= 10 else 0)
