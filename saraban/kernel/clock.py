"""The clock: Thai time (Asia/Bangkok) for every date and time saraban records or shows."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

BANGKOK = ZoneInfo("Asia/Bangkok")


def local_time(at: datetime) -> datetime:
    """Registers keep Thai wall-clock time: an aware time is converted to Asia/Bangkok (so the B.E. year
    and the stored time agree on both databases), a naive one is taken as Thai time already."""
    return at.astimezone(BANGKOK).replace(tzinfo=None) if at.tzinfo else at
