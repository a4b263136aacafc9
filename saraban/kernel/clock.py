"""The clock: Thai time (Asia/Bangkok) for every date and time saraban records or shows.

One place gives "now": :func:`now` is aware and in Asia/Bangkok whatever the server's own time zone,
so a receipt at 00:30 in Bangkok on 1 January is dated 1 January (and numbered in that year's register)
on a server that runs in UTC. :func:`utc_now` is the one reading of the system clock; tests replace it.

The rule for a naive time, everywhere (here, in the database's columns, in a clerk's ``--at``): it is Thai
wall-clock time. Code never makes one (ruff's DTZ rules are on); it only comes from what a person types.
Times are shown as clerks write them (B.E. date, Thai time: :func:`moment_text`) and given to machines
as ISO 8601 with the +07:00 offset (:func:`iso`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from thai_text import apply_digits, format_thai_date

BANGKOK = ZoneInfo("Asia/Bangkok")


def utc_now() -> datetime:
    """The instant, from the system clock (aware, UTC)."""
    return datetime.now(UTC)


def now() -> datetime:
    """Now in Thai time: aware (Asia/Bangkok), to the second."""
    return utc_now().astimezone(BANGKOK).replace(microsecond=0)


def today() -> date:
    """Today's date in Thailand."""
    return now().date()


def as_thai(at: datetime) -> datetime:
    """``at`` as an aware Thai time: an aware time is converted to Asia/Bangkok, a naive one is taken as
    Thai wall-clock time (what a clerk types).

    >>> as_thai(datetime(2026, 12, 31, 17, 30, tzinfo=UTC)).isoformat()
    '2027-01-01T00:30:00+07:00'
    >>> as_thai(datetime(2027, 1, 1, 0, 30)).isoformat()
    '2027-01-01T00:30:00+07:00'
    """
    return at.astimezone(BANGKOK) if at.tzinfo else at.replace(tzinfo=BANGKOK)


def at_or_now(at: datetime | None) -> datetime:
    """``at`` in Thai time (:func:`as_thai`), or :func:`now` when it is not given: what every act that
    takes an optional ``at`` records."""
    return now() if at is None else as_thai(at)


def iso(at: datetime) -> str:
    """ISO 8601 in Thai time with its offset, for machines (``--json``, event data).

    >>> iso(datetime(2026, 12, 31, 17, 30, tzinfo=UTC))
    '2027-01-01T00:30:00+07:00'
    """
    return as_thai(at).isoformat()


def date_text(at: datetime, digits: str = "thai", *, abbreviated: bool = True) -> str:
    """The Thai date of ``at`` (B.E.): ``๑ ม.ค. ๒๕๗๐``, whatever the zone ``at`` is given in.

    >>> date_text(datetime(2026, 12, 31, 17, 30, tzinfo=UTC))
    '๑ ม.ค. ๒๕๗๐'
    """
    return format_thai_date(as_thai(at).date(), abbreviated=abbreviated, digits=digits)


def time_text(at: datetime, digits: str = "thai") -> str:
    """The Thai time of ``at`` as printed: ``๐๐.๓๐ น.``.

    >>> time_text(datetime(2026, 12, 31, 17, 30, tzinfo=UTC))
    '๐๐.๓๐ น.'
    """
    return apply_digits(f"{as_thai(at):%H.%M} น.", digits)


def moment_text(at: datetime, digits: str = "thai", *, abbreviated: bool = True) -> str:
    """A date and time as clerks write them: ``๑ ม.ค. ๒๕๗๐ ๐๐.๓๐ น.`` (B.E., Thai time).

    >>> moment_text(datetime(2026, 12, 31, 17, 30, tzinfo=UTC))
    '๑ ม.ค. ๒๕๗๐ ๐๐.๓๐ น.'
    """
    return f"{date_text(at, digits, abbreviated=abbreviated)} {time_text(at, digits)}"
