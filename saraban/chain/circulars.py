"""Issue, receive and forward circulars (หนังสือเวียน).

Every step is one transaction that numbers and records together, and every step happens exactly once:
issuing the same spec from the same unit again returns the letter already issued (to more units: adds
them under the same number); receiving twice returns the first receipt; forwarding a delivery twice
returns the letter that already forwarded it. Callers doing the same act at the same moment get one
result and the same answer: each act locks the row it is about first (PostgreSQL; SQLite's BEGIN
IMMEDIATE already serialises writers), then checks, then acts, and unique constraints (migration 0004)
back the locks: a caller they refuse rolls back and finds the result (``_exactly_once``).
Files (master .docx, each recipient's copy with its own tracking QR code, PDFs, stamped PDFs) are made
after the transaction, outside any write transaction, and remade if missing, so a crash between the two
loses nothing and a national issue's rendering does not hold up anyone's ลงรับ.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache, partial
from pathlib import Path, PurePosixPath
from typing import NamedTuple, TypeVar

from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from saraban.chain.cancellations import cancellation_of, cancelled_message, is_cancelled
from saraban.chain.distribution import describe_recipients, forward_spec, owner_block, owner_of
from saraban.chain.expectations import (
    NextHop,
    chain_recipients,
    expected_to_forward,
    expects_to_forward,
    next_hop,
)
from saraban.chain.numbering import LetterDateError, check_letter_date, letter_code_problem, register_year
from saraban.chain.tracking import longest_tracking_link, new_token, secret_key, tracking_url
from saraban.chain.verification import issued_row, record_issued, verify_link
from saraban.directory.levels import DirectoryError
from saraban.directory.selectors import select_units
from saraban.directory.units import descendants, get_unit
from saraban.kernel.clock import at_or_now
from saraban.kernel.files import IssuedFileError
from saraban.kernel.settings import Settings
from saraban.kernel.text_input import TextInputError, clean_text, normalise_text, text_problem
from saraban.kernel.wording import WordingError, wording
from saraban.letters.attachments import attachment_path, names_a_group, render_attachment_docx
from saraban.letters.paper.copies import CopyMaker
from saraban.letters.paper.merge import append_pages
from saraban.letters.paper.pdf import docx_to_pdf
from saraban.letters.paper.qr import placeholder_qr_png
from saraban.letters.paper.stamps import stamped_pdf
from saraban.letters.preflight import NotRenderable, check_renderable
from saraban.letters.shapes import renderer_for
from saraban.letters.spec import LetterSpec, SpecError, parse_spec
from saraban.records.data_folder import note_issued
from saraban.records.db import Database
from saraban.records.events import event_row, record_event
from saraban.records.file_store import FileStore, file_store, sibling
from saraban.records.locks import letter_lock, letter_locks
from saraban.records.models import Delivery, Event, Letter, RegisterEntry, Unit
from saraban.records.registers import (
    EntryText,
    add_entries,
    add_entry_each,
    add_numbered_entry,
    cancel_entry,
    take_numbers,
)
from thai_text import RefNo, format_thai_date

T = TypeVar("T")
CHUNK = 500  # rows per statement or per short transaction when recording many
LETTERS_AT_ONCE = 100  # letters whose files are made together (locked, read, written and recorded together)


class CircularError(ValueError):
    """A request the rules refuse (not addressed to that unit, not received yet, no letter code ...)."""


@dataclass(frozen=True)
class Issued:
    letter_id: int
    ref: str  # Arabic digits, e.g. "มท 0820.2/ว 1144"
    recipients: int
    new: bool
    added: int = 0  # deliveries made by this call: every recipient when new; recipients added when issued before
    # When new: the letter and its deliveries as made in this transaction (carry_down's hop receives them
    # without reading them back).
    sent: _Sent | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Receipt:
    letter_id: int
    unit_key: str
    year: int
    number: int
    received_at: datetime
    new: bool
    stamped_pdf_key: str | None = None  # in the file store (saraban.records.file_store)


def _preflight(spec: LetterSpec, settings: Settings, setup_ok: set[str] | None = None) -> None:
    """Refuse, before any number is taken, a letter that could not be rendered (saraban.letters.preflight), with
    the QR code every issued letter carries (its recipients' tracking links, its file copy's verify link: the
    same place and size). ``setup_ok``: see preflight.renderability_problems."""
    try:
        check_renderable(spec, settings, tracking_link=longest_tracking_link(settings.base_url), setup_ok=setup_ok)
    except NotRenderable as e:
        raise CircularError(str(e)) from None


def letter_folder(letter: Letter, unit: Unit) -> str:
    """The folder of a letter's files in the file store, a key prefix: ``letters/<unit>-<year>-w<number>``."""
    slug = re.sub(r"[^0-9A-Za-z.]+", "-", f"{unit.key}-{letter.year}-{'w' if letter.circular else 's'}"
                                          f"{letter.number}")
    return f"letters/{slug}"


def find_letter(session: Session, ident: str | int) -> Letter:
    """A letter by id (``17``) or by reference number (``มท 0820.2/ว 1144``, Thai or Arabic digits)."""
    text = str(ident).strip()
    if text.isdigit():
        letter = session.get(Letter, int(text))
        if letter is None:
            raise CircularError(f"ไม่พบหนังสือหมายเลข {text} / no letter with id {text}")
        return letter
    try:
        ref = RefNo.parse(text)
    except ValueError as e:
        raise CircularError(f"'{text}' ไม่ใช่หมายเลขหรือเลขที่หนังสือ / '{text}' is neither a letter id nor a "
                            f"reference number: {e}") from None
    found = session.scalars(select(Letter).where(Letter.ref_text == ref.format("arabic"))).all()
    if not found:
        raise CircularError(f"ไม่พบหนังสือ ที่ {ref} / no letter ที่ {ref}")
    if len(found) > 1:
        ids = ", ".join(f"{x.id} ({x.letter_date.isoformat()})" for x in found)
        raise CircularError(f"มีหนังสือ ที่ {ref} หลายฉบับ (ปีละฉบับ) ระบุหมายเลขหนังสือ: {ids} / several letters "
                            f"carry ที่ {ref} (one per year): give the id, one of {ids}")
    return found[0]


def _recipients(session: Session, to: str | Sequence[Unit], sender: Unit) -> list[Unit]:
    units = select_units(session, to) if isinstance(to, str) else list(to or [])
    units = [u for u in units if u.id != sender.id]
    if not units:
        raise CircularError(f"ไม่มีผู้รับ / no recipients: '{to or ''}' selects no unit other than the sender")
    return units


def issue_circular(db: Database, settings: Settings, spec: LetterSpec, *, sender_key: str,
                   to: str | Sequence[Unit] | None, actor: str = "saraban", at: datetime | None = None,
                   forwards: Delivery | None = None, circular: bool = True,
                   date_reason: str | None = None, files: bool = True, uncertain_code_ok: bool = False) -> Issued:
    """Number a circular in the sender's ว series (an ordinary letter, ``circular=False``, in its send
    series), record it in the send register, make one delivery per recipient, then render the letter and
    every recipient's copy. An ordinary letter may go to no unit of the directory (``to=None``: a letter
    to outside, sent on paper or by e-mail).

    The number is of the register of ``at``'s year (the moment it is taken, now unless a flow simulates
    the clock); a letter dated more than MAX_DATE_DRIFT_DAYS from that day needs ``date_reason`` (kept in
    the event and the register line's note). Whatever would stop the letter being rendered is refused
    before any number is taken (saraban.letters.preflight). ``files=False``: the caller makes the files
    (``make_files``; the web face does it in the background and shows the progress). A sender whose letter
    code the directory marks as a guess is refused unless ``uncertain_code_ok`` (flows that run unattended:
    see saraban.chain.numbering.letter_code_problem)."""
    if spec.ref is not None:
        raise SpecError(["ref: leave it out when issuing: the send register gives the number"])
    at = at_or_now(at)
    _preflight(spec, settings)
    spec = spec.model_copy(update={"circular": circular})
    forwards_id = forwards.id if forwards is not None else None
    if isinstance(to, str) and to:  # resolved before: the write transaction (and lock) only checks and writes
        with db.reading() as s:
            to = select_units(s, to)
    issued = _exactly_once(db, lambda s: _issue_in(s, settings, spec, sender_key, to, actor, at, forwards_id,
                                                   date_reason, uncertain_code_ok))
    if files:
        make_files(db, settings, [issued.letter_id])
    return issued


class _Lost(CircularError):
    """A guarded write found the act done by a concurrent caller: roll back and look again."""


