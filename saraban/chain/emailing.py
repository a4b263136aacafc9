"""E-mail delivery of letters (issue 12 §6): each recipient's copy, as its PDF named by the reference number,
to the unit's e-mail address, with the copy's tracking link, exactly once.

The regulation's fourth amendment (๒๕๖๔) makes e-mail a channel of official letters, except for ลับที่สุด,
which is refused here. One ``Mailing`` row per delivery says where its e-mail is:

- ``pending``: asked for, not tried yet; ``sending``: a run has claimed it (``claim``, ``claimed_at``);
- ``sent``: the server accepted it (``mailed_at``): never sent again;
- ``failed``: the server could not be reached or answered with a temporary error: the next run tries again;
- ``refused`` (the server refused the address) and ``no-address`` (the directory has none): tried again only
  once the unit's address in the directory differs from the one tried.

A run claims a few rows at a time with one conditional ``UPDATE`` (only rows still to send; a concurrent run's
claim makes them no longer so), sends them, then writes each outcome, with the event of the send
(saraban.notify.mail.record_mail, purpose ``letter.mailed``, about ``delivery:<id>``): so two runs at the
same moment never send one copy twice, and ``saraban status`` lists the failures (resolved by a later send).
A run that dies after claiming leaves its rows ``sending``; after ``CLAIM_LEASE`` another run takes them
again, with the same Message-ID (the receiving side sees one message) should the first have sent it.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from saraban.chain.cancellations import cancellation_of
from saraban.chain.mailing import PdfError, copy_url, letter_pdf, mail_configured, make_pdfs, pdf_name, verify_url
from saraban.kernel.clock import at_or_now, now
from saraban.kernel.settings import Settings
from saraban.kernel.wording import WordingError, wording_paragraphs
from saraban.notify.mail import NOT_CONFIGURED, MailResult, OutgoingMail, message_id_for, record_mail, send_mail
from saraban.records.db import Database
from saraban.records.models import Delivery, Letter, Mailing, Unit
from thai_text import format_thai_date, thai_digits_in_prose, to_thai_digits

PURPOSE = "letter.mailed"  # the event's kind when it went through (record_mail's ``kind``)
WORDING = "email/letter_delivery"
CLAIM_CHUNK = 20  # rows claimed at a time: a run holds only what it is about to send
CLAIM_LEASE = timedelta(minutes=30)  # a claim older than this is a dead run's: taken again
NOT_BY_EMAIL = "ลับที่สุด"  # the one secrecy the regulation keeps off electronic channels
NO_ADDRESS = "ไม่มีที่อยู่อีเมลของหน่วยงานในทำเนียบ / the unit has no e-mail address in the directory"
STATUS_TH = {"pending": "รอส่งทางอีเมล", "sending": "กำลังส่งทางอีเมล", "sent": "ส่งทางอีเมลแล้ว",
             "refused": "ที่อยู่อีเมลถูกปฏิเสธ", "failed": "ส่งอีเมลไม่สำเร็จ (ส่งซ้ำได้)",
             "no-address": "ไม่มีที่อยู่อีเมลในทำเนียบ"}
PROBLEMS = ("refused", "failed", "no-address")


class EmailingError(ValueError):
    """E-mail delivery refused before anything was sent or marked (no mail server, a cancelled letter ...)."""


@dataclass(frozen=True)
class CopyMail:
    """What one run did with one copy's e-mail."""

    delivery_id: int
    letter_id: int
    unit_key: str
    unit_name: str
    address: str | None
    status: str  # sent | refused | failed | no-address
    error: str | None

    @property
    def label(self) -> str:
        return STATUS_TH.get(self.status, self.status)


