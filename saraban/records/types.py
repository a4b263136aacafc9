"""Column types: every stored time is aware Thai time.

:class:`ThaiTime` is the type of every date-and-time column. Python sees an aware datetime in
Asia/Bangkok, whatever the database and the server's time zone:

- PostgreSQL keeps ``TIMESTAMP WITH TIME ZONE`` (an instant; migration 0003 turned the old naive columns,
  which held Bangkok wall-clock time, into it);
- SQLite keeps the Thai wall-clock time as text, as saraban always has (so existing files need no change
  and text comparisons still order times).

A value given is converted to Thai time first; a naive one is taken as Thai wall-clock time (the
clock's rule, :func:`saraban.kernel.clock.as_thai`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from saraban.kernel.clock import as_thai


class ThaiTime(TypeDecorator[datetime]):
    """An aware Asia/Bangkok datetime: ``timestamptz`` on PostgreSQL, Thai wall-clock text on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(DateTime(timezone=dialect.name == "postgresql"))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"a time column takes a datetime, not {type(value).__name__} ({value!r})")
        thai = as_thai(value)
        return thai if dialect.name == "postgresql" else thai.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_thai(value)
