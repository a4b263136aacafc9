"""The database and the output folder know each other.

The database keeps an id (a random UUID, table ``data_folder``); the output folder keeps a manifest,
``<out>/saraban.json``, with the same id and the last register line it has seen issued (the highest
``register_entries.id``: lines are never deleted, so a database that has fewer is an older copy). One
number, not one per series: the manifest is rewritten after every act, and a national circular makes
thousands of acts. Before an act that numbers or writes, :func:`check_data_folder`
refuses a database that does not belong to the files already issued: a new or missing database (the
folder already holds issued files), another database (another id), or an older copy of the same one (a
restored backup: the folder records numbers the database has not given). It never renumbers; it says
which command reconciles (``saraban data check`` explains, ``saraban data adopt`` gives an empty output
folder the database's id).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from saraban.kernel.settings import Settings
from saraban.records.db import Database
from saraban.records.file_store import file_store
from saraban.records.locks import MANIFEST_FILE, advisory_lock
from saraban.records.models import DataFolder, RegisterEntry

MANIFEST = "saraban.json"
ISSUED_FOLDERS = ("letters", "received")  # where issued letters, copies and stamped receipts are kept
RECONCILE = "saraban data check"


class DataFolderError(RuntimeError):
    """The database and the output folder do not belong together: nothing may be numbered."""


@dataclass(frozen=True)
class FolderState:
    """What the database and the output folder say about each other."""

    output_dir: Path
    database_id: str | None
    manifest_id: str | None
    has_manifest: bool
    has_issued_files: bool
    database_is_new: bool
    seen_line: int = 0  # the last register line the output folder has seen issued
    last_line: int = 0  # the database's last register line

    @property
    def behind(self) -> bool:
        return self.has_manifest and self.database_id == self.manifest_id and self.seen_line > self.last_line

    def problem(self) -> str | None:
        """Why the two do not belong together (Thai / English, with the command to reconcile), or None."""
        out = self.output_dir
        if self.has_manifest and self.database_id is None:
            return (f"ฐานข้อมูลนี้ใหม่หรือไม่ใช่ฐานข้อมูลของโฟลเดอร์ {out} ซึ่งมีหนังสือที่ออกเลขแล้ว (รหัส {self.manifest_id}) "
                    f"จะไม่ออกเลขซ้ำ / this database is new or missing, but {out} holds letters issued by database "
                    f"{self.manifest_id}: nothing is numbered again. Point SARABAN_DATA_DIR / SARABAN_DATABASE_URL at "
                    f"that database or restore it; see: {RECONCILE}")
        if self.has_manifest and self.database_id != self.manifest_id:
            return (f"ฐานข้อมูล (รหัส {self.database_id}) ไม่ใช่ฐานข้อมูลของโฟลเดอร์ {out} (รหัส {self.manifest_id}) / "
                    f"another database: this one is {self.database_id}, the letters in {out} were issued by "
                    f"{self.manifest_id}; nothing is numbered. See: {RECONCILE}")
        if not self.has_manifest and self.has_issued_files and (self.database_is_new or self.database_id):
            return (f"โฟลเดอร์ {out} มีหนังสือที่ออกแล้วแต่ไม่มี {MANIFEST} ไม่รู้ว่าเป็นของฐานข้อมูลใด / {out} holds "
                    f"issued letters but no {MANIFEST}: it cannot be told which database issued them; nothing is "
                    f"numbered. See: {RECONCILE}")
        if self.behind:
            return (f"ฐานข้อมูลเก่ากว่าหนังสือที่ออกไปแล้ว (เช่น กู้จากสำรองเก่า) จะไม่ออกเลขซ้ำ / the database is older "
                    f"than the letters already issued in {out} (a restored backup?): the folder has seen register "
                    f"line {self.seen_line}, the database ends at line {self.last_line}; nothing is numbered again. "
                    f"Restore the newest backup; see: {RECONCILE}")
        return None


def manifest_path(settings: Settings) -> Path:
    return settings.output_dir / MANIFEST


def read_manifest(settings: Settings) -> dict | None:
    """The manifest kept in the file store beside the issued files (shared by every machine using it)."""
    store = file_store(settings)
    path = store.describe(MANIFEST)
    if not store.exists(MANIFEST):
        return None
    text = store.read_bytes(MANIFEST).decode("utf-8", errors="replace")
    try:
        manifest = json.loads(text)
    except ValueError:
        raise DataFolderError(f"{path} เสียหาย อ่านไม่ได้ / {path} is damaged (not JSON); see: {RECONCILE}") from None
    if not isinstance(manifest, dict):
        raise DataFolderError(f"{path} เสียหาย / {path} is damaged (not an object); see: {RECONCILE}")
    return manifest


def database_id(db: Database) -> str | None:
    with db.transaction() as s:
        return s.scalar(select(DataFolder.id).limit(1))


def _ensure_database_id(db: Database) -> str:
    with db.transaction() as s:
        found = s.scalar(select(DataFolder.id).limit(1))
        if found is None:
            found = str(uuid.uuid4())
            s.add(DataFolder(id=found))
    return found


def _has_issued_files(settings: Settings) -> bool:
    """Whether the file store (the output folder by default: saraban.records.file_store) holds issued files."""
    store = file_store(settings)
    return any(store.any_file(name) for name in ISSUED_FOLDERS)


def last_register_line(db: Database) -> int:
    """The id of the database's last register line (0: none yet)."""
    with db.transaction() as s:
        return s.scalar(select(func.max(RegisterEntry.id))) or 0


