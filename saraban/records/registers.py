"""Send and receive registers (ทะเบียนหนังสือส่ง / ทะเบียนหนังสือรับ).

Per unit, per B.E. calendar year, three series: ``send`` (ordinary letters), ``circular`` (the ว series
of หนังสือเวียน) and ``receive``. A number is taken in the same transaction that writes its entry, by
incrementing the series' counter row: the row lock (PostgreSQL) or the write lock taken at BEGIN
(SQLite) makes concurrent writers queue, so there are no gaps and no duplicates. Numbers restart at 1
on 1 January because the year is part of the key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from sqlalchemy import TextClause, select, text
from sqlalchemy import insert as sa_insert
from sqlalchemy.orm import Session

from saraban.kernel.clock import as_thai
from saraban.records.events import record_event
from saraban.records.models import RegisterCounter, RegisterEntry
from thai_text import be_year

SERIES = ("send", "circular", "receive")
SERIES_NAMES = {"send": "ทะเบียนหนังสือส่ง", "circular": "ทะเบียนหนังสือส่ง (หนังสือเวียน ว)",
                "receive": "ทะเบียนหนังสือรับ"}


# What a clerk may type for a series (Thai or English), and the series it means.
SERIES_ALIASES = {"receive": "receive", "รับ": "receive", "หนังสือรับ": "receive",
                  "send": "send", "ส่ง": "send", "หนังสือส่ง": "send",
                  "circular": "circular", "ว": "circular", "เวียน": "circular", "หนังสือเวียน": "circular"}


class RegisterError(ValueError):
    pass


def resolve_series(text: str) -> str:
    """The series a clerk means: ``รับ`` / ``receive``, ``ส่ง`` / ``send``, ``ว`` / ``เวียน`` / ``circular``.

    >>> resolve_series(" เวียน "), resolve_series("Receive")
    ('circular', 'receive')
    """
    series = SERIES_ALIASES.get(" ".join(text.split()).lower())
    if series is None:
        raise RegisterError(f"ไม่รู้จักทะเบียน '{text}' ต้องเป็น รับ ส่ง หรือ ว / unknown register series '{text}'; "
                            "expected receive, send or circular")
    return series


_COUNTERS = RegisterCounter.__table__
_ENTRIES = sa_insert(RegisterEntry.__table__)
COUNTERS_AT_ONCE = 500  # counters counted up by one statement


@lru_cache(maxsize=64)
def _upsert(rows: int) -> TextClause:
    """Count up ``rows`` counters, made at 0 if missing: the same text in SQLite and PostgreSQL. Written as text:
    SQLAlchemy cannot cache its own ON CONFLICT construct, and compiling it cost more than running it."""
    values = ", ".join(f"(:unit{i}, :year, :series, :count)" for i in range(rows))
    return text(f"INSERT INTO {_COUNTERS.name} (unit_id, year, series, last_number) VALUES {values} "
                f"ON CONFLICT (unit_id, year, series) DO UPDATE SET last_number = {_COUNTERS.name}.last_number "
                "+ excluded.last_number RETURNING unit_id, last_number")


def _count_up(session: Session, series: str, unit_ids: Sequence[int], year: int, count: int) -> dict[int, int]:
    """Add ``count`` to each unit's counter of the series (made at 0 if missing), a statement for each
    COUNTERS_AT_ONCE: the new last number of each, by unit. The rows are locked in the order given (sorted by the
    callers: no deadlock)."""
    last: dict[int, int] = {}
    for start in range(0, len(unit_ids), COUNTERS_AT_ONCE):
        chunk = unit_ids[start:start + COUNTERS_AT_ONCE]
        params = {"year": year, "series": series, "count": count} | {f"unit{i}": u for i, u in enumerate(chunk)}
        last.update(session.execute(_upsert(len(chunk)), params).all())
    return last


def take_numbers(session: Session, unit_id: int, year: int, series: str, count: int = 1) -> range:
    """Take the next ``count`` numbers of a series, inside the caller's transaction."""
    if series not in SERIES:
        raise RegisterError(f"ไม่รู้จักทะเบียน {series!r} / unknown register series {series!r}; expected one of "
                            f"{', '.join(SERIES)}")
    if count < 1:
        raise RegisterError("count must be at least 1")
    (last,) = _count_up(session, series, [unit_id], year, count).values()
    return range(last - count + 1, last + 1)


