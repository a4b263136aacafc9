"""Reminders (ทวงถาม): a stamped letter and an e-mail to a unit that is late, exactly once per step.

Two kinds of lateness are found (``due_reminders``, a pure query):

- ``receipt``: a delivery not received (ลงรับ) ``N`` days after it was sent, for each ``N`` of
  ``ReminderPolicy.receipt_after_days`` (steps ``after-3d``, ``after-7d``). Letters that are reminders
  themselves, acknowledgements of applications and cancelled letters are left out. What a delivery owes
  is the chain's rule (saraban.chain.expectations.owes_receipt); forwarding is not reminded of.
- ``deadline``: a unit eligible for a programme whose window is open, that has not applied when at most
  ``N`` days remain, for each ``N`` of ``deadline_before_days`` (steps ``before-14d`` ... ``before-1d``).

Only the *latest* step reached is made: if the flow did not run for a while, the units get one reminder
for where they are now, never a backlog of the steps they slept through; and a step earlier than one
already made is never made (a run with an ``at`` in the past changes nothing).

The reminder is a หนังสือประทับตรา (stamped letters are allowed for ทวงถาม) from the sender of the late
letter (or the programme's owner) to the late unit, or to its parent office (``to_parent``, or when the
unit has no e-mail address and its parent has one), numbered in the sender's send series, then e-mailed
with the addressee's copy attached. ``make_reminders`` does it in steps that are each safe to repeat:

1. insert the ``Reminder`` row (the unique ``(kind, about, unit_id, step)`` refuses a second one);
2. issue the letter: its spec is built from the row (dated the day the row was made), so issuing it again
   after a crash finds the letter already issued (same spec, same sender) instead of numbering a new one;
   the row then gets its ``letter_id``;
3. send the e-mail and record it (``mail_status``, ``mailed_at``).

A run picks up every reminder an earlier run left unfinished (no letter, or ``mailed_at`` empty). A
temporary mail failure (server down, SMTP not configured) leaves ``mailed_at`` empty, so the next run
tries again; ``sent``, ``refused`` and ``no-address`` finish the reminder. The one thing that can happen
twice is the e-mail, if the process dies after the server accepted it and before ``mailed_at`` is
written; it then goes again with the same Message-ID (one per letter and address), so the receiving side
sees one message. Runs are serialised (a PostgreSQL advisory lock, a file lock beside a SQLite database).
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from saraban.chain.circulars import CircularError, issue_circular
from saraban.chain.expectations import owes_receipt
from saraban.chain.mailing import PdfError, copy_url, letter_pdf, mail_configured, make_pdfs, verify_url
from saraban.directory.levels import DirectoryError
from saraban.kernel.clock import as_thai, at_or_now, date_text, time_text
from saraban.kernel.settings import Settings
from saraban.kernel.wording import WordingError, mail_wording, wording_parts
from saraban.letters.spec import SpecError, parse_spec
from saraban.notify.mail import MailResult, OutgoingMail, message_id_for, record_mail, send_mail
from saraban.records.db import Database
from saraban.records.events import record_event
from saraban.records.models import Application, Delivery, Letter, Mailing, Programme, RegisterEntry, Reminder, Unit
from thai_text import format_thai_date, thai_digits_in_prose, to_thai_digits

KINDS = ("receipt", "deadline")
KIND_NAMES = {"receipt": "ยังไม่ลงรับหนังสือ", "deadline": "ยังไม่สมัคร"}
MAIL_KIND = "reminder.mailed"
RECEIPT_WORDING, DEADLINE_WORDING, MAIL_WORDING = "reminders/receipt", "reminders/deadline", "email/reminder"
_STEP = re.compile(r"(after|before)-(\d+)d")
_LOCK_KEY = 0x5A7AB0D2  # PostgreSQL advisory lock held while reminders are made
ENV_AFTER, ENV_BEFORE, ENV_TO_PARENT = ("SARABAN_REMIND_AFTER_DAYS", "SARABAN_REMIND_BEFORE_DAYS",
                                        "SARABAN_REMIND_TO_PARENT")


class ReminderError(ValueError):
    pass


@dataclass(frozen=True)
class ReminderPolicy:
    """When to remind. ``to_parent``: address the late unit's parent office instead of the unit."""

    receipt_after_days: tuple[int, ...] = (3, 7)
    deadline_before_days: tuple[int, ...] = (14, 7, 3, 1)
    to_parent: bool = False

    def __post_init__(self) -> None:
        for name in ("receipt_after_days", "deadline_before_days"):
            days = tuple(sorted({int(d) for d in getattr(self, name)}))
            if any(d < 1 for d in days):
                raise ReminderError(f"{name}: days must be whole numbers of at least 1, got {days}")
            object.__setattr__(self, name, days)