def _exactly_once(db: Database, act: Callable[[Session], T]) -> T:
    """Run ``act`` in one transaction; when a unique constraint (or a guarded write) says a concurrent
    caller did the same act first, roll back and run it again: it then finds that result and returns it."""
    for attempt in range(3):
        try:
            with db.transaction() as s:
                return act(s)
        except (IntegrityError, _Lost):
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _lock(s: Session, model: type[Unit] | type[Delivery], ids: Sequence[int]) -> None:
    """PostgreSQL: lock the rows an act is about (FOR NO KEY UPDATE: rows referencing them may still be
    inserted) so that callers of the same act queue here, then see what the first did. SQLite: nothing to
    do, BEGIN IMMEDIATE has already serialised the writers."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(select(model.id).where(model.id.in_(ids)).order_by(model.id).with_for_update(key_share=True))


def _issue_in(s: Session, settings: Settings, spec: LetterSpec, sender: str | Unit, to: str | Sequence[Unit] | None,
              actor: str, at: datetime, forwards_id: int | None, date_reason: str | None,
              uncertain_code_ok: bool = False, *, unforwarded: bool = False) -> Issued:
    """"Issued already?" and the numbering are one critical section: the sender's row is locked first.
    ``sender``: its key, or the unit as read in this transaction. ``unforwarded``: the caller (forward) has
    locked the delivery ``forwards_id`` and found it not forwarded: that lock is the critical section (the
    numbering itself is one statement, and uq_letter_forwards backs the rest), nothing issued to look up."""
    spec_hash = spec.hash()
    sender = sender if isinstance(sender, Unit) else get_unit(s, sender)
    if not unforwarded:
        _lock(s, Unit, [sender.id])
    if problem := letter_code_problem(sender, uncertain_ok=uncertain_code_ok):
        raise CircularError(problem)
    existing = None if unforwarded else _already_issued(s, sender, spec_hash, forwards_id)
    if existing is not None:
        added = 0
        if forwards_id is None and to:  # issued before: the units not yet among its recipients are added
            added = _add_recipients(s, settings, existing, _recipients(s, to, sender), actor, at)
        return Issued(existing.id, existing.ref_text, _count_deliveries(s, existing.id), new=False, added=added)
    recipients = _recipients(s, to, sender) if spec.circular or to else []
    try:
        date_reason = check_letter_date(spec.date, at, date_reason)
    except LetterDateError as e:
        raise CircularError(str(e)) from None
    return _record_issue(s, settings, spec, spec_hash, sender, recipients, actor, at, forwards_id,
                         date_reason=date_reason)


def _already_issued(s: Session, sender: Unit, spec_hash: str, forwards_id: int | None) -> Letter | None:
    if forwards_id is not None:
        return s.scalar(select(Letter).where(Letter.forwards_delivery_id == forwards_id))
    return s.scalar(select(Letter).where(Letter.unit_id == sender.id, Letter.spec_hash == spec_hash))


def _add_recipients(s: Session, settings: Settings, letter: Letter, recipients: list[Unit], actor: str,
                    at: datetime) -> int:
    """Deliveries of an issued letter for the units that do not have one yet, under the same number."""
    have = set(s.scalars(select(Delivery.unit_id).where(Delivery.letter_id == letter.id)))
    new = [u for u in recipients if u.id not in have]
    if new:
        if (cancelled := cancellation_of(s, letter.id)) is not None:
            raise CircularError(f"หนังสือ ที่ {letter.ref_text} ถูกยกเลิกแล้ว ({cancelled.reason}) จึงส่งเพิ่มไม่ได้ / "
                                f"ที่ {letter.ref_text} was cancelled ({cancelled.reason}): it cannot be sent to "
                                "more units")
        key = secret_key(settings)
        s.execute(insert(Delivery), [
            {"letter_id": letter.id, "unit_id": u.id, "token": new_token(key), "sent_at": at} for u in new])
        record_event(s, "letter.recipients_added", actor=actor, at=at, unit_id=letter.unit_id,
                     office_id=letter.unit_id, letter_id=letter.id,
                     data={"ref": letter.ref_text, "added": len(new), "units": [u.key for u in new]})
    return len(new)


def _count_deliveries(s: Session, letter_id: int) -> int:
    return len(s.scalars(select(Delivery.id).where(Delivery.letter_id == letter_id)).all())


def _record_issue(s: Session, settings: Settings, spec: LetterSpec, spec_hash: str, sender: Unit,
                  recipients: list[Unit], actor: str, at: datetime, forwards_id: int | None, *,
                  date_reason: str | None = None) -> Issued:
    year = register_year(at)  # the moment the number is taken, not the date written on the letter
    series = "circular" if spec.circular else "send"
    (number,) = take_numbers(s, sender.id, year, series)
    try:
        ref = RefNo.parse(f"{sender.letter_code}/{'ว ' if spec.circular else ''}{number}")
    except ValueError as e:
        raise CircularError(f"{sender.key}: รหัสหนังสือ '{sender.letter_code}' ใช้ไม่ได้ / letter code "
                            f"'{sender.letter_code}' is not usable: {e}") from None
    numbered = spec.model_copy(update={"ref": ref})
    ref_text = ref.format("arabic")
    letter_id = s.execute(_NEW_LETTER, {
        "unit_id": sender.id, "kind": spec.kind, "circular": spec.circular, "ref_text": ref_text, "year": year,
        "number": number, "letter_date": spec.date, "subject": spec.subject,
        "spec": numbered.model_dump(mode="json") | {"ref": ref_text}, "spec_hash": spec_hash, "created_at": at,
        "forwards_delivery_id": forwards_id}).scalar_one()
    add_numbered_entry(s, sender.id, year, series, number, EntryText(
        ref_text=ref_text, letter_date=spec.date, from_text=sender.printed_sender, to_text=spec.to,
        subject=spec.subject, action=f"ส่ง {len(recipients)} หน่วยงาน" if recipients else None, letter_id=letter_id,
        note=f"ลงวันที่ต่างจากวันออกเลข: {date_reason}" if date_reason else None),
        at=at, actor=actor)
    key = secret_key(settings)
    made: dict[int, int] = {}  # delivery id by unit id
    if recipients:  # an empty list would insert one row of NULLs
        rows = [{"letter_id": letter_id, "unit_id": u.id, "token": new_token(key), "sent_at": at} for u in recipients]
        made = dict(s.execute(_NEW_DELIVERIES, rows).all())  # RETURNING (unit id, delivery id)
    events = [event_row("letter.issued", actor=actor, at=at, unit_id=sender.id, office_id=sender.id,
                        letter_id=letter_id, data={"ref": ref_text, "recipients": len(recipients)}
                        | ({"letter_date": spec.date.isoformat(), "date_reason": date_reason} if date_reason else {}))]
    if forwards_id is not None:
        # Guarded: a delivery is forwarded once (the lock taken by forward() makes this hold already).
        forwards = s.get(Delivery, forwards_id)
        if not s.execute(_FORWARDED, {"forwarded": forwards_id, "by": letter_id}).rowcount:
            raise _Lost("ส่งต่อไปแล้ว / forwarded meanwhile by another caller")
        events.append(event_row("delivery.forwarded", actor=actor, at=at, unit_id=sender.id, office_id=sender.id,
                                letter_id=forwards.letter_id, delivery_id=forwards.id, data={"by_letter": letter_id}))
    s.execute(_NEW_EVENTS, events)
    sent = _Sent(_Received(letter_id, ref_text, spec.date, spec.subject, sender.printed_sender),
                 [_Delivered(made[u.id], None, None, None, None, u.id, u.key, u.name) for u in recipients])
    return Issued(letter_id, ref_text, len(recipients), new=True, added=len(recipients), sent=sent)


# Core statements (no ORM objects: a hop writes rows it does not read back), built once.
_NEW_LETTER = insert(Letter.__table__).returning(Letter.__table__.c.id)
_NEW_DELIVERIES = insert(Delivery.__table__).returning(Delivery.__table__.c.unit_id, Delivery.__table__.c.id)
_NEW_EVENTS = insert(Event.__table__)
_FORWARDED = (update(Delivery.__table__)
              .where(Delivery.__table__.c.id == bindparam("forwarded"),
                     Delivery.__table__.c.forwarded_letter_id.is_(None))
              .values(forwarded_letter_id=bindparam("by")))


def make_files(db: Database, settings: Settings, letter_ids: Sequence[int], *, pdf: bool = False,
               note: bool = True) -> None:
    """Render what is missing: each letter's own file copy (letter.docx: what the sender keeps, its QR the
    letter's public check, ``/verify?ref=..&date=..``) and each recipient's copy (its own tracking QR), both
    made from one master carrying a placeholder QR; with ``pdf``, the PDFs too: the master's
    (``master.pdf``, one LibreOffice document per letter, all in one run) and from it the file copy's and
    every copy's, the QR swapped in.

    No write transaction is open while rendering (SQLite's write lock would stop every ลงรับ meanwhile):
    read what to render in a short transaction, render to files, then record the paths in another short
    one, a chunk of copies at a time. Two callers making the same letter's files queue on a file lock
    of that letter (the second then finds them made). ``note=False``: the caller notes what was issued
    (records.data_folder.note_issued) when its run ends (carry_down: once, not after every hop)."""
    letter_ids = list(dict.fromkeys(letter_ids))
    if not pdf:
        _make_docx(db, settings, letter_ids)
    masters = _Masters(settings)  # the PDFs': each letter's master is rendered once for its PDF and its copies
    # A forwarding letter's PDF carries the received letter's PDF copy: that letter's files come first.
    for generation in (pdf_generations(db, letter_ids, settings) if pdf else []):
        for letter_id in generation:
            with _letter_lock(db, settings, letter_id):
                _make_master(db, settings, letter_id, masters)
        _make_pdfs(db, settings, generation, masters)
        for letter_id in generation:
            with _letter_lock(db, settings, letter_id):
                _make_copies(db, settings, letter_id, masters)
    if note:
        note_issued(db, settings)  # the output folder remembers what was issued (records.data_folder)


def pdf_generations(db: Database, letter_ids: Sequence[int], settings: Settings | None = None) -> list[list[int]]:
    """``letter_ids`` in the order their PDFs can be made: a forwarding letter after the letter it forwards
    when the copy it received has no PDF yet (that letter is then added, its files made first). The letters
    of one generation do not wait for each other: a flow may make them in parallel, a generation at a time.
    With ``settings``, a received copy's PDF counts as made only if it is still in the file store."""
    store = file_store(settings) if settings is not None else None
    upstream: dict[int, int | None] = {}
    todo = list(letter_ids)
    with db.reading() as s:
        while todo:
            batch = [i for i in dict.fromkeys(todo) if i not in upstream]
            todo = []
            for start in range(0, len(batch), CHUNK):
                rows = s.execute(select(Letter.id, Delivery.letter_id, Delivery.pdf_key).select_from(Letter)
                                 .outerjoin(Delivery, Delivery.id == Letter.forwards_delivery_id)
                                 .where(Letter.id.in_(batch[start:start + CHUNK]))).all()
                for letter_id, up, up_pdf in rows:
                    made = bool(up_pdf) if store is None else _made(store, up_pdf)
                    upstream[letter_id] = up if up is not None and not made else None
                    if upstream[letter_id] is not None:
                        todo.append(up)
    depth: dict[int, int] = {}

    def depth_of(letter_id: int) -> int:
        if letter_id not in depth:
            up = upstream.get(letter_id)
            depth[letter_id] = 0 if up is None else depth_of(up) + 1
        return depth[letter_id]

    order = list(dict.fromkeys([*letter_ids, *(i for i in upstream if i not in letter_ids)]))
    by_depth: dict[int, list[int]] = {}
    for letter_id in order:
        by_depth.setdefault(depth_of(letter_id), []).append(letter_id)
    return [by_depth[d] for d in sorted(by_depth)]


@contextmanager
def _letter_lock(db: Database, settings: Settings, letter_id: int) -> Iterator[None]:
    """One process at a time, on any machine, makes a letter's files (saraban.records.locks: PostgreSQL's
    advisory lock; a file lock of the data folder on SQLite)."""
    with letter_lock(db, settings, letter_id):
        yield


class _Masters:
    """The letters of one make_files call: each spec parsed once, each tracked master (:func:`_tracked_master`)
    rendered once and its CopyMaker set up once (the file copy and every recipient's copy are made from it)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._specs: dict[int, LetterSpec] = {}
        self._docx: dict[int, bytes] = {}
        self._makers: dict[int, CopyMaker] = {}

    def spec(self, letter: Letter) -> LetterSpec:
        if letter.id not in self._specs:
            self._specs[letter.id] = parse_spec(letter.spec)
        return self._specs[letter.id]

    def docx(self, letter: Letter) -> bytes:
        if letter.id not in self._docx:
            self._docx[letter.id] = _tracked_master(self.settings, self.spec(letter),
                                                    _placeholder(self.settings, letter))
        return self._docx[letter.id]

    def maker(self, letter: Letter) -> CopyMaker:
        """The .docx copies' maker (the PDF copies': made from the master PDF, in _make_copies)."""
        if letter.id not in self._makers:
            self._makers[letter.id] = CopyMaker(self.docx(letter), None, _placeholder(self.settings, letter))
        return self._makers[letter.id]


def _attaches(letter: Letter) -> bool:
    """Whether pages are attached after the letter's own (letter-แนบ.docx: reply form, list of recipients)."""
    return bool(letter.spec.get("attachments")) or names_a_group(letter.spec.get("to") or "")