@dataclass(frozen=True)
class EmailRun:
    """A run's results (the copies it sent or tried) and, per status, every copy of the letters."""

    results: list[CopyMail]
    totals: dict[str, int]

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(r.status for r in self.results))

    def text(self) -> str:
        """One line for a clerk: what this run did, and where every copy stands."""
        done = ", ".join(f"{STATUS_TH[k]} {to_thai_digits(n)}" for k, n in sorted(self.counts.items())) or "ไม่มี"
        now = ", ".join(f"{STATUS_TH.get(k, k)} {to_thai_digits(n)}" for k, n in sorted(self.totals.items()))
        return (f"ส่งทางอีเมลครั้งนี้: {done} (ทั้งหมด: {now}) / e-mailed now: {self.counts or 'none'}; all copies: "
                f"{self.totals}")


def _refusal(s: Session, letter_id: int) -> str | None:
    letter = s.get(Letter, letter_id)
    if letter is None:
        return f"ไม่พบหนังสือหมายเลข {letter_id} / no letter with id {letter_id}"
    if (letter.spec or {}).get("secrecy") == NOT_BY_EMAIL:
        return (f"หนังสือ ที่ {letter.ref_text} เป็นชั้นลับที่สุด ส่งทางอีเมลไม่ได้ / ที่ {letter.ref_text} is secret "
                "(ลับที่สุด): it never goes by e-mail")
    if (cancelled := cancellation_of(s, letter_id)) is not None:
        return (f"หนังสือ ที่ {letter.ref_text} ถูกยกเลิกแล้ว ({cancelled.reason}) จึงส่งทางอีเมลไม่ได้ / "
                f"ที่ {letter.ref_text} was cancelled ({cancelled.reason}): it is not e-mailed")
    return None


def check_emailing(db: Database, settings: Settings, letter_ids: Sequence[int] = (), *,
                   secrecy: str | None = None) -> None:
    """Refuse (EmailingError) what cannot be e-mailed, before a letter is issued (``secrecy``: the spec's, as
    the letter is not recorded yet) or a copy marked."""
    if secrecy == NOT_BY_EMAIL:
        raise EmailingError("หนังสือชั้นลับที่สุดส่งทางอีเมลไม่ได้ ไม่มีการออกเลข / a ลับที่สุด letter never goes by "
                            "e-mail; nothing was numbered (issue it without --email)")
    if not mail_configured(settings):
        raise EmailingError(f"ยังไม่ได้ตั้งค่าเซิร์ฟเวอร์อีเมล (SARABAN_SMTP_HOST) จึงส่งทางอีเมลไม่ได้ ไม่มีการส่งหรือบันทึก"
                            f"ว่าส่งแล้ว / {NOT_CONFIGURED}; nothing was sent or marked as sent")
    with db.reading() as s:
        for letter_id in letter_ids:
            if (why := _refusal(s, letter_id)) is not None:
                raise EmailingError(why)


def _ask(db: Database, letter_ids: Sequence[int]) -> None:
    """A ``pending`` row for every delivery of the letters that has none (concurrent runs: one row)."""
    insert = postgresql.insert if db.dialect == "postgresql" else sqlite.insert
    rows = select(Delivery.id, Delivery.letter_id, Delivery.unit_id, literal("pending"), literal(0)).where(
        Delivery.letter_id.in_(letter_ids), ~exists().where(Mailing.delivery_id == Delivery.id))
    with db.transaction() as s:
        s.execute(insert(Mailing).from_select(["delivery_id", "letter_id", "unit_id", "status", "attempts"], rows)
                  .on_conflict_do_nothing(index_elements=["delivery_id"]))


def _to_send(at: datetime):
    """SQL: the rows a run may claim (see the module's docstring)."""
    current = select(Unit.email).where(Unit.id == Mailing.unit_id).scalar_subquery()
    return or_(Mailing.status.in_(("pending", "failed")),
               and_(Mailing.status == "sending", Mailing.claimed_at < at - CLAIM_LEASE),
               and_(Mailing.status.in_(("refused", "no-address")), Mailing.address.is_distinct_from(current)))


