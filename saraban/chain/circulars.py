"""Issue, receive and forward circulars (หนังสือเวียน).

Every step is one transaction that numbers and records together, and every step is safe to repeat:
issuing the same spec from the same unit again returns the letter already issued; receiving twice
returns the first receipt; forwarding a delivery twice returns the letter that already forwarded it.
Files (master .docx, each recipient's copy with its own tracking QR code, PDFs, stamped PDFs) are made
after the transaction and remade if missing, so a crash between the two loses nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from saraban.chain.distribution import describe_recipients, forward_spec
from saraban.chain.expectations import chain_recipients, expected_to_forward, expects_to_forward
from saraban.chain.tracking import TOKEN_LENGTH, new_token, secret_key, tracking_url
from saraban.directory.levels import LOCAL_LEVELS, DirectoryError
from saraban.directory.selectors import select_units
from saraban.directory.units import get_unit
from saraban.kernel.clock import at_or_now
from saraban.kernel.settings import Settings
from saraban.letters.paper.copies import CopyMaker
from saraban.letters.paper.pdf import docx_to_pdf
from saraban.letters.paper.qr import placeholder_qr_png
from saraban.letters.paper.stamps import stamp_receipt
from saraban.letters.shapes import renderer_for
from saraban.letters.spec import LetterSpec, SpecError, parse_spec
from saraban.records.db import Database
from saraban.records.events import record_event
from saraban.records.models import Delivery, Event, Letter, RegisterEntry, Unit
from saraban.records.registers import (
    EntryText,
    add_entries,
    add_entry_each,
    add_numbered_entry,
    cancel_entry,
    take_numbers,
)
from thai_text import RefNo, be_year


class CircularError(ValueError):
    """A request the rules refuse (not addressed to that unit, not received yet, no letter code ...)."""


@dataclass(frozen=True)
class Issued:
    letter_id: int
    ref: str  # Arabic digits, e.g. "มท 0820.2/ว 1144"
    recipients: int
    new: bool


@dataclass(frozen=True)
class Receipt:
    letter_id: int
    unit_key: str
    year: int
    number: int
    received_at: datetime
    new: bool
    stamped_pdf: Path | None = None


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
                   forwards: Delivery | None = None, circular: bool = True) -> Issued:
    """Number a circular in the sender's ว series (an ordinary letter, ``circular=False``, in its send
    series), record it in the send register, make one delivery per recipient, then render the letter and
    every recipient's copy. An ordinary letter may go to no unit of the directory (``to=None``: a letter
    to outside, sent on paper or by e-mail)."""
    if spec.ref is not None:
        raise SpecError(["ref: leave it out when issuing: the send register gives the number"])
    at = at_or_now(at)
    spec = spec.model_copy(update={"circular": circular})
    spec_hash = spec.hash()
    with db.transaction() as s:
        sender = get_unit(s, sender_key)
        if not sender.letter_code:
            raise CircularError(f"{sender.name} ({sender.key}) ยังไม่มีรหัสหนังสือ ตั้งในทำเนียบก่อน "
                                f"(saraban directory set {sender.key} --letter-code ...) / {sender.name} "
                                f"({sender.key}) has no letter code (รหัสหนังสือ, e.g. 'มท 0820.2'); set it in "
                                "the directory first")
        existing = _already_issued(s, sender, spec_hash, forwards)
        if existing is not None:
            issued = Issued(existing.id, existing.ref_text, _count_deliveries(s, existing.id), new=False)
        else:
            recipients = _recipients(s, to, sender) if circular or to else []
            issued = _record_issue(s, settings, spec, spec_hash, sender, recipients, actor, at, forwards)
    make_files(db, settings, [issued.letter_id])
    return issued


def _already_issued(s: Session, sender: Unit, spec_hash: str, forwards: Delivery | None) -> Letter | None:
    if forwards is not None:
        delivery = s.get(Delivery, forwards.id)
        return s.get(Letter, delivery.forwarded_letter_id) if delivery.forwarded_letter_id else None
    return s.scalar(select(Letter).where(Letter.unit_id == sender.id, Letter.spec_hash == spec_hash))


def _count_deliveries(s: Session, letter_id: int) -> int:
    return len(s.scalars(select(Delivery.id).where(Delivery.letter_id == letter_id)).all())


def _record_issue(s: Session, settings: Settings, spec: LetterSpec, spec_hash: str, sender: Unit,
                  recipients: list[Unit], actor: str, at: datetime, forwards: Delivery | None) -> Issued:
    year = be_year(spec.date)
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
                    spec_hash=spec_hash, created_at=at)
    s.add(letter)
    s.flush()
    add_numbered_entry(s, sender.id, year, series, number, EntryText(
        ref_text=letter.ref_text, letter_date=spec.date, from_text=sender.printed_sender, to_text=spec.to,
        subject=spec.subject, action=f"ส่ง {len(recipients)} หน่วยงาน" if recipients else None, letter_id=letter.id),
        at=at, actor=actor)
    key = secret_key(settings)
    if recipients:  # an empty list would insert one row of NULLs
        s.execute(insert(Delivery), [
            {"letter_id": letter.id, "unit_id": u.id, "token": new_token(key), "sent_at": at} for u in recipients])
    record_event(s, "letter.issued", actor=actor, at=at, unit_id=sender.id, letter_id=letter.id,
                 data={"ref": letter.ref_text, "recipients": len(recipients)})
    if forwards is not None:
        s.execute(update(Delivery).where(Delivery.id == forwards.id).values(forwarded_letter_id=letter.id))
        record_event(s, "delivery.forwarded", actor=actor, at=at, unit_id=sender.id,
                     letter_id=forwards.letter_id, delivery_id=forwards.id, data={"by_letter": letter.id})
    return Issued(letter.id, letter.ref_text, len(recipients), new=True)


def make_files(db: Database, settings: Settings, letter_ids: Sequence[int], *, pdf: bool = False) -> None:
    """Render what is missing: each letter's master .docx (with a placeholder tracking QR), each
    recipient's copy (its own tracking QR); with ``pdf``, the PDFs too, one LibreOffice run for all."""
    placeholder = placeholder_qr_png(len(tracking_url(settings.base_url, "x" * TOKEN_LENGTH)))
    with db.transaction() as s:
        letters = [s.get(Letter, i) for i in letter_ids]
        for letter in letters:
            if not _made(letter.docx_path):
                folder = letter_folder(settings, letter, s.get(Unit, letter.unit_id))
                folder.mkdir(parents=True, exist_ok=True)
                master = folder / "letter.docx"
                master.write_bytes(renderer_for(settings).render(parse_spec(letter.spec), tracking_png=placeholder))
                letter.docx_path, letter.pdf_path = str(master), None
        if pdf:
            todo = [x for x in letters if not _made(x.pdf_path)]
            _pdfs_beside([Path(x.docx_path) for x in todo], settings)
            for letter in todo:
                letter.pdf_path = str(Path(letter.docx_path).with_suffix(".pdf"))
        for letter in letters:
            _make_copies(s, settings, letter, placeholder)