def _own_files(store: FileStore, settings: Settings, letter: Letter, own: str, made: bool,
               recipients: list[str] | None, masters: _Masters) -> list[tuple[str, bytes]]:
    """What is missing of the sender's own file copy (``own``, letter.docx: the master with the letter's verify
    link in place of the placeholder QR) and of the pages attached after it (``recipients``: their names, None
    when nothing is attached)."""
    files = []
    if not made:
        files.append((own, masters.maker(letter).docx_for(_verify_link(settings, letter))))
    if recipients is not None and not store.exists(_attachment_key(own)):
        attached = render_attachment_docx(masters.spec(letter), settings, recipients=recipients)
        if attached is not None:
            files.append((_attachment_key(own), attached))
    return files


def _make_master(db: Database, settings: Settings, letter_id: int, masters: _Masters) -> None:
    """The sender's own file copy (letter.docx) and beside it the pages attached after it, if any
    (:func:`_own_files`)."""
    store = file_store(settings)
    with db.reading() as s:
        letter = s.get(Letter, letter_id)
        made = _made(store, letter.docx_key)
        own = letter.docx_key if made else f"{letter_folder(letter, s.get(Unit, letter.unit_id))}/letter.docx"
        attaches = _attaches(letter)
        if made and (not attaches or store.exists(_attachment_key(own))):
            return
        recipients = _recipient_names(s, letter_id) if attaches else None
    # written together: flushed to disk at once (saraban.kernel.files.write_new_many)
    store.write_new_many(_own_files(store, settings, letter, own, made, recipients, masters))
    if not made:
        with db.transaction() as s:
            s.execute(update(Letter).where(Letter.id == letter_id).values(docx_key=own, pdf_key=None))


def _make_docx(db: Database, settings: Settings, letter_ids: Sequence[int]) -> None:
    """make_files without PDFs: what is missing of each letter's own file copy, its attached pages and its
    recipients' copies. A batch of letters is locked together (letter_locks) and read in one transaction; their
    files are written together (flushed to disk at once) and recorded in one transaction, about CHUNK files
    at a time (a run that stops half-way keeps what it recorded). Each batch's masters are let go after it."""
    store = file_store(settings)
    for start in range(0, len(letter_ids), LETTERS_AT_ONCE):
        batch, masters = letter_ids[start:start + LETTERS_AT_ONCE], _Masters(settings)
        with letter_locks(db, settings, batch):
            with db.reading() as s:
                letters = s.execute(_LETTERS_AND_SENDERS, {"letters": batch}).all()
                copies: dict[int, list] = {}
                for row in s.execute(_COPIES_OF, {"letters": batch}):
                    copies.setdefault(row.letter_id, []).append(row)
            pending = _PendingDocx(db, store)
            for letter, sender in letters:
                made = _made(store, letter.docx_key)
                own = letter.docx_key if made else f"{letter_folder(letter, sender)}/letter.docx"
                rows = copies.get(letter.id, [])
                names = [r.name for r in rows] if _attaches(letter) else None
                for key, data in _own_files(store, settings, letter, own, made, names, masters):
                    pending.add(key, data, letter=letter.id if key == own else None)
                need = [r for r in rows if not _made(store, r.docx_key)]
                folder = sibling(own, "copies")
                for at in range(0, len(need), CHUNK):
                    chunk = need[at:at + CHUNK]
                    links = [tracking_url(settings.base_url, r.token) for r in chunk]
                    for r, data in zip(chunk, masters.maker(letter).docx_many(links), strict=True):
                        pending.add(f"{folder}/{r.key}.docx", data, delivery=r.id)
            pending.flush()