@dataclass(frozen=True)
class EntryText:
    """The columns of a register line that come from the letter."""

    ref_text: str
    letter_date: date
    from_text: str
    to_text: str
    subject: str
    action: str | None = None
    note: str | None = None
    letter_id: int | None = None
    delivery_id: int | None = None


def add_entries(session: Session, unit_id: int, series: str, entries: Sequence[EntryText], *,
                at: datetime, actor: str = "saraban", year: int | None = None) -> list[RegisterEntry]:
    """Write register lines with consecutive numbers taken in this transaction.

    The year is the B.E. calendar year of ``at`` in Thailand (the day the letter is sent or received) unless
    given.
    """
    if not entries:
        return []
    at = as_thai(at)
    year = year or be_year(at.date())
    numbers = take_numbers(session, unit_id, year, series, len(entries))
    rows = [RegisterEntry(unit_id=unit_id, year=year, series=series, number=n, entered_at=at, actor=actor,
                          **entry.__dict__) for n, entry in zip(numbers, entries, strict=True)]
    session.add_all(rows)
    session.flush()
    return rows


def add_entry_each(session: Session, series: str, items: Sequence[tuple[int, EntryText]], *, at: datetime,
                   actor: str = "saraban") -> dict[int, tuple[int, int]]:
    """One line for each of many units (a letter received at 900 offices), in a handful of statements:
    returns ``{unit_id: (year, number)}``. Each unit may appear once."""
    if not items:
        return {}
    at = as_thai(at)
    year = be_year(at.date())
    unit_ids = [unit_id for unit_id, _ in items]
    if len(set(unit_ids)) != len(unit_ids):
        raise RegisterError("add_entry_each takes one line per unit")
    numbers = _count_up(session, series, sorted(unit_ids), year, 1)
    session.execute(_ENTRIES, [
        {"unit_id": u, "year": year, "series": series, "number": numbers[u], "entered_at": at, "actor": actor,
         **entry.__dict__} for u, entry in items])
    return {u: (year, numbers[u]) for u in unit_ids}


def add_numbered_entry(session: Session, unit_id: int, year: int, series: str, number: int,
                       entry: EntryText, *, at: datetime, actor: str = "saraban") -> None:
    """Write the line of a number taken with ``take_numbers`` earlier in the same transaction (when the
    number must be known first, e.g. to print it in the letter)."""
    session.execute(_ENTRIES, {"unit_id": unit_id, "year": year, "series": series, "number": number,
                               "entered_at": as_thai(at), "actor": actor, **entry.__dict__})


def cancel_entry(session: Session, entry_id: int, *, reason: str, actor: str, at: datetime) -> RegisterEntry:
    """Cancel a line: it keeps its number; a cancellation line and an event record who and why."""
    # Lock the line first: two clerks cancelling it at once must make one cancellation, not two.
    entry = session.get(RegisterEntry, entry_id, with_for_update=True)
    if entry is None:
        raise RegisterError(f"ไม่พบรายการทะเบียน {entry_id} / no register entry {entry_id}")
    if entry.cancels_id is not None:
        raise RegisterError("รายการยกเลิกจะยกเลิกซ้ำไม่ได้ / a cancellation line cannot itself be cancelled")
    already = session.scalar(select(RegisterEntry).where(RegisterEntry.cancels_id == entry_id))
    if already is not None:
        return already
    (line,) = add_entries(session, entry.unit_id, entry.series, [EntryText(
        ref_text=entry.ref_text, letter_date=entry.letter_date, from_text=entry.from_text,
        to_text=entry.to_text, subject=entry.subject, action="ยกเลิก",
        note=f"ยกเลิกเลขที่ {entry.number}: {reason}", letter_id=entry.letter_id)], at=at, actor=actor,
        year=entry.year)
    line.cancels_id = entry.id
    record_event(session, "register.cancelled", actor=actor, at=at, unit_id=entry.unit_id, office_id=entry.unit_id,
                 letter_id=entry.letter_id, data={"entry": entry.id, "number": entry.number,
                                                  "series": entry.series, "reason": reason})
    return line


def entries(session: Session, unit_id: int, year: int, series: str) -> list[RegisterEntry]:
    return list(session.scalars(
        select(RegisterEntry)
        .where(RegisterEntry.unit_id == unit_id, RegisterEntry.year == year, RegisterEntry.series == series)
        .order_by(RegisterEntry.number)))
