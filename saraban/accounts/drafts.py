"""Drafts (ร่างหนังสือ): the office's letters written on the web before they are numbered.

A clerk writes a draft (the letter spec's fields and its recipients), checked by the same ``parse_spec``
the command line uses and by the same recipient selectors; the clerk submits it, the head of the office
(หัวหน้า/ผู้บริหาร) approves exactly the text they saw, and a clerk (or the head) issues it: numbered from
the right series and sent by :func:`saraban.chain.circulars.issue_circular`. What is issued is the approved
text: any later change sends the draft back to ``draft`` and it needs approval again.

Issuing happens once: the draft is marked ``issuing`` under its row's lock before the number is taken
(so the text cannot change meanwhile), the core's ``uq_letter_spec`` makes a second issue of the same spec
return the same letter, and the draft then keeps that letter (``letter_id``, unique). A press of the button
twice, or by two clerks, gives one number; a crash between the two steps is finished by pressing again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from saraban.accounts.authority import Actor, authorise
from saraban.chain.circulars import CircularError, issue_circular
from saraban.chain.tracking import longest_tracking_link
from saraban.directory.levels import DirectoryError
from saraban.directory.selectors import select_units
from saraban.kernel.clock import at_or_now
from saraban.kernel.settings import Settings
from saraban.letters.preflight import renderability_problems
from saraban.letters.spec import LetterSpec, SpecError, parse_spec
from saraban.records.db import Database
from saraban.records.events import record_event
from saraban.records.models import Draft, Letter, Unit, User

# status → what the office calls it (in the order a draft goes through them)
STATUSES: dict[str, str] = {"draft": "ร่าง", "submitted": "รออนุมัติ", "approved": "อนุมัติแล้ว",
                            "issuing": "กำลังออกเลข", "issued": "ออกเลขแล้ว"}
EDITABLE = ("draft", "submitted", "approved")


class DraftError(ValueError):
    """An act on a draft that the rules refuse (not approved yet, issued already, changed meanwhile ...);
    ``problems`` holds the draft's problems ("key: message") when that is why."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


@dataclass(frozen=True)
class DraftRow:
    """One line of the office's list of drafts."""

    id: int
    subject: str
    kind: str | None
    circular: bool
    to_text: str
    status: str
    author: str
    updated_at: datetime
    letter_id: int | None
    ref_text: str | None


@dataclass(frozen=True)
class IssuedDraft:
    letter_id: int
    ref: str
    new: bool  # this call numbered it (False: it was issued before)


def version_of(spec: dict[str, Any], to_text: str) -> str:
    """A short fingerprint of a draft's text and recipients: what the head approves is what they saw."""
    blob = json.dumps([spec, to_text], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:20]


def draft_version(draft: Draft) -> str:
    return version_of(draft.spec, draft.to_text)


def office_drafts(db: Database, actor: Actor) -> list[DraftRow]:
    """The actor's office's drafts, those waiting for approval first, then the newest."""
    authorise(actor, "read", actor.unit_id)
    order = case({"submitted": 0, "approved": 1, "draft": 2, "issuing": 3}, value=Draft.status, else_=4)
    with db.reading() as s:
        rows = s.execute(select(Draft, User.display_name, Letter.ref_text)
                         .join(User, User.id == Draft.author_id)
                         .outerjoin(Letter, Letter.id == Draft.letter_id)
                         .where(Draft.unit_id == actor.unit_id)
                         .order_by(order, Draft.updated_at.desc(), Draft.id.desc())).all()
    return [DraftRow(d.id, str(d.spec.get("subject") or ""), d.spec.get("kind"), bool(d.spec.get("circular")),
                     d.to_text, d.status, author, d.updated_at, d.letter_id, ref) for d, author, ref in rows]


def get_draft(db: Database, actor: Actor, draft_id: int, act: str = "read") -> Draft:
    """The draft, when it is the actor's office's and the actor may do ``act`` (else NotAllowed)."""
    with db.reading() as s:
        draft = s.get(Draft, draft_id)
    authorise(actor, act, draft.unit_id if draft is not None else None)
    assert draft is not None
    return draft


def people_of(db: Database, draft: Draft) -> dict[str, str | None]:
    """The names of the draft's author and approver."""
    with db.reading() as s:
        author = s.get(User, draft.author_id)
        approver = s.get(User, draft.approved_by_id) if draft.approved_by_id else None
    return {"author": author.display_name if author else None,
            "approver": approver.display_name if approver else None}


# --- checking ------------------------------------------------------------------------------------------


def recipient_problem(s: Session, to_text: str, *, circular: bool, sender_id: int) -> str | None:
    """Why the recipients' selector will not do (the CLI's messages for --to), or None."""
    if not to_text.strip():
        if circular:
            return ("ต้องระบุผู้รับของหนังสือเวียน / a circular needs recipients: unit keys or a rule, "
                    "e.g. prov.81,prov.83 or ทุกจังหวัด")
        return None
    try:
        units = select_units(s, to_text)
    except DirectoryError as e:
        return str(e)
    if not [u for u in units if u.id != sender_id]:
        return f"ไม่มีผู้รับ / no recipients: '{to_text}' selects no unit other than the sender"
    return None


