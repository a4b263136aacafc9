"""A programme as one applicant unit sees it: the window in Thai time and whether it is open, whether the unit
may apply (and why not), its application if it has one, and the form's structure (components, indicators,
the running weighted percentage and provisional level of what it has typed so far).

The unit's copies of the programme's invitation (``invitation_copies``): the owner's circular itself, or a
letter carrying it down the chain (a province forwarding it to its districts, a district to its local
administrations). Their tracking tokens open the application for that unit; applying counts as their receipt
(``saraban.programmes.applications.apply``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from saraban.chain.tracking import token_is_genuine
from saraban.kernel.clock import as_thai, at_or_now
from saraban.programmes.applications import (
    _ineligible,
    check_scores,
    is_open,
    provisional_level,
    weighted_percent,
    window_text,
)
from saraban.programmes.definitions import ProgrammeError, text_key
from saraban.records.models import Application, Delivery, Letter, Programme, Unit
from thai_text import format_thai_date, to_thai_digits


@dataclass(frozen=True)
class Indicator:
    key: str
    name: str
    low: float
    high: float


@dataclass(frozen=True)
class Component:
    key: str
    name: str
    weight: float
    indicators: list[Indicator]


@dataclass(frozen=True)
class ApplicantView:
    """What the application page shows one unit (``can_apply``: the form is offered)."""

    programme_id: int
    programme_key: str
    programme_name: str
    year: int
    owner_name: str
    window: str  # ตั้งแต่วันที่ ... ถึงวันที่ ... เวลา ... น.
    opens_at: datetime
    closes_at: datetime
    open: bool
    closed_why: str | None  # not open: not yet, or closed (Thai / English)
    unit_id: int
    unit_key: str
    unit_name: str
    ineligible_why: str | None
    application: Application | None
    ack_ref: str | None
    components: list[Component]
    levels: list[dict[str, Any]]

    @property
    def can_apply(self) -> bool:
        return self.open and self.ineligible_why is None

    @property
    def indicator_keys(self) -> list[str]:
        return [i.key for c in self.components for i in c.indicators]


def components_of(programme: Programme) -> list[Component]:
    structure = programme.definition["structure"]
    scale = structure.get("scale", {})
    low, high = scale.get("min", 0), scale.get("max", 5)
    return [Component(str(text_key(c["key"])), c["name"], c["weight"],
                      [Indicator(str(text_key(i["key"])), i.get("name", ""), low, i.get("max", high))
                       for i in c["indicators"]])
            for c in structure["components"]]


def _closed_why(programme: Programme, at: datetime) -> str | None:
    if is_open(programme, at):
        return None
    window = window_text(programme)
    if as_thai(at) < programme.opens_at:
        return f"ยังไม่เปิดรับสมัคร รับสมัคร{window} / the application window has not opened yet"
    return f"ปิดรับสมัครแล้ว รับสมัคร{window} / the application window has closed"


def applicant_view(session: Session, programme: Programme, unit: Unit, at: datetime | None = None) -> ApplicantView:
    """The programme as ``unit`` sees it ``at`` (now by default: the server's clock)."""
    at = at_or_now(at)
    owner = session.get(Unit, programme.owner_unit_id)
    application = session.scalar(select(Application).where(Application.programme_id == programme.id,
                                                           Application.unit_id == unit.id))
    ack = session.get(Letter, application.ack_letter_id) if application and application.ack_letter_id else None
    return ApplicantView(
        programme.id, programme.key, programme.name, programme.year, owner.name if owner else "",
        window_text(programme), programme.opens_at, programme.closes_at, is_open(programme, at),
        _closed_why(programme, at), unit.id, unit.key, unit.name, _ineligible(session, programme, unit),
        application, ack.ref_text if ack else None, components_of(programme),
        list(programme.definition["structure"]["levels"]))


def unit_programmes(session: Session, unit: Unit, at: datetime | None = None) -> list[ApplicantView]:
    """The programmes a unit may apply to or has applied to (open ones first, then by key)."""
    applied = set(session.scalars(select(Application.programme_id).where(Application.unit_id == unit.id)))
    views = [applicant_view(session, p, unit, at) for p in session.scalars(select(Programme).order_by(Programme.key))]
    views = [v for v in views if v.programme_id in applied or v.ineligible_why is None]
    return sorted(views, key=lambda v: (not v.open, v.programme_key))


# ------------------------------------------------------------------------------------ the live score


@dataclass(frozen=True)
class Score:
    """What the form has so far: the weighted percentage, the level it reaches, the problems per indicator."""

    percent: float
    level: str | None
    scored: int  # indicators given a score
    total: int
    problems: dict[str, str]
    scores: dict[str, float]


def score_of(programme: Programme, raw: dict[str, str]) -> Score:
    """The running score of the typed values (``indicator key → text``): blanks count as not scored, a value
    that is not a number or off the scale is named (and left out of the sum)."""
    scores: dict[str, float] = {}
    problems: dict[str, str] = {}
    for key, text in raw.items():
        text = (text or "").strip()
        if not text:
            continue
        try:
            scores |= check_scores(programme, {key: text})
        except ProgrammeError as e:
            problems[key] = str(e).split(": ", 1)[-1]
    total = sum(len(c.indicators) for c in components_of(programme))
    percent = weighted_percent(programme, scores)
    level = provisional_level(programme, scores) if scores else None
    return Score(percent, level, len(scores), total, problems, scores)


def percent_text(percent: float) -> str:
    """``๖๒.๕๐`` (two decimals, Thai digits)."""
    return to_thai_digits(f"{percent:.2f}")


# ------------------------------------------------------------------------------ the invitation's copies


def _chain_letters(invitation_id: int) -> Select:
    """SQL: the ids of the invitation and of every letter that carried it on down the chain."""
    chain = select(Letter.id).where(Letter.id == invitation_id).cte("invitation_chain", recursive=True)
    carried = (select(Letter.id).join(Delivery, Letter.forwards_delivery_id == Delivery.id)
               .join(chain, Delivery.letter_id == chain.c.id))
    chain = chain.union_all(carried)
    return select(chain.c.id)


def invitation_copies(session: Session, programme: Programme, unit_id: int) -> list[Delivery]:
    """The unit's copies of the programme's invitation (the owner's or one forwarded down to it), oldest first."""
    if programme.invitation_letter_id is None:
        return []
    return list(session.scalars(select(Delivery).where(
        Delivery.unit_id == unit_id, Delivery.letter_id.in_(_chain_letters(programme.invitation_letter_id)))
        .order_by(Delivery.id)))


def copy_of_invitation(session: Session, programme: Programme, token: str, key: bytes) -> Delivery | None:
    """The copy of the programme's invitation a tracking token names, or None (not genuine, unknown, or a copy
    of another letter)."""
    if not token or not token_is_genuine(token, key) or programme.invitation_letter_id is None:
        return None
    return session.scalar(select(Delivery).where(
        Delivery.token == token, Delivery.letter_id.in_(_chain_letters(programme.invitation_letter_id))))


def invited_programme(session: Session, letter_id: int) -> Programme | None:
    """The programme whose invitation the letter is, or carries on down the chain."""
    seen = 0
    while letter_id is not None and seen < 20:  # a chain is a few hops long; the bound guards a loop
        programme = session.scalar(select(Programme).where(Programme.invitation_letter_id == letter_id))
        if programme is not None:
            return programme
        letter = session.get(Letter, letter_id)
        forwarded = session.get(Delivery, letter.forwards_delivery_id) if letter and letter.forwards_delivery_id \
            else None
        letter_id = forwarded.letter_id if forwarded else None
        seen += 1
    return None


def submitted_text(at: datetime) -> str:
    """``๑๐ มกราคม ๒๕๖๕ เวลา ๑๐.๓๐ น.``"""
    at = as_thai(at)
    return f"{format_thai_date(at.date())} เวลา {to_thai_digits(f'{at:%H.%M}')} น."


__all__ = ["ApplicantView", "Component", "Indicator", "Score", "applicant_view", "components_of",
           "copy_of_invitation", "invitation_copies", "invited_programme", "percent_text", "score_of",
           "submitted_text", "unit_programmes"]
