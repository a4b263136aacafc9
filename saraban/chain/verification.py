"""Is this letter ours, and is this file exactly the one we issued? (``/verify``, public.)

Every PDF that leaves saraban (a letter's own PDF, each recipient's copy with its tracking QR, each stamped
copy after ลงรับ, an announcement) has its SHA-256 recorded in ``issued_files`` when it is made
(:func:`record_issued_pdf`, :func:`issued_row` + :func:`record_issued`, called by
saraban.chain.circulars.make_files and receive). :func:`check_file` answers for an uploaded file, and
:func:`check_reference` for a reference number and date typed by hand. Neither answer carries anything
but what is printed at the head of any letter: its number, its date and the office that sent it (never
the subject, the addressee or to which office a copy went).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from saraban.chain.cancellations import cancellation_of
from saraban.kernel.clock import at_or_now
from saraban.records.models import IssuedFile, Letter, Unit
from thai_text import RefNo, ThaiDateError, parse_thai_date, to_thai_digits

# A letter's PDF is well under 1 MB; the web face passes the site's upload limit (SARABAN_UPLOAD_MAX_MB).
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
KINDS = ("letter", "copy", "stamped", "announcement")
KIND_TEXTS = {  # what the file is, as the answer says it (Thai / English)
    "letter": "ตรงกับหนังสือฉบับที่ออกทุกไบต์ / this file is exactly the issued letter",
    "copy": "ตรงกับสำเนาที่ส่งถึงหน่วยงานผู้รับทุกไบต์ / this file is exactly a copy sent to an office",
    "stamped": "ตรงกับสำเนาที่หน่วยงานผู้รับประทับตรารับแล้วทุกไบต์ / this file is exactly a copy stamped by the "
               "office that received it",
    "announcement": "ตรงกับประกาศฉบับที่ออกทุกไบต์ / this file is exactly the issued announcement",
}
_CHUNK = 500
_LOCK_KIND = 0x1550ED  # the first key of the advisory locks of _lock_letters (the second: the letter id)


class VerificationError(ValueError):
    """What was given cannot be checked (not a PDF, too large, not a reference number or a date): Thai / English."""


@dataclass(frozen=True)
class IssuedLetter:
    """What the answer may show of a letter saraban issued: its head, nothing else."""

    letter_id: int
    ref_text: str  # Arabic digits, as stored
    letter_date: date
    sender: str  # the office that sent it, as printed
    cancelled: bool = False

    @property
    def ref_thai(self) -> str:
        return to_thai_digits(self.ref_text)


@dataclass(frozen=True)
class FileMatch:
    letter: IssuedLetter
    kind: str  # letter | copy | stamped | announcement

    @property
    def text(self) -> str:
        return KIND_TEXTS.get(self.kind, KIND_TEXTS["letter"])


@dataclass(frozen=True)
class FileCheck:
    sha256: str
    size: int
    matches: tuple[FileMatch, ...]  # empty: not a file saraban issued (or changed since)

    @property
    def found(self) -> bool:
        return bool(self.matches)


# ------------------------------------------------------------------------------------------------ recording


def sha256_of(pdf: Path | str | bytes) -> str:
    if isinstance(pdf, bytes):
        return hashlib.sha256(pdf).hexdigest()
    digest = hashlib.sha256()
    with open(pdf, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def issued_row(pdf: Path | str | bytes, letter_id: int, delivery_id: int | None, kind: str,
               at: datetime | None = None) -> dict:
    """One row of ``issued_files`` (hashed now: call it outside the write transaction, then record_issued)."""
    if kind not in KINDS:
        raise ValueError(f"unknown issued file kind {kind!r}; expected one of {', '.join(KINDS)}")
    return {"sha256": sha256_of(pdf), "letter_id": letter_id, "delivery_id": delivery_id, "kind": kind,
            "at": at_or_now(at)}


def _lock_letters(session: Session, letter_ids: Iterable[int]) -> None:
    """PostgreSQL: one recorder of a letter's files at a time (an advisory lock per letter, in id order), so
    that simultaneous makers of the same file record it once: ``uq_issued_file`` cannot stop them for the
    rows without a delivery (a letter's own PDF, an announcement), NULLs being distinct. SQLite: BEGIN
    IMMEDIATE has serialised the writers already."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for letter_id in sorted(set(letter_ids)):
        session.execute(text("SELECT pg_advisory_xact_lock(:kind, :letter)"), {"kind": _LOCK_KIND, "letter": letter_id})


def record_issued(session: Session, rows: Sequence[dict]) -> int:
    """Insert the rows not recorded yet (the same file made again is recorded once, however many record it at
    once); returns how many."""
    _lock_letters(session, (r["letter_id"] for r in rows))
    fresh, seen = [], set()
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start:start + _CHUNK]
        have = set(session.execute(
            select(IssuedFile.sha256, IssuedFile.letter_id, IssuedFile.delivery_id, IssuedFile.kind)
            .where(IssuedFile.letter_id.in_({r["letter_id"] for r in chunk}),
                   IssuedFile.sha256.in_({r["sha256"] for r in chunk}))).tuples())
        for r in chunk:
            key = (r["sha256"], r["letter_id"], r["delivery_id"], r["kind"])
            if key not in have and key not in seen:
                seen.add(key)
                fresh.append(IssuedFile(**r))
    session.add_all(fresh)
    session.flush()
    return len(fresh)