def draft_problems(db: Database, settings: Settings, spec_data: dict[str, Any], to_text: str,
                   unit_id: int) -> tuple[LetterSpec | None, list[str]]:
    """The letter spec and every problem as "key: message" (the spec's keys, and ``recipients``), as the
    CLI would report them: nothing is numbered until this list is empty."""
    problems: list[str] = []
    spec: LetterSpec | None = None
    try:
        spec = parse_spec(spec_data)
    except SpecError as e:
        problems += e.problems
    if spec is not None and spec.ref is not None:
        problems.append("ref: leave it out when issuing: the send register gives the number")
    with db.reading() as s:
        problem = recipient_problem(s, to_text, circular=bool(spec_data.get("circular")), sender_id=unit_id)
    if problem:
        problems.append(f"recipients: {problem}")
    if spec is not None:
        link = longest_tracking_link(settings.base_url) if spec.circular or to_text.strip() else None
        problems += [p for p in renderability_problems(spec, settings, tracking_link=link)
                     if not p.startswith("qr[")]  # the spec's own check has reported those
    return spec, problems


# --- acts ----------------------------------------------------------------------------------------------


def _locked(s: Session, draft_id: int) -> Draft:
    """The draft's row, locked until the transaction ends (PostgreSQL; SQLite's writers are serialised)."""
    draft = s.scalar(select(Draft).where(Draft.id == draft_id).with_for_update())
    if draft is None:
        raise DraftError("ไม่พบร่างหนังสือ / no such draft")
    return draft


def _event(s: Session, kind: str, draft: Draft, actor: Actor, at: datetime, *, letter_id: int | None = None,
           before: str | None = None, **data: Any) -> None:
    record_event(s, kind, actor=actor.username, at=at, unit_id=draft.unit_id, office_id=draft.unit_id,
                 letter_id=letter_id, data={"draft": draft.id, "subject": draft.spec.get("subject"), **data},
                 before={"status": before} if before else None, after={"status": draft.status})


def save_draft(db: Database, actor: Actor, draft_id: int | None, spec_data: dict[str, Any], to_text: str, *,
               at: datetime | None = None) -> Draft:
    """Keep the draft as written (problems and all: it is work in progress). A change to a submitted or
    approved draft sends it back to ``draft``: it must be approved again. An issued draft is not changed."""
    at = at_or_now(at)
    with db.transaction() as s:
        if draft_id is None:
            authorise(actor, "write", actor.unit_id)
            draft = Draft(unit_id=actor.unit_id, author_id=actor.user_id, spec=spec_data, to_text=to_text,
                          status="draft", created_at=at, updated_at=at)
            s.add(draft)
            s.flush()
            _event(s, "draft.saved", draft, actor, at, new=True)
            return draft
        draft = _locked(s, draft_id)
        authorise(actor, "write", draft.unit_id)
        if draft.status not in EDITABLE:
            raise DraftError(f"ร่างนี้{STATUSES[draft.status]} แก้ไขไม่ได้ / this draft is {draft.status}: it "
                             "cannot be changed")
        if version_of(spec_data, to_text) == draft_version(draft):
            return draft  # nothing changed: nothing to record, the approval stands
        before = draft.status
        draft.spec, draft.to_text, draft.updated_at = spec_data, to_text, at
        if before != "draft":
            draft.status, draft.approved_by_id, draft.approved_at = "draft", None, None
        _event(s, "draft.saved", draft, actor, at, before=before if before != "draft" else None,
               approval_withdrawn=before == "approved")
        return draft


def _check(db: Database, settings: Settings, draft: Draft) -> LetterSpec:
    spec, problems = draft_problems(db, settings, draft.spec, draft.to_text, draft.unit_id)
    if problems or spec is None:
        raise DraftError("ร่างยังมีข้อผิดพลาด ไม่มีการออกเลข / the draft has problems — nothing was numbered",
                         problems)
    return spec


def submit_draft(db: Database, settings: Settings, actor: Actor, draft_id: int, *,
                 at: datetime | None = None) -> Draft:
    """Send a correct draft to the head for approval (already submitted or approved: nothing to do)."""
    at = at_or_now(at)
    draft = get_draft(db, actor, draft_id, "write")
    _check(db, settings, draft)
    version = draft_version(draft)
    with db.transaction() as s:
        draft = _locked(s, draft_id)
        if draft_version(draft) != version:
            raise DraftError(_CHANGED)
        if draft.status == "draft":
            draft.status, draft.updated_at = "submitted", at
            _event(s, "draft.submitted", draft, actor, at, before="draft")
        elif draft.status not in ("submitted", "approved"):
            raise DraftError(f"ร่างนี้{STATUSES[draft.status]} / this draft is {draft.status}")
        return draft


