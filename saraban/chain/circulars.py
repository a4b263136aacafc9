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
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from saraban.chain.cancellations import cancellation_of, cancelled_message
from saraban.chain.distribution import describe_recipients, forward_spec, owner_block
from saraban.chain.expectations import chain_recipients, expected_to_forward, expects_to_forward
from saraban.chain.numbering import LetterDateError, check_letter_date, letter_code_problem, register_year
from saraban.chain.tracking import longest_tracking_link, new_token, secret_key, tracking_url
from saraban.chain.verification import issued_row, record_issued
from saraban.directory.levels import DirectoryError
from saraban.directory.selectors import select_units
from saraban.directory.units import descendants, get_unit
from saraban.kernel.clock import at_or_now
from saraban.kernel.files import IssuedFileError, folder_lock, make_folder, write_new
from saraban.kernel.settings import Settings
from saraban.kernel.text_input import TextInputError, clean_text, normalise_text, text_problem
from saraban.kernel.wording import WordingError, wording
from saraban.letters.attachments import attachment_path, names_a_group, render_attachment_docx
from saraban.letters.paper.copies import CopyMaker
from saraban.letters.paper.merge import append_pages
from saraban.letters.paper.pdf import docx_to_pdf
from saraban.letters.paper.qr import placeholder_qr_png
from saraban.letters.paper.stamps import stamp_receipt
from saraban.letters.preflight import NotRenderable, check_renderable
from saraban.letters.shapes import renderer_for
from saraban.letters.spec import LetterSpec, SpecError, parse_spec
from saraban.records.data_folder import note_issued
from saraban.records.db import Database
from saraban.records.events import event_row, record_event
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


class CircularError(ValueError):
    """A request the rules refuse (not addressed to that unit, not received yet, no letter code ...)."""


@dataclass(frozen=True)
class Issued:
    letter_id: int
    ref: str  # Arabic digits, e.g. "มท 0820.2/ว 1144"
    recipients: int
    new: bool
    added: int = 0  # deliveries made by this call: every recipient when new; recipients added when issued before


@dataclass(frozen=True)
class Receipt:
    letter_id: int
    unit_key: str
    year: int
    number: int
    received_at: datetime
    new: bool
    stamped_pdf: Path | None = None


def _preflight(spec: LetterSpec, settings: Settings, *, tracked: bool) -> None:
    """Refuse, before any number is taken, a letter that could not be rendered (saraban.letters.preflight);
    ``tracked``: its recipients' copies carry a tracking link."""
    try:
        check_renderable(spec, settings, tracking_link=longest_tracking_link(settings.base_url) if tracked else None)
    except NotRenderable as e:
        raise CircularError(str(e)) from None


def letter_folder(settings: Settings, letter: Letter, unit: Unit) -> Path:
    slug = re.sub(r"[^0-9A-Za-z.]+", "-", f"{unit.key}-{letter.year}-{'w' if letter.circular else 's'}"
                                          f"{letter.number}")
    return settings.output_dir / "letters" / slug


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
    _preflight(spec, settings, tracked=bool(circular or to))
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
    s.execute(select(model.id).where(model.id.in_(ids)).order_by(model.id).with_for_update(key_share=True))


