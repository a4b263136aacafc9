"""A cancelled letter (ยกเลิก) keeps its number and goes no further: it cannot be received or forwarded,
carry_down passes it by, and status says when and why it was cancelled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from saraban.kernel.clock import moment_text
from saraban.records.models import Event, Letter, RegisterEntry


@dataclass(frozen=True)
class Cancellation:
    at: datetime
    actor: str
    reason: str
    number: int  # the cancellation line of the send register


def _cancelling(letter_id: int | ColumnElement[int]) -> tuple[ColumnElement[bool], ...]:
    """SQL: a register line is the cancellation of the letter's send-register line."""
    return (RegisterEntry.letter_id == letter_id, RegisterEntry.cancels_id.is_not(None),
            RegisterEntry.series.in_(("send", "circular")))


def is_cancelled(letter_id: ColumnElement[int]) -> ColumnElement[bool]:
    """SQL, correlated with ``letter_id`` of the enclosing query: the letter has been cancelled (what
    :func:`cancellation_of` finds, for a query that reads the letter anyway)."""
    return exists().where(*_cancelling(letter_id))


def cancellation_of(session: Session, letter_id: int) -> Cancellation | None:
    """The cancellation of a letter (its send-register line's), or None while it stands."""
    line = session.scalar(select(RegisterEntry).where(*_cancelling(letter_id)).order_by(RegisterEntry.id).limit(1))
    if line is None:
        return None
    event = session.scalar(select(Event).where(Event.letter_id == letter_id, Event.kind == "register.cancelled")
                           .order_by(Event.id).limit(1))
    reason = (event.data or {}).get("reason") if event is not None else None
    if reason is None:  # the line's note: "ยกเลิกเลขที่ n: reason"
        reason = (line.note or "").partition(": ")[2]
    return Cancellation(line.entered_at, line.actor, reason, line.number)


def cancelled_message(letter: Letter, cancellation: Cancellation, act: str) -> str:
    """Why ``act`` (``"received"``, ``"forwarded"``) is refused, Thai then English."""
    thai_act = {"received": "ลงรับ", "forwarded": "ส่งต่อ"}.get(act, act)
    when = moment_text(cancellation.at)
    return (f"หนังสือฉบับนี้ถูกยกเลิกแล้ว (ที่ {letter.ref_text} ยกเลิกเมื่อ {when}: {cancellation.reason}) "
            f"จึง{thai_act}ไม่ได้ / ที่ {letter.ref_text} was cancelled on {when} ({cancellation.reason}): it "
            f"cannot be {act}")
