"""What the chain expects of each unit a circular reaches: the one rule that the status (who is still
missing), the cascade (``carry_down``: who carries it on) and the reminders (who still owes a receipt) ask.

The rule, in words:

1. **The next hop.** A unit passes a circular on to the next level of the chain below it
   (:func:`chain_recipients`): a provincial office to its district offices, its PAO and the city and town
   municipalities of its province; a district office to the other local administrations of its area (the
   province writes to the city and town municipalities itself); any other unit to its direct children.
2. **Who forwards.** A unit is expected to forward a circular it was sent when it has a next hop, at least
   one unit in :func:`chain_recipients` (:func:`expected_to_forward`, :func:`expects_to_forward`). Its level
   does not decide it: a district office with nobody below it (or only a town municipality, which the
   province writes to) is not expected to forward, nor is a local administration with nobody below it.
3. **Done.** A unit's part is done when it has received the letter (ลงรับ) and, if it is expected to
   forward, has forwarded it (its own letter carries it on). So a unit with nobody below it is done when it
   has received. Until then it owes (:func:`owes`) the receipt (not received; :func:`owes_receipt`) or the
   forwarding (received, expected to forward, not forwarded). A branch is complete when its unit is done
   and every unit its forwarding letter reached is complete in turn: the letter's status lists as missing
   every unit that is not done.

The SQL forms are built from the same two predicates, so that a unit's next hop and whether it has one
cannot disagree; :func:`expected_to_forward` is a correlated ``EXISTS`` that a query over many deliveries
selects or filters on (no query per unit).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, bindparam, exists, or_, select
from sqlalchemy.orm import Session, aliased

from saraban.records.models import Delivery, Unit

# The city and town municipalities, which their provincial office writes to, not their district office.
TOWN_LEVELS = ("city_municipality", "town_municipality")
# Local administrations the provincial office writes to itself; the districts tell the others.
PROVINCE_WRITES_TO = ("district_office", "pao", *TOWN_LEVELS)

Owed = Literal["receipt", "forward"]


def _child_below(sender: Any, unit: Any) -> ColumnElement[bool]:
    """SQL: ``unit`` is a child of ``sender`` that ``sender`` writes to (``sender``, ``unit``: units or aliases)."""
    return and_(unit.parent_id == sender.id,
                or_(sender.level != "province_office", unit.level.in_(PROVINCE_WRITES_TO)),
                or_(sender.level != "district_office", unit.level.not_in(TOWN_LEVELS)))


def _town_of_province(sender: Any, unit: Any) -> ColumnElement[bool]:
    """SQL: ``sender`` is a provincial office and ``unit`` a city or town municipality of its province."""
    return and_(sender.level == "province_office", unit.level.in_(TOWN_LEVELS),
                unit.province_code == sender.province_code)


# Built once (aliases, and the statements' cache keys): making them costs more than running the query.
_SENDER, _BELOW = aliased(Unit, name="sender"), aliased(Unit, name="below")
_IS_NEXT = _child_below(_SENDER, Unit) | _town_of_province(_SENDER, Unit)
_NEXT_HOP = select(Unit).where(_SENDER.id == bindparam("sender"), _IS_NEXT).order_by(Unit.key)


def chain_recipients(session: Session, unit: Unit) -> list[Unit]:
    """The next hop of the chain below ``unit`` (rule 1), sorted by key."""
    return list(session.scalars(_NEXT_HOP, {"sender": unit.id}))


@cache
def expected_to_forward(unit: Any = Unit) -> ColumnElement[bool]:
    """SQL, correlated with ``unit`` (the units table or an alias) of the enclosing query: the unit has a
    next hop, so it is expected to forward what it is sent (rule 2)."""
    return exists().where(_child_below(unit, _BELOW)) | exists().where(_town_of_province(unit, _BELOW))


@dataclass(frozen=True)
class NextHop:
    """What forwarding asks of the directory around one unit, read in one query (:func:`next_hop`)."""

    recipients: list[Unit]  # its next hop, as chain_recipients gives it (sorted by key)
    forwarding: frozenset[int]  # the ids of those expected to forward in turn (rule 2)
    parent: Unit | None
    groups: list[Unit]  # its children of level group, sorted by key (its letters' owner block)


_AROUND = (select(Unit, _IS_NEXT.label("next"), expected_to_forward(Unit).label("forwards"))
           .where(_SENDER.id == bindparam("sender"), _IS_NEXT | (Unit.id == bindparam("parent"))
                  | and_(Unit.parent_id == _SENDER.id, Unit.level == "group"))
           .order_by(Unit.key))


def next_hop(session: Session, unit: Unit) -> NextHop:
    """The next hop of ``unit`` (rule 1) with who of it forwards in turn (rule 2), its parent and its groups."""
    recipients, forwarding, groups, parent = [], set(), [], None
    for u, is_next, forwards in session.execute(_AROUND, {"sender": unit.id, "parent": unit.parent_id}):
        if is_next:
            recipients.append(u)
            if forwards:
                forwarding.add(u.id)
        if u.id == unit.parent_id:
            parent = u
        if u.parent_id == unit.id and u.level == "group":
            groups.append(u)
    return NextHop(recipients, frozenset(forwarding), parent, groups)


_FORWARDS = select(Unit.id).where(Unit.id == bindparam("unit"), expected_to_forward(Unit))


def expects_to_forward(session: Session, unit: Unit) -> bool:
    """Whether one unit is expected to forward (rule 2); one query."""
    return session.scalar(_FORWARDS, {"unit": unit.id}) is not None


def owes_receipt(delivery: Any = Delivery) -> ColumnElement[bool]:
    """SQL: the delivery still owes its receipt (rule 3): it has not been received."""
    return delivery.received_at.is_(None)


def owes(*, received: bool, forwarded: bool, expected_to_forward: bool) -> Owed | None:
    """What a unit still owes for a letter it was sent (rule 3): ``"receipt"``, ``"forward"``, or ``None``
    when its part is done.

    >>> owes(received=True, forwarded=False, expected_to_forward=False) is None  # nobody below it
    True
    >>> owes(received=True, forwarded=False, expected_to_forward=True)
    'forward'
    >>> owes(received=False, forwarded=False, expected_to_forward=False)
    'receipt'
    """
    if not received:
        return "receipt"
    if expected_to_forward and not forwarded:
        return "forward"
    return None
