"""The file store: every file saraban issues (letters, copies, stamped receipts, announcements, evidence) is
kept under a KEY, a relative POSIX path such as ``letters/dla-2569-w7/copies/krabi.pdf``, in one store.

The store is ``SARABAN_FILES``: a local folder (by default the output folder, ``<data>/out``) or any fsspec
URL (``s3://bucket/saraban``, ``memory://name`` in tests). The database keeps only keys, so the same rows
serve every machine that reaches the same store. A local store writes through saraban.kernel.files (whole,
private, an issued file never replaced); a remote one writes each file whole in one call.

Code that needs a real file on this machine (LibreOffice, the page-1 preview) asks :meth:`FileStore.local_copy`:
the file itself in a local store, a staged temporary copy from a remote one.

A value that is an absolute path is a path kept by a database from before keys (migration 0010 leaves a
path outside the output folder as it was): it is still read as a local path, never written.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from saraban.kernel.files import IssuedFileError, write_new, write_new_many, write_replacing
from saraban.kernel.settings import Settings


class FileStoreError(ValueError):
    """A key that cannot name a file of the store (absolute, leading outside it, empty)."""


def check_key(key: str) -> str:
    """``key`` as the store keeps it: a relative POSIX path inside the store.

    >>> check_key("letters/a/letter.docx")
    'letters/a/letter.docx'
    >>> check_key("letters/../../etc/passwd")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    saraban.records.file_store.FileStoreError: ... the key 'letters/../../etc/passwd' leads outside the file store
    """
    text = str(key)
    parts = PurePosixPath(text).parts
    if not text or "\\" in text or "\0" in text or PurePosixPath(text).is_absolute() or ".." in parts \
            or not parts or parts == (".",):
        raise FileStoreError(f"ที่เก็บไฟล์ไม่ถูกต้อง / the key {text!r} leads outside the file store")
    return str(PurePosixPath(*parts))


def is_legacy_path(stored: str) -> bool:
    """A value kept before keys: an absolute local path (read as such, never written)."""
    return PurePosixPath(stored).is_absolute()


def sibling(key: str, name: str) -> str:
    """The key of ``name`` in ``key``'s folder.

    >>> sibling("letters/a/letter.docx", "master.pdf")
    'letters/a/master.pdf'
    """
    return str(PurePosixPath(key).with_name(name))


class FileStore:
    """Files by key in a local folder or an fsspec file system."""

    def __init__(self, url: str) -> None:
        self.url = url
        if "://" not in url or url.startswith("file://"):  # a local folder: no fsspec needed (nor its import time)
            self.fs = None
            self.root = url.removeprefix("file://")
            self.local_root: Path | None = Path(self.root)
            return
        import fsspec
        from fsspec.implementations.local import LocalFileSystem

        self.fs, root = fsspec.core.url_to_fs(url)
        self.root = root.rstrip("/") or "/"
        self.local_root = Path(root) if isinstance(self.fs, LocalFileSystem) else None

    @property
    def is_local(self) -> bool:
        return self.local_root is not None

    def __repr__(self) -> str:
        return f"FileStore({self.url!r})"

    # -------------------------------------------------------------------------------------------- naming

    def path(self, key: str) -> Path:
        """The local file of ``key`` (a local store; or a path kept from before keys)."""
        if is_legacy_path(key):
            return Path(key)
        if self.local_root is None:
            raise FileStoreError(f"{self.url} is not a local folder: {key!r} has no local path (use local_copy)")
        return self.local_root / check_key(key)

    def key_of(self, path: Path | str) -> str | None:
        """The key of a local file inside a local store's folder, else None."""
        if self.local_root is None:
            return None
        try:
            relative = Path(path).resolve().relative_to(self.local_root.resolve())
        except ValueError:
            return None
        return relative.as_posix() if relative.parts else None

    def describe(self, key: str) -> str:
        """Where ``key`` is, for a person: its local path, or its URL."""
        if self.local_root is not None or is_legacy_path(key):
            return str(self.path(key))
        return f"{self.url.rstrip('/')}/{check_key(key)}"

    def _remote(self, key: str) -> str:
        return f"{self.root.rstrip('/')}/{check_key(key)}"

    # ---------------------------------------------------------------------------------------------- reading

    def exists(self, key: str | None) -> bool:
        """Whether a file is kept under ``key`` (None or "": no)."""
        if not key:
            return False
        if self.local_root is not None or is_legacy_path(key):
            return self.path(key).is_file()
        return bool(self.fs.isfile(self._remote(key)))

    def read_bytes(self, key: str) -> bytes:
        if self.local_root is not None or is_legacy_path(key):
            return self.path(key).read_bytes()
        try:
            return self.fs.cat_file(self._remote(key))
        except FileNotFoundError:
            raise FileNotFoundError(2, "no such file in the store", self.describe(key)) from None

    def open(self, key: str) -> BinaryIO:
        """The file opened for reading (a download streams it); the caller closes it."""
        if self.local_root is not None or is_legacy_path(key):
            return self.path(key).open("rb")
        return self.fs.open(self._remote(key), "rb")

    @contextlib.contextmanager
    def local_copy(self, key: str, *, suffix: str = "") -> Iterator[Path]:
        """A local file with ``key``'s bytes for the block: the file itself in a local store; a private
        temporary copy (removed after) from a remote one."""
        if self.local_root is not None or is_legacy_path(key):
            yield self.path(key)
            return
        with tempfile.TemporaryDirectory(prefix="saraban-store-") as tmp:
            path = Path(tmp) / (PurePosixPath(key).name or "file")
            if suffix:
                path = path.with_suffix(suffix)
            path.write_bytes(self.read_bytes(key))
            yield path

    # ---------------------------------------------------------------------------------------------- writing

    def write_new(self, key: str, data: bytes) -> str:
        """An issued file: whole, never over other bytes (the same bytes there already: nothing to do;
        other bytes: IssuedFileError). Returns the key."""
        key = check_key(key)
        if self.local_root is not None:
            write_new(self.local_root / key, data)
            return key
        target = self._remote(key)
        if self.fs.isfile(target):
            return self._same_or_refuse(key, data)
        # One call writes the whole object (an object store shows it whole or not at all). Two machines
        # writing the same key at once is kept out by the letter's lock (saraban.records.locks).
        self._makedirs(target)
        self.fs.pipe_file(target, data)
        return key

    def write_new_many(self, files: Iterable[tuple[str, bytes]]) -> list[str]:
        """Several issued files (a letter's copies), each as :meth:`write_new`; a local store flushes them to
        disk together (saraban.kernel.files.write_new_many). ``files`` may be a generator. Returns the keys."""
        if self.local_root is None:
            return [self.write_new(key, data) for key, data in files]
        root = self.local_root
        return [path.relative_to(root).as_posix()
                for path in write_new_many((root / check_key(key), data) for key, data in files)]

    def write_replacing(self, key: str, data: bytes) -> str:
        """A file that may be made again (a report, a preview): whole, replacing the old one."""
        key = check_key(key)
        if self.local_root is not None:
            write_replacing(self.local_root / key, data)
            return key
        target = self._remote(key)
        self._makedirs(target)
        self.fs.pipe_file(target, data)
        return key

    def _makedirs(self, target: str) -> None:
        parent = target.rsplit("/", 1)[0]
        if parent:
            with contextlib.suppress(OSError, NotImplementedError):  # object stores have no folders
                self.fs.makedirs(parent, exist_ok=True)

    def _same_or_refuse(self, key: str, data: bytes) -> str:
        if self.read_bytes(key) == data:
            return key
        raise IssuedFileError(17, "มีไฟล์นี้อยู่แล้วและเนื้อหาต่างกัน จะไม่เขียนทับไฟล์ที่ออกไปแล้ว / an issued file is "
                                  "already there with other content; it is never replaced", self.describe(key))

    def any_file(self, prefix: str) -> bool:
        """Whether any file is kept under the folder ``prefix`` (e.g. ``letters``)."""
        prefix = check_key(prefix)
        if self.local_root is not None:
            folder = self.local_root / prefix
            return folder.is_dir() and any(p.is_file() for p in folder.rglob("*"))
        target = self._remote(prefix)
        try:
            return any(True for _ in self.fs.find(target))
        except FileNotFoundError:
            return False


@lru_cache(maxsize=8)
def _store(url: str) -> FileStore:
    return FileStore(url)


def file_store(settings: Settings) -> FileStore:
    """The store of ``settings`` (``SARABAN_FILES``; the output folder by default), one per URL."""
    return _store(settings.files_url)


__all__ = ["FileStore", "FileStoreError", "check_key", "file_store", "is_legacy_path", "sibling"]