def _days(text_: str, name: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in re.split(r"[,\s]+", text_.strip()) if x)
    except ValueError:
        raise ReminderError(f"{name}: expected days separated by commas, e.g. '14,7,3,1'; got {text_!r}") from None


def policy_from_env(env: dict[str, str] | None = None, **changes: Any) -> ReminderPolicy:
    """The policy of ``SARABAN_REMIND_AFTER_DAYS`` ("3,7"), ``SARABAN_REMIND_BEFORE_DAYS`` ("14,7,3,1")
    and ``SARABAN_REMIND_TO_PARENT`` ("1"/"yes"), defaults where unset; ``changes`` (not None) win."""
    env = dict(os.environ if env is None else env)
    values: dict[str, Any] = {}
    if env.get(ENV_AFTER):
        values["receipt_after_days"] = _days(env[ENV_AFTER], ENV_AFTER)
    if env.get(ENV_BEFORE):
        values["deadline_before_days"] = _days(env[ENV_BEFORE], ENV_BEFORE)
    if env.get(ENV_TO_PARENT):
        values["to_parent"] = env[ENV_TO_PARENT].strip().lower() in {"1", "yes", "true", "y", "ใช่"}
    values |= {k: v for k, v in changes.items() if v is not None}
    return ReminderPolicy(**values)


@dataclass(frozen=True)
class Due:
    """One reminder to make: who is late (``unit``), who gets the letter (``addressee``), from whom."""

    kind: str  # receipt | deadline
    about: str  # "delivery:<id>" | "programme:<id>"
    unit: Unit
    addressee: Unit
    step: str  # after-7d | before-3d
    sender: Unit
    letter_date: date
    wording: str  # the wording template of its text (reminders/receipt, reminders/deadline)
    facts: dict[str, Any] = field(hash=False)  # the values the template words
    owner: dict[str, str] = field(hash=False)
    reminder_id: int | None = None  # an unfinished reminder of an earlier run
    programme_key: str | None = None  # deadline reminders: the programme, for its application link

    def text(self, settings: Settings) -> tuple[str, list[str]]:
        """(subject, paragraphs) as the office's wording template (or saraban's) words them."""
        return wording_parts(settings, self.wording, **self.facts)

    def subject(self, settings: Settings) -> str:
        """The subject, or the template's name when the template cannot be rendered (an error result)."""
        try:
            return self.text(settings)[0]
        except WordingError:
            return self.wording

    def spec(self, settings: Settings):
        """The letter spec: the same reminder always gives the same spec (and so the same letter) while the
        wording stays the same."""
        subject, body = self.text(settings)
        sender = {"name": self.sender.printed_sender} | ({"address": self.sender.address} if self.sender.address
                                                          else {})
        return parse_spec({"kind": "stamped", "date": self.letter_date.isoformat(), "sender": sender,
                           "to": self.addressee.name, "subject": subject, "body": body, "owner": self.owner})


@dataclass(frozen=True)
class ReminderResult:
    kind: str
    about: str
    step: str
    unit_key: str
    unit_name: str
    addressee_key: str
    addressee_name: str
    email: str | None
    subject: str
    status: str  # made | completed | already | planned | pending | error
    reminder_id: int | None = None
    letter_id: int | None = None
    ref: str | None = None
    mail_status: str | None = None  # sent | refused | failed | no-address
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------------------------- steps


def step_days(step: str) -> int:
    m = _STEP.fullmatch(step)
    if not m:
        raise ReminderError(f"unknown reminder step {step!r}; expected after-<n>d or before-<n>d")
    return int(m[2])