def _issue_in(s: Session, settings: Settings, spec: LetterSpec, sender_key: str, to: str | Sequence[Unit] | None,
              actor: str, at: datetime, forwards_id: int | None, date_reason: str | None,
              uncertain_code_ok: bool = False) -> Issued:
    """"Issued already?" and the numbering are one critical section: the sender's row is locked first."""
    spec_hash = spec.hash()
    sender = get_unit(s, sender_key)
    _lock(s, Unit, [sender.id])
    if problem := letter_code_problem(sender, uncertain_ok=uncertain_code_ok):
        raise CircularError(problem)
    existing = _already_issued(s, sender, spec_hash, forwards_id)
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
    letter = Letter(unit_id=sender.id, kind=spec.kind, circular=spec.circular, ref_text=ref.format("arabic"), year=year,
                    number=number, letter_date=spec.date, subject=spec.subject,
                    spec=numbered.model_dump(mode="json") | {"ref": ref.format("arabic")},
                    spec_hash=spec_hash, created_at=at, forwards_delivery_id=forwards_id)
    s.add(letter)
    s.flush()
    add_numbered_entry(s, sender.id, year, series, number, EntryText(
        ref_text=letter.ref_text, letter_date=spec.date, from_text=sender.printed_sender, to_text=spec.to,
        subject=spec.subject, action=f"ส่ง {len(recipients)} หน่วยงาน" if recipients else None, letter_id=letter.id,
        note=f"ลงวันที่ต่างจากวันออกเลข: {date_reason}" if date_reason else None),
        at=at, actor=actor)
    key = secret_key(settings)
    if recipients:  # an empty list would insert one row of NULLs
        s.execute(insert(Delivery), [
            {"letter_id": letter.id, "unit_id": u.id, "token": new_token(key), "sent_at": at} for u in recipients])
    record_event(s, "letter.issued", actor=actor, at=at, unit_id=sender.id, office_id=sender.id, letter_id=letter.id,
                 data={"ref": letter.ref_text, "recipients": len(recipients)}
                 | ({"letter_date": spec.date.isoformat(), "date_reason": date_reason} if date_reason else {}))
    if forwards_id is not None:
        # Guarded: a delivery is forwarded once (the lock taken by forward() makes this hold already).
        forwards = s.get(Delivery, forwards_id)
        if not s.execute(update(Delivery).where(Delivery.id == forwards_id, Delivery.forwarded_letter_id.is_(None))
                         .values(forwarded_letter_id=letter.id)).rowcount:
            raise _Lost("ส่งต่อไปแล้ว / forwarded meanwhile by another caller")
        record_event(s, "delivery.forwarded", actor=actor, at=at, unit_id=sender.id, office_id=sender.id,
                     letter_id=forwards.letter_id, delivery_id=forwards.id, data={"by_letter": letter.id})
    return Issued(letter.id, letter.ref_text, len(recipients), new=True, added=len(recipients))


def make_files(db: Database, settings: Settings, letter_ids: Sequence[int], *, pdf: bool = False) -> None:
    """Render what is missing: each letter's own file copy (letter.docx: what the sender keeps, no tracking
    QR), each recipient's copy (its own tracking QR, made from a master carrying a placeholder QR); with
    ``pdf``, the PDFs too (the file copy's and the master's, ``master.pdf``), one LibreOffice run for all.

    No write transaction is open while rendering (SQLite's write lock would stop every ลงรับ meanwhile):
    read what to render in a short transaction, render to files, then record the paths in another short
    one, a chunk of copies at a time. Two callers making the same letter's files queue on a file lock
    of that letter (the second then finds them made)."""
    placeholder = placeholder_qr_png(len(longest_tracking_link(settings.base_url)))
    letter_ids = list(dict.fromkeys(letter_ids))
    # A forwarding letter's PDF carries the received letter's PDF copy: that letter's files come first.
    for generation in (_generations(db, letter_ids) if pdf else [letter_ids]):
        for letter_id in generation:
            with _letter_lock(settings, letter_id):
                _make_master(db, settings, letter_id)
        if pdf:
            _make_pdfs(db, settings, generation, placeholder)
        for letter_id in generation:
            with _letter_lock(settings, letter_id):
                _make_copies(db, settings, letter_id, placeholder)
    note_issued(db, settings)  # the output folder remembers what was issued (records.data_folder)


def _generations(db: Database, letter_ids: Sequence[int]) -> list[list[int]]:
    """``letter_ids`` in the order their PDFs can be made: a forwarding letter after the letter it forwards
    when the copy it received has no PDF yet (that letter is then added, its files made first)."""
    upstream: dict[int, int | None] = {}
    todo = list(letter_ids)
    with db.reading() as s:
        while todo:
            batch = [i for i in dict.fromkeys(todo) if i not in upstream]
            todo = []
            for start in range(0, len(batch), CHUNK):
                rows = s.execute(select(Letter.id, Delivery.letter_id, Delivery.pdf_path).select_from(Letter)
                                 .outerjoin(Delivery, Delivery.id == Letter.forwards_delivery_id)
                                 .where(Letter.id.in_(batch[start:start + CHUNK]))).all()
                for letter_id, up, up_pdf in rows:
                    upstream[letter_id] = up if up is not None and not _made(up_pdf) else None
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
def _letter_lock(settings: Settings, letter_id: int) -> Iterator[None]:
    """One process at a time makes a letter's files (an exclusive lock on a file of the data folder)."""
    with folder_lock(settings.data_dir / "locks", f"letter-{letter_id}"):
        yield


