"""Locks that hold where the work runs: one process at a time makes a letter's files.

On PostgreSQL the lock is the database's (``pg_advisory_lock`` on a connection of its own): it holds across
every machine using that database, and it is let go when the holder's connection ends, so a killed worker
does not leave it taken. On SQLite (one machine by nature) it is a file lock in the data folder.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager

from sqlalchemy import text

from saraban.kernel.files import folder_lock
from saraban.kernel.settings import Settings
from saraban.records.db import Database

# The first half of a two-key advisory lock: what is locked (the second half is the row's id).
LETTER_FILES = 1301
ANNOUNCEMENT_FILES = 1302
MANIFEST_FILE = 1303  # the data folder's manifest (records.data_folder)
_NAMES = {LETTER_FILES: "letter", ANNOUNCEMENT_FILES: "announcement", MANIFEST_FILE: "manifest"}


def advisory_lock(db: Database, settings: Settings, kind: int, ident: int) -> AbstractContextManager[None]:
    """One holder at a time of (``kind``, ``ident``) inside the block: on every machine (PostgreSQL), on this
    machine (SQLite)."""
    return advisory_locks(db, settings, kind, [ident])


@contextmanager
def advisory_locks(db: Database, settings: Settings, kind: int, idents: Iterable[int]) -> Iterator[None]:
    """:func:`advisory_lock` of each of ``idents`` at once, taken in ascending order: two holders of sets that
    overlap never wait for each other in a circle (one connection for them all, on PostgreSQL)."""
    idents = sorted(set(idents))
    if db.dialect != "postgresql":
        with ExitStack() as held:
            for ident in idents:
                held.enter_context(folder_lock(settings.data_dir / "locks", f"{_NAMES[kind]}-{ident}"))
            yield
        return
    # Autocommit: waiting and holding keep no transaction open (no snapshot held, no "idle in transaction").
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        taken: list[int] = []
        try:
            for ident in idents:
                connection.execute(text("SELECT pg_advisory_lock(:kind, :ident)"), {"kind": kind, "ident": ident})
                taken.append(ident)
            yield
        finally:
            for ident in reversed(taken):
                connection.execute(text("SELECT pg_advisory_unlock(:kind, :ident)"), {"kind": kind, "ident": ident})


def letter_lock(db: Database, settings: Settings, letter_id: int) -> AbstractContextManager[None]:
    """One process at a time makes the files of letter ``letter_id``."""
    return advisory_lock(db, settings, LETTER_FILES, letter_id)


def letter_locks(db: Database, settings: Settings, letter_ids: Iterable[int]) -> AbstractContextManager[None]:
    """:func:`letter_lock` of several letters at once (one maker of many letters' files)."""
    return advisory_locks(db, settings, LETTER_FILES, letter_ids)


__all__ = ["ANNOUNCEMENT_FILES", "LETTER_FILES", "MANIFEST_FILE", "advisory_lock", "advisory_locks", "letter_lock",
           "letter_locks"]