def _rank(step: str) -> int:
    """Later steps rank higher: after-3d < after-7d; before-14d < before-1d."""
    n = step_days(step)
    return n if step.startswith("after-") else -n


def receipt_step(sent_at: datetime, at: datetime, policy: ReminderPolicy) -> str | None:
    """The latest step reached ``at``: the largest N with at - sent_at >= N days."""
    reached = [n for n in policy.receipt_after_days if as_thai(at) - as_thai(sent_at) >= timedelta(days=n)]
    return f"after-{max(reached)}d" if reached else None


def deadline_step(closes_at: datetime, at: datetime, policy: ReminderPolicy) -> str | None:
    """The latest step reached ``at``: the smallest N with closes_at - at <= N days."""
    reached = [n for n in policy.deadline_before_days if as_thai(closes_at) - as_thai(at) <= timedelta(days=n)]
    return f"before-{min(reached)}d" if reached else None


# ------------------------------------------------------------------------------------------ the texts


def _ref(letter: Letter) -> str:
    return letter.ref_text


def _owner(given: dict[str, Any] | None, unit: Unit) -> dict[str, str]:
    owner = {k: v for k, v in (given or {}).items() if v} or {"unit": unit.name}
    if "unit" not in owner:
        owner["unit"] = unit.name
    if not given and unit.phone:
        owner["phone"] = unit.phone
    return owner


def _addressee(session: Session, unit: Unit, sender: Unit, policy: ReminderPolicy) -> Unit:
    """The unit itself, or its parent office when asked to (or when only the parent has an e-mail)."""
    parent = session.get(Unit, unit.parent_id) if unit.parent_id else None
    if parent is None or parent.id == sender.id:
        return unit
    return parent if policy.to_parent or (not unit.email and parent.email) else unit


def _emailed_to(session: Session, delivery_ids: Sequence[int]) -> str:
    """The address the first of these copies went to by e-mail (its mailing sent), "" when none did: the
    reminder says how the letter reached the unit, not how saraban might have sent it."""
    if not delivery_ids:
        return ""
    return session.scalar(select(Mailing.address).where(Mailing.delivery_id.in_(delivery_ids),
                                                        Mailing.status == "sent").order_by(Mailing.id).limit(1)) or ""


def _receipt_text(session: Session, delivery: Delivery, unit: Unit, addressee: Unit, step: str,
                  letter_date: date) -> tuple[Unit, dict[str, Any], dict[str, str]]:
    letter = session.get(Letter, delivery.letter_id)
    sender = session.get(Unit, letter.unit_id)
    facts = {"sender": sender.printed_sender, "ref": _ref(letter),
             "letter_date": format_thai_date(letter.letter_date), "letter_subject": letter.subject,
             "unit": unit.name, "addressee": addressee.name, "to_unit": addressee.id == unit.id,
             "sent_on": format_thai_date(as_thai(delivery.sent_at).date()),
             "emailed_to": _emailed_to(session, [delivery.id]),
             # a reminder made by hand the day the letter went (remind_now, step after-0d) counts no days
             "days": step_days(step), "reply_by": format_thai_date(letter_date + timedelta(days=3))}
    return sender, facts, _owner(letter.spec.get("owner") if isinstance(letter.spec, dict) else None, sender)


def _deadline_text(session: Session, programme: Programme, unit: Unit, addressee: Unit, step: str,
                   ) -> tuple[Unit, dict[str, Any], dict[str, str]]:
    from saraban.programmes.applicant import invitation_copies
    from saraban.programmes.applications import window_text

    sender = session.get(Unit, programme.owner_unit_id)
    closes = programme.closes_at
    invitation = session.get(Letter, programme.invitation_letter_id) if programme.invitation_letter_id else None
    copies = [d.id for d in invitation_copies(session, programme, unit.id)] if invitation is not None else []
    facts = {"sender": sender.printed_sender, "programme": programme.name, "year": programme.year,
             "invitation_ref": _ref(invitation) if invitation is not None else "",
             "invitation_date": format_thai_date(invitation.letter_date) if invitation is not None else "",
             "reached": bool(copies), "emailed_to": _emailed_to(session, copies),
             "window": window_text(programme), "unit": unit.name, "addressee": addressee.name,
             "to_unit": addressee.id == unit.id, "days": step_days(step),
             "until": f"ภายในวันที่ {date_text(closes, abbreviated=False)} เวลา {time_text(closes)}"}
    given = (programme.definition or {}).get("invitation", {}).get("owner")
    return sender, facts, _owner(given, sender)


