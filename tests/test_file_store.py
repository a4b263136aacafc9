"""Files by key in a file store (saraban.records.file_store): a local folder by default, any fsspec URL by
SARABAN_FILES; the database keeps keys, never an absolute path (migration 0010 converts the old paths); the
lock on a letter's files is PostgreSQL's advisory lock on PostgreSQL (saraban.records.locks)."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path, PurePosixPath

import pytest
from docx import Document
from pypdf import PdfReader
from sqlalchemy import inspect, select, text

from saraban.chain.circulars import forward, issue_circular, make_files, receive
from saraban.kernel.clock import BANGKOK
from saraban.kernel.files import IssuedFileError
from saraban.kernel.settings import SettingsError, load_settings
from saraban.records.db import MIGRATIONS, Database
from saraban.records.file_store import FileStore, FileStoreError, file_store
from saraban.records.locks import letter_lock, letter_locks
from saraban.records.models import Delivery, Letter
from tests.dbs import (  # noqa: F401  (the db and settings fixtures)
    KINDS,
    add_unit,
    circular_spec,
    database_param,
    directory_db,
    fresh_database,
    own_output_settings,
)

AT = datetime(2024, 3, 29, 10, 30, tzinfo=BANGKOK)
FILE_COLUMNS = ((Letter, ("docx_key", "pdf_key")), (Delivery, ("docx_key", "pdf_key", "stamped_pdf_key")))


def stored_keys(db: Database) -> list[str]:
    with db.reading() as s:
        return [v for model, columns in FILE_COLUMNS for row in s.execute(select(*(getattr(model, c) for c in columns)))
                for v in row if v is not None]


def pdf_text(data: bytes) -> str:
    return "".join("".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages)


def chain_with_pdfs(db: Database, settings) -> tuple[int, int]:
    """A circular to three provinces with PDFs, received (stamped) by กระบี่, forwarded to a district with
    PDFs (the forward's PDF carries the stamped copy): the department's letter id and the forward's."""
    issued = issue_circular(db, settings, circular_spec(), sender_key="dla.env.2", to="prov.81,prov.83,prov.11",
                            at=AT, files=False)
    make_files(db, settings, [issued.letter_id], pdf=True)
    receive(db, settings, issued.letter_id, "prov.81", at=AT)
    fwd = forward(db, settings, issued.letter_id, "prov.81", to="amphoe.8101", at=AT, files=False)
    make_files(db, settings, [fwd.letter_id], pdf=True)
    return issued.letter_id, fwd.letter_id


# ----------------------------------------------------------------------------------------- the store alone


@pytest.mark.parametrize("key", ["/etc/passwd", "../out.pdf", "letters/../../x", "", "a\\b"])
def test_a_key_leading_outside_the_store_is_refused(tmp_path, key):
    store = FileStore(str(tmp_path))
    with pytest.raises(FileStoreError, match="leads outside the file store"):
        store.write_new(key, b"x")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["local", "memory"])
def test_an_issued_file_is_never_replaced(tmp_path, where):
    store = FileStore(str(tmp_path) if where == "local" else f"memory://saraban-{uuid.uuid4().hex}")
    assert store.write_new("letters/a/letter.pdf", b"%PDF-1") == "letters/a/letter.pdf"
    assert store.write_new("letters/a/letter.pdf", b"%PDF-1") == "letters/a/letter.pdf"  # the same bytes: fine
    with pytest.raises(IssuedFileError, match="never replaced"):
        store.write_new("letters/a/letter.pdf", b"%PDF-2")
    assert store.read_bytes("letters/a/letter.pdf") == b"%PDF-1"
    with store.local_copy("letters/a/letter.pdf") as path:
        assert path.read_bytes() == b"%PDF-1"
    assert store.any_file("letters") and not store.any_file("received")
    assert (tmp_path / "letters/a/letter.pdf").is_file() == (where == "local")


def test_an_unknown_or_missing_file_system_is_a_clear_setting_error(monkeypatch):
    monkeypatch.setenv("SARABAN_FILES", "nosuch://bucket/saraban")
    with pytest.raises(SettingsError, match="unknown file store protocol 'nosuch://'"):
        load_settings()
    monkeypatch.setenv("SARABAN_FILES", "memory://saraban-test")
    assert load_settings().files_url == "memory://saraban-test"


# --------------------------------------------------------------------------------- a circular, end to end