def _make_master(db: Database, settings: Settings, letter_id: int) -> None:
    """The sender's own file copy (letter.docx): the letter without any tracking QR code or its caption; and
    beside it the pages attached after it (letter-แนบ.docx: reply form, list of recipients), if any."""
    with db.reading() as s:
        letter = s.get(Letter, letter_id)
        made = _made(letter.docx_path)
        folder = None if made else letter_folder(settings, letter, s.get(Unit, letter.unit_id))
        own = Path(letter.docx_path) if folder is None else folder / "letter.docx"
        attaches = bool(letter.spec.get("attachments")) or names_a_group(letter.spec.get("to") or "")
        if made and (not attaches or attachment_path(own).exists()):
            return
        spec = parse_spec(letter.spec)
        recipients = _recipient_names(s, letter_id) if attaches else []
    if not made:
        make_folder(own.parent)
        write_new(own, renderer_for(settings).render(spec))
    attached = render_attachment_docx(spec, settings, recipients=recipients) if attaches else None
    if attached is not None and not attachment_path(own).exists():
        write_new(attachment_path(own), attached)
    if not made:
        with db.transaction() as s:
            s.execute(update(Letter).where(Letter.id == letter_id).values(docx_path=str(own), pdf_path=None))


def _recipient_names(s: Session, letter_id: int) -> list[str]:
    """The names of the units a letter went to, in the order it was sent (its recipients list page)."""
    return list(s.scalars(select(Unit.name).join(Delivery, Delivery.unit_id == Unit.id)
                          .where(Delivery.letter_id == letter_id).order_by(Delivery.id)))


def _tracked_master(settings: Settings, spec: LetterSpec, placeholder: bytes) -> bytes:
    """The master of the recipients' copies: the letter with a placeholder tracking QR (and its caption) that
    each copy swaps for its own. Rendering is deterministic, so it is made again whenever it is needed."""
    return renderer_for(settings).render(spec, tracking_png=placeholder)


def _master_pdf(docx_path: str) -> Path:
    """The PDF master of the recipients' copies, kept beside the file copy (not a copy anyone is sent)."""
    return Path(docx_path).with_name("master.pdf")


def _make_pdfs(db: Database, settings: Settings, letter_ids: list[int], placeholder: bytes) -> None:
    """The file copy's PDF of each letter, and the PDF master of the recipients' copies of each letter that
    has recipients: all in one LibreOffice run."""
    with db.reading() as s:
        letters = [x for x in _rows_by_id(s, Letter, letter_ids) if _made(x.docx_path)]
        todo = [(x.id, Path(x.docx_path)) for x in letters if not _made(x.pdf_path)]
        sent = {i for start in range(0, len(letter_ids), CHUNK) for i in s.scalars(
            select(Delivery.letter_id).where(Delivery.letter_id.in_(letter_ids[start:start + CHUNK])).distinct())}
        masters = [(x.docx_path, parse_spec(x.spec)) for x in letters
                   if x.id in sent and not _master_pdf(x.docx_path).exists()]
    jobs: list[tuple[Path | bytes, Path]] = [(docx, docx.with_suffix(".pdf")) for _, docx in todo]
    jobs += [(_tracked_master(settings, spec, placeholder), _master_pdf(docx)) for docx, spec in masters]
    # The pages after each letter's own (in its PDF and in its copies' master): its attached pages, made in
    # the same LibreOffice run, then the received letter a forward carries.
    made_now = {target for _, target in jobs}
    targets = {x.id: [t for t in (Path(x.docx_path).with_suffix(".pdf"), _master_pdf(x.docx_path)) if t in made_now]
               for x in letters}
    received = _received_copies(db, settings, [x for x in letters if targets[x.id]])
    attached: dict[Path, list[Path]] = {}
    for x in letters:
        extra = attachment_path(Path(x.docx_path))
        pages = [extra.with_suffix(".pdf")] if extra.exists() and targets[x.id] else []
        jobs += [(extra, page) for page in pages]
        pages += [received[x.id]] if x.id in received else []
        attached |= {target: pages for target in targets[x.id]}
    _pdfs_of(jobs, settings, attached)
    if todo:
        issued = [issued_row(docx.with_suffix(".pdf"), i, None, "letter") for i, docx in todo]  # for /verify
        with db.transaction() as s:
            s.execute(update(Letter), [{"id": i, "pdf_path": str(docx.with_suffix(".pdf"))} for i, docx in todo])
            record_issued(s, issued)