def _claim(db: Database, letter_ids: Sequence[int], token: str, after: int) -> list[int]:
    """Claim up to CLAIM_CHUNK rows still to send, of ids above ``after`` (a run goes through the rows once:
    one that failed now waits for the next run); [] when none is left. The UPDATE checks again what the
    SELECT chose: a row another run claimed meanwhile is no longer to send and stays its. A claim is dated
    by the clock when it is made (not the run's ``at``), so a long run's later claims are not stale at once."""
    while True:
        at = now()
        with db.transaction() as s:
            chosen = s.scalars(select(Mailing.id).where(Mailing.letter_id.in_(letter_ids), Mailing.id > after,
                                                        _to_send(at)).order_by(Mailing.id).limit(CLAIM_CHUNK)).all()
            if not chosen:
                return []
            s.execute(update(Mailing).where(Mailing.id.in_(chosen), _to_send(at))
                      .values(status="sending", claim=token, claimed_at=at)
                      .execution_options(synchronize_session=False))
            mine = s.scalars(select(Mailing.id).where(Mailing.id.in_(chosen), Mailing.claim == token,
                                                      Mailing.status == "sending")).all()
        if mine:
            return list(mine)
        after = max(chosen)


def _owner_text(letter: Letter) -> str:
    owner = (letter.spec or {}).get("owner") or {}
    parts = [owner.get("unit")] + [f"โทร. {owner['phone']}" if owner.get("phone") else None]
    return " ".join(p for p in parts if p)


def compose(settings: Settings, letter: Letter, sender: Unit, unit: Unit, token: str) -> tuple[str, str]:
    """The subject and body of the e-mail carrying ``unit``'s copy (templates/wording/email/letter_delivery)."""
    paragraphs = wording_paragraphs(
        settings, WORDING, addressee=unit.name, sender=sender.printed_sender, owner=_owner_text(letter),
        ref=letter.ref_text, letter_date=format_thai_date(letter.letter_date), subject=letter.subject,
        urgency=(letter.spec or {}).get("urgency") or "", tracking_url=copy_url(settings, token),
        verify_url=verify_url(settings))
    if len(paragraphs) < 2:
        raise WordingError(f"wording template {WORDING}.txt.j2: expected a subject line, a blank line, then the body")
    subject, body = paragraphs[0], "\n\n".join(paragraphs[1:])
    return thai_digits_in_prose(subject), thai_digits_in_prose(body) + "\n"


def _still_mine(db: Database, mailing_id: int, token: str) -> bool:
    """Renew this run's claim on the row just before sending; False when the claim was lost (another run
    took the row after the lease ran out): then this run does not send it."""
    with db.transaction() as s:
        renewed = s.execute(update(Mailing).where(Mailing.id == mailing_id, Mailing.claim == token,
                                                  Mailing.status == "sending").values(claimed_at=now())
                            .execution_options(synchronize_session=False))
    return renewed.rowcount == 1


def _send(db: Database, settings: Settings, mailing_id: int, send: Callable[..., MailResult]
          ) -> tuple[CopyMail, MailResult, str]:
    with db.reading() as s:
        m = s.get(Mailing, mailing_id)
        d, letter, unit = s.get(Delivery, m.delivery_id), s.get(Letter, m.letter_id), s.get(Unit, m.unit_id)
        sender = s.get(Unit, letter.unit_id)
    address = (unit.email or "").strip() or None
    message_id = message_id_for(settings, "copy", d.id, address or "")
    if address is None:
        result = MailResult(False, [], {}, 0, NO_ADDRESS, message_id)
    else:
        try:
            subject, body = compose(settings, letter, sender, unit, d.token)
            attachment = letter_pdf(db, settings, letter.id, unit.id)
        except (PdfError, WordingError) as e:
            result = MailResult(False, [address], {}, 0, f"the e-mail could not be made: {e}", message_id)
        else:
            result = send(settings, OutgoingMail(to=[address], subject=subject, body=body, attachments=[attachment]),
                          message_id=message_id)
    status = "sent" if result.ok else "no-address" if address is None else "refused" if result.refused else "failed"
    copy = CopyMail(d.id, letter.id, unit.key, unit.name, address, status, result.error)
    return copy, result, letter.subject