def describe(session: Session, kind: str, about: str, unit: Unit, addressee: Unit, step: str, letter_date: date,
             reminder_id: int | None = None) -> Due:
    """The reminder's letter text for one (kind, about, unit, step), dated ``letter_date``."""
    what, _, ident = about.partition(":")
    if kind == "receipt" and what == "delivery":
        delivery = session.get(Delivery, int(ident))
        sender, facts, owner = _receipt_text(session, delivery, unit, addressee, step, letter_date)
        wording, key = RECEIPT_WORDING, None
    elif kind == "deadline" and what == "programme":
        programme = session.get(Programme, int(ident))
        sender, facts, owner = _deadline_text(session, programme, unit, addressee, step)
        wording, key = DEADLINE_WORDING, programme.key
    else:
        raise ReminderError(f"unknown reminder {kind} about {about!r}")
    return Due(kind, about, unit, addressee, step, sender, letter_date, wording, facts, owner, reminder_id, key)


# ----------------------------------------------------------------------------------------- the query


def _made_steps(session: Session, kind: str, abouts: Sequence[str]) -> dict[tuple[str, int], list[str]]:
    made: dict[tuple[str, int], list[str]] = {}
    for start in range(0, len(abouts), 500):
        rows = session.execute(select(Reminder.about, Reminder.unit_id, Reminder.step).where(
            Reminder.kind == kind, Reminder.about.in_(abouts[start:start + 500]))).all()
        for about, unit_id, step in rows:
            made.setdefault((about, unit_id), []).append(step)
    return made


def _not_made(made: dict[tuple[str, int], list[str]], about: str, unit_id: int, step: str) -> bool:
    """Neither this step nor a later one has been made for the unit."""
    return all(_rank(s) < _rank(step) for s in made.get((about, unit_id), []))


def _receipt_dues(session: Session, at: datetime, policy: ReminderPolicy) -> list[Due]:
    if not policy.receipt_after_days:
        return []
    reminders = select(Reminder.letter_id).where(Reminder.letter_id.is_not(None))
    acks = select(Application.ack_letter_id).where(Application.ack_letter_id.is_not(None))
    cancelled = select(RegisterEntry.letter_id).where(RegisterEntry.cancels_id.is_not(None),
                                                      RegisterEntry.letter_id.is_not(None))
    # A unit that applied to a programme has its invitation: applying receives it (applications.apply), and
    # one recorded late on paper by the owner is not reminded either.
    applied = (select(Application.id).join(Programme, Programme.id == Application.programme_id)
               .where(Programme.invitation_letter_id == Delivery.letter_id, Application.unit_id == Delivery.unit_id)
               .exists())
    latest_sent = at - timedelta(days=min(policy.receipt_after_days))
    rows = session.execute(
        select(Delivery, Unit).join(Unit, Unit.id == Delivery.unit_id)
        .where(owes_receipt(Delivery), Delivery.sent_at <= latest_sent,
               Delivery.letter_id.not_in(reminders), Delivery.letter_id.not_in(acks),
               Delivery.letter_id.not_in(cancelled), ~applied)
        .order_by(Delivery.letter_id, Unit.key)).all()
    made = _made_steps(session, "receipt", [f"delivery:{d.id}" for d, _ in rows])
    dues = []
    for delivery, unit in rows:
        step = receipt_step(delivery.sent_at, at, policy)
        about = f"delivery:{delivery.id}"
        if step is None or not _not_made(made, about, unit.id, step):
            continue
        letter = session.get(Letter, delivery.letter_id)
        sender = session.get(Unit, letter.unit_id)
        addressee = _addressee(session, unit, sender, policy)
        dues.append(describe(session, "receipt", about, unit, addressee, step, at.date()))
    return dues


