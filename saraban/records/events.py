"""Events: the append-only trail of who did what, to which office and letter, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from saraban.records.models import Event


def record_event(session: Session, kind: str, *, actor: str, at: datetime, unit_id: int | None = None,
                 letter_id: int | None = None, delivery_id: int | None = None,
                 data: dict[str, Any] | None = None) -> None:
    session.add(Event(at=at, actor=actor, kind=kind, unit_id=unit_id, letter_id=letter_id,
                      delivery_id=delivery_id, data=data))