def _rows_by_id(s: Session, model: type[Letter] | type[Delivery], ids: Sequence[int]) -> list:
    return [row for start in range(0, len(ids), CHUNK)
            for row in s.scalars(select(model).where(model.id.in_(ids[start:start + CHUNK])))]


def _made(path: str | None) -> bool:
    """A file the database says was made, and that is still there."""
    return bool(path) and Path(path).exists()


def _pdfs_of(jobs: list[tuple[Path | bytes, Path]], settings: Settings,
             attached: dict[Path, list[Path]] | None = None) -> None:
    """Convert each .docx (a file, or its bytes) to the PDF named beside it, all in one LibreOffice run
    (LibreOffice writes every output of a run into one folder, named after the file it read, which would
    make every letter.docx collide: convert hard links (or copies) with unique names in a staging folder,
    then move the PDFs). ``attached``: the PDFs whose pages follow a target's own (made in this run, or on
    disk)."""
    # A PDF already in place was put there whole (write_new) from that same .docx by a run that stopped
    # before recording it: keep it (LibreOffice would not make the same bytes twice).
    jobs = [(source, target) for source, target in jobs if not target.exists()]
    if not jobs:
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.data_dir, prefix="pdf-") as tmp:
        links = []
        for i, (source, _) in enumerate(jobs):
            link = Path(tmp) / f"{i:06d}.docx"
            if isinstance(source, bytes):
                link.write_bytes(source)
            else:
                try:
                    os.link(source, link)
                except OSError:  # another file system
                    shutil.copyfile(source, link)
            links.append(link)
        made_now = {target: made for made, (_, target) in zip(docx_to_pdf(links, Path(tmp) / "out", settings), jobs,
                                                               strict=True)}
        for target, made in made_now.items():
            pages = [made_now[p].read_bytes() if p in made_now else p for p in (attached or {}).get(target, [])]
            # A concurrent run (two clerks' ลงรับ at once) put it there meanwhile, from the same .docx: keep it.
            with suppress(IssuedFileError):
                write_new(target, append_pages(made.read_bytes(), pages))


def _received_copies(db: Database, settings: Settings, letters: Sequence[Letter]) -> dict[int, Path]:
    """For each forwarding letter among ``letters``: the PDF of the copy its unit received, stamped if it was
    (stamped now when it was received and not stamped yet), which its PDF carries after its own pages."""
    forwards = {x.forwards_delivery_id: x.id for x in letters if x.forwards_delivery_id is not None}
    if not forwards:
        return {}
    with db.reading() as s:
        rows = _rows_by_id(s, Delivery, list(forwards))
    found: dict[int, Path] = {}
    for d in rows:
        with _letter_lock(settings, d.letter_id):
            stamped = _stamp_all(db, settings, [d.id]).get(d.id)
        if stamped is not None or _made(d.pdf_path):
            found[forwards[d.id]] = stamped or Path(d.pdf_path)
    return found