def _deadline_dues(session: Session, at: datetime, policy: ReminderPolicy) -> list[Due]:
    if not policy.deadline_before_days:
        return []
    from saraban.programmes.applications import applicant_ids, eligible_units

    programmes = session.scalars(select(Programme).where(Programme.opens_at <= at, Programme.closes_at
                                                         >= at - timedelta(minutes=1)).order_by(Programme.key))
    dues = []
    for programme in programmes:
        step = deadline_step(programme.closes_at, at, policy)
        if step is None:
            continue
        about = f"programme:{programme.id}"
        applied = applicant_ids(session, programme)
        late = [u for u in eligible_units(session, programme)
                if u.id not in applied and u.id != programme.owner_unit_id]
        made = _made_steps(session, "deadline", [about])
        sender = session.get(Unit, programme.owner_unit_id)
        for unit in sorted(late, key=lambda u: u.key):
            if _not_made(made, about, unit.id, step):
                addressee = _addressee(session, unit, sender, policy)
                dues.append(describe(session, "deadline", about, unit, addressee, step, at.date()))
    return dues


def due_reminders(session: Session, at: datetime, policy: ReminderPolicy | None = None) -> list[Due]:
    """The reminders to make ``at`` (naive: Thai time), each for the latest step reached and not made yet.
    Writes nothing. Unfinished reminders of earlier runs are not in it (see ``unfinished_reminders``)."""
    policy = policy or ReminderPolicy()
    at = as_thai(at)
    return _receipt_dues(session, at, policy) + _deadline_dues(session, at, policy)


def unfinished_reminders(session: Session) -> list[Due]:
    """Reminders an earlier run began and did not finish: no letter yet, or the e-mail not sent."""
    rows = session.scalars(select(Reminder).where(
        (Reminder.letter_id.is_(None)) | (Reminder.mailed_at.is_(None))).order_by(Reminder.id)).all()
    return [describe(session, r.kind, r.about, session.get(Unit, r.unit_id), session.get(Unit, r.addressee_id),
                     r.step, r.created_at.date(), r.id) for r in rows]


def reminder_history(session: Session, programme_id: int | None = None) -> list[Reminder]:
    """Every reminder made (of one programme when given), oldest first."""
    query = select(Reminder)
    if programme_id is not None:
        query = query.where(Reminder.kind == "deadline", Reminder.about == f"programme:{programme_id}")
    return list(session.scalars(query.order_by(Reminder.created_at, Reminder.id)))


# ---------------------------------------------------------------------------------------- making them


