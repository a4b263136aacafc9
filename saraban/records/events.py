"""Events: the append-only trail of who did what, for which office, to which unit and letter, and when.

Every act records its ``actor`` (the person: the operating-system user on the CLI, later a web account)
and its ``office`` (the unit on whose behalf they acted); a change records ``before`` and ``after`` (only
the fields that changed). Where the act came from (``via``: cli | flow | web; ``core`` when called
directly) and the web client's ``address`` come from the face that runs the act: it says so once with
:func:`acting_via` (or :func:`set_origin` for a whole CLI process) instead of every core function
passing it on. :func:`find_events` is the one query of the trail (``saraban log``, later the web).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from saraban.records.models import Event

VIAS = ("cli", "flow", "web", "core")
MAX_PAGE = 1000


@dataclass(frozen=True)
class Origin:
    """Where acts come from: ``via`` (cli | flow | web | core) and, for the web, the client's address."""

    via: str = "core"
    address: str | None = None


CORE = Origin()  # frozen: safe as the default of every context
_origin: ContextVar[Origin] = ContextVar("saraban_event_origin", default=CORE)


def current_origin() -> Origin:
    return _origin.get()


def set_origin(via: str, address: str | None = None) -> None:
    """Say where the acts of this context (a CLI process) come from, until changed."""
    if via not in VIAS:
        raise ValueError(f"unknown origin {via!r}; expected one of {', '.join(VIAS)}")
    _origin.set(Origin(via, address))


@contextmanager
def acting_via(via: str, address: str | None = None) -> Iterator[Origin]:
    """The acts inside the block come from ``via`` (a flow's task, a web request)."""
    if via not in VIAS:
        raise ValueError(f"unknown origin {via!r}; expected one of {', '.join(VIAS)}")
    token = _origin.set(Origin(via, address))
    try:
        yield _origin.get()
    finally:
        _origin.reset(token)


def event_row(kind: str, *, actor: str, at: datetime, unit_id: int | None = None, office_id: int | None = None,
              letter_id: int | None = None, delivery_id: int | None = None, data: dict[str, Any] | None = None,
              before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> dict[str, Any]:
    """One event as the values of a row, for a bulk ``insert(Event)`` (every row has every column)."""
    origin = _origin.get()
    return {"at": at, "actor": actor, "kind": kind, "unit_id": unit_id, "office_id": office_id,
            "letter_id": letter_id, "delivery_id": delivery_id, "data": data, "before": before, "after": after,
            "via": origin.via, "address": origin.address}


def record_event(session: Session, kind: str, *, actor: str, at: datetime, unit_id: int | None = None,
                 letter_id: int | None = None, delivery_id: int | None = None,
                 data: dict[str, Any] | None = None, office_id: int | None = None,
                 before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
    """Add one event to the session (written with the act, in its transaction)."""
    session.add(Event(**event_row(kind, actor=actor, at=at, unit_id=unit_id, office_id=office_id,
                                  letter_id=letter_id, delivery_id=delivery_id, data=data, before=before,
                                  after=after)))


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields that differ, as (before, after) with only those fields.

    >>> changed_fields({"email": "a@x.go.th", "name": "ก"}, {"email": "b@x.go.th", "name": "ก"})
    ({'email': 'a@x.go.th'}, {'email': 'b@x.go.th'})
    """
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def find_events(session: Session, *, unit_ids: Sequence[int] | None = None, letter_id: int | None = None,
                actor: str | None = None, kind: str | None = None, since: datetime | None = None,
                until: datetime | None = None, limit: int = 100, offset: int = 0,
                newest_first: bool = False) -> list[Event]:
    """Events in time order (oldest first, or ``newest_first``), one page of at most ``limit`` from
    ``offset``. ``unit_ids``: about one of these units or done on behalf of one; ``kind``: that kind, or a
    family (``unit`` → ``unit.changed``, ``unit.created`` ...); ``since`` inclusive, ``until`` exclusive."""
    query = select(Event)
    if unit_ids is not None:
        ids = list(unit_ids)
        query = query.where(or_(Event.unit_id.in_(ids), Event.office_id.in_(ids)))
    if letter_id is not None:
        query = query.where(Event.letter_id == letter_id)
    if actor is not None:
        query = query.where(Event.actor == actor)
    if kind is not None:
        query = query.where(or_(Event.kind == kind, Event.kind.startswith(f"{kind}.", autoescape=True)))
    if since is not None:
        query = query.where(Event.at >= since)
    if until is not None:
        query = query.where(Event.at < until)
    order = (Event.at.desc(), Event.id.desc()) if newest_first else (Event.at, Event.id)
    limit = max(1, min(limit, MAX_PAGE))
    return list(session.scalars(query.order_by(*order).limit(limit).offset(max(offset, 0))))