def folder_state(db: Database, settings: Settings) -> FolderState:
    manifest = read_manifest(settings)
    last = last_register_line(db)
    return FolderState(settings.output_dir, database_id(db), manifest.get("database_id") if manifest else None,
                       manifest is not None, _has_issued_files(settings), last == 0,
                       int(manifest.get("register_lines", 0)) if manifest else 0, last)


def check_data_folder(db: Database, settings: Settings) -> None:
    """Refuse (:class:`DataFolderError`) a database and an output folder that do not belong together; when
    they may (an empty output folder, or a database from before ids that already holds the letters
    found), give them the same id."""
    state = folder_state(db, settings)
    problem = state.problem()
    if problem:
        raise DataFolderError(problem)
    if not state.has_manifest:
        with _manifest_lock(db, settings):
            _write_manifest(settings, _ensure_database_id(db), state.last_line)


def _write_manifest(settings: Settings, ident: str, line: int) -> None:
    data = {"database_id": ident, "register_lines": line}
    file_store(settings).write_replacing(MANIFEST, (json.dumps(data, indent=1) + "\n").encode())


def _manifest_lock(db: Database, settings: Settings) -> contextlib.AbstractContextManager[None]:
    """One writer of the manifest at a time: on every machine (PostgreSQL), on this one (SQLite)."""
    return advisory_lock(db, settings, MANIFEST_FILE, 0)


def note_issued(db: Database, settings: Settings) -> None:
    """After an act wrote its files: the manifest remembers the database's last register line (never
    lowered); a folder without a manifest gets one with the database's id."""
    line = last_register_line(db)
    with _manifest_lock(db, settings):
        manifest = read_manifest(settings)
        if manifest is None:
            _write_manifest(settings, _ensure_database_id(db), line)
        elif line > int(manifest.get("register_lines", 0)):
            _write_manifest(settings, manifest["database_id"], line)


def adopt(db: Database, settings: Settings) -> str:
    """Give an output folder that holds no issued letter the database's id (a new output folder, or the old
    one moved aside); refuse one that holds issued letters. Returns the id."""
    if _has_issued_files(settings):
        raise DataFolderError(
            f"{settings.output_dir} มีหนังสือที่ออกแล้ว จะไม่เปลี่ยนเจ้าของ ย้ายโฟลเดอร์ออกไปก่อน (เช่น mv {settings.output_dir} "
            f"{settings.output_dir}.old) แล้วสั่งอีกครั้ง / {settings.output_dir} holds issued letters: it is not "
            f"given to another database. Move it aside first (e.g. mv {settings.output_dir} "
            f"{settings.output_dir}.old), then run saraban data adopt again")
    ident = _ensure_database_id(db)
    with _manifest_lock(db, settings):
        _write_manifest(settings, ident, last_register_line(db))
    return ident