@contextmanager
def _exclusive(db: Database) -> Iterator[None]:
    """One run at a time: a PostgreSQL advisory lock, or a file lock beside the SQLite database."""
    if db.dialect == "postgresql":
        with db.engine.connect() as c:
            c = c.execution_options(isolation_level="AUTOCOMMIT")
            c.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
            try:
                yield
            finally:
                c.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
        return
    path = db.engine.url.database
    if not path or path == ":memory:":
        yield
        return
    with open(f"{path}.reminders-lock", "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _result(settings: Settings, due: Due, status: str, **fields: Any) -> ReminderResult:
    return ReminderResult(due.kind, due.about, due.step, due.unit.key, due.unit.name, due.addressee.key,
                          due.addressee.name, due.addressee.email, due.subject(settings), status,
                          **({"reminder_id": due.reminder_id} | fields))


def _claim(db: Database, due: Due, at: datetime) -> Reminder:
    """Insert the reminder's row unless it is there; return the row (made now or earlier)."""
    with db.transaction() as s:
        insert = postgresql.insert if db.dialect == "postgresql" else sqlite.insert
        s.execute(insert(Reminder).values(
            kind=due.kind, about=due.about, unit_id=due.unit.id, addressee_id=due.addressee.id, step=due.step,
            created_at=at).on_conflict_do_nothing(index_elements=["kind", "about", "unit_id", "step"]))
        return s.scalar(select(Reminder).where(Reminder.kind == due.kind, Reminder.about == due.about,
                                               Reminder.unit_id == due.unit.id, Reminder.step == due.step))


def _issue(db: Database, settings: Settings, due: Due, reminder_id: int, actor: str, at: datetime) -> int:
    # scheduled: no clerk to confirm a code
    issued = issue_circular(db, settings, due.spec(settings), sender_key=due.sender.key, to=[due.addressee],
                            actor=actor, at=at, circular=False, uncertain_code_ok=True)
    with db.transaction() as s:
        s.execute(update(Reminder).where(Reminder.id == reminder_id).values(letter_id=issued.letter_id))
        record_event(s, "reminder.made", actor=actor, at=at, unit_id=due.unit.id, office_id=due.sender.id,
                     letter_id=issued.letter_id,
                     data={"kind": due.kind, "about": due.about, "step": due.step, "reminder": reminder_id,
                           "addressee": due.addressee.key, "ref": issued.ref})
    return issued.letter_id


def _links(s: Session, settings: Settings, due: Due) -> list[str]:
    """The e-mail's links, each opening the late unit's own page when the e-mail goes to it: its copy of the
    letter not received (ลงรับ there), or its application (with its invitation copy's token); then /verify."""
    from saraban.programmes.applicant import invitation_copies
    from saraban.programmes.applications import application_url

    own = due.addressee.id == due.unit.id
    what, _, ident = due.about.partition(":")
    lines = []
    if due.kind == "receipt" and what == "delivery" and own:
        late = s.get(Delivery, int(ident))
        lines.append(f"ลงรับหนังสือฉบับเดิมได้ที่ {copy_url(settings, late.token)}")
    if due.programme_key:
        programme = s.scalar(select(Programme).where(Programme.key == due.programme_key))
        invited = invitation_copies(s, programme, due.unit.id) if own and programme is not None else []
        lines.append(f"สมัครได้ที่ {application_url(settings, due.programme_key, invited[0].token if invited else None)}")
    lines.append(f"ตรวจสอบไฟล์หนังสือที่แนบว่าออกจากระบบจริงได้ที่ {verify_url(settings)}")
    return lines


def _mail(db: Database, settings: Settings, due: Due, reminder_id: int, actor: str, at: datetime,
          pdf_problem: str | None = None) -> str:
    with db.transaction() as s:
        reminder = s.get(Reminder, reminder_id)
        letter = s.get(Letter, reminder.letter_id)
        addressee = s.get(Unit, reminder.addressee_id)
        ref = to_thai_digits(letter.ref_text)
        email, letter_id, letter_day = addressee.email, letter.id, letter.letter_date
        links = _links(s, settings, due)
    letter_subject, paragraphs = due.text(settings)
    if not email:
        status, result = "no-address", None
    else:
        subject, body = mail_wording(settings, MAIL_WORDING, addressee=addressee.name, sender=due.sender.printed_sender,
                                     ref=ref, letter_date=format_thai_date(letter_day), subject=letter_subject,
                                     body=paragraphs, links=links)
        body = thai_digits_in_prose(body)
        # The same letter to the same address is the same message: a resend after a crash is recognised.
        message_id = message_id_for(settings, "letter", letter_id, email)
        attachments = []
        if mail_configured(settings) and not pdf_problem:  # the addressee's copy as PDF, never the .docx
            try:
                attachments = [letter_pdf(db, settings, letter_id, addressee.id)]
            except PdfError as e:
                pdf_problem = str(e)
        if pdf_problem:  # a failure: the next run tries again
            result = MailResult(False, [email], {}, 0, f"the reminder's PDF could not be made: {pdf_problem}",
                                message_id)
        else:
            result = send_mail(settings, OutgoingMail(to=[email], subject=thai_digits_in_prose(subject), body=body,
                                                      attachments=attachments), message_id=message_id)
        status = "sent" if result.ok else "refused" if result.refused else "failed"
    with db.transaction() as s:
        reminder = s.get(Reminder, reminder_id)
        if result is not None:
            record_mail(s, result, actor=actor, at=at, kind=MAIL_KIND, unit_id=due.addressee.id, letter_id=letter_id,
                        subject=letter_subject, office_id=due.sender.id, about=f"reminder:{reminder_id}")
        else:
            record_event(s, "reminder.no_address", actor=actor, at=at, unit_id=due.addressee.id, letter_id=letter_id,
                         office_id=due.sender.id, data={"reminder": reminder_id})
        reminder.mail_status = status
        reminder.mailed_at = None if status == "failed" else at
    return status


@dataclass(frozen=True)
class _Issued:
    """A reminder whose row and letter are made, its e-mail still to send."""

    due: Due
    reminder_id: int
    letter_id: int
    status: str  # made | completed


def _make_one(db: Database, settings: Settings, due: Due, actor: str, at: datetime) -> ReminderResult | _Issued:
    """The reminder's row and letter (made now or earlier): its e-mail is sent by _send_one."""
    if not due.sender.letter_code:
        return _result(settings, due, "error", error=f"{due.sender.name} ({due.sender.key}) has no letter code "
                                                     "(รหัสหนังสือ): set it in the directory; no reminder was made")
    row = _claim(db, due, at)
    status = "made" if due.reminder_id is None and row.letter_id is None else "completed"
    if row.letter_id is not None and row.mailed_at is not None:
        return _result(settings, due, "already", reminder_id=row.id, letter_id=row.letter_id,
                       mail_status=row.mail_status)
    if row.created_at.date() != due.letter_date or row.addressee_id != due.addressee.id:
        with db.transaction() as s:  # the row of an earlier day: its letter is dated that day, to its addressee
            due = describe(s, row.kind, row.about, s.get(Unit, row.unit_id), s.get(Unit, row.addressee_id),
                           row.step, row.created_at.date(), row.id)
    letter_id = row.letter_id or _issue(db, settings, due, row.id, actor, at)
    return _Issued(due, row.id, letter_id, status)


def _send_one(db: Database, settings: Settings, made: _Issued, actor: str, at: datetime,
              pdf_problem: str | None) -> ReminderResult:
    mail_status = _mail(db, settings, made.due, made.reminder_id, actor, at, pdf_problem)
    with db.transaction() as s:
        ref = s.get(Letter, made.letter_id).ref_text
    return _result(settings, made.due, made.status, reminder_id=made.reminder_id, letter_id=made.letter_id, ref=ref,
                   mail_status=mail_status)


def make_reminders(db: Database, settings: Settings, at: datetime | None = None, policy: ReminderPolicy | None = None,
                   *, dry_run: bool = False, actor: str = "saraban") -> list[ReminderResult]:
    """Finish what earlier runs left unfinished, then make every reminder due ``at`` (default: now).

    ``dry_run``: write nothing, return what would be made (status ``planned``) or finished (``pending``).
    A reminder whose sender has no letter code is returned with status ``error`` and nothing written.
    An exception (a crash) stops the run; running again carries on where it stopped.
    """
    at = at_or_now(at)
    policy = policy or ReminderPolicy()
    if dry_run:
        with db.transaction() as s:
            todo = unfinished_reminders(s), due_reminders(s, at, policy)
        return [_result(settings, d, "pending", reminder_id=d.reminder_id) for d in todo[0]] + \
               [_result(settings, d, "planned") for d in todo[1]]
    with _exclusive(db):
        with db.transaction() as s:
            todo = unfinished_reminders(s) + due_reminders(s, at, policy)
        return _make_each(db, settings, todo, actor, at)


def _make_each(db: Database, settings: Settings, todo: Sequence[Due], actor: str, at: datetime) -> list[ReminderResult]:
    """Make each reminder due (under the caller's exclusive hold); one that cannot be made is an error result.

    In three passes, each safe to repeat: every reminder's row and letter; then the PDFs of all those letters
    in one LibreOffice run (the e-mails attach the PDF, and a run per letter would cost seconds each); then
    the e-mails."""
    made: list[ReminderResult | _Issued] = []
    for due in todo:
        try:
            made.append(_make_one(db, settings, due, actor, at))
        except (CircularError, DirectoryError, SpecError, WordingError) as e:
            made.append(_result(settings, due, "error", error=str(e)))
    issued = [m for m in made if isinstance(m, _Issued)]
    pdf_problem = None
    if issued and mail_configured(settings):
        try:
            make_pdfs(db, settings, [m.letter_id for m in issued if m.due.addressee.email])
        except PdfError as e:
            pdf_problem = str(e)
    results = []
    for m in made:
        try:
            results.append(_send_one(db, settings, m, actor, at, pdf_problem) if isinstance(m, _Issued) else m)
        except (CircularError, DirectoryError, SpecError, WordingError) as e:
            results.append(_result(settings, m.due, "error", error=str(e)))
    return results


def remind_now(db: Database, settings: Settings, letter_id: int, *, actor: str = "saraban",
               at: datetime | None = None, policy: ReminderPolicy | None = None) -> list[ReminderResult]:
    """ทวงถาม now (a clerk's button): a receipt reminder to each of the letter's own recipients that has not
    received it, without waiting for the policy's days. Only the letter's own recipients: the units further
    down were sent the letters of other offices, whose reminders are theirs to make.

    The step is the whole days since the delivery was sent (``after-0d`` the same day), and it goes through
    the same claim as the daily run (one reminder per kind, delivery, unit and step): pressing again the
    same day makes nothing new (status ``already``, or ``completed`` when an e-mail is still to go), and no
    step is made that the daily run has made or passed. A letter that is itself a reminder or an
    acknowledgement, or that was cancelled, is not reminded of (as in ``due_reminders``): no results."""
    at = at_or_now(at)
    policy = policy or ReminderPolicy()
    with _exclusive(db):
        with db.transaction() as s:
            letter = s.get(Letter, letter_id)
            if letter is None:
                raise ReminderError(f"ไม่พบหนังสือหมายเลข {letter_id} / no letter with id {letter_id}")
            excluded = (s.scalar(select(Reminder.id).where(Reminder.letter_id == letter_id).limit(1))
                        or s.scalar(select(Application.id).where(Application.ack_letter_id == letter_id).limit(1))
                        or s.scalar(select(RegisterEntry.id).where(RegisterEntry.letter_id == letter_id,
                                                                   RegisterEntry.cancels_id.is_not(None)).limit(1)))
            rows = [] if excluded else s.execute(
                select(Delivery, Unit).join(Unit, Unit.id == Delivery.unit_id)
                .where(Delivery.letter_id == letter_id, owes_receipt(Delivery), Delivery.sent_at <= at)
                .order_by(Unit.key)).all()
            made = _made_steps(s, "receipt", [f"delivery:{d.id}" for d, _ in rows])
            sender = s.get(Unit, letter.unit_id)
            todo, already = [], []
            for delivery, unit in rows:
                step = f"after-{(at - as_thai(delivery.sent_at)).days}d"
                about = f"delivery:{delivery.id}"
                due = describe(s, "receipt", about, unit, _addressee(s, unit, sender, policy), step, at.date())
                # The same step again goes through the claim: it finds the row, and finishes it if unfinished.
                fresh = _not_made(made, about, unit.id, step) or step in made.get((about, unit.id), [])
                (todo if fresh else already).append(due)
        return [_result(settings, due, "already") for due in already] + _make_each(db, settings, todo, actor, at)


def resend_acknowledgements(db: Database, settings: Settings, at: datetime | None = None, *,
                            actor: str = "saraban") -> list[ReminderResult]:
    """The daily run's second part: every acknowledgement e-mail whose last send failed is sent once more
    (saraban.programmes.applications.resend_failed_acknowledgements), as results of kind
    ``acknowledgement`` (status ``completed``) beside the reminders."""
    from saraban.programmes.applications import resend_failed_acknowledgements

    results = []
    for r in resend_failed_acknowledgements(db, settings, actor=actor, at=at):
        mail = r.result
        status = "no-address" if mail is None else "sent" if mail.ok else "refused" if mail.refused else "failed"
        results.append(ReminderResult(
            "acknowledgement", f"application:{r.application_id}", "resend", r.unit_key, r.unit_name, r.unit_key,
            r.unit_name, ", ".join(mail.to) if mail else None, "ตอบรับการสมัคร", "completed", letter_id=r.letter_id,
            ref=r.ref, mail_status=status, error=mail.error if mail and not mail.ok else None))
    return results


def failed_sends(results: Sequence[ReminderResult]) -> int:
    """How many e-mails of a run failed or were refused."""
    return sum(r.mail_status in ("failed", "refused") for r in results)


__all__ = ["Due", "ReminderError", "ReminderPolicy", "ReminderResult", "deadline_step", "describe", "due_reminders",
           "failed_sends", "make_reminders", "policy_from_env", "receipt_step", "remind_now",
           "reminder_history", "resend_acknowledgements", "step_days", "unfinished_reminders"]
