"""Giving a delivery to a member of staff (เจ้าหน้าที่) of the office to read and act on, and what each has.

Assigning is exactly once: the same delivery given to the same person again (a second press, two clerks at
once) records nothing more (uq_assignment backs the check). Only an enabled member of staff of the office the
delivery was addressed to may be given it; who may *assign* is the authority rule's (act ``assign``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from saraban.accounts.authority import Actor
from saraban.kernel.clock import at_or_now
from saraban.records.db import Database
from saraban.records.events import record_event
from saraban.records.models import Assignment, Delivery, User


class AssignmentError(ValueError):
    """An assignment the rules refuse; the message says why (Thai / English)."""


@dataclass(frozen=True)
class Assigned:
    delivery_id: int
    user_id: int
    username: str
    display_name: str
    at: datetime
    new: bool  # False: it was assigned to them before


NOT_STAFF = ("มอบหมายได้เฉพาะเจ้าหน้าที่ของหน่วยงานที่รับหนังสือนี้ / a letter can be assigned only to a member of "
             "staff (เจ้าหน้าที่) of the office it was sent to")


def staff_of(session: Session, unit_id: int) -> list[User]:
    """The enabled members of staff of an office (whom a letter may be assigned to), by name."""
    return list(session.scalars(select(User).where(User.unit_id == unit_id, User.role == "staff",
                                                   User.disabled.is_(False)).order_by(User.display_name,
                                                                                      User.username)))


def is_assigned(session: Session, delivery_id: int, user_id: int) -> bool:
    return session.scalar(select(Assignment.id).where(Assignment.delivery_id == delivery_id,
                                                      Assignment.user_id == user_id)) is not None


def assignees(session: Session, delivery_id: int) -> list[tuple[User, Assignment]]:
    """Who a delivery was given to, first given first."""
    return list(session.execute(select(User, Assignment).join(Assignment, Assignment.user_id == User.id)
                                .where(Assignment.delivery_id == delivery_id).order_by(Assignment.id)).tuples())


def assigned_to(session: Session, user_id: int) -> list[int]:
    """The deliveries given to a person, newest first (their inbox pages by saraban.chain.inbox)."""
    return list(session.scalars(select(Assignment.delivery_id).where(Assignment.user_id == user_id)
                                .order_by(Assignment.id.desc())))


def assign_delivery(db: Database, delivery_id: int, user_id: int, *, by: Actor,
                    at: datetime | None = None) -> Assigned:
    """Give the delivery to the member of staff ``user_id`` (``by``: the clerk or head assigning; they must
    have been authorised for ``assign`` on the delivery's office). Again: the first assignment, ``new=False``."""
    at = at_or_now(at)
    for attempt in range(2):
        try:
            with db.transaction() as s:
                return _assign_in(s, delivery_id, user_id, by, at)
        except IntegrityError:  # a concurrent caller assigned it first: look again, find theirs
            if attempt == 1:
                raise
    raise AssertionError("unreachable")


def _assign_in(s: Session, delivery_id: int, user_id: int, by: Actor, at: datetime) -> Assigned:
    delivery = s.get(Delivery, delivery_id)
    if delivery is None:
        raise AssignmentError(f"ไม่พบหนังสือที่ส่งถึงหมายเลข {delivery_id} / no delivery {delivery_id}")
    person = s.get(User, user_id)
    if person is None or person.unit_id != delivery.unit_id or person.role != "staff" or person.disabled:
        raise AssignmentError(NOT_STAFF)
    existing = s.scalar(select(Assignment).where(Assignment.delivery_id == delivery_id,
                                                 Assignment.user_id == user_id))
    if existing is not None:
        return Assigned(delivery_id, user_id, person.username, person.display_name, existing.at, new=False)
    s.add(Assignment(delivery_id=delivery_id, user_id=user_id, assigned_by_id=by.user_id, at=at))
    s.flush()
    record_event(s, "delivery.assigned", actor=by.username, at=at, unit_id=delivery.unit_id,
                 office_id=delivery.unit_id, letter_id=delivery.letter_id, delivery_id=delivery_id,
                 after={"assigned_to": person.username})
    return Assigned(delivery_id, user_id, person.username, person.display_name, at, new=True)


def unassign_delivery(db: Database, delivery_id: int, user_id: int, *, by: Actor,
                      at: datetime | None = None) -> bool:
    """Take the delivery back from the member of staff (``by`` authorised for ``assign`` on its office); False
    when it was not theirs (pressed twice: nothing more happens)."""
    at = at_or_now(at)
    with db.transaction() as s:
        delivery = s.get(Delivery, delivery_id)
        existing = s.scalar(select(Assignment).where(Assignment.delivery_id == delivery_id,
                                                     Assignment.user_id == user_id).with_for_update())
        if delivery is None or existing is None:
            return False
        person = s.get(User, user_id)
        s.delete(existing)
        record_event(s, "delivery.unassigned", actor=by.username, at=at, unit_id=delivery.unit_id,
                     office_id=delivery.unit_id, letter_id=delivery.letter_id, delivery_id=delivery_id,
                     before={"assigned_to": person.username if person else user_id})
        return True