class _PendingDocx:
    """Files of _make_docx waiting to be written and recorded: written together and recorded in one transaction
    once CHUNK have come (and at the end). ``letter``: the file is that letter's own copy; ``delivery``: that
    delivery's copy; neither: recorded by nothing (the attached pages, found beside the letter's own)."""

    def __init__(self, db: Database, store: FileStore) -> None:
        self.db, self.store = db, store
        self.files: list[tuple[str, bytes, int | None, int | None]] = []

    def add(self, key: str, data: bytes, *, letter: int | None = None, delivery: int | None = None) -> None:
        self.files.append((key, data, letter, delivery))
        if len(self.files) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.files:
            return
        keys = self.store.write_new_many((key, data) for key, data, _, _ in self.files)
        letters = [{"letter": x, "key": key} for key, (_, _, x, _) in zip(keys, self.files, strict=True) if x]
        deliveries = [{"delivery": d, "key": key} for key, (_, _, _, d) in zip(keys, self.files, strict=True) if d]
        with self.db.transaction() as s:
            if letters:
                s.execute(_LETTER_FILED, letters)
            if deliveries:
                s.execute(_COPY_FILED, deliveries)
        self.files = []


# Built once (making a statement costs about as much as running one of these).
_LETTERS_AND_SENDERS = (select(Letter, Unit).join(Unit, Unit.id == Letter.unit_id)
                        .where(Letter.id.in_(bindparam("letters", expanding=True))).order_by(Letter.id))
_COPIES_OF = (select(Delivery.letter_id, Delivery.id, Delivery.token, Delivery.docx_key, Unit.key, Unit.name)
              .join(Unit, Unit.id == Delivery.unit_id)
              .where(Delivery.letter_id.in_(bindparam("letters", expanding=True))).order_by(Delivery.id))
_LETTER_FILED = (update(Letter.__table__).where(Letter.__table__.c.id == bindparam("letter"))
                 .values(docx_key=bindparam("key"), pdf_key=None))
_COPY_FILED = (update(Delivery.__table__).where(Delivery.__table__.c.id == bindparam("delivery"))
               .values(docx_key=bindparam("key")))


def _attachment_key(docx_key: str) -> str:
    """The key of a letter's attached pages (``letter-แนบ.docx``), beside its own."""
    return attachment_path(PurePosixPath(docx_key)).as_posix()


def _with_suffix(key: str, suffix: str) -> str:
    return PurePosixPath(key).with_suffix(suffix).as_posix()


def _recipient_names(s: Session, letter_id: int) -> list[str]:
    """The names of the units a letter went to, in the order it was sent (its recipients list page)."""
    return list(s.scalars(select(Unit.name).join(Delivery, Delivery.unit_id == Unit.id)
                          .where(Delivery.letter_id == letter_id).order_by(Delivery.id)))


def _tracked_master(settings: Settings, spec: LetterSpec, placeholder: bytes) -> bytes:
    """The master of the recipients' copies: the letter with a placeholder tracking QR (and its caption) that
    each copy swaps for its own. Rendering is deterministic, so it is made again whenever it is needed."""
    return renderer_for(settings).render(spec, tracking_png=placeholder)


def _verify_link(settings: Settings, letter: Letter) -> str:
    """What the QR code of the letter's own file copy carries: its check on /verify (saraban.chain.verification)."""
    return verify_link(settings.base_url, letter.ref_text, letter.letter_date)


def _placeholder(settings: Settings, letter: Letter) -> bytes:
    """The placeholder QR of a letter's master: as large as the longest code put in its place (the verify link
    of the file copy, the tracking link of each recipient's copy); each is drawn at its size (CopyMaker)."""
    return _placeholder_png(max(len(longest_tracking_link(settings.base_url).encode("utf-8")),
                                len(_verify_link(settings, letter).encode("utf-8"))))


@lru_cache(maxsize=16)
def _placeholder_png(length: int) -> bytes:
    return placeholder_qr_png(length)


def _master_pdf(docx_key: str) -> str:
    """The PDF master of the recipients' copies, kept beside the file copy (not a copy anyone is sent)."""
    return sibling(docx_key, "master.pdf")


def _make_pdfs(db: Database, settings: Settings, letter_ids: list[int], rendered: _Masters) -> None:
    """Each letter's PDF master (``master.pdf``: the letter with its placeholder QR, then its attached pages and
    the received letter a forward carries), all in one LibreOffice run: one document per letter, its attached
    pages in it; then its own PDF (the file copy), the master with the verify QR swapped in. The
    master stays beside it: the recipients' copies are made from it (:func:`_make_copies`)."""
    store = file_store(settings)
    with db.reading() as s:
        letters = [x for x in _rows_by_id(s, Letter, letter_ids) if _made(store, x.docx_key)]
        own = [x for x in letters if not _made(store, x.pdf_key)]
        sent = {i for start in range(0, len(letter_ids), CHUNK) for i in s.scalars(
            select(Delivery.letter_id).where(Delivery.letter_id.in_(letter_ids[start:start + CHUNK])).distinct())}
        masters = [x for x in letters if (x in own or x.id in sent) and not store.exists(_master_pdf(x.docx_key))]
        look = {x.id: (parse_spec(x.spec), _placeholder(settings, x), _verify_link(settings, x)) for x in letters}
    jobs: list[tuple[str | bytes, str]] = [(rendered.docx(x), _master_pdf(x.docx_key)) for x in masters]
    # The pages after each letter's own: its attached pages, in its own LibreOffice document (after a section
    # break: saraban.letters.paper.attach), then the received letter a forward carries.
    received = _received_copies(db, settings, masters)
    follows = {_master_pdf(x.docx_key): extra for x in masters if store.exists(extra := _attachment_key(x.docx_key))}
    attached = {_master_pdf(x.docx_key): [received[x.id]] for x in masters if x.id in received}
    paged = _pdfs_of(jobs, settings, attached, follows)
    if not own:
        return
    files = []
    for x in own:
        _, placeholder, link = look[x.id]
        master = _master_pdf(x.docx_key)
        maker = CopyMaker(paged.get(master), store.read_bytes(master), placeholder)
        if master in paged:  # LibreOffice gave the letter its pages (saraban.letters.paper.pages): the .docx too
            store.write_replacing(x.docx_key, maker.docx_for(link))
        files.append((_with_suffix(x.docx_key, ".pdf"), maker.pdf_for(link)))
    # for /verify: what is in the store (a concurrent run may have put its own there, from the same master)
    issued = [issued_row(pdf, x.id, None, "letter") for x, pdf in zip(own, _write_all_new(store, files), strict=True)]
    with db.transaction() as s:
        s.execute(update(Letter), [{"id": x.id, "pdf_key": key} for x, (key, _) in zip(own, files, strict=True)])
        record_issued(s, issued)


def _rows_by_id(s: Session, model: type[Letter] | type[Delivery], ids: Sequence[int]) -> list:
    return [row for start in range(0, len(ids), CHUNK)
            for row in s.scalars(select(model).where(model.id.in_(ids[start:start + CHUNK])))]


def _made(store: FileStore, key: str | None) -> bool:
    """A file the database says was made, and that is still in the store."""
    return store.exists(key)


def _pdfs_of(jobs: list[tuple[str | bytes, str]], settings: Settings, attached: dict[str, list[str]] | None = None,
             follows: dict[str, str] | None = None) -> dict[str, bytes]:
    """Convert each .docx (a key in the file store, or its bytes) to the PDF keyed beside it, all in one LibreOffice run
    (LibreOffice writes every output of a run into one folder, named after the file it read, which would
    make every letter.docx collide: convert hard links (or copies) with unique names in a staging folder,
    then move the PDFs). ``attached``: the PDFs whose pages follow a target's own (made in this run, or on
    disk). ``follows``: the .docx (a key) of the pages printed after a target's own in its document (reply
    form, recipients list: saraban.letters.paper.attach). Returns, for each .docx given as bytes that
    LibreOffice's pages were given to (a letter of more than one page: saraban.letters.paper.pages), the
    paged .docx (the letter alone), by target."""
    # A PDF already in place was put there whole (write_new) from that same .docx by a run that stopped
    # before recording it: keep it (LibreOffice would not make the same bytes twice).
    store = file_store(settings)
    jobs = [(source, target) for source, target in jobs if not store.exists(target)]
    if not jobs:
        return {}
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.data_dir, prefix="pdf-") as tmp:
        links = []
        for i, (source, _) in enumerate(jobs):
            link = Path(tmp) / f"{i:06d}.docx"
            if isinstance(source, bytes):
                link.write_bytes(source)
            elif not store.is_local:
                link.write_bytes(store.read_bytes(source))
            else:
                try:
                    os.link(store.path(source), link)
                except OSError:  # another file system
                    shutil.copyfile(store.path(source), link)
            links.append(link)
        extra = [store.read_bytes(follows[target]) if target in (follows or {}) else None for _, target in jobs]
        made_now = {target: made for made, (_, target) in zip(
            docx_to_pdf(links, Path(tmp) / "out", settings, attached=extra), jobs, strict=True)}
        _write_all_new(store, [(target, append_pages(made.read_bytes(), [
            made_now[p].read_bytes() if p in made_now else store.read_bytes(p) for p in (attached or {}).get(target, [])
        ])) for target, made in made_now.items()])
        return {target: paged for link, (source, target) in zip(links, jobs, strict=True)
                if isinstance(source, bytes) and (paged := link.read_bytes()) != source}