def _record(db: Database, mailing_id: int, token: str, copy: CopyMail, result: MailResult, subject: str,
            actor: str, at: datetime) -> None:
    with db.transaction() as s:
        m = s.get(Mailing, mailing_id)
        letter = s.get(Letter, m.letter_id)
        done = s.execute(update(Mailing).where(Mailing.id == mailing_id, Mailing.claim == token).values(
            status=copy.status, address=copy.address, claim=None, attempts=Mailing.attempts + 1,
            mailed_at=at if copy.status == "sent" else None, message_id=result.message_id,
            error=None if result.ok else "; ".join([*([result.error] if result.error else []),
                                                    *(f"{a}: {r}" for a, r in result.refused.items())]))
            .execution_options(synchronize_session=False))
        if done.rowcount != 1:  # the claim was lost meanwhile: the run that holds it records the row
            return
        record_mail(s, result, actor=actor, at=at, kind=PURPOSE, unit_id=m.unit_id, letter_id=m.letter_id,
                    delivery_id=m.delivery_id, subject=subject, office_id=letter.unit_id,
                    about=f"delivery:{m.delivery_id}")


def email_copies(db: Database, settings: Settings, letter_ids: int | Sequence[int], *, actor: str = "saraban",
                 at: datetime | None = None, send: Callable[..., MailResult] = send_mail) -> EmailRun:
    """E-mail every copy of the letters that is still to send (module docstring): first run, all of them;
    again, only the failed ones (and those whose address was corrected). No mail server configured, a
    cancelled or ลับที่สุด letter: EmailingError and nothing marked. The PDFs missing are made first (one
    LibreOffice run); PdfError when they cannot be, nothing marked either."""
    letter_ids = [letter_ids] if isinstance(letter_ids, int) else list(dict.fromkeys(letter_ids))
    at = at_or_now(at)
    check_emailing(db, settings, letter_ids)
    make_pdfs(db, settings, letter_ids)
    _ask(db, letter_ids)
    token = secrets.token_hex(8)
    results: list[CopyMail] = []
    after = 0
    while claimed := _claim(db, letter_ids, token, after):
        after = max(claimed)
        for mailing_id in claimed:
            if not _still_mine(db, mailing_id, token):
                continue
            copy, result, subject = _send(db, settings, mailing_id, send)
            _record(db, mailing_id, token, copy, result, subject, actor, at)
            results.append(copy)
    with db.reading() as s:
        totals = mail_totals(s, letter_ids)
    return EmailRun(results, totals)


def mail_totals(session: Session, letter_ids: Sequence[int]) -> dict[str, int]:
    """Per status, the copies of the letters asked to go by e-mail."""
    rows = session.execute(select(Mailing.status, func.count()).where(Mailing.letter_id.in_(letter_ids))
                           .group_by(Mailing.status)).all()
    return {status: int(n) for status, n in rows}


@dataclass(frozen=True)
class MailState:
    """One copy's e-mail as the status shows it."""

    delivery_id: int
    status: str
    address: str | None
    error: str | None
    at: datetime | None  # sent, or last tried

    @property
    def label(self) -> str:
        return STATUS_TH.get(self.status, self.status)

    @property
    def problem(self) -> bool:
        return self.status in PROBLEMS


def mail_states(session: Session, delivery_ids: Sequence[int]) -> dict[int, MailState]:
    """The e-mail of each of these deliveries that was asked to go by e-mail, by delivery id."""
    found: dict[int, MailState] = {}
    ids = list(delivery_ids)
    for start in range(0, len(ids), 1000):
        for m in session.scalars(select(Mailing).where(Mailing.delivery_id.in_(ids[start:start + 1000]))):
            found[m.delivery_id] = MailState(m.delivery_id, m.status, m.address, m.error, m.mailed_at or m.claimed_at)
    return found


__all__ = ["STATUS_TH", "CopyMail", "EmailRun", "EmailingError", "MailState", "check_emailing", "compose",
           "email_copies", "mail_states", "mail_totals", "pdf_name"]