def _make_copies(db: Database, settings: Settings, letter_id: int, placeholder: bytes) -> None:
    """Each recipient's copy, rendered outside any transaction, recorded a chunk at a time (a run that
    stops half-way keeps what it recorded; the next run makes the rest)."""
    with db.reading() as s:
        letter = s.get(Letter, letter_id)
        docx_path, pdf_path, spec = letter.docx_path, letter.pdf_path, letter.spec
        rows = s.execute(select(Delivery.id, Delivery.token, Delivery.docx_path, Delivery.pdf_path,
                                Delivery.received_at, Unit.key).join(Unit, Unit.id == Delivery.unit_id)
                         .where(Delivery.letter_id == letter_id).order_by(Delivery.id)).all()
    need_docx = [r for r in rows if not _made(r.docx_path)]
    master_pdf = _master_pdf(docx_path) if _made(pdf_path) and _master_pdf(docx_path).exists() else None
    need_pdf = [r for r in rows if master_pdf and not _made(r.pdf_path)]
    if not need_docx and not need_pdf:
        return
    maker = CopyMaker(_tracked_master(settings, parse_spec(spec), placeholder),
                      master_pdf.read_bytes() if master_pdf else None, placeholder)
    folder = make_folder(Path(docx_path).parent / "copies")
    for start in range(0, len(need_docx), CHUNK):
        made = []
        for r in need_docx[start:start + CHUNK]:
            path = folder / f"{r.key}.docx"
            write_new(path, maker.docx_for(tracking_url(settings.base_url, r.token)))
            made.append({"id": r.id, "docx_path": str(path)})
        with db.transaction() as s:
            s.execute(update(Delivery), made)
    for start in range(0, len(need_pdf), CHUNK):
        made, issued = [], []
        for r in need_pdf[start:start + CHUNK]:
            path = folder / f"{r.key}.pdf"
            write_new(path, pdf := maker.pdf_for(tracking_url(settings.base_url, r.token)))
            made.append({"id": r.id, "pdf_path": str(path), "stamped_pdf_path": None})
            issued.append(issued_row(pdf, letter_id, r.id, "copy"))  # for /verify
        with db.transaction() as s:
            s.execute(update(Delivery), made)
            record_issued(s, issued)
    _stamp_all(db, settings, [r.id for r in need_pdf if r.received_at is not None])


def _stamp_all(db: Database, settings: Settings, delivery_ids: Sequence[int]) -> dict[int, Path]:
    """The stamped PDF of each received delivery that has a PDF copy (made now if missing), outside any
    write transaction; the paths are recorded after. The caller holds the letter's lock."""
    with db.reading() as s:
        rows = s.execute(select(Delivery, Unit.name).join(Unit, Unit.id == Delivery.unit_id).where(
            Delivery.id.in_(delivery_ids), Delivery.received_at.is_not(None))).all() if delivery_ids else []
    done = {d.id: Path(d.stamped_pdf_path) for d, _ in rows if _made(d.pdf_path) and _made(d.stamped_pdf_path)}
    rows_by_id = {d.id: d for d, _ in rows}
    made = {}
    for d, unit_name in rows:
        if _made(d.pdf_path) and d.id not in done:
            out = Path(d.pdf_path).with_name(Path(d.pdf_path).stem + "-received.pdf")
            stamp_receipt(Path(d.pdf_path), out, unit_name=unit_name, number=d.receipt_number,
                          received_at=d.received_at, settings=settings, issued=True)
            made[d.id] = out
    if made:
        issued = [issued_row(p, rows_by_id[i].letter_id, i, "stamped") for i, p in made.items()]  # for /verify
        with db.transaction() as s:
            s.execute(update(Delivery), [{"id": i, "stamped_pdf_path": str(p)} for i, p in made.items()])
            record_issued(s, issued)
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
    numbered = _exactly_once(db, lambda s: _receive_in(s, letter, unit_keys, actor, at))
    receipts = [r for _, r in numbered]
    if receipts:
        with _letter_lock(settings, receipts[0].letter_id):
            stamped = _stamp_all(db, settings, [i for i, _ in numbered])
        receipts = [dataclasses.replace(r, stamped_pdf=stamped.get(i)) for i, r in numbered]
    note_issued(db, settings)
    return receipts