def _made(path: str | None) -> bool:
    """A file the database says was made, and that is still there."""
    return bool(path) and Path(path).exists()


def _pdfs_beside(docx_files: list[Path], settings: Settings) -> None:
    """Convert each .docx to a PDF beside it, all in one LibreOffice run (LibreOffice writes every output
    of a run into one folder, named after the file it read, which would make every letter.docx collide:
    convert hard links (or copies) with unique names in a staging folder, then move the PDFs)."""
    if not docx_files:
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.data_dir, prefix="pdf-") as tmp:
        links = []
        for i, f in enumerate(docx_files):
            link = Path(tmp) / f"{i:06d}.docx"
            try:
                os.link(f, link)
            except OSError:  # another file system
                shutil.copyfile(f, link)
            links.append(link)
        for made, original in zip(docx_to_pdf(links, Path(tmp) / "out", settings), docx_files, strict=True):
            made.replace(original.with_suffix(".pdf"))


def _make_copies(s: Session, settings: Settings, letter: Letter, placeholder: bytes) -> None:
    deliveries = s.scalars(select(Delivery).where(Delivery.letter_id == letter.id)).all()
    need_docx = [d for d in deliveries if not _made(d.docx_path)]
    master_pdf = Path(letter.pdf_path) if _made(letter.pdf_path) else None
    need_pdf = [d for d in deliveries if master_pdf and not _made(d.pdf_path)]
    if not need_docx and not need_pdf:
        return
    maker = CopyMaker(Path(letter.docx_path).read_bytes(), master_pdf.read_bytes() if master_pdf else None,
                      placeholder)
    folder = Path(letter.docx_path).parent / "copies"
    folder.mkdir(exist_ok=True)
    units = {u.id: u.key for u in s.scalars(select(Unit).where(
        Unit.id.in_([d.unit_id for d in deliveries])))}
    for d in need_docx:
        path = folder / f"{units[d.unit_id]}.docx"
        path.write_bytes(maker.docx_for(tracking_url(settings.base_url, d.token)))
        d.docx_path = str(path)
    for d in need_pdf:
        path = folder / f"{units[d.unit_id]}.pdf"
        path.write_bytes(maker.pdf_for(tracking_url(settings.base_url, d.token)))
        d.pdf_path, d.stamped_pdf_path = str(path), None
        if d.received_at is not None:
            _stamp(s, settings, d)