def record_issued_pdf(session: Session, pdf: Path | str | bytes, letter_id: int, delivery_id: int | None = None,
                      kind: str = "letter", at: datetime | None = None) -> str:
    """Record the hash of one PDF that leaves saraban; returns the hash."""
    row = issued_row(pdf, letter_id, delivery_id, kind, at)
    record_issued(session, [row])
    return row["sha256"]


# ------------------------------------------------------------------------------------------------- checking


def verify_link(base_url: str, ref_text: str, letter_date: date) -> str:
    """The public check of a letter (``/verify`` filled with its ที่ and date): what the QR code on the letter's
    own PDF (the sender's file copy) carries.

    >>> verify_link("https://saraban.example", "มท 0820.2/ว 1144", date(2024, 3, 29))
    'https://saraban.example/verify?ref=%E0%B8%A1%E0%B8%97+0820.2/%E0%B8%A7+1144&date=2024-03-29'
    """
    return f"{base_url}/verify?{urlencode({'ref': ref_text, 'date': letter_date.isoformat()}, safe='/')}"


def mb_text(limit: int) -> str:
    return f"{limit / (1024 * 1024):g}"


def check_upload(data: bytes, limit: int = MAX_UPLOAD_BYTES) -> None:
    """Refuse what cannot be one of our PDFs before looking it up: empty, larger than ``limit``, not a PDF."""
    if not data:
        raise VerificationError("ไม่ได้เลือกไฟล์ หรือไฟล์ว่าง / no file was given, or it is empty")
    if len(data) > limit:
        raise VerificationError(
            f"ไฟล์ใหญ่เกิน {mb_text(limit)} MB ตรวจสอบได้เฉพาะไฟล์ PDF ของหนังสือ / the file is larger than "
            f"{mb_text(limit)} MB: only a letter's PDF can be checked")
    if b"%PDF-" not in data[:1024]:
        raise VerificationError("ไฟล์นี้ไม่ใช่ PDF ตรวจสอบได้เฉพาะไฟล์ PDF ของหนังสือ / this file is not a PDF: only "
                                "a letter's PDF can be checked")


def _issued_letters(session: Session, letter_ids: Iterable[int]) -> dict[int, IssuedLetter]:
    ids = list(dict.fromkeys(letter_ids))
    found = {}
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(select(Letter, Unit).join(Unit, Unit.id == Letter.unit_id)
                               .where(Letter.id.in_(ids[start:start + _CHUNK]))).all()
        for letter, unit in rows:
            found[letter.id] = IssuedLetter(letter.id, letter.ref_text, letter.letter_date, unit.printed_sender,
                                            cancellation_of(session, letter.id) is not None)
    return found


def check_file(session: Session, data: bytes, limit: int = MAX_UPLOAD_BYTES) -> FileCheck:
    """Whether ``data`` is, byte for byte, a PDF saraban issued, and which kind of it. VerificationError for
    an empty, non-PDF or larger than ``limit`` upload."""
    check_upload(data, limit)
    digest = sha256_of(data)
    rows = session.execute(select(IssuedFile.letter_id, IssuedFile.kind).where(IssuedFile.sha256 == digest)
                           .order_by(IssuedFile.id)).all()
    letters = _issued_letters(session, (letter_id for letter_id, _ in rows))
    matches = list(dict.fromkeys(FileMatch(letters[letter_id], kind) for letter_id, kind in rows
                                 if letter_id in letters))
    # An announcement (ประกาศ) is recorded once per result letter it went with: it is one document, said once.
    first = next((m for m in matches if m.kind == "announcement"), None)
    matches = [m for m in matches if m.kind != "announcement" or m is first]
    return FileCheck(digest, len(data), tuple(matches))


def parse_reference(ref_text: str) -> str:
    """The reference number as stored (Arabic digits, one spacing): Thai or Arabic digits, spaces as typed,
    an optional leading ``ที่``."""
    text = " ".join((ref_text or "").split())
    if not text:
        raise VerificationError("กรอกเลขที่หนังสือ เช่น ทส ๐๙๐๓/๑ / give the reference number, e.g. ทส 0903/1")
    try:
        return RefNo.parse(text).format("arabic")
    except ValueError as e:
        raise VerificationError(str(e)) from None


def parse_letter_date(value: date | str) -> date:
    if isinstance(value, date):
        return value
    text = " ".join((value or "").split())
    if not text:
        raise VerificationError("กรอกวันที่ของหนังสือ (ลงวันที่) / give the letter's date (ลงวันที่)")
    try:
        return parse_thai_date(text)
    except ThaiDateError as e:
        raise VerificationError(str(e)) from None


def check_reference(session: Session, ref_text: str, letter_date: date | str) -> list[IssuedLetter]:
    """The letters saraban issued with that reference number and date (usually one; none: not ours)."""
    ref, day = parse_reference(ref_text), parse_letter_date(letter_date)
    ids = session.scalars(select(Letter.id).where(Letter.ref_text == ref, Letter.letter_date == day)
                          .order_by(Letter.id)).all()
    letters = _issued_letters(session, ids)
    return [letters[i] for i in ids if i in letters]


__all__ = ["KINDS", "MAX_UPLOAD_BYTES", "FileCheck", "FileMatch", "IssuedLetter", "VerificationError", "check_file",
           "check_reference", "check_upload", "issued_row", "mb_text", "parse_letter_date", "parse_reference",
           "record_issued", "record_issued_pdf", "sha256_of", "verify_link"]