def _receive_in(s: Session, letter: str | int, unit_keys: Sequence[str] | None, actor: str,
                at: datetime) -> list[tuple[int, Receipt]]:
    """The receipts, each with its delivery's id. The deliveries are locked first (PostgreSQL): a second
    clerk receiving the same one waits here, then finds it received and gets the same number."""
    found = find_letter(s, letter)
    _refuse_cancelled(s, found, "received")
    sender = s.get(Unit, found.unit_id)
    wanted = select(Delivery, Unit).join(Unit, Unit.id == Delivery.unit_id).where(Delivery.letter_id == found.id)
    if unit_keys is not None and len(set(unit_keys)) <= CHUNK:  # only these rows: lock no others
        wanted = wanted.where(Unit.key.in_(set(unit_keys)))
    rows = s.execute(wanted.order_by(Delivery.id).with_for_update(of=Delivery, key_share=True)
                     .execution_options(populate_existing=True)).all()
    by_key = {u.key: (d, u) for d, u in rows}
    keys = list(unit_keys) if unit_keys is not None else sorted(by_key)
    for key in keys:
        if key not in by_key:
            unit = get_unit(s, key)
            raise CircularError(f"หนังสือ ที่ {found.ref_text} ไม่ได้ส่งถึง{unit.name} จึงลงรับไม่ได้ / "
                                f"ที่ {found.ref_text} was not sent to {unit.name} ({key}): it cannot be "
                                "received there")
    todo = [by_key[k] for k in dict.fromkeys(keys) if by_key[k][0].received_at is None]
    numbers = add_entry_each(s, "receive", [(u.id, EntryText(
        ref_text=found.ref_text, letter_date=found.letter_date, from_text=sender.printed_sender, to_text=u.name,
        subject=found.subject, letter_id=found.id, delivery_id=d.id)) for d, u in todo], at=at, actor=actor)
    for d, u in todo:
        d.received_at, d.received_by = at, actor
        d.receipt_year, d.receipt_number = numbers[u.id]
    if todo:
        s.execute(insert(Event), [
            event_row("delivery.received", actor=actor, at=at, unit_id=u.id, office_id=u.id, letter_id=found.id,
                      delivery_id=d.id, data={"number": d.receipt_number, "year": d.receipt_year})
            for d, u in todo])
    fresh = {d.id for d, _ in todo}
    receipts = []
    for key in keys:
        d, _ = by_key[key]
        receipts.append((d.id, Receipt(found.id, key, d.receipt_year, d.receipt_number, d.received_at, d.id in fresh)))
    return receipts


@dataclass(frozen=True)
class IncomingReceipt:
    unit_id: int
    year: int
    number: int
    received_at: datetime
    new: bool = True
    stamped_pdf: Path | None = None


def receive_incoming(db: Database, unit_key: str, *, ref: str, letter_date: date, sender: str, subject: str,
                     to: str | None = None, actor: str = "saraban", at: datetime | None = None,
                     pdf: Path | None = None, settings: Settings | None = None) -> IncomingReceipt:
    """ลงรับ a letter from outside saraban (on paper or by e-mail): a line in the unit's receive register.

    The same letter (ที่, date and sender) received again returns its first line. With ``pdf`` (the scan
    or the e-mailed file; ``settings`` then required), a copy stamped with the receipt is written to
    ``<output>/received/``; a file that is missing or not a PDF is refused before anything is numbered,
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
            out = settings.output_dir / "received" / f"{unit.key}-{entry.year}-r{entry.number}.pdf"
            stamped = out if not new and out.exists() else _stamp_incoming(Path(pdf), out, unit, entry, settings)
        receipt = IncomingReceipt(unit.id, entry.year, entry.number, entry.entered_at, new, stamped)
    if settings is not None:
        note_issued(db, settings)
    return receipt


def _stamp_incoming(pdf: Path, out: Path, unit: Unit, entry: RegisterEntry, settings: Settings) -> Path:
    """The outside letter's PDF stamped with its receipt (received again: the first stamped copy stays)."""
    try:
        return stamp_receipt(pdf, out, unit_name=unit.name, number=entry.number, received_at=entry.entered_at,
                             settings=settings, issued=True)
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
        found, unit, d = _delivery_to_forward(s, letter, unit_key, lock=False)
        if d.forwarded_letter_id is not None:
            done = s.get(Letter, d.forwarded_letter_id)
            raise CircularError(f"{unit.name} ส่งต่อหนังสือนี้แล้ว ด้วยหนังสือ ที่ {done.ref_text} / {unit.name} has "
                                f"forwarded it already, by ที่ {done.ref_text}")
        if problem := letter_code_problem(unit):
            raise CircularError(problem)
        spec = _forwarding_spec(s, settings, found, unit, _forward_recipients(s, unit, to), at, subject, body)
    _preflight(spec, settings, tracked=True)
    return spec