def _stamp(s: Session, settings: Settings, d: Delivery) -> Path | None:
    if not _made(d.pdf_path):
        return None
    if _made(d.stamped_pdf_path):
        return Path(d.stamped_pdf_path)
    unit = s.get(Unit, d.unit_id)
    out = Path(d.pdf_path).with_name(Path(d.pdf_path).stem + "-received.pdf")
    stamp_receipt(Path(d.pdf_path), out, unit_name=unit.name, number=d.receipt_number,
                  received_at=d.received_at, settings=settings)
    d.stamped_pdf_path = str(out)
    return out


def receive(db: Database, settings: Settings, letter: str | int, unit_key: str, *, actor: str = "saraban",
            at: datetime | None = None) -> Receipt:
    """ลงรับ: the unit's next receive number, the date and time, and the stamp on its PDF copy."""
    return receive_many(db, settings, letter, [unit_key], actor=actor, at=at)[0]


def receive_many(db: Database, settings: Settings, letter: str | int, unit_keys: Sequence[str] | None = None,
                 *, actor: str = "saraban", at: datetime | None = None) -> list[Receipt]:
    """Receive one letter at many units in one transaction (``None``: every recipient)."""
    at = at_or_now(at)
    with db.transaction() as s:
        found = find_letter(s, letter)
        sender = s.get(Unit, found.unit_id)
        rows = s.execute(select(Delivery, Unit).join(Unit, Unit.id == Delivery.unit_id)
                         .where(Delivery.letter_id == found.id)).all()
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
                {"at": at, "actor": actor, "kind": "delivery.received", "unit_id": u.id,
                 "letter_id": found.id, "delivery_id": d.id,
                 "data": {"number": d.receipt_number, "year": d.receipt_year}} for d, u in todo])
        fresh = {id(d) for d, _ in todo}
        receipts = []
        for key in keys:
            d, _ = by_key[key]
            stamped = _stamp(s, settings, d)
            receipts.append(Receipt(found.id, key, d.receipt_year, d.receipt_number, d.received_at,
                                    id(d) in fresh, stamped))
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
            record_event(s, "letter.received_from_outside", actor=actor, at=at, unit_id=unit.id,
                         data={"ref": ref, "number": entry.number, "year": entry.year})
        stamped = None
        if pdf is not None:
            out = settings.output_dir / "received" / f"{unit.key}-{entry.year}-r{entry.number}.pdf"
            out.parent.mkdir(parents=True, exist_ok=True)
            try:
                stamped = stamp_receipt(Path(pdf), out, unit_name=unit.name, number=entry.number,
                                        received_at=entry.entered_at, settings=settings)
            except Exception as e:  # a damaged PDF: nothing is numbered (the transaction rolls back)
                out.unlink(missing_ok=True)
                raise CircularError(f"ประทับตรารับบน {pdf} ไม่ได้ ไม่มีการลงรับ / could not stamp {pdf}, nothing "
                                    f"was received: {e}") from e
        return IncomingReceipt(unit.id, entry.year, entry.number, entry.entered_at, new, stamped)