def _write_all_new(store: FileStore, files: list[tuple[str, bytes]]) -> list[bytes]:
    """Issued files written together (flushed to disk at once); what is now in the store, file by file. One
    that a concurrent run (two clerks' ลงรับ at once) put there meanwhile, made from the same source, is kept:
    then each is written on its own, and one that was there with other bytes is read back."""
    try:
        store.write_new_many(files)
        return [data for _, data in files]
    except IssuedFileError:
        kept = []
        for key, data in files:
            try:
                store.write_new(key, data)
                kept.append(data)
            except IssuedFileError:
                kept.append(store.read_bytes(key))
        return kept


def _received_copies(db: Database, settings: Settings, letters: Sequence[Letter]) -> dict[int, str]:
    """For each forwarding letter among ``letters``: the PDF of the copy its unit received, stamped if it was
    (stamped now when it was received and not stamped yet), which its PDF carries after its own pages: its key."""
    forwards = {x.forwards_delivery_id: x.id for x in letters if x.forwards_delivery_id is not None}
    if not forwards:
        return {}
    with db.reading() as s:
        rows = _rows_by_id(s, Delivery, list(forwards))
    found: dict[int, str] = {}
    store = file_store(settings)
    for d in rows:
        with _letter_lock(db, settings, d.letter_id):
            stamped = _stamp_all(db, settings, [d.id]).get(d.id)
        if stamped is not None or _made(store, d.pdf_key):
            found[forwards[d.id]] = stamped or d.pdf_key
    return found


def _make_copies(db: Database, settings: Settings, letter_id: int, masters: _Masters) -> None:
    """Each recipient's copy, rendered outside any transaction, recorded a chunk at a time (a run that
    stops half-way keeps what it recorded; the next run makes the rest). A PDF copy already received is
    stamped as it is made, and both are written together and recorded in one transaction."""
    store = file_store(settings)
    with db.reading() as s:
        letter = s.get(Letter, letter_id)
        docx_key, pdf_key = letter.docx_key, letter.pdf_key
        placeholder = _placeholder(settings, letter)
        rows = s.execute(select(Delivery.id, Delivery.token, Delivery.docx_key, Delivery.pdf_key,
                                Delivery.received_at, Delivery.receipt_number, Unit.key, Unit.name)
                         .join(Unit, Unit.id == Delivery.unit_id)
                         .where(Delivery.letter_id == letter_id).order_by(Delivery.id)).all()
    need_docx = [r for r in rows if not _made(store, r.docx_key)]
    master_pdf = _master_pdf(docx_key) if _made(store, pdf_key) and store.exists(_master_pdf(docx_key)) else None
    need_pdf = [r for r in rows if master_pdf and not _made(store, r.pdf_key)]
    if not need_docx and not need_pdf:
        return
    maker = CopyMaker(masters.docx(letter), store.read_bytes(master_pdf) if master_pdf else None, placeholder)
    folder = sibling(docx_key, "copies")
    # A chunk's files are written together: flushed to disk at once, not one after the other
    # (saraban.kernel.files.write_new_many), then recorded.
    for start in range(0, len(need_docx), CHUNK):
        chunk = need_docx[start:start + CHUNK]
        copies = maker.docx_many([tracking_url(settings.base_url, r.token) for r in chunk])
        keys = store.write_new_many((f"{folder}/{r.key}.docx", copy) for r, copy in zip(chunk, copies, strict=True))
        with db.transaction() as s:
            s.execute(update(Delivery), [{"id": r.id, "docx_key": key} for r, key in zip(chunk, keys, strict=True)])
    for start in range(0, len(need_pdf), CHUNK):
        chunk, issued, stamped = need_pdf[start:start + CHUNK], [], {}
        store.write_new_many(_pdf_copies(maker, chunk, folder, settings, letter_id, issued, stamped))
        with db.transaction() as s:
            s.execute(update(Delivery), [{"id": r.id, "pdf_key": _copy_key(folder, r.key),
                                          "stamped_pdf_key": stamped.get(r.id)} for r in chunk])
            record_issued(s, issued)
    # A copy received while it was being made is stamped now (_stamp_all reads received_at again).
    _stamp_all(db, settings, [r.id for r in need_pdf if r.received_at is None])


def _copy_key(folder: str, unit_key: str) -> str:
    return f"{folder}/{unit_key}.pdf"


def _stamped_key(pdf_key: str) -> str:
    """The received copy stamped (``<unit>-received.pdf``), beside the copy."""
    return sibling(pdf_key, f"{PurePosixPath(pdf_key).stem}-received.pdf")


def _pdf_copies(maker: CopyMaker, rows: Sequence, folder: str, settings: Settings, letter_id: int,
                issued: list[dict], stamped: dict[int, str]) -> Iterator[tuple[str, bytes]]:
    """(key, PDF) of each row's copy, made as it is written, and after it, if the row was received, the copy
    stamped; each file's row for /verify added to ``issued``, each stamped copy's key to ``stamped``."""
    for r in rows:
        key, pdf = _copy_key(folder, r.key), maker.pdf_for(tracking_url(settings.base_url, r.token))
        issued.append(issued_row(pdf, letter_id, r.id, "copy"))
        yield key, pdf
        if r.received_at is not None:
            stamped[r.id] = _stamped_key(key)
            received = stamped_pdf(pdf, unit_name=r.name, number=r.receipt_number, received_at=r.received_at,
                                   settings=settings, name=key)
            issued.append(issued_row(received, letter_id, r.id, "stamped"))
            yield stamped[r.id], received


def _stamp_all(db: Database, settings: Settings, delivery_ids: Sequence[int]) -> dict[int, str]:
    """The stamped PDF (its key) of each received delivery that has a PDF copy (made now if missing), outside
    any write transaction; the keys are recorded after. The caller holds the letter's lock."""
    store = file_store(settings)
    with db.reading() as s:
        rows = s.execute(select(Delivery, Unit.name).join(Unit, Unit.id == Delivery.unit_id).where(
            Delivery.id.in_(delivery_ids), Delivery.received_at.is_not(None))).all() if delivery_ids else []
    done = {d.id: d.stamped_pdf_key for d, _ in rows if _made(store, d.pdf_key) and _made(store, d.stamped_pdf_key)}
    todo = [(d, unit_name) for d, unit_name in rows if _made(store, d.pdf_key) and d.id not in done]
    made: dict[int, str] = {}
    # A chunk's stamped copies are written together (flushed to disk at once), then recorded.
    for start in range(0, len(todo), CHUNK):
        chunk, files, issued = todo[start:start + CHUNK], [], []
        for d, unit_name in chunk:
            stamped = stamped_pdf(store.read_bytes(d.pdf_key), unit_name=unit_name, number=d.receipt_number,
                                  received_at=d.received_at, settings=settings, name=d.pdf_key)
            files.append((_stamped_key(d.pdf_key), stamped))
            issued.append(issued_row(stamped, d.letter_id, d.id, "stamped"))  # for /verify
        keys = dict(zip((d.id for d, _ in chunk), store.write_new_many(files), strict=True))
        with db.transaction() as s:
            s.execute(update(Delivery), [{"id": i, "stamped_pdf_key": k} for i, k in keys.items()])
            record_issued(s, issued)
        made |= keys
    return done | made


def receive(db: Database, settings: Settings, letter: str | int, unit_key: str, *, actor: str = "saraban",
            at: datetime | None = None) -> Receipt:
    """ลงรับ: the unit's next receive number, the date and time, and the stamp on its PDF copy."""
    return receive_many(db, settings, letter, [unit_key], actor=actor, at=at)[0]


def receive_many(db: Database, settings: Settings, letter: str | int, unit_keys: Sequence[str] | None = None,
                 *, actor: str = "saraban", at: datetime | None = None) -> list[Receipt]:
    """Receive one letter at many units in one transaction (``None``: every recipient); stamp their PDF
    copies after it (outside it: a ลงรับ holds the write lock only to number and record)."""
    at = at_or_now(at)
    receipts = _stamp_received(db, settings, _exactly_once(db, lambda s: _receive_in(s, letter, unit_keys, actor,
                                                                                     at)))
    note_issued(db, settings)
    return receipts