@pytest.mark.parametrize("db", [database_param("sqlite")], indirect=True)
def test_a_circular_lives_whole_in_a_memory_store(db, settings):
    """SARABAN_FILES=memory://...: issue with PDFs, receive (stamp), forward with the stamped copy carried;
    every file reads back from the store, the database keeps only relative keys, nothing is in the output
    folder, and a download serves the store's bytes."""
    from saraban.faces.web.files import stored_file

    settings = dataclasses.replace(settings, files=f"memory://saraban-test-{uuid.uuid4().hex}")
    store = file_store(settings)
    department, krabi = chain_with_pdfs(db, settings)

    keys = stored_keys(db)
    assert keys and not [k for k in keys if PurePosixPath(k).is_absolute()]
    assert all(store.exists(k) for k in keys)
    assert not (settings.output_dir / "letters").exists()
    with db.reading() as s:
        letter = s.get(Letter, department)
        copies = {d.unit_id: d for d in s.scalars(select(Delivery).where(Delivery.letter_id == department))}
        stamped = [d for d in copies.values() if d.stamped_pdf_key]
        fwd = s.get(Letter, krabi)
    assert Document(io.BytesIO(store.read_bytes(letter.docx_key))).paragraphs[0].text == "ที่ มท ๐๘๒๐.๒/ว ๑"
    assert len(copies) == 3 and all(store.read_bytes(d.pdf_key).startswith(b"%PDF") for d in copies.values())
    (received,) = stamped
    assert "เลขรับ๑" in pdf_text(store.read_bytes(received.stamped_pdf_key))
    forwarded = pdf_text(store.read_bytes(fwd.pdf_key))
    assert "ที่กบ๐๐๒๓.๖/ว๑" in forwarded and "เลขรับ๑" in forwarded  # the stamped copy follows the letter

    response = stored_file(settings, fwd.pdf_key, filename="กบ 0023.6-ว 1.pdf")
    assert response.body == store.read_bytes(fwd.pdf_key)
    assert response.headers["content-disposition"].startswith("attachment; filename*=utf-8''")


def test_no_stored_key_is_absolute_after_issue_receive_and_forward(db, settings):
    """The default store, the output folder: keys relative to it, files under it."""
    chain_with_pdfs(db, settings)
    keys = stored_keys(db)
    assert len(keys) >= 2 + 3 * 2 + 1 + 2 + 2  # letters' docx and pdf, copies' docx and pdf, the stamp ...
    assert all(not PurePosixPath(k).is_absolute() and k.startswith("letters/") for k in keys), keys
    assert all((settings.output_dir / k).is_file() for k in keys)


# ---------------------------------------------------------------------------------------------- migration


def _alembic(db: Database, verb: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, verb)(config, revision)


@pytest.mark.parametrize("kind", [database_param(k) for k in KINDS])
def test_the_migration_turns_paths_under_the_output_folder_into_keys(kind, tmp_path, settings):
    """Down to 0009 (keys become paths under the output folder), then up again: every path under the output
    folder becomes its key; a path elsewhere is kept as it was (still read as a local path)."""
    db = fresh_database(kind, tmp_path)
    unit = add_unit(db, "dla.env.2", "กองสิ่งแวดล้อม")
    elsewhere = str(tmp_path / "moved" / "letter.pdf")
    with db.transaction() as s:
        letter = Letter(unit_id=unit, kind="circular", circular=True, ref_text="มท 0820.2/ว 1", year=2567, number=1,
                        letter_date=AT.date(), subject="x", spec={}, spec_hash="h", created_at=AT,
                        docx_key="letters/a/letter.docx", pdf_key=elsewhere)
        s.add(letter)
        s.flush()
        s.add(Delivery(letter_id=letter.id, unit_id=unit, token="t", sent_at=AT, docx_key="letters/a/copies/u.docx",
                       pdf_key=str(settings.output_dir / "letters/a/copies/u.pdf")))
    _alembic(db, "downgrade", "0009")
    with db.engine.connect() as c:
        assert {col["name"] for col in inspect(c).get_columns("deliveries")} >= {"docx_path", "stamped_pdf_path"}
        old = c.execute(text("SELECT docx_path, pdf_path FROM letters")).one()
    assert tuple(old) == (str(settings.output_dir / "letters/a/letter.docx"), elsewhere)
    _alembic(db, "upgrade", "head")
    with db.reading() as s:
        letter = s.scalar(select(Letter))
        copy = s.scalar(select(Delivery))
    assert (letter.docx_key, letter.pdf_key) == ("letters/a/letter.docx", elsewhere)
    assert (copy.docx_key, copy.pdf_key, copy.stamped_pdf_key) == ("letters/a/copies/u.docx",
                                                                    "letters/a/copies/u.pdf", None)
    (tmp_path / "moved").mkdir()
    Path(elsewhere).write_bytes(b"%PDF-old")
    assert file_store(settings).read_bytes(letter.pdf_key) == b"%PDF-old"  # an old path is still read
    db.engine.dispose()


