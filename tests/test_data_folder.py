"""The data folder guards itself: the database and the output folder know each other, issued files are never
overwritten, a damaged database stops writes, storage errors say so in one line, and everything is private."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pypdf import PdfWriter
from typer.testing import CliRunner

from saraban.faces.cli.app import app
from saraban.kernel.clock import today
from saraban.kernel.files import IssuedFileError, write_new, write_new_many, write_replacing
from tests.conftest import ROOT, example_dict
from tests.dbs import KINDS, database_param, fresh_database


@pytest.fixture(autouse=True)
def _umask():
    """The CLI makes the process's files private (umask 077): give the other tests their umask back."""
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


@pytest.fixture
def data(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SARABAN_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    return tmp_path / "data"


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def spec(tmp_path: Path, subject: str) -> Path:
    body = example_dict("03-department-circular") | {"subject": subject, "date": today().isoformat()}
    body.pop("ref", None)
    path = tmp_path / f"{hashlib.sha1(subject.encode()).hexdigest()[:8]}.yaml"
    path.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    return path


def issue(tmp_path: Path, subject: str, to: str = "prov.81,prov.12"):
    return cli("circular", "issue", spec(tmp_path, subject), "--from", "dla.env.2", "--to", to)


def files_of(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def one_line(result) -> str:
    """The error of a refused command: one line, no traceback."""
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert len(lines) == 1, result.output
    return lines[0]


def letters_in(db: Path) -> list[str]:
    with sqlite3.connect(db) as c:
        return [r[0] for r in c.execute("SELECT ref_text FROM letters ORDER BY id")]


# --- the database and the output folder know each other -------------------------------------------------


def test_a_new_database_does_not_number_again_over_issued_letters(tmp_path, data):
    assert issue(tmp_path, "เรื่องแรก").exit_code == 0
    letters = data / "out" / "letters"
    before = files_of(letters)
    assert any(name.endswith("letter.docx") for name in before)
    manifest = (data / "out" / "saraban.json").read_text(encoding="utf-8")
    assert '"register_lines": 1' in manifest and '"database_id"' in manifest

    (tmp_path / "cli.db").rename(tmp_path / "moved-away.db")  # saraban.db moved away: a new one is made
    for name in ("cli.db-wal", "cli.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    again = issue(tmp_path, "เรื่องที่สอง")
    assert again.exit_code == 2
    line = one_line(again)
    assert "this database is new or missing" in line and "saraban data check" in line
    assert files_of(letters) == before
    assert letters_in(tmp_path / "cli.db") == []  # nothing numbered
    check = cli("data", "check")
    assert check.exit_code == 2 and "nothing is ever renumbered" in check.output


def test_another_database_is_refused(tmp_path, data, monkeypatch):
    assert issue(tmp_path, "เรื่องแรก").exit_code == 0
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("SARABAN_DATA_DIR", str(other / "data"))
    monkeypatch.setenv("SARABAN_DATABASE_URL", f"sqlite:///{other}/other.db")
    assert issue(other, "เรื่องของอีกที่").exit_code == 0  # a database of its own, with its own letters
    monkeypatch.setenv("SARABAN_DATA_DIR", str(data))  # ... now pointed at the first output folder
    refused = issue(tmp_path, "เรื่องที่สอง")
    assert refused.exit_code == 2 and "another database" in one_line(refused)
    assert letters_in(other / "other.db") == ["มท 0820.2/ว 1"]
    assert cli("status", "1").exit_code == 2  # every command opening the data is refused, not only issue


def test_a_restored_backup_is_refused(tmp_path, data):
    assert issue(tmp_path, "เรื่องแรก").exit_code == 0
    backup = tmp_path / "last-night.db"
    with sqlite3.connect(tmp_path / "cli.db") as live, sqlite3.connect(backup) as copy:
        live.backup(copy)
    assert issue(tmp_path, "เรื่องที่สอง").exit_code == 0  # ว 2, its files in out/letters/...-w2
    for name in ("cli.db-wal", "cli.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    backup.replace(tmp_path / "cli.db")  # last night's backup restored
    before = files_of(data / "out" / "letters")

    refused = issue(tmp_path, "เรื่องที่สาม")
    assert refused.exit_code == 2
    line = one_line(refused)
    assert "older than the letters already issued" in line
    assert "seen register line 2, the database ends at line 1" in line
    assert letters_in(tmp_path / "cli.db") == ["มท 0820.2/ว 1"]  # ว 2 is not given again
    assert files_of(data / "out" / "letters") == before


def test_adopt_gives_only_an_empty_output_folder_to_a_database(tmp_path, data):
    assert issue(tmp_path, "เรื่องแรก").exit_code == 0
    (tmp_path / "cli.db").rename(tmp_path / "moved-away.db")
    refused = cli("data", "adopt")
    assert refused.exit_code == 2 and "holds issued letters" in one_line(refused)
    (data / "out").rename(data / "out.old")  # the old letters kept aside, never overwritten
    adopted = cli("data", "adopt")
    assert adopted.exit_code == 0 and "now belongs to this database" in adopted.output
    assert issue(tmp_path, "เรื่องที่สอง").exit_code == 0
    assert cli("data", "check").exit_code == 0
    assert (data / "out.old" / "saraban.json").exists()


# --- issued files are never overwritten -----------------------------------------------------------------


def test_an_issued_file_is_written_whole_once_and_never_replaced(tmp_path):
    path = tmp_path / "letters" / "a" / "letter.docx"
    write_new(path, b"first")
    write_new(path, b"first")  # the same bytes again: rendering again is harmless
    with pytest.raises(IssuedFileError) as refused:
        write_new(path, b"other")
    assert refused.value.filename == str(path) and "never replaced" in refused.value.strerror
    assert path.read_bytes() == b"first"
    write_replacing(tmp_path / "report.xlsx", b"1")
    write_replacing(tmp_path / "report.xlsx", b"2")  # a report may be made again
    assert (tmp_path / "report.xlsx").read_bytes() == b"2"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["letter.docx", "report.xlsx"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_many_issued_files_are_flushed_together_whole_and_never_replaced(tmp_path, monkeypatch):
    """write_new_many (a letter's copies): each file fsynced before it takes its name, all at once; the same
    rules as write_new; a full disk names the file and leaves nothing half-written or temporary."""
    import saraban.kernel.files as files

    real_fsync, flushed = os.fsync, []
    monkeypatch.setattr(files.os, "fsync", lambda fd: flushed.append(fd) or real_fsync(fd))
    copies = [(tmp_path / "a" / "copies" / f"{n}.docx", f"copy {n}".encode()) for n in range(5)]
    assert write_new_many([*copies, (tmp_path / "b" / "letter.docx", b"letter")])[-1] == tmp_path / "b" / "letter.docx"
    assert len(flushed) >= 6 and all(path.read_bytes() == data for path, data in copies)
    assert stat.S_IMODE(copies[0][0].stat().st_mode) == 0o600
    write_new_many(copies)  # the same bytes again: harmless
    with pytest.raises(IssuedFileError) as refused:
        write_new_many([(tmp_path / "a" / "copies" / "new.docx", b"new"), (copies[1][0], b"other")])
    assert refused.value.filename == str(copies[1][0]) and copies[1][0].read_bytes() == b"copy 1"

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(OSError) as e:
        write_new_many([(tmp_path / "c" / "1.docx", b"1"), (tmp_path / "c" / "2.docx", b"2")])
    assert e.value.errno == errno.ENOSPC and e.value.filename == str(tmp_path / "c" / "1.docx")
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == [*(f"a/copies/{n}.docx" for n in range(5)), "b/letter.docx"]


def test_an_issued_letter_in_the_way_is_not_overwritten(tmp_path, data):
    """A file left at an issued letter's place (another database's, a hand edit) stops the rendering."""
    folder = data / "out" / "letters" / f"dla.env.2-{today().year + 543}-w1"
    folder.mkdir(parents=True)
    (folder / "letter.docx").write_bytes(b"an earlier letter")
    (data / "out" / "saraban.json").unlink(missing_ok=True)
    from saraban.kernel.settings import load_settings
    from saraban.records.data_folder import adopt
    from saraban.records.db import open_database

    db = open_database(load_settings())
    with pytest.raises(Exception, match="holds issued letters"):
        adopt(db, load_settings())
    db.engine.dispose()
    # a database from before ids, with the folder's letters missing from it: the render refuses, the file stays
    result = issue(tmp_path, "เรื่องแรก")
    assert result.exit_code == 2
    assert (folder / "letter.docx").read_bytes() == b"an earlier letter"


# --- a damaged database stops writes --------------------------------------------------------------------


def _damage(db: Path, offset: int, size: int) -> None:
    """Random bytes over part of the database file (its WAL first written back into it)."""
    with sqlite3.connect(db) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with db.open("r+b") as f:
        f.seek(offset)
        f.write(os.urandom(size))


def test_a_damaged_database_is_refused_before_anything_is_written(tmp_path, data):
    assert issue(tmp_path, "เรื่องแรก").exit_code == 0
    db = tmp_path / "cli.db"
    _damage(db, 0, 0)
    size = db.stat().st_size
    assert size > 100_000  # the directory of offices: data in the middle
    _damage(db, size // 2 - 4096, 8192)
    damaged = hashlib.sha256(db.read_bytes()).hexdigest()
    for args in (["status", "1"], ["receive", "1", "--unit", "prov.81"]):
        result = cli(*args)
        assert result.exit_code == 2, result.output
        line = one_line(result)
        assert line.startswith("ฐานข้อมูลเสียหาย") and "the database is damaged" in line and str(db) in line
    assert hashlib.sha256(db.read_bytes()).hexdigest() == damaged  # nothing written into it


def test_a_damaged_header_says_so_in_one_line(tmp_path, data):
    assert issue(tmp_path, "เรื่องแรก").exit_code == 0
    _damage(tmp_path / "cli.db", 0, 100)
    result = cli("status", "1")
    assert result.exit_code == 2 and "the database is damaged" in one_line(result)


# --- disk full, read-only, permission: one line, exit 2, no partial file ----------------------------------


def test_disk_full_while_rendering_leaves_no_partial_file_and_the_next_run_completes(tmp_path, data, monkeypatch):
    """The number is committed before the files are made (rendering is outside the write transaction):
    a disk full during rendering leaves the letter numbered with some files, none of them partial; the
    same command again (or make_files) makes the rest, under the same number."""
    import saraban.kernel.files as files

    real_fsync, calls = os.fsync, []

    def fsync(fd):
        if sys._getframe(1).f_code.co_name not in ("_temporary", "_named"):  # count the files the store writes
            return real_fsync(fd)
        calls.append(fd)
        # the manifest, the letter and its attached recipients list (to ทุกจังหวัด) are written; the copies,
        # written together, find the disk full
        if len(calls) == 5:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", fsync)
    full = issue(tmp_path, "เรื่องแรก", to="prov.81,prov.12,prov.50")
    line = one_line(full)
    assert full.exit_code == 2 and line.startswith("ดิสก์เต็ม") and "the disk is full" in line
    assert "/copies/" in line  # names the path
    letters = data / "out" / "letters"
    assert not [p for p in letters.rglob("*") if p.name.endswith(".part")]
    assert len(list(letters.rglob("copies/*.docx"))) == 0

    monkeypatch.setattr(files.os, "fsync", real_fsync)
    again = issue(tmp_path, "เรื่องแรก", to="prov.81,prov.12,prov.50")
    assert again.exit_code == 0 and "already issued" in again.output
    assert len(list(letters.rglob("copies/*.docx"))) == 3
    assert letters_in(tmp_path / "cli.db") == ["มท 0820.2/ว 1"]


def test_disk_full_while_stamping_numbers_nothing(tmp_path, data, monkeypatch):
    import saraban.kernel.files as files

    scan = tmp_path / "scan.pdf"
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    with scan.open("wb") as f:
        writer.write(f)

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    args = ["receive", "--external", "ทลส.001/2567", "--unit", "dla.registry", "--date", "2024-03-05",
            "--from", "โครงการท้องถิ่นนำร่องลดมลพิษ", "--subject", "ส่งมอบคู่มือ", "--pdf", scan]
    assert cli("data", "check").exit_code == 0  # the data folder made before the disk fills
    monkeypatch.setattr(files.os, "fsync", full)
    result = cli(*args)
    assert result.exit_code == 2 and "the disk is full" in one_line(result)
    with sqlite3.connect(tmp_path / "cli.db") as c:
        assert c.execute("SELECT count(*) FROM register_entries").fetchone() == (0,)
    received = data / "out" / "received"
    assert not received.exists() or not any(received.iterdir())


def test_a_folder_that_cannot_be_written_is_found_before_the_number(tmp_path, data):
    """Root ignores chmod: a file where the letters' folder should be stands for a folder that cannot be
    written. The check before numbering finds it (saraban.letters.preflight): refused, nothing numbered."""
    (data / "out").mkdir(parents=True)
    (data / "out" / "letters").write_text("not a folder", encoding="utf-8")
    result = issue(tmp_path, "เรื่องแรก")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "nothing was numbered" in result.output and f"{data / 'out' / 'letters'} cannot be written" in result.output
    assert letters_in(tmp_path / "cli.db") == []
    (data / "out" / "letters").unlink()  # the obstacle removed: the same command numbers and makes the files
    again = issue(tmp_path, "เรื่องแรก")
    assert again.exit_code == 0, again.output
    # the letter, its attached recipients list and its two copies
    assert len(list((data / "out" / "letters").rglob("*.docx"))) == 4
    assert letters_in(tmp_path / "cli.db") == ["มท 0820.2/ว 1"]


def test_a_setting_that_cannot_work_says_so_in_one_line(data, monkeypatch):
    monkeypatch.setenv("SARABAN_SECRET", "short")
    result = cli("status", "1")
    assert result.exit_code == 2 and "SARABAN_SECRET" in one_line(result)


# --- private files ------------------------------------------------------------------------------------------


def test_the_database_and_the_letters_are_private(tmp_path, data):
    os.umask(0o022)
    assert issue(tmp_path, "เรื่องแรก").exit_code == 0
    db = tmp_path / "cli.db"
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    out = data / "out"
    made = [out, *out.rglob("*")]
    assert len(made) > 5
    for path in made:
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, path


def test_a_new_database_file_is_private_without_the_cli(tmp_path):
    from saraban.records.db import open_database

    os.umask(0o022)
    db = open_database(url=f"sqlite:///{tmp_path}/new/x.db")
    db.engine.dispose()
    assert stat.S_IMODE((tmp_path / "new" / "x.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700


def test_the_flows_create_private_files(tmp_path):
    """Importing the flows (before Prefect makes its database in the data folder) sets the umask."""
    code = "import os, workflows; print(oct(os.umask(0)))"
    env = dict(os.environ, SARABAN_DATA_DIR=str(tmp_path / "data"), PREFECT_HOME=str(tmp_path / "data" / "prefect"))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0o77"
    assert stat.S_IMODE((tmp_path / "data" / "prefect").stat().st_mode) == 0o700


@pytest.mark.parametrize("kind", [database_param(k) for k in KINDS])
def test_the_guard_on_both_databases(kind, tmp_path):
    from saraban.chain.circulars import issue_circular
    from saraban.directory.skeleton import ensure_directory
    from saraban.kernel.settings import Settings
    from saraban.letters.spec import parse_spec
    from saraban.records.data_folder import DataFolderError, check_data_folder, manifest_path

    settings = Settings(data_dir=tmp_path / "data")
    db = fresh_database(kind, tmp_path)
    ensure_directory(db)
    check_data_folder(db, settings)  # a new database and an empty folder: they are given one id
    body = example_dict("03-department-circular") | {"date": today().isoformat()}
    body.pop("ref", None)
    issue_circular(db, settings, parse_spec(body), sender_key="dla.env.2", to="prov.81")
    check_data_folder(db, settings)
    manifest = json.loads(manifest_path(settings).read_text(encoding="utf-8"))
    assert manifest["register_lines"] >= 1

    # the folder has seen a line this database does not have: an older copy of it
    manifest_path(settings).write_text(json.dumps(manifest | {"register_lines": manifest["register_lines"] + 1}),
                                       encoding="utf-8")
    with pytest.raises(DataFolderError, match="older than the letters already issued"):
        check_data_folder(db, settings)
    db.engine.dispose()

    fresh = fresh_database(kind, tmp_path / "new") if kind == "sqlite" else fresh_database(kind, tmp_path)
    ensure_directory(fresh)
    with pytest.raises(DataFolderError, match="this database is new or missing"):
        check_data_folder(fresh, settings)
    fresh.engine.dispose()


def test_damage_found_during_work_stops_the_command(tmp_path, data, monkeypatch):
    """Damage that the check at start does not see (here: the check skipped) is still said in one line when
    SQLite meets it, and nothing is written."""
    import saraban.records.db as records_db

    assert issue(tmp_path, "เรื่องแรก").exit_code == 0
    db = tmp_path / "cli.db"
    _damage(db, 0, 0)
    _damage(db, 4096, db.stat().st_size - 4096)  # every page after the first: whatever is read is malformed
    monkeypatch.setattr(records_db, "check_sqlite", lambda engine: None)
    result = cli("receive", "1", "--unit", "prov.81")
    assert result.exit_code == 2 and "the database is damaged" in one_line(result)