def _delivery_to_forward(s: Session, letter: str | int, unit_key: str, *,
                         lock: bool = True) -> tuple[Letter, Unit, Delivery]:
    """The letter, the unit and its delivery, when the unit may forward it: sent to it, received, not
    cancelled. ``lock``: the delivery's row is locked first (PostgreSQL), so forwarders queue."""
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
    return found, unit, d


def _forward_recipients(s: Session, unit: Unit, to: str | Sequence[Unit] | None) -> list[Unit]:
    """Whom the unit forwards to: the next hop of the chain (``to`` None or ""), else the units of a selector
    or those given; only units below it (a province forwards within its province, not to its neighbour)."""
    if to is None or (isinstance(to, str) and not to.strip()):
        recipients = chain_recipients(s, unit)
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


def _forwarding_spec(s: Session, settings: Settings, found: Letter, unit: Unit, recipients: list[Unit],
                     at: datetime, subject: str | None, body: Sequence[str] | None) -> LetterSpec:
    upstream_sender = s.get(Unit, found.unit_id).printed_sender
    try:
        spec = forward_spec(
            settings, found.spec, upstream_sender=upstream_sender, upstream_ref=RefNo.parse(found.ref_text),
            upstream_date=found.letter_date, unit=unit, owner=owner_block(s, unit),
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
    found, unit, d = _delivery_to_forward(s, letter, unit_key)
    if d.forwarded_letter_id is not None:
        done = s.get(Letter, d.forwarded_letter_id)
        return Issued(done.id, done.ref_text, _count_deliveries(s, done.id), new=False)
    recipients = _forward_recipients(s, unit, to)
    spec = _forwarding_spec(s, settings, found, unit, recipients, at, subject, body)
    _preflight(spec, settings, tracked=True)
    return _issue_in(s, settings, spec.model_copy(update={"circular": True}), unit.key, recipients, actor, at,
                     d.id, None, uncertain_code_ok)


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
               auto_receive: bool = True, actor: str = "saraban", at: datetime | None = None) -> list[int]:
    """Carry a letter down the chain from one recipient: it forwards to the next hop, the next hop
    receives (when ``auto_receive``; otherwise only units that have really received go on) and forwards
    in turn, to the bottom. Returns the ids of the letters made. Safe to repeat after a crash."""
    at = at_or_now(at)
    made: list[int] = []
    todo = [(letter, unit_key)]
    while todo:
        current, key = todo.pop()
        with db.transaction() as s:
            found = find_letter(s, current)
            unit = get_unit(s, key)
            d = s.scalar(select(Delivery).where(Delivery.letter_id == found.id, Delivery.unit_id == unit.id))
            received = d is not None and d.received_at is not None
            goes_on = expects_to_forward(s, unit) and cancellation_of(s, found.id) is None
        if not received or not goes_on:
            continue
        # Unattended: a guessed letter code (the built-in directory's) does not stop the chain.
        issued = forward(db, settings, found.id, key, actor=actor, at=at, uncertain_code_ok=True)
        made.append(issued.letter_id)
        if auto_receive:
            receive_many(db, settings, issued.letter_id, actor=actor, at=at)
        with db.transaction() as s:
            # Only the recipients expected to forward carry it on: one query, not one per local administration.
            keys = s.scalars(select(Unit.key).join(Delivery, Delivery.unit_id == Unit.id)
                             .where(Delivery.letter_id == issued.letter_id, expected_to_forward(Unit))
                             .order_by(Unit.key.desc())).all()
        todo += [(issued.letter_id, k) for k in keys]
    return made


def recipients_of(db: Database, letter: str | int) -> list[str]:
    with db.transaction() as s:
        found = find_letter(s, letter)
        return list(s.scalars(select(Unit.key).join(Delivery, Delivery.unit_id == Unit.id)
                              .where(Delivery.letter_id == found.id).order_by(Unit.key)))


__all__ = ["CircularError", "DirectoryError", "Issued", "Receipt", "RecipientsError", "cancel_letter", "carry_down",
           "find_letter", "forward", "forward_draft", "issue_circular", "make_files", "receive", "receive_incoming",
           "receive_many", "recipients_of"]