def _stamp_received(db: Database, settings: Settings, numbered: list[tuple[int, Receipt, str | None]]) -> list[Receipt]:
    """The receipts, with the stamped PDF of each copy that has a PDF (stamped now, outside any write
    transaction)."""
    receipts = [r for _, r, _ in numbered]
    with_pdf = [i for i, _, pdf_key in numbered if pdf_key]  # only a copy with a PDF is stamped
    if with_pdf:
        with _letter_lock(db, settings, receipts[0].letter_id):
            stamped = _stamp_all(db, settings, with_pdf)
        receipts = [dataclasses.replace(r, stamped_pdf_key=stamped.get(i)) for i, r, _ in numbered]
    return receipts


@dataclass(frozen=True)
class _Received:
    """What a receipt's register line says of the letter received."""

    id: int
    ref_text: str
    letter_date: date
    subject: str
    sender: str  # as printed


class _Delivered(NamedTuple):
    """A delivery as receiving reads it (a row of the query in _receive_in)."""

    id: int
    received_at: datetime | None
    receipt_year: int | None
    receipt_number: int | None
    pdf_key: str | None
    unit_id: int
    key: str
    name: str


@dataclass(frozen=True)
class _Sent:
    """A letter numbered in this transaction and its deliveries, as made (nobody else has seen them: not
    received, not cancelled, nothing to lock)."""

    letter: _Received
    deliveries: list[_Delivered]


_RECEIVED = (update(Delivery.__table__).where(Delivery.__table__.c.id == bindparam("delivery"))
             .values(received_at=bindparam("at"), received_by=bindparam("by"), receipt_year=bindparam("year"),
                     receipt_number=bindparam("number")))


def _receive_in(s: Session, letter: str | int, unit_keys: Sequence[str] | None, actor: str, at: datetime, *,
                sent: _Sent | None = None) -> list[tuple[int, Receipt, str | None]]:
    """The receipts, each with its delivery's id and the key of its PDF copy (None: not made yet). The
    deliveries are locked first (PostgreSQL): a second clerk receiving the same one waits here, then finds
    it received and gets the same number. ``sent``: ``letter`` was made in this transaction, as it says
    (:attr:`Issued.sent`): nothing to read back."""
    if sent is not None:
        found = sent.letter
        rows = [r for r in sent.deliveries if unit_keys is None or r.key in unit_keys]
    else:
        received = find_letter(s, letter)
        _refuse_cancelled(s, received, "received")
        found = _Received(received.id, received.ref_text, received.letter_date, received.subject,
                          s.get(Unit, received.unit_id).printed_sender)
        wanted = (select(Delivery.id, Delivery.received_at, Delivery.receipt_year, Delivery.receipt_number,
                         Delivery.pdf_key, Unit.id.label("unit_id"), Unit.key, Unit.name)
                  .join(Unit, Unit.id == Delivery.unit_id).where(Delivery.letter_id == found.id))
        if unit_keys is not None and len(set(unit_keys)) <= CHUNK:  # only these rows: lock no others
            wanted = wanted.where(Unit.key.in_(set(unit_keys)))
        rows = s.execute(wanted.order_by(Delivery.id).with_for_update(of=Delivery, key_share=True)).all()
    by_key = {r.key: r for r in rows}
    keys = list(unit_keys) if unit_keys is not None else sorted(by_key)
    for key in keys:
        if key not in by_key:
            unit = get_unit(s, key)
            raise CircularError(f"หนังสือ ที่ {found.ref_text} ไม่ได้ส่งถึง{unit.name} จึงลงรับไม่ได้ / "
                                f"ที่ {found.ref_text} was not sent to {unit.name} ({key}): it cannot be "
                                "received there")
    todo = [by_key[k] for k in dict.fromkeys(keys) if by_key[k].received_at is None]
    numbers = add_entry_each(s, "receive", [(r.unit_id, EntryText(
        ref_text=found.ref_text, letter_date=found.letter_date, from_text=found.sender, to_text=r.name,
        subject=found.subject, letter_id=found.id, delivery_id=r.id)) for r in todo], at=at, actor=actor)
    if todo:
        s.execute(_RECEIVED, [{"delivery": r.id, "at": at, "by": actor, "year": numbers[r.unit_id][0],
                               "number": numbers[r.unit_id][1]} for r in todo])
        s.execute(_NEW_EVENTS, [
            event_row("delivery.received", actor=actor, at=at, unit_id=r.unit_id, office_id=r.unit_id,
                      letter_id=found.id, delivery_id=r.id,
                      data={"number": numbers[r.unit_id][1], "year": numbers[r.unit_id][0]}) for r in todo])
    receipts = []
    for key in keys:
        r = by_key[key]
        if r.unit_id in numbers:  # received now
            receipt = Receipt(found.id, key, *numbers[r.unit_id], at, True)
        else:
            receipt = Receipt(found.id, key, r.receipt_year, r.receipt_number, r.received_at, False)
        receipts.append((r.id, receipt, r.pdf_key))
    return receipts


@dataclass(frozen=True)
class IncomingReceipt:
    unit_id: int
    year: int
    number: int
    received_at: datetime
    new: bool = True
    stamped_pdf_key: str | None = None  # in the file store (saraban.records.file_store)


def receive_incoming(db: Database, unit_key: str, *, ref: str, letter_date: date, sender: str, subject: str,
                     to: str | None = None, actor: str = "saraban", at: datetime | None = None,
                     pdf: Path | None = None, settings: Settings | None = None) -> IncomingReceipt:
    """ลงรับ a letter from outside saraban (on paper or by e-mail): a line in the unit's receive register.

    The same letter (ที่, date and sender) received again returns its first line. With ``pdf`` (the scan
    or the e-mailed file; ``settings`` then required), a copy stamped with the receipt is kept in the file
    store under ``received/``; a file that is missing or not a PDF is refused before anything is numbered,
    and a PDF that cannot be stamped leaves nothing numbered either (one transaction)."""
    try:  # typed by a clerk: one form, nothing invisible (saraban.kernel.text_input)
        ref, sender, subject = (clean_text(v, field=f) for f, v in (("ref", ref), ("sender", sender),
                                                                    ("subject", subject)))
        to = clean_text(to, field="to") if to is not None else None
    except TextInputError as e:
        raise CircularError(f"{e} ไม่มีการลงรับ / nothing was received") from None
    if pdf is not None:
        _check_pdf(Path(pdf))
    try:
        ref = RefNo.parse(ref).format("arabic")
    except ValueError:  # an outside office's number need not follow the handbook
        ref = " ".join(ref.split())
    at = at_or_now(at)
    with db.transaction() as s:
        unit = get_unit(s, unit_key)
        entry = s.scalar(select(RegisterEntry).where(
            RegisterEntry.unit_id == unit.id, RegisterEntry.series == "receive", RegisterEntry.ref_text == ref,
            RegisterEntry.letter_date == letter_date, RegisterEntry.from_text == sender,
            RegisterEntry.letter_id.is_(None), RegisterEntry.cancels_id.is_(None)).limit(1))
        new = entry is None
        if new:
            (entry,) = add_entries(s, unit.id, "receive", [EntryText(
                ref_text=ref, letter_date=letter_date, from_text=sender, to_text=to or unit.name,
                subject=subject)], at=at, actor=actor)
            record_event(s, "letter.received_from_outside", actor=actor, at=at, unit_id=unit.id, office_id=unit.id,
                         data={"ref": ref, "number": entry.number, "year": entry.year})
        stamped = None
        if pdf is not None:
            out = f"received/{unit.key}-{entry.year}-r{entry.number}.pdf"
            stamped = out if not new and file_store(settings).exists(out) else _stamp_incoming(Path(pdf), out, unit,
                                                                                                entry, settings)
        receipt = IncomingReceipt(unit.id, entry.year, entry.number, entry.entered_at, new, stamped)
    if settings is not None:
        note_issued(db, settings)
    return receipt


def _stamp_incoming(pdf: Path, out: str, unit: Unit, entry: RegisterEntry, settings: Settings) -> str:
    """The outside letter's PDF stamped with its receipt, kept under the key ``out`` (received again: the first
    stamped copy stays)."""
    try:
        stamped = stamped_pdf(pdf.read_bytes(), unit_name=unit.name, number=entry.number,
                              received_at=entry.entered_at, settings=settings, name=str(pdf))
        return file_store(settings).write_new(out, stamped)
    except OSError:  # disk full, read-only, an issued file in the way: nothing numbered, said as such
        raise
    except Exception as e:  # a damaged PDF: nothing is numbered (the transaction rolls back)
        raise CircularError(f"ประทับตรารับบน {pdf} ไม่ได้ ไม่มีการลงรับ / could not stamp {pdf}, nothing "
                            f"was received: {e}") from e


