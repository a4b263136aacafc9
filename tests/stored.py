"""Files of the file store, for tests that read what saraban made: the local file of a key."""

from __future__ import annotations

from pathlib import Path

from saraban.kernel.settings import Settings
from saraban.records.file_store import file_store


def local(settings: Settings, key: str | None) -> Path:
    """The local file of ``key`` in the store of ``settings`` (a local folder, as in every test but
    tests/test_file_store.py)."""
    assert key, "no file was recorded"
    return file_store(settings).path(key)
