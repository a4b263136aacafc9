"""Writing files safely: private (0600 files, 0700 folders), whole or not at all, and an issued file is
never replaced.

Every file is written under a temporary name in its own folder, flushed to disk, then put in place:
``write_new`` links it (an issued letter, copy or stamp: a file already there with other bytes is an
error, the same bytes are fine, so rendering again is harmless; ``write_new_many`` does so for many files,
flushing them together); ``write_replacing`` renames it over the
old one (a report, which may be made again). A failure (disk full, read-only folder) leaves no partial
file behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import itertools
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
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


# Files written and flushed together by write_new_many: open at once (file descriptors), and fsyncs at once.
MANY_AT_ONCE = 128
FLUSHES_AT_ONCE = 16


def write_new_many(files: Iterable[tuple[Path, bytes]]) -> list[Path]:
    """Write many issued files (a letter's copies), each as :func:`write_new` would, flushed together.

    ``write_new`` flushes each file and then its folder, one after the other: 1-2 ms a file, which a
    national circular's 9,000 copies feel. Here a batch of files is written under temporary names, then
    their fsyncs run at once (the file system commits them together), then each file takes its name,
    then each folder is flushed once. A file never takes its name before its bytes are on disk, and an
    error of any file's flush is seen (each file is fsynced, not the disk as a whole). A failure (disk
    full, an issued file there with other bytes) names the file and leaves no temporary file behind; the
    batches named before it stay, whole. ``files`` may be a generator: a batch at a time is in memory."""
    paths: list[Path] = []
    batch: list[tuple[Path, bytes]] = []
    for path, data in files:
        batch.append((Path(path), data))
        if len(batch) == MANY_AT_ONCE:
            _write_batch(batch)
            paths += [p for p, _ in batch]
            batch = []
    if batch:
        _write_batch(batch)
        paths += [p for p, _ in batch]
    return paths


def _write_batch(files: list[tuple[Path, bytes]]) -> None:
    todo: list[tuple[Path, bytes, Path, int]] = []  # (path, data, temporary, open descriptor)
    try:
        for folder in dict.fromkeys(path.parent for path, _ in files):
            make_folder(folder)
        for path, data in files:
            if path.exists():  # refused before any file of the batch takes its name
                _same_or_refuse(path, data)
                continue
            fd, name = _new_temporary(path)
            todo.append((path, data, name, fd))
            _named(path, _write_all, fd, data)
        if len(todo) == 1:
            _named(todo[0][0], os.fsync, todo[0][3])
        elif todo:  # FLUSHES_AT_ONCE threads, each flushing its share one after the other (a future a file costs)
            shares = [todo[i::FLUSHES_AT_ONCE] for i in range(min(FLUSHES_AT_ONCE, len(todo)))]
            flushes = [_flusher().submit(_flush_all, share) for share in shares]
            wait(flushes)  # all of them, before any descriptor is closed
            for flushed in flushes:
                flushed.result()
        for path, data, temporary, _ in todo:
            try:
                os.link(temporary, path)
            except FileExistsError:  # another process put it there meanwhile
                _same_or_refuse(path, data)
    finally:
        for _, _, temporary, fd in todo:
            os.close(fd)
            temporary.unlink(missing_ok=True)
    for folder in dict.fromkeys(path.parent for path, _, _, _ in todo):
        _sync_folder(folder)


_temporaries = itertools.count()


def _new_temporary(path: Path) -> tuple[int, Path]:
    """A new private file beside ``path``, open for writing, named ``.<name>.<process>.<n>.part``: unique as
    mkstemp's random names are, without their cost (a few µs a file; ~9,000 files a national circular). One
    left by a process of the same number that died is stepped over."""
    while True:
        name = path.with_name(f".{path.name}.{os.getpid()}.{next(_temporaries)}.part")
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE), name
        except FileExistsError:
            continue


_flushers: dict[int, ThreadPoolExecutor] = {}  # by process: a forked process has none of its parent's threads


def _flusher() -> ThreadPoolExecutor:
    """This process's threads that run write_new_many's fsyncs (kept: starting threads per batch costs). Two
    threads making the first pool at once make two: harmless (a pool starts its threads when used)."""
    pool = _flushers.get(os.getpid())
    if pool is None:
        pool = _flushers[os.getpid()] = ThreadPoolExecutor(FLUSHES_AT_ONCE, thread_name_prefix="saraban-fsync")
    return pool


def _flush_all(files: list[tuple[Path, bytes, Path, int]]) -> None:
    for path, _, _, fd in files:
        _named(path, os.fsync, fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _named(path: Path, call: Callable[..., object], *args: object) -> None:
    """``call(*args)``; an OSError that does not say where (a full disk) names ``path``."""
    try:
        call(*args)
    except OSError as e:
        if e.filename is None:
            raise OSError(e.errno, e.strerror, str(path)) from e
        raise


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