def _check_pdf(path: Path) -> None:
    try:
        with path.open("rb") as f:
            head = f.read(1024)
    except OSError as e:
        raise CircularError(f"อ่านไฟล์ {path} ไม่ได้ ไม่มีการลงรับ / cannot read {path}, nothing was received: "
                            f"{e.strerror or e}") from None
    if b"%PDF-" not in head:
        raise CircularError(f"{path} ไม่ใช่ไฟล์ PDF ไม่มีการลงรับ / {path} is not a PDF, nothing was received")


def _refuse_cancelled(s: Session, letter: Letter, act: str) -> None:
    cancellation = cancellation_of(s, letter.id)
    if cancellation is not None:
        raise CircularError(cancelled_message(letter, cancellation, act))


class RecipientsError(CircularError):
    """The recipients chosen for a forwarding letter are refused (none, or not below the unit)."""


def forward(db: Database, settings: Settings, letter: str | int, unit_key: str,
            to: str | Sequence[Unit] | None = None, *, subject: str | None = None, body: Sequence[str] | None = None,
            actor: str = "saraban", at: datetime | None = None, files: bool = True,
            uncertain_code_ok: bool = False) -> Issued:
    """The unit's own circular carrying a received one on to ``to``: a selector (as on the command line) or
    the units chosen, all below the unit (default: the next hop of the chain). ``subject`` and ``body``:
    the forwarding letter's text as edited (default: saraban.chain.distribution.forward_spec's).

    One transaction: the delivery is locked first, so callers forwarding it at once queue, and the late
    ones find the letter the first made (``new=False``, whatever they chose). A unit whose letter code is a
    guess is refused unless ``uncertain_code_ok`` (as :func:`issue_circular`)."""
    at = at_or_now(at)
    issued = _exactly_once(db, lambda s: _forward_in(s, settings, letter, unit_key, to, actor, at, subject, body,
                                                     uncertain_code_ok))
    if files:
        make_files(db, settings, [issued.letter_id])
    return issued


def forward_draft(db: Database, settings: Settings, letter: str | int, unit_key: str,
                  to: str | Sequence[Unit] | None = None, *, subject: str | None = None,
                  body: Sequence[str] | None = None, at: datetime | None = None) -> LetterSpec:
    """The forwarding letter :func:`forward` would number now, refused for the same reasons, with nothing
    numbered (the web face previews it). Forwarded already: refused, naming the letter that did it."""
    at = at_or_now(at)
    with db.reading() as s:
        found, unit, d, upstream_sender = _delivery_to_forward(s, letter, unit_key, lock=False)
        if d.forwarded_letter_id is not None:
            done = s.get(Letter, d.forwarded_letter_id)
            raise CircularError(f"{unit.name} ส่งต่อหนังสือนี้แล้ว ด้วยหนังสือ ที่ {done.ref_text} / {unit.name} has "
                                f"forwarded it already, by ที่ {done.ref_text}")
        if problem := letter_code_problem(unit):
            raise CircularError(problem)
        hop = _next_hop_of(s, unit, to)
        spec = _forwarding_spec(s, settings, found, upstream_sender, unit, _forward_recipients(s, unit, to, hop), hop,
                                at, subject, body)
    _preflight(spec, settings)
    return spec


class _ToForward(NamedTuple):
    letter: Letter
    unit: Unit
    delivery: Delivery
    upstream_sender: str  # the letter's sender, as printed


# A letter by id, the unit by key and its delivery, its sender's printed name, whether it was cancelled: one
# query (the delivery's row locked first on PostgreSQL, so forwarders queue).
_SENT_BY = aliased(Unit, name="sent_by")
_TO_FORWARD = (select(Letter, Unit, Delivery, func.coalesce(_SENT_BY.sender_name, _SENT_BY.name),  # printed_sender
                      is_cancelled(Letter.id))
               .join(Delivery, Delivery.letter_id == Letter.id)
               .join(Unit, and_(Unit.id == Delivery.unit_id, Unit.key == bindparam("unit")))
               .join(_SENT_BY, _SENT_BY.id == Letter.unit_id)
               .where(Letter.id == bindparam("letter")))
_TO_FORWARD_LOCKED = (_TO_FORWARD.with_for_update(of=Delivery, key_share=True)
                      .execution_options(populate_existing=True))


def _delivery_to_forward(s: Session, letter: str | int, unit_key: str, *, lock: bool = True) -> _ToForward:
    """The letter, the unit and its delivery, when the unit may forward it: sent to it, received, not
    cancelled; and the letter's sender as printed. ``lock``: the delivery's row is locked first (PostgreSQL),
    so forwarders queue. A letter given by id is read in one query with the rest; anything refused (or
    given by reference number) the long way, which says why."""
    if str(letter).strip().isdigit():
        row = s.execute(_TO_FORWARD_LOCKED if lock else _TO_FORWARD,
                        {"letter": int(str(letter).strip()), "unit": unit_key.strip()}).one_or_none()
        if row is not None and not row[4] and row[2].received_at is not None:
            return _ToForward(*row[:4])
    found = find_letter(s, letter)
    _refuse_cancelled(s, found, "forwarded")
    unit = get_unit(s, unit_key)
    query = select(Delivery).where(Delivery.letter_id == found.id, Delivery.unit_id == unit.id)
    if lock:
        query = query.with_for_update(key_share=True).execution_options(populate_existing=True)
    d = s.scalar(query)
    if d is None:
        raise CircularError(f"หนังสือ ที่ {found.ref_text} ไม่ได้ส่งถึง{unit.name} ส่งต่อได้เฉพาะหนังสือที่ได้รับ / "
                            f"ที่ {found.ref_text} was not sent to {unit.name}: only what a unit has "
                            "received can be forwarded")
    if d.received_at is None:
        raise CircularError(f"{unit.name} ยังไม่ได้ลงรับหนังสือ ที่ {found.ref_text} ต้องลงรับก่อนส่งต่อ / "
                            f"{unit.name} has not received ที่ {found.ref_text} yet: receive it first "
                            f"(saraban receive {found.id} --unit {unit.key})")
    return _ToForward(found, unit, d, s.get(Unit, found.unit_id).printed_sender)


def _next_hop_of(s: Session, unit: Unit, to: str | Sequence[Unit] | None) -> NextHop | None:
    """The directory around ``unit`` read at once (its next hop, parent, groups) when it forwards down the
    chain (``to`` None or ""); None when it chose its recipients."""
    return next_hop(s, unit) if to is None or (isinstance(to, str) and not to.strip()) else None


def _forward_recipients(s: Session, unit: Unit, to: str | Sequence[Unit] | None,
                        hop: NextHop | None = None) -> list[Unit]:
    """Whom the unit forwards to: the next hop of the chain (``to`` None or ""; ``hop``: read already), else
    the units of a selector or those given; only units below it (a province forwards within its province,
    not to its neighbour)."""
    if to is None or (isinstance(to, str) and not to.strip()):
        recipients = hop.recipients if hop is not None else chain_recipients(s, unit)
        if not recipients:
            raise RecipientsError(f"{unit.name} ไม่มีหน่วยงานในสังกัดที่จะส่งต่อ / {unit.name} has no one to forward "
                                  "to (no units below it in the directory)")
        return recipients
    if isinstance(to, str):
        chosen = select_units(s, to)
    else:
        ids = list({u.id for u in to})
        chosen = [u for i in range(0, len(ids), CHUNK)
                  for u in s.scalars(select(Unit).where(Unit.id.in_(ids[i:i + CHUNK])))]
    chosen = sorted((u for u in chosen if u.id != unit.id), key=lambda u: u.key)
    if not chosen:
        raise RecipientsError("ไม่ได้เลือกผู้รับ เลือกหน่วยงานที่จะส่งต่ออย่างน้อยหนึ่งแห่ง / no recipients: choose at "
                              "least one unit to forward to")
    below = {u.id for u in descendants(s, unit)}
    outside = [u for u in chosen if u.id not in below]
    if outside:
        names = ", ".join(f"{u.name} ({u.key})" for u in outside[:5]) + (" ..." if len(outside) > 5 else "")
        raise RecipientsError(f"{unit.name} ส่งต่อได้เฉพาะหน่วยงานในสังกัด: {names} ไม่อยู่ในสังกัด / {unit.name} "
                              f"forwards only to units below it; {len(outside)} chosen are not: {names}")
    return chosen