_CHANGED = ("ร่างถูกแก้ไขหลังจากที่ท่านเปิดดู กรุณาตรวจอีกครั้ง / the draft was changed after you opened it: "
            "look at it again")


def approve_draft(db: Database, settings: Settings, actor: Actor, draft_id: int, version: str | None, *,
                  at: datetime | None = None) -> Draft:
    """The head approves the draft's text as they saw it (``version``: :func:`draft_version` of the page
    they read; a draft changed since is refused). A clerk's draft must have been submitted; the head's own
    draft may be approved as it is."""
    at = at_or_now(at)
    draft = get_draft(db, actor, draft_id, "approve")
    _check(db, settings, draft)
    with db.transaction() as s:
        draft = _locked(s, draft_id)
        if version != draft_version(draft):
            raise DraftError(_CHANGED)
        if draft.status == "approved":
            return draft
        if draft.status == "draft" and draft.author_id != actor.user_id:
            raise DraftError("ร่างนี้ยังไม่ได้ส่งขออนุมัติ / this draft has not been submitted for approval yet")
        if draft.status not in ("draft", "submitted"):
            raise DraftError(f"ร่างนี้{STATUSES[draft.status]} / this draft is {draft.status}")
        before = draft.status
        draft.status, draft.approved_by_id, draft.approved_at, draft.updated_at = "approved", actor.user_id, at, at
        _event(s, "draft.approved", draft, actor, at, before=before, version=version)
        return draft


def preview_draft(db: Database, settings: Settings, actor: Actor, draft_id: int,
                  last_page: int | None = 4) -> list[bytes]:
    """The draft's pages as they will print (PNG), before it is numbered: the number is left blank and
    a copy's tracking code is the placeholder (saraban.letters.paper.preview)."""
    from saraban.letters.paper.preview import letter_preview  # LibreOffice: only when a preview is asked for

    draft = get_draft(db, actor, draft_id, "write")
    spec = _check(db, settings, draft)
    tracked = bool(spec.circular or draft.to_text.strip())
    _, pages = letter_preview(spec, settings, last_page=last_page,
                              tracking_link_length=len(longest_tracking_link(settings.base_url)) if tracked else None)
    return pages


def issue_draft(db: Database, settings: Settings, actor: Actor, draft_id: int, *,
                at: datetime | None = None, date_reason: str | None = None) -> IssuedDraft:
    """Number the approved draft and send it (files are the caller's: ``make_files``); issued before →
    the same letter. ``date_reason``: why the letter is dated more than a week from today (kept in the
    register line's note, as ``--date-reason`` on the command line). See the module for how this happens
    once."""
    at = at_or_now(at)
    with db.transaction() as s:
        draft = _locked(s, draft_id)
        authorise(actor, "issue", draft.unit_id)
        if draft.status == "issued" and draft.letter_id is not None:
            letter = s.get(Letter, draft.letter_id)
            return IssuedDraft(letter.id, letter.ref_text, new=False)
        if draft.status not in ("approved", "issuing"):
            raise DraftError("ต้องให้หัวหน้าอนุมัติก่อนจึงออกเลขได้ / the head must approve the draft before it is "
                             "issued")
        resuming = draft.status == "issuing"
        draft.status = "issuing"
        sender = s.get(Unit, draft.unit_id)
        sender_key = sender.key
    try:
        spec = _check(db, settings, draft)
        if not resuming:  # the same text issued before (from the command line, or another draft) is not ours
            with db.reading() as s:
                same = s.scalar(select(Letter).where(Letter.unit_id == draft.unit_id,
                                                     Letter.spec_hash == spec.hash()))
            if same is not None:
                raise DraftError(f"หนังสือข้อความเดียวกันนี้ออกไปแล้ว ที่ {same.ref_text} / a letter with the same "
                                 f"text was issued already: ที่ {same.ref_text}")
        issued = issue_circular(db, settings, spec, sender_key=sender_key, to=draft.to_text.strip() or None,
                                actor=actor.username, at=at, circular=spec.circular, files=False,
                                date_reason=date_reason)
    except (DraftError, SpecError, CircularError, DirectoryError):
        with db.transaction() as s:  # nothing numbered: the draft is approved, as before
            again = _locked(s, draft_id)
            if again.status == "issuing" and again.letter_id is None:
                again.status = "approved"
        raise
    with db.transaction() as s:
        draft = _locked(s, draft_id)
        if draft.letter_id is None:
            draft.letter_id, draft.status, draft.updated_at = issued.letter_id, "issued", at
            _event(s, "draft.issued", draft, actor, at, letter_id=issued.letter_id, before="approved",
                   ref=issued.ref, recipients=issued.recipients)
        return IssuedDraft(draft.letter_id, issued.ref, new=issued.new and draft.letter_id == issued.letter_id)
