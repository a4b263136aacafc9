"""Fresh databases for tests: SQLite in the test's folder, or the PostgreSQL of ``SARABAN_TEST_POSTGRES_URL``.

Locally: ``export SARABAN_TEST_POSTGRES_URL=$(sh scripts/test-postgres.sh)``. Without the variable the
PostgreSQL cases are skipped. The PostgreSQL database is emptied before each test (every table of the
models and Alembic's version table), so it must be a database kept for tests only.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from saraban.records.db import Database, make_engine, open_database
from saraban.records.models import Base, Unit

POSTGRES_ENV = "SARABAN_TEST_POSTGRES_URL"
KINDS = ("sqlite", "postgresql")


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def database_param(kind: str):
    """A pytest param for ``kind``, skipped when it is PostgreSQL and no test database is configured."""
    marks = ()
    if kind == "postgresql" and not postgres_url():
        marks = (pytest.mark.skip(reason=f"{POSTGRES_ENV} is not set (sh scripts/test-postgres.sh)"),)
    return pytest.param(kind, id=kind, marks=marks)


def database_url(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/x.db"
    if kind == "postgresql":
        url = postgres_url()
        if not url:
            pytest.skip(f"{POSTGRES_ENV} is not set")
        return url
    raise ValueError(f"unknown database kind {kind!r}")


def empty_postgres(url: str) -> None:
    """Drop every table of the models and Alembic's version table."""
    engine = make_engine(url)
    try:
        Base.metadata.drop_all(engine)
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        engine.dispose()


def fresh_database(kind: str, tmp_path: Path) -> Database:
    """An empty, migrated database: ``"sqlite"`` (a new file in tmp_path) or ``"postgresql"``."""
    url = database_url(kind, tmp_path)
    if kind == "postgresql":
        empty_postgres(url)
    return open_database(url=url)


def add_unit(db: Database, key: str, name: str, *, level: str = "division", **fields) -> int:
    """Insert a unit and return its id."""
    with db.transaction() as session:
        unit = Unit(key=key, name=name, level=level, **fields)
        session.add(unit)
        session.flush()
        return unit.id


def register_worker(url: str, worker: int, unit_id: int, other_unit_id: int, count: int, other_every: int,
                    series: str, at_iso: str, start, results, hold: float = 0.0) -> None:
    """One OS process of the concurrency test: ``count`` entries on ``unit_id``, one transaction each,
    and one on ``other_unit_id`` after every ``other_every`` of them. Puts ``(worker, [(unit_id, number,
    subject), ...], error)`` on ``results``. Each transaction sleeps ``hold`` seconds after taking its
    number, so that the others queue on the lock. Module-level so that a 'spawn' child can import it."""
    import time

    from saraban.records.registers import EntryText, add_entries

    taken: list[tuple[int, int, str]] = []
    error = None
    db = Database(make_engine(url))
    try:
        at = datetime.fromisoformat(at_iso)
        with db.engine.connect():  # connected (and SQLite's pragmas run) before the start
            pass
        start.wait(timeout=60)
        for i in range(count):
            targets = [unit_id] + ([other_unit_id] if other_every and (i + 1) % other_every == 0 else [])
            for target in targets:
                subject = f"w{worker}-{i}-u{target}"
                with db.transaction() as session:
                    (row,) = add_entries(session, target, series, [EntryText(
                        ref_text=f"กบ 0023.{worker}/{i + 1}", letter_date=date(2024, 6, 1), from_text="จาก",
                        to_text="ถึง", subject=subject)], at=at, actor=f"worker-{worker}")
                    if hold:
                        time.sleep(hold)
                    taken.append((target, row.number, subject))
    except BaseException as e:  # reported to the parent, which fails the test
        error = f"{type(e).__name__}: {e}"
    finally:
        db.engine.dispose()
        results.put((worker, taken, error))


@pytest.fixture(name="db", params=[database_param(k) for k in KINDS])
def directory_db(request, tmp_path):
    """A fresh database of each kind with the built-in directory loaded (import it as ``db``)."""
    from saraban.directory.skeleton import ensure_directory

    database = fresh_database(request.param, tmp_path)
    ensure_directory(database)
    yield database
    database.engine.dispose()


@pytest.fixture(name="settings")
def own_output_settings(tmp_path, monkeypatch, data_dir):
    """Each test its own output folder (a fresh database numbers from 1 again)."""
    from saraban.kernel.settings import load_settings

    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "data"))
    return load_settings()


def circular_spec(**changes):
    """The department's circular of the field examples, without its printed number (the register gives it)."""
    import yaml

    from saraban.letters.spec import parse_spec

    examples = Path(__file__).resolve().parent.parent / "examples"
    spec = yaml.safe_load((examples / "03-department-circular.yaml").read_text(encoding="utf-8"))
    spec.pop("ref")
    spec.update(changes)
    return parse_spec(spec)
