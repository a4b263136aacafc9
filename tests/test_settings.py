"""Settings that cannot work are refused at start with the variable named; the tracking secret is made
once, whole and private, even when several processes start at the same moment."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

import pytest

from saraban.chain.tracking import secret_key
from saraban.kernel.settings import SettingsError, load_settings


@pytest.mark.parametrize("secret", ["a", "x" * 31, "ก" * 10])  # 10 Thai letters are 30 bytes
def test_a_short_secret_is_refused(monkeypatch, secret: str):
    monkeypatch.setenv("SARABAN_SECRET", secret)
    with pytest.raises(SettingsError, match="SARABAN_SECRET is too short: it must be at least 32 bytes"):
        load_settings()


def test_a_long_enough_secret_signs_the_links(monkeypatch):
    monkeypatch.setenv("SARABAN_SECRET", "s" * 32)
    assert secret_key(load_settings()) == b"s" * 32


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://example.org", "example.org", "http://",
                                 "https://a.example/?x=1", "file:///etc/passwd"])
def test_a_base_url_that_is_not_http_is_refused(monkeypatch, url: str):
    monkeypatch.setenv("SARABAN_BASE_URL", url)
    with pytest.raises(SettingsError, match="SARABAN_BASE_URL must be an http"):
        load_settings()


@pytest.mark.parametrize("url", ["https://saraban.dla.go.th/", "http://127.0.0.1:8000", "https://x.example/saraban"])
def test_http_base_urls_are_kept_without_the_final_slash(monkeypatch, url: str):
    monkeypatch.setenv("SARABAN_BASE_URL", url)
    assert load_settings().base_url == url.rstrip("/")


def _key_of(data_dir: str, start, queue) -> None:
    import os

    os.environ["SARABAN_DATA_DIR"] = data_dir
    start.wait()
    try:
        queue.put(secret_key(load_settings()).decode())
    except Exception as e:  # reported to the test, which fails on it
        queue.put(f"error: {e!r}")


def test_processes_starting_at_once_share_one_private_key(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("SARABAN_SECRET", raising=False)
    context = multiprocessing.get_context("fork")
    for attempt in range(10):
        folder = tmp_path / f"data{attempt}"
        start, queue = context.Barrier(8), context.Queue()
        workers = [context.Process(target=_key_of, args=(str(folder), start, queue)) for _ in range(8)]
        for w in workers:
            w.start()
        keys = [queue.get(timeout=30) for _ in workers]
        for w in workers:
            w.join()
        assert len(set(keys)) == 1 and len(keys[0]) == 64, keys
        key_file = folder / "secret.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert [p.name for p in folder.iterdir()] == ["secret.key"]  # no temporary file left


def test_the_default_data_folder_is_the_users_wherever_saraban_runs(monkeypatch, tmp_path):
    monkeypatch.delenv("SARABAN_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    for folder in (tmp_path / "a", tmp_path / "b"):
        folder.mkdir()
        monkeypatch.chdir(folder)
        assert load_settings().data_dir == tmp_path / "xdg" / "saraban"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert load_settings().data_dir == tmp_path / "home" / ".local" / "share" / "saraban"
