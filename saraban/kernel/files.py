"""Writing files safely: private (0600 files, 0700 folders), whole or not at all, and an issued file is
never replaced.

Every file is written under a temporary name in its own folder, flushed to disk, then put in place:
``write_new`` links it (an issued letter, copy or stamp: a file already there with other bytes is an
error, the same bytes are fine, so rendering again is harmless); ``write_replacing`` renames it over the
old one (a report, which may be made again). A failure (disk full, read-only folder) leaves no partial
file behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

PRIVATE_UMASK = 0o077
FILE_MODE = 0o600
FOLDER_MODE = 0o700


class IssuedFileError(OSError):
    """An issued file is already there with other content: it is never replaced."""


def private_umask() -> None:
    """From now on this process creates files 0600 and folders 0700 (the database, its WAL, Prefect's
    database, the letters): the data folder holds personal data and signed links."""
    os.umask(PRIVATE_UMASK)


def make_folder(folder: Path) -> Path:
    """``folder`` and any missing parent, each created 0700."""
    folder = Path(folder)
    if not folder.is_dir():
        missing = [p for p in (folder, *folder.parents) if not p.exists()]
        for part in reversed(missing):
            with contextlib.suppress(FileExistsError):
                part.mkdir(mode=FOLDER_MODE)
        if not folder.is_dir():  # a file where the folder should be: say so with the path
            raise NotADirectoryError(20, os.strerror(20), str(folder))
    return folder


@contextlib.contextmanager
def folder_lock(folder: Path, name: str) -> Iterator[None]:
    """One process at a time (on this machine) inside the block: an exclusive lock on ``folder/<name>.lock``."""
    path = make_folder(folder) / f"{name}.lock"
    with open(path, "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _temporary(path: Path, data: bytes) -> Path:
    """``data`` written and flushed to disk under a temporary name (0600) beside ``path``."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(name)
        if isinstance(e, OSError) and e.filename is None:  # a full disk does not say where: name the file
            raise OSError(e.errno, e.strerror, str(path)) from e
        raise
    return Path(name)


def _sync_folder(folder: Path) -> None:
    """Make a rename or link in ``folder`` durable."""
    with contextlib.suppress(OSError):  # some file systems cannot open a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_new(path: Path, data: bytes) -> Path:
    """Write an issued file: whole, private, never over another. The same bytes already there: nothing
    to do; other bytes: :class:`IssuedFileError`."""
    path = Path(path)
    make_folder(path.parent)
    if path.exists():
        return _same_or_refuse(path, data)
    temporary = _temporary(path, data)
    try:
        os.link(temporary, path)
    except FileExistsError:  # another process put it there meanwhile
        return _same_or_refuse(path, data)
    finally:
        temporary.unlink(missing_ok=True)
    _sync_folder(path.parent)
    return path


def _same_or_refuse(path: Path, data: bytes) -> Path:
    if path.is_file() and path.read_bytes() == data:
        return path
    raise IssuedFileError(17, "มีไฟล์นี้อยู่แล้วและเนื้อหาต่างกัน จะไม่เขียนทับไฟล์ที่ออกไปแล้ว / an issued file is "
                              "already there with other content; it is never replaced", str(path))


def write_replacing(path: Path, data: bytes) -> Path:
    """Write a file that may be made again (a report): whole and private, replacing the old one at once."""
    path = Path(path)
    make_folder(path.parent)
    temporary = _temporary(path, data)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)
    return path


def saved(save: Callable[[BinaryIO], object]) -> bytes:
    """The bytes a library's ``save(file)`` writes (a workbook, a document, a chart), kept in memory so that
    they reach the disk through :func:`write_new` or :func:`write_replacing`."""
    buffer = io.BytesIO()
    save(buffer)
    return buffer.getvalue()
