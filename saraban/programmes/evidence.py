"""Evidence files of an application (หลักฐานประกอบตัวชี้วัด): PDF, PNG, JPEG or Word (.docx), one indicator each.

A file is taken for what its content is, never for its name or the type the browser claimed: a PDF begins
``%PDF-``, a PNG and a JPEG with their signatures (and open as images), a .docx is a zip that holds
``word/document.xml``; anything else is refused. It is read a chunk at a time and refused as soon as it is
larger than the limit (``Settings.upload_max_bytes``, SARABAN_UPLOAD_MAX_MB), before anything is written.

It is kept with the application under the output folder (``applications/<programme>/<unit>/evidence/``),
named by its content's SHA-256 (the same file twice is one file), written whole then linked into place
(saraban.kernel.files.write_new); the row keeps the relative key. Removing it keeps the row (``removed_at``)
so that the application's history stays whole. Files are attached and removed while the window is open.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import BinaryIO

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from saraban.kernel.clock import at_or_now
from saraban.kernel.settings import Settings
from saraban.kernel.text_input import normalise_text
from saraban.programmes.applications import is_open, window_text
from saraban.programmes.definitions import ProgrammeError
from saraban.records.db import Database
from saraban.records.events import record_event
from saraban.records.file_store import file_store
from saraban.records.models import Application, EvidenceFile, Programme, Unit

CHUNK = 1024 * 1024
MAX_FILES_PER_INDICATOR = 10

# content type → (extension, Thai name)
TYPES = {
    "application/pdf": ("pdf", "PDF"),
    "image/png": ("png", "รูปภาพ PNG"),
    "image/jpeg": ("jpg", "รูปภาพ JPEG"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("docx", "Word (.docx)"),
}
ACCEPTED = "PDF, PNG, JPEG, Word (.docx)"


class EvidenceError(ProgrammeError):
    """An evidence file refused (type, size, indicator, window): nothing was stored."""


class EvidenceTooLarge(EvidenceError):
    """Larger than the limit (the web answers 413)."""


def too_large_message(limit: int) -> str:
    mb = f"{limit / (1024 * 1024):g}"
    return (f"ไฟล์ใหญ่เกินไป รับได้ไม่เกิน {mb} MB ต่อไฟล์ ไม่มีการบันทึก / the file is too large: at most {mb} MB "
            "per file; nothing was stored")


def read_limited(source: bytes | BinaryIO, limit: int) -> bytes:
    """The bytes of ``source``, read a chunk at a time; EvidenceError as soon as they pass ``limit``."""
    if isinstance(source, bytes | bytearray):
        if len(source) > limit:
            raise EvidenceTooLarge(too_large_message(limit))
        return bytes(source)
    parts, size = [], 0
    while chunk := source.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise EvidenceTooLarge(too_large_message(limit))
        parts.append(chunk)
    return b"".join(parts)


def content_type(data: bytes) -> str | None:
    """What the content is (one of TYPES), or None."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
        from PIL import Image

        try:
            with Image.open(io.BytesIO(data)) as image:
                kind = image.format
                image.verify()
        except Exception:  # noqa: BLE001  (a damaged image: whatever PIL raises, it is not one)
            return None
        return {"PNG": "image/png", "JPEG": "image/jpeg"}.get(kind or "")
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = set(z.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return None
        if "word/document.xml" in names:
            return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return None


_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


def clean_filename(name: str, kind: str) -> str:
    """The name the unit gave (no folder, nothing invisible, at most 120 characters), ending in the extension
    of what the content is."""
    name = normalise_text(unicodedata.normalize("NFC", name or ""))
    name = PurePosixPath(name.replace("\\", "/")).name
    name = " ".join(_UNSAFE.sub(" ", name).split()).strip(". ")
    extension = TYPES[kind][0]
    stem, dot, suffix = name.rpartition(".")
    if dot and suffix.lower() in ({"jpg", "jpeg"} if extension == "jpg" else {extension}):
        return f"{stem[:110].strip() or 'หลักฐาน'}.{suffix.lower()}"
    return f"{name[:110].strip() or 'หลักฐาน'}.{extension}"  # a name that says otherwise: the content's extension


def _indicators(programme: Programme) -> list[str]:
    return [str(i["key"]) for c in programme.definition["structure"]["components"] for i in c["indicators"]]


def _refuse_closed(programme: Programme, at: datetime) -> None:
    if not is_open(programme, at):
        raise EvidenceError(f"ไม่อยู่ในช่วงรับสมัคร แนบหรือลบหลักฐานไม่ได้ (รับสมัคร{window_text(programme)}) / outside "
                            "the application window: evidence cannot be attached or removed")


def _attached(session: Session, application_id: int, indicator: str, sha: str) -> EvidenceFile | None:
    """The same file attached to the indicator already (not removed)."""
    return session.scalar(select(EvidenceFile).where(
        EvidenceFile.application_id == application_id, EvidenceFile.indicator == indicator,
        EvidenceFile.sha256 == sha, EvidenceFile.removed_at.is_(None)))


def _refuse_full(session: Session, application_id: int, indicator: str) -> None:
    count = session.scalar(select(func.count()).select_from(EvidenceFile).where(
        EvidenceFile.application_id == application_id, EvidenceFile.indicator == indicator,
        EvidenceFile.removed_at.is_(None)))
    if count >= MAX_FILES_PER_INDICATOR:
        raise EvidenceError(f"ตัวชี้วัด {indicator} มีหลักฐานครบ {MAX_FILES_PER_INDICATOR} ไฟล์แล้ว ลบไฟล์เดิมก่อน / "
                            f"indicator {indicator} has {MAX_FILES_PER_INDICATOR} files already: remove one first")


@dataclass(frozen=True)
class Added:
    evidence_id: int
    new: bool  # False: the same file was already attached to that indicator


def add_evidence(db: Database, settings: Settings, application_id: int, indicator: str, filename: str,
                 data: bytes | BinaryIO, *, actor: str = "saraban", at: datetime | None = None,
                 limit: int | None = None) -> Added:
    """Attach a file to the application for one indicator. Refused (EvidenceError, nothing stored): too large,
    not a PDF/PNG/JPEG/docx by content, an unknown indicator, the window closed, too many files. The same file
    again for the same indicator returns the first (exactly once, however many send it at once)."""
    limit = settings.upload_max_bytes if limit is None else limit
    indicator = (indicator or "").strip()
    at = at_or_now(at)
    with db.reading() as s:
        a = s.get(Application, application_id)
        if a is None:
            raise EvidenceError(f"ไม่พบใบสมัคร {application_id} / no application {application_id}")
        programme, unit = s.get(Programme, a.programme_id), s.get(Unit, a.unit_id)
        if indicator not in _indicators(programme):
            raise EvidenceError(f"เลือกตัวชี้วัดของหลักฐาน / choose the indicator the file is evidence of (not "
                                f"'{indicator[:20]}')")
        _refuse_closed(programme, at)
        folder = PurePosixPath("applications", programme.key, unit.key, "evidence")
    content = read_limited(data, limit)
    if not content:
        raise EvidenceError("ไฟล์ว่างเปล่า ไม่มีการบันทึก / the file is empty; nothing was stored")
    kind = content_type(content)
    if kind is None:
        raise EvidenceError(f"ไฟล์นี้ไม่ใช่ {ACCEPTED} ตามเนื้อหาของไฟล์ (ไม่ว่าชื่อไฟล์จะเป็นอย่างไร) ไม่มีการบันทึก / "
                            f"the file's content is not {ACCEPTED}, whatever its name says; nothing was stored")
    sha = hashlib.sha256(content).hexdigest()
    key = str(folder / f"{sha}.{TYPES[kind][0]}")
    name = clean_filename(filename, kind)
    with db.reading() as s:  # refused before anything is written (and again below, under the lock)
        if _attached(s, application_id, indicator, sha) is None:
            _refuse_full(s, application_id, indicator)
    file_store(settings).write_new(key, content)  # whole, never a partial file (saraban.records.file_store)
    with db.transaction() as s:
        # The application's row locked first (PostgreSQL): uploads of one application queue here.
        a = s.scalar(select(Application).where(Application.id == application_id).with_for_update()
                     .execution_options(populate_existing=True))
        same = _attached(s, a.id, indicator, sha)
        if same is not None:
            return Added(same.id, False)
        _refuse_full(s, a.id, indicator)
        row = EvidenceFile(application_id=a.id, indicator=indicator, filename=name, content_type=kind,
                           size=len(content), sha256=sha, file_key=key, uploaded_by=actor, uploaded_at=at)
        s.add(row)
        s.flush()
        record_event(s, "application.evidence_added", actor=actor, at=at, unit_id=a.unit_id, office_id=a.unit_id,
                     data={"application": a.id, "evidence": row.id, "indicator": indicator, "filename": name,
                           "content_type": kind, "size": len(content), "sha256": sha})
        return Added(row.id, True)


def remove_evidence(db: Database, application_id: int, evidence_id: int, *, actor: str = "saraban",
                    at: datetime | None = None) -> bool:
    """Mark the file removed (its row and file stay); False when it was removed already."""
    at = at_or_now(at)
    with db.transaction() as s:
        row = s.get(EvidenceFile, evidence_id)
        if row is None or row.application_id != application_id:
            raise EvidenceError(f"ไม่พบหลักฐาน {evidence_id} / no evidence file {evidence_id} of that application")
        a = s.get(Application, application_id)
        _refuse_closed(s.get(Programme, a.programme_id), at)
        done = s.execute(update(EvidenceFile).where(EvidenceFile.id == evidence_id, EvidenceFile.removed_at.is_(None))
                         .values(removed_at=at)).rowcount
        if done:
            record_event(s, "application.evidence_removed", actor=actor, at=at, unit_id=a.unit_id,
                         office_id=a.unit_id, data={"application": a.id, "evidence": evidence_id,
                                                     "indicator": row.indicator, "filename": row.filename})
        return bool(done)


def evidence_of(session: Session, application_id: int) -> dict[str, list[EvidenceFile]]:
    """The application's files not removed, by indicator, oldest first."""
    out: dict[str, list[EvidenceFile]] = {}
    for row in session.scalars(select(EvidenceFile).where(EvidenceFile.application_id == application_id,
                                                          EvidenceFile.removed_at.is_(None))
                               .order_by(EvidenceFile.id)):
        out.setdefault(row.indicator, []).append(row)
    return out


__all__ = ["ACCEPTED", "Added", "EvidenceError", "EvidenceTooLarge", "TYPES", "add_evidence", "clean_filename",
           "content_type", "evidence_of", "read_limited", "remove_evidence", "too_large_message"]