# -------------------------------------------------------------------------------------------------- the lock


def held_in_a_thread(lock, order: list[str], done: str) -> threading.Thread:
    """A thread that takes ``lock`` (a context manager), holds it a moment and notes ``done`` in ``order``;
    returned once it holds the lock."""
    held = threading.Event()

    def hold() -> None:
        with lock:
            held.set()
            time.sleep(0.4)
            order.append(done)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(10)
    return thread


@pytest.mark.parametrize("kind", [database_param(k) for k in KINDS])
def test_a_letters_files_are_made_by_one_holder_at_a_time(kind, tmp_path, settings):
    db = fresh_database(kind, tmp_path)
    order: list[str] = []
    thread = held_in_a_thread(letter_lock(db, settings, 7), order, "first done")
    with letter_lock(db, settings, 7):
        order.append("second in")
    with letter_lock(db, settings, 8):  # another letter: not held up
        pass
    thread.join()
    assert order == ["first done", "second in"]
    db.engine.dispose()


@pytest.mark.parametrize("kind", [database_param(k) for k in KINDS])
def test_makers_of_many_letters_lock_them_together_without_a_deadlock(kind, tmp_path, settings):
    """letter_locks (one maker of many letters' files): the letters are locked in order of id, so two makers of
    overlapping batches, given them in opposite orders, queue instead of each holding what the other waits for;
    a single letter's maker waits for the batch that holds it."""
    db = fresh_database(kind, tmp_path)
    inside, order = threading.Barrier(2, timeout=10), []

    def maker(name: str, letters: list[int]) -> None:
        inside.wait()  # both start at once
        for _ in range(20):
            with letter_locks(db, settings, letters):
                order.append(name)

    threads = [threading.Thread(target=maker, args=("a", [3, 1, 2])),
               threading.Thread(target=maker, args=("b", [2, 4, 3]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads), "the two makers deadlocked"
    assert sorted(order) == ["a"] * 20 + ["b"] * 20
    thread = held_in_a_thread(letter_locks(db, settings, [5, 6]), order, "batch done")
    with letter_lock(db, settings, 6):
        order.append("single in")
    thread.join()
    assert order[-2:] == ["batch done", "single in"]
    db.engine.dispose()


@pytest.mark.parametrize("kind", [database_param("postgresql")])
def test_a_killed_holder_lets_go_of_the_lock(kind, tmp_path, settings):
    """PostgreSQL ends a dead worker's session, and its advisory lock with it: the next one goes on."""
    db = fresh_database(kind, tmp_path)
    script = ("import sys, time\nfrom saraban.records.db import Database, make_engine\n"
              "from saraban.kernel.settings import load_settings\nfrom saraban.records.locks import letter_lock\n"
              "with letter_lock(Database(make_engine(sys.argv[1])), load_settings(), 9):\n"
              "    print('held', flush=True)\n    time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", script, str(db.engine.url.render_as_string(False))],
                              stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent)
    try:
        assert holder.stdout.readline().strip() == "held"
        with db.engine.connect() as c:
            assert c.execute(text("SELECT pg_try_advisory_lock(1301, 9)")).scalar() is False
        holder.kill()
        holder.wait(10)
        started = time.monotonic()
        with letter_lock(db, settings, 9):
            assert time.monotonic() - started < 5
    finally:
        holder.kill()
        db.engine.dispose()


@pytest.mark.parametrize("db", [database_param("sqlite")], indirect=True)  # a second database beside it
def test_a_second_machine_on_the_shared_store_and_database_is_accepted(db, tmp_path, monkeypatch):
    """Two machines, each its own data folder, one database and one shared store (SARABAN_FILES): the
    manifest that pairs the store with the database is kept in the store, so the second machine's check
    passes, and a database that is not the store's is still refused there."""
    from saraban.records.data_folder import DataFolderError, check_data_folder, read_manifest

    monkeypatch.setenv("SARABAN_FILES", str(tmp_path / "shared"))
    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "machine-a"))
    first = load_settings()
    check_data_folder(db, first)
    issue_circular(db, first, circular_spec(), sender_key="dla.env.2", to="prov.81", at=AT)
    assert (tmp_path / "shared" / "saraban.json").is_file()
    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "machine-b"))
    second = load_settings()
    check_data_folder(db, second)  # the other machine's data folder is new: the store's manifest is what counts
    assert read_manifest(second) == read_manifest(first)
    assert not (tmp_path / "machine-b" / "out" / "saraban.json").exists()
    other = fresh_database(db.dialect, tmp_path / "other")
    with pytest.raises(DataFolderError):
        check_data_folder(other, second)
    other.engine.dispose()