def _forwarding_spec(s: Session, settings: Settings, found: Letter, upstream_sender: str, unit: Unit,
                     recipients: list[Unit], hop: NextHop | None, at: datetime, subject: str | None,
                     body: Sequence[str] | None) -> LetterSpec:
    """``hop``: the directory around ``unit``, when read already (its owner block is made from it)."""
    owner = owner_of(unit, hop.parent, hop.groups) if hop is not None else owner_block(s, unit)
    try:
        spec = forward_spec(
            settings, found.spec, upstream_sender=upstream_sender, upstream_ref=RefNo.parse(found.ref_text),
            upstream_date=found.letter_date, unit=unit, owner=owner,
            to=describe_recipients(s, recipients), letter_date=at.date(), levels={u.level for u in recipients},
            subject=subject, body=body)
        # The received letter goes with it (its PDF pages follow the letter's: make_files), named first.
        received = wording(settings, "forward/enclosure", upstream_sender=upstream_sender,
                           upstream_ref=found.ref_text,
                           upstream_date=format_thai_date(found.letter_date, digits="arabic"))
    except WordingError as e:
        raise CircularError(str(e)) from None
    return parse_spec(spec | {"enclosures": [received, *spec.get("enclosures", [])]})


def _forward_in(s: Session, settings: Settings, letter: str | int, unit_key: str, to: str | Sequence[Unit] | None,
                actor: str, at: datetime, subject: str | None = None, body: Sequence[str] | None = None,
                uncertain_code_ok: bool = False) -> Issued:
    return _forward_hop(s, settings, letter, unit_key, to, actor, at, subject, body, uncertain_code_ok)[0]


def _forward_hop(s: Session, settings: Settings, letter: str | int, unit_key: str, to: str | Sequence[Unit] | None,
                 actor: str, at: datetime, subject: str | None = None, body: Sequence[str] | None = None,
                 uncertain_code_ok: bool = False, setup_ok: set[str] | None = None) -> tuple[Issued, NextHop | None]:
    """_forward_in, and the directory around the unit when it was read (forwarding a new letter down the chain).
    ``setup_ok``: see preflight.renderability_problems (carry_down looks at the templates and fonts once)."""
    found, unit, d, upstream_sender = _delivery_to_forward(s, letter, unit_key)
    if d.forwarded_letter_id is not None:
        done = s.get(Letter, d.forwarded_letter_id)
        return Issued(done.id, done.ref_text, _count_deliveries(s, done.id), new=False), None
    hop = _next_hop_of(s, unit, to)
    recipients = _forward_recipients(s, unit, to, hop)
    spec = _forwarding_spec(s, settings, found, upstream_sender, unit, recipients, hop, at, subject, body)
    _preflight(spec, settings, setup_ok)
    return _issue_in(s, settings, spec.model_copy(update={"circular": True}), unit, recipients, actor, at,
                     d.id, None, uncertain_code_ok, unforwarded=True), hop


def cancel_letter(db: Database, letter: str | int, *, reason: str, actor: str = "saraban",
                  at: datetime | None = None) -> int:
    """ยกเลิก: the letter keeps its number; its send-register line gets a cancellation line (the next
    number of the series, "ยกเลิกเลขที่ n: reason") and the event log says who and why. Returns the
    cancellation line's number; cancelling twice returns the same line."""
    reason = normalise_text(reason).strip()
    if not reason:
        raise CircularError("ระบุเหตุที่ยกเลิก / give the reason for cancelling (--reason)")
    if problem := text_problem(reason):
        raise CircularError(f"--reason: {problem}")
    at = at_or_now(at)

    def cancel(s: Session) -> int:  # cancel_entry locks the line; uq_register_cancels backs it
        found = find_letter(s, letter)
        line = s.scalar(select(RegisterEntry).where(
            RegisterEntry.letter_id == found.id, RegisterEntry.unit_id == found.unit_id,
            RegisterEntry.series.in_(("send", "circular")), RegisterEntry.cancels_id.is_(None)))
        return cancel_entry(s, line.id, reason=reason, actor=actor, at=at).number

    return _exactly_once(db, cancel)


def carry_down(db: Database, settings: Settings, letter: str | int, unit_key: str, *,
               auto_receive: bool = True, actor: str = "saraban", at: datetime | None = None,
               files: bool = True) -> list[int]:
    """Carry a letter down the chain from one recipient: it forwards to the next hop, the next hop
    receives (when ``auto_receive``; otherwise only units that have really received go on) and forwards
    in turn, to the bottom. Returns the ids of the letters made. Safe to repeat after a crash.

    Each hop is one transaction (forward, the recipients' receipts, who of them carries it on), then its
    files (``files=False``: the caller makes them, make_files, e.g. in other processes while the next hops
    are recorded); only the first unit is looked up on its own. Whether a letter was cancelled is asked once per
    letter (a letter made here was not, when it was made), and again when forward refuses."""
    at = at_or_now(at)
    made: list[int] = []
    with db.reading() as s:
        found = find_letter(s, letter)
        unit = get_unit(s, unit_key)
        d = s.scalar(select(Delivery).where(Delivery.letter_id == found.id, Delivery.unit_id == unit.id))
        starts = d is not None and d.received_at is not None and expects_to_forward(s, unit)
    todo = [(found.id, unit_key)] if starts else []
    cancelled: dict[int, bool] = {}
    setup_ok: set[str] = set()  # the templates and fonts are looked at once, not at every hop
    try:
        while todo:
            current, key = todo.pop()
            if current not in cancelled:
                with db.reading() as s:
                    cancelled[current] = cancellation_of(s, current) is not None
            if cancelled[current]:
                continue
            try:
                issued, numbered, keys = _exactly_once(db, partial(_carry_in, settings=settings, letter_id=current,
                                                                   unit_key=key, auto_receive=auto_receive,
                                                                   actor=actor, at=at, setup_ok=setup_ok))
            except CircularError:
                with db.reading() as s:  # cancelled meanwhile: it goes no further; anything else is an error
                    if cancellation_of(s, current) is None:
                        raise
                cancelled[current] = True
                continue
            made.append(issued.letter_id)
            cancelled[issued.letter_id] = False
            if files:
                make_files(db, settings, [issued.letter_id], note=False)
            _stamp_received(db, settings, numbered)
            todo += [(issued.letter_id, k) for k in keys]
    except BaseException:
        if made:  # the output folder learns the hops made before the failure; the failure is what is raised
            with suppress(Exception):
                note_issued(db, settings)
        raise
    if made:  # the output folder learns every hop's register lines once, at the end
        note_issued(db, settings)
    return made


def _carry_in(s: Session, *, settings: Settings, letter_id: int, unit_key: str, auto_receive: bool, actor: str,
              at: datetime, setup_ok: set[str]) -> tuple[Issued, list[tuple[int, Receipt, str | None]], list[str]]:
    """One hop of carry_down, in one transaction: the unit forwards the letter (unattended: a guessed letter
    code, the built-in directory's, does not stop the chain); its recipients receive it (``auto_receive``);
    and the keys of those that received it and are expected to forward, who carry it on."""
    issued, hop = _forward_hop(s, settings, letter_id, unit_key, None, actor, at, uncertain_code_ok=True,
                               setup_ok=setup_ok)
    if auto_receive and issued.sent is not None and hop is not None:
        # Made now: every recipient receives it now; who carries it on, the directory said (in key order).
        numbered = _receive_in(s, issued.letter_id, None, actor, at, sent=issued.sent)
        return issued, numbered, [r.key for r in reversed(issued.sent.deliveries) if r.unit_id in hop.forwarding]
    numbered = _receive_in(s, issued.letter_id, None, actor, at) if auto_receive else []
    keys = s.scalars(select(Unit.key).join(Delivery, Delivery.unit_id == Unit.id)
                     .where(Delivery.letter_id == issued.letter_id, Delivery.received_at.is_not(None),
                            expected_to_forward(Unit))
                     .order_by(Unit.key.desc())).all()
    return issued, numbered, list(keys)


def recipients_of(db: Database, letter: str | int) -> list[str]:
    with db.transaction() as s:
        found = find_letter(s, letter)
        return list(s.scalars(select(Unit.key).join(Delivery, Delivery.unit_id == Unit.id)
                              .where(Delivery.letter_id == found.id).order_by(Unit.key)))


__all__ = ["CircularError", "DirectoryError", "Issued", "Receipt", "RecipientsError", "cancel_letter", "carry_down",
           "find_letter", "forward", "forward_draft", "issue_circular", "make_files", "pdf_generations", "receive",
           "receive_incoming", "receive_many", "recipients_of"]
