"""Reference numbers of official letters (เลขที่หนังสือ), e.g. ``มท ๐๘๒๐.๒/ว ๑๑๔๔``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from thai_text.numerals import apply_digits, to_arabic_digits, to_thai_digits

EXPECTED_SHAPE = "<อักษรย่อ> <เลขประจำส่วนราชการ>/[ว ]<เลขทะเบียนส่ง>"
EXPECTED_SHAPE_EN = "<prefix> <code>/[ว ]<number>"
_EXAMPLE = "มท 0820.2/ว 1144"
_PREFIX = re.compile(r"(?!ที่)[\u0e01-\u0e4e.]*[\u0e01-\u0e4e][\u0e01-\u0e4e.]*")
_CODE = re.compile(r"\d+(?:\.\d+)*")
_REFNO = re.compile(
    r"(?:ที่ ?)?(?P<prefix>[\u0e01-\u0e4e.]+) ?(?P<code>\d+(?:\.\d+)*)"
    r" ?/ ?(?P<circ>ว ?)?(?P<number>\d+)"
)
_SPACES = re.compile(r"[\s\u200b]+")


class RefNoError(ValueError):
    """Not a valid reference number; the message is Thai / English."""


def _error(text: str, reason: tuple[str, str] | None = None) -> RefNoError:
    thai, english = (f"{reason[0]} ", f"{reason[1]}; ") if reason else ("", "")
    return RefNoError(
        f"เลขที่หนังสือไม่ถูกต้อง '{text}': {thai}ต้องเป็นรูปแบบ {EXPECTED_SHAPE} "
        f"เช่น {to_thai_digits(_EXAMPLE)} / invalid reference number '{text}': "
        f"{english}expected {EXPECTED_SHAPE_EN}, e.g. {_EXAMPLE}"
    )


def _problem(prefix: object, code: object, number: object) -> tuple[str, str] | None:
    """The reason (Thai, English) why these fields are not a RefNo, or None."""
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        return f"อักษรย่อ {prefix!r} ไม่ถูกต้อง", f"bad prefix {prefix!r}"
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        return f"เลขประจำส่วนราชการ {code!r} ไม่ถูกต้อง", f"bad code {code!r}"
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        return f"เลขทะเบียนส่ง {number!r} ไม่ถูกต้อง", f"bad number {number!r}"
    return None


def _diagnose(clean: str) -> tuple[str, str] | None:
    if not clean:
        return "ข้อความว่าง", "empty text"
    if "/" not in clean:
        return "ไม่มีเครื่องหมาย / หน้าเลขทะเบียนส่ง", "missing '/' before the number"
    if not re.search(r"\d", clean.rsplit("/", 1)[1]):
        return "ไม่มีเลขทะเบียนส่งหลังเครื่องหมาย /", "missing the number after '/'"
    if not re.match(r"(?:ที่ ?)?[\u0e01-\u0e4e]", clean):
        return "ไม่มีอักษรย่อของส่วนราชการ", "missing the prefix"
    return None


@dataclass(frozen=True)
class RefNo:
    """A letter's reference number: ``<prefix> <code>/[ว ]<number>``.

    ``code`` is kept as text with Arabic digits (Thai digits given are converted).

    >>> r = RefNo.parse("ที่ มท ๐๘๒๐.๒/ว ๑๑๔๔")
    >>> r
    RefNo(prefix='มท', code='0820.2', number=1144, circular=True)
    >>> print(r)
    มท ๐๘๒๐.๒/ว ๑๑๔๔
    >>> RefNo.parse("ทลส.001/2567").format("arabic")
    'ทลส.001/2567'
    >>> r.head()
    'มท ๐๘๒๐.๒/ว '
    """

    prefix: str
    code: str
    number: int
    circular: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.code, str):
            object.__setattr__(self, "code", to_arabic_digits(self.code))
        if reason := _problem(self.prefix, self.code, self.number):
            raise _error(repr(self), reason)

    @classmethod
    def parse(cls, text: str) -> RefNo:
        """Read ``มท ๐๘๒๐.๒/ว ๑๑๔๔``, ``ที่ มท 0501.1.13/ว1``, ``ทลส.001/2567`` …

        Thai or Arabic digits, an optional leading ``ที่``, flexible spaces.

        >>> RefNo.parse("ศธ 04056.12/213")
        RefNo(prefix='ศธ', code='04056.12', number=213, circular=False)
        """
        clean = _SPACES.sub(" ", to_arabic_digits(text)).strip()
        m = _REFNO.fullmatch(clean)
        if m is None:
            raise _error(text, _diagnose(clean))
        prefix, code, number = m["prefix"], m["code"], int(m["number"])
        if reason := _problem(prefix, code, number):
            raise _error(text, reason)
        return cls(prefix, code, number, m["circ"] is not None)

    def head(self, digits: str = "thai") -> str:
        """Everything before the running number, to leave a blank filled in by hand.

        >>> RefNo("ศธ", "04056.12", 213).head("arabic")
        'ศธ 04056.12/'
        """
        sep = "" if self.prefix.endswith(".") else " "
        circ = "ว " if self.circular else ""
        return apply_digits(f"{self.prefix}{sep}{self.code}/{circ}", digits)

    def format(self, digits: str = "thai") -> str:
        """Write the number as on a letter (without the leading ``ที่``).

        >>> RefNo("กบ", "0023.6", 1775, circular=True).format()
        'กบ ๐๐๒๓.๖/ว ๑๗๗๕'
        """
        return self.head(digits) + apply_digits(str(self.number), digits)

    def __str__(self) -> str:
        return self.format("thai")
