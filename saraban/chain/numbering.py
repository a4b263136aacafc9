"""The rules of taking a number: its year is the year of the moment it is taken (Thai time), and the
date written on the letter stays near that moment unless the clerk says why."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from saraban.kernel.clock import as_thai
from saraban.kernel.text_input import normalise_text, text_problem
from thai_text import be_year, format_thai_date

if TYPE_CHECKING:
    from saraban.records.models import Unit

# A letter dated further than this from the day it is numbered (before or after) needs a reason.
MAX_DATE_DRIFT_DAYS = 7


def letter_code_problem(unit: Unit, *, uncertain_ok: bool = False) -> str | None:
    """Why ``unit`` cannot number a letter with its letter code (None: it can): it has none, or the
    directory marks it as a best guess ("?") and ``uncertain_ok`` is not given: a guessed ที่ printed on an
    official letter cannot be taken back once the letter is out."""
    if not unit.letter_code:
        return (f"{unit.name} ({unit.key}) ยังไม่มีรหัสหนังสือ ตั้งในทำเนียบก่อน (saraban directory set {unit.key} "
                f"--letter-code ...) / {unit.name} ({unit.key}) has no letter code (รหัสหนังสือ, e.g. 'มท 0820.2'); "
                "set it in the directory first")
    if unit.letter_code_certain or uncertain_ok:
        return None
    return (f"รหัสหนังสือของ{unit.name} ({unit.key}) '{unit.letter_code}' เป็นค่าที่ยังไม่แน่นอน (? ในทำเนียบ) จึงไม่ออกเลข "
            f"ตรวจรหัสที่ถูกต้องแล้วตั้งด้วย saraban directory set {unit.key} --letter-code '...' --certain (หรือหน้า "
            f"ข้อมูลหน่วยงานบนเว็บ) / the letter code of {unit.name} ({unit.key}), '{unit.letter_code}', is a best "
            f"guess ('?' in the directory), so nothing was numbered: check the real code and set it with saraban "
            f"directory set {unit.key} --letter-code '...' --certain (or on the office page of the web face)")


class LetterDateError(ValueError):
    """A letter date far from the day of numbering, with no reason given."""


def register_year(at: datetime) -> int:
    """The B.E. year of the register a number taken at ``at`` belongs to.

    >>> from datetime import UTC
    >>> register_year(datetime(2026, 12, 31, 17, 30, tzinfo=UTC))  # 00:30 on 1 January in Bangkok
    2570
    """
    return be_year(as_thai(at).date())


def check_letter_date(letter_date: date, at: datetime, reason: str | None) -> str | None:
    """The reason given, stripped (or None); a date more than :data:`MAX_DATE_DRIFT_DAYS` from ``at``'s
    day without one raises :class:`LetterDateError`."""
    day = as_thai(at).date()
    drift = (letter_date - day).days
    reason = normalise_text(reason or "").strip() or None
    if reason and (problem := text_problem(reason)):
        raise LetterDateError(f"--date-reason: {problem}")
    if abs(drift) <= MAX_DATE_DRIFT_DAYS or reason:
        return reason
    direction = ("ย้อนหลัง", "before") if drift < 0 else ("ล่วงหน้า", "after")
    raise LetterDateError(
        f"หนังสือลงวันที่ {format_thai_date(letter_date)} {direction[0]} {abs(drift)} วันจากวันออกเลข "
        f"({format_thai_date(day)}) เกิน {MAX_DATE_DRIFT_DAYS} วัน ระบุเหตุผล (--date-reason) หรือแก้วันที่ / the "
        f"letter is dated {letter_date.isoformat()}, {abs(drift)} days {direction[1]} the day it is numbered "
        f"({day.isoformat()}), more than {MAX_DATE_DRIFT_DAYS}: give the reason (--date-reason) or fix the date")