def _check_pdf(path: Path) -> None:
    try:
        with path.open("rb") as f:
            head = f.read(1024)
    except OSError as e:
        raise CircularError(f"อ่านไฟล์ {path} ไม่ได้ ไม่มีการลงรับ / cannot read {path}, nothing was received: "
                            f"{e.strerror or e}") from None
    if b"%PDF-" not in head:
        raise CircularError(f"{path} ไม่ใช่ไฟล์ PDF ไม่มีการลงรับ / {path} is not a PDF, nothing was received")


def forward(db: Database, settings: Settings, letter: str | int, unit_key: str, to: str | None = None, *,
            actor: str = "saraban", at: datetime | None = None) -> Issued:
    """The unit's own circular carrying a received one on to ``to`` (default: the next hop of the chain)."""
    at = at_or_now(at)
    with db.transaction() as s:
        found = find_letter(s, letter)
        unit = get_unit(s, unit_key)
        d = s.scalar(select(Delivery).where(Delivery.letter_id == found.id, Delivery.unit_id == unit.id))
        if d is None:
            raise CircularError(f"หนังสือ ที่ {found.ref_text} ไม่ได้ส่งถึง{unit.name} ส่งต่อได้เฉพาะหนังสือที่ได้รับ / "
                                f"ที่ {found.ref_text} was not sent to {unit.name}: only what a unit has "
                                "received can be forwarded")
        if d.received_at is None:
            raise CircularError(f"{unit.name} ยังไม่ได้ลงรับหนังสือ ที่ {found.ref_text} ต้องลงรับก่อนส่งต่อ / "
                                f"{unit.name} has not received ที่ {found.ref_text} yet: receive it first "
                                f"(saraban receive {found.id} --unit {unit.key})")
        if d.forwarded_letter_id is not None:
            done = s.get(Letter, d.forwarded_letter_id)
            return Issued(done.id, done.ref_text, _count_deliveries(s, done.id), new=False)
        recipients = select_units(s, to) if to else chain_recipients(s, unit)
        if not recipients:
            raise CircularError(f"{unit.name} ไม่มีหน่วยงานในสังกัดที่จะส่งต่อ / {unit.name} has no one to forward to "
                                "(no units below it in the directory)")
        upstream_sender = s.get(Unit, found.unit_id).printed_sender
        spec = parse_spec(forward_spec(
            found.spec, upstream_sender=upstream_sender, upstream_ref=RefNo.parse(found.ref_text),
            upstream_date=found.letter_date, unit=unit, to=describe_recipients(s, recipients),
            letter_date=at.date(), asks_to_inform=any(u.level not in LOCAL_LEVELS for u in recipients)))
    return issue_circular(db, settings, spec, sender_key=unit.key, to=recipients, actor=actor, at=at,
                          forwards=d)


def cancel_letter(db: Database, letter: str | int, *, reason: str, actor: str = "saraban",
                  at: datetime | None = None) -> int:
    """ยกเลิก: the letter keeps its number; its send-register line gets a cancellation line (the next
    number of the series, "ยกเลิกเลขที่ n: reason") and the event log says who and why. Returns the
    cancellation line's number; cancelling twice returns the same line."""
    if not reason.strip():
        raise CircularError("ระบุเหตุที่ยกเลิก / give the reason for cancelling (--reason)")
    at = at_or_now(at)
    with db.transaction() as s:
        found = find_letter(s, letter)
        line = s.scalar(select(RegisterEntry).where(
            RegisterEntry.letter_id == found.id, RegisterEntry.unit_id == found.unit_id,
            RegisterEntry.series.in_(("send", "circular")), RegisterEntry.cancels_id.is_(None)))
        return cancel_entry(s, line.id, reason=reason, actor=actor, at=at).number


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
            goes_on = expects_to_forward(s, unit)
        if not received or not goes_on:
            continue
        issued = forward(db, settings, found.id, key, actor=actor, at=at)
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


__all__ = ["CircularError", "DirectoryError", "Issued", "Receipt", "cancel_letter", "carry_down", "find_letter",
           "forward", "issue_circular", "make_files", "receive", "receive_incoming", "receive_many", "recipients_of"]
