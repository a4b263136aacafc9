"""หนังสือเข้า: the deliveries addressed to an office, a page at a time, searched in the database.

A national office may hold thousands of deliveries: counting, filtering and paging happen in SQL (one count
and one page query, whatever the size), never by loading the office's deliveries into Python. Not yet
received first (what the clerk must do), then newest first. The search is a Thai substring of ที่ (typed
in Thai or Arabic digits: stored in Arabic), of the subject, or of the sender's printed name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from saraban.chain.cancellations import Cancellation, cancellation_of
from saraban.chain.expectations import expects_to_forward, owes_receipt
from saraban.kernel.text_input import normalise_text
from saraban.records.models import Assignment, Delivery, Letter, RegisterEntry, Unit
from thai_text import to_arabic_digits, to_thai_digits

PER_PAGE = 50
MAX_QUERY = 200  # characters of a search kept (a pasted page is not a search)

_SENDER = aliased(Unit, name="sender")


@dataclass(frozen=True)
class InboxRow:
    delivery_id: int
    letter_id: int
    ref_text: str  # Arabic digits, as stored
    letter_date: date
    sender: str  # the sender's printed name (ชื่อส่วนราชการที่ส่งหนังสือออก)
    subject: str
    sent_at: datetime
    received_at: datetime | None
    receipt_year: int | None
    receipt_number: int | None
    cancelled: bool


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    total: int  # deliveries matching the search (all pages)
    page: int  # 1-based, within 1..pages
    pages: int  # at least 1
    per_page: int
    q: str  # the search as used (normalised)


def search_text(q: str | None) -> str:
    """The search as typed, in one form: NFC and the Thai rules, whitespace collapsed, bounded."""
    return " ".join(normalise_text(q or "").split())[:MAX_QUERY]


def _matches(q: str) -> ColumnElement[bool]:
    """SQL: ที่ contains ``q`` (digits made Arabic, as stored), or the subject or the sender's name contains it
    in any of its digit forms (a subject may be typed with either)."""
    forms = dict.fromkeys((q, to_arabic_digits(q), to_thai_digits(q)))
    sender_name = func.coalesce(_SENDER.sender_name, _SENDER.name)
    return or_(Letter.ref_text.icontains(to_arabic_digits(q), autoescape=True),
               *(Letter.subject.icontains(f, autoescape=True) for f in forms),
               *(sender_name.icontains(f, autoescape=True) for f in forms))


def _cancelled() -> ColumnElement[bool]:
    """SQL, correlated with the letter: its send-register line has been cancelled (saraban.chain.cancellations)."""
    return exists().where(RegisterEntry.letter_id == Letter.id, RegisterEntry.cancels_id.is_not(None),
                          RegisterEntry.series.in_(("send", "circular")))


def _scope(statement: Select, unit_id: int, q: str, assigned_to: int | None) -> Select:
    statement = (statement.join(Letter, Letter.id == Delivery.letter_id).join(_SENDER, _SENDER.id == Letter.unit_id)
                 .where(Delivery.unit_id == unit_id))
    if assigned_to is not None:  # a member of staff reads only what was assigned to them
        statement = statement.where(exists().where(and_(Assignment.delivery_id == Delivery.id,
                                                        Assignment.user_id == assigned_to)))
    if q:
        statement = statement.where(_matches(q))
    return statement


def waiting(session: Session, unit_id: int) -> int:
    """How many letters wait for the office's ลงรับ: owing their receipt (the chain's rule), not cancelled."""
    statement = (select(func.count()).select_from(Delivery).join(Letter, Letter.id == Delivery.letter_id)
                 .where(Delivery.unit_id == unit_id, owes_receipt(Delivery), ~_cancelled()))
    return session.scalar(statement) or 0


def inbox(session: Session, unit_id: int, *, q: str | None = None, page: int = 1, per_page: int = PER_PAGE,
          assigned_to: int | None = None) -> InboxPage:
    """Page ``page`` of the deliveries addressed to ``unit_id`` matching ``q``; ``assigned_to``: only those
    assigned to that user (staff). A page past the end shows the last one."""
    q = search_text(q)
    total = session.scalar(_scope(select(func.count(Delivery.id)), unit_id, q, assigned_to)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    columns = select(Delivery.id, Delivery.letter_id, Letter.ref_text, Letter.letter_date,
                     func.coalesce(_SENDER.sender_name, _SENDER.name), Letter.subject, Delivery.sent_at,
                     Delivery.received_at, Delivery.receipt_year, Delivery.receipt_number,
                     _cancelled().label("cancelled"))
    statement = (_scope(columns.select_from(Delivery), unit_id, q, assigned_to)
                 .order_by(case((Delivery.received_at.is_(None), 0), else_=1), Delivery.sent_at.desc(),
                           Delivery.id.desc())
                 .offset((page - 1) * per_page).limit(per_page))
    rows = [InboxRow(*row[:10], cancelled=bool(row[10])) for row in session.execute(statement)]
    return InboxPage(rows, total, page, pages, per_page, q)


@dataclass(frozen=True)
class DeliveryView:
    """What the letter page of one delivery shows: the letter's facts, the office's receipt, what comes next."""

    delivery: Delivery
    letter: Letter
    office: Unit  # the office the copy was sent to
    sender: str  # the sender's printed name
    cancellation: Cancellation | None
    urgency: str | None
    secrecy: str | None
    forwards: bool  # the office has units below it in the chain (it is expected to forward what it receives)
    forwarded_ref: str | None  # the office's own letter that carried this one on, once forwarded

    @property
    def received(self) -> bool:
        return self.delivery.received_at is not None


def delivery_view(session: Session, delivery_id: int) -> DeliveryView | None:
    """The delivery's page facts (a few queries), or None when there is no such delivery."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        return None
    letter = session.get(Letter, delivery.letter_id)
    office = session.get(Unit, delivery.unit_id)
    sender = session.get(Unit, letter.unit_id)
    spec = letter.spec or {}
    forwarded = session.get(Letter, delivery.forwarded_letter_id) if delivery.forwarded_letter_id else None
    return DeliveryView(delivery, letter, office, sender.printed_sender, cancellation_of(session, letter.id),
                        spec.get("urgency"), spec.get("secrecy"), expects_to_forward(session, office),
                        forwarded.ref_text if forwarded is not None else None)
