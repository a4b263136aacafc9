"""The database: SQLite in the data folder by default (WAL), PostgreSQL by URL.

``SARABAN_DATABASE_URL`` chooses the database (``postgresql+psycopg2://user@host/db``); the schema is
kept by Alembic migrations (saraban/migrations), applied by ``open_database``. Work done many times in one
process (a flow's tasks, on threads or on a Dask worker) shares one engine: ``shared_database``.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from saraban.kernel.files import FILE_MODE, make_folder
from saraban.kernel.settings import Settings, load_settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def database_url(settings: Settings) -> str:
    return settings.database_url or f"sqlite:///{settings.data_dir / 'saraban.db'}"


BUSY_TIMEOUT_MS = 60000  # how long a statement waits for a lock another connection holds, before it fails
WRITER_POLL_S = 0.0005  # how often a writer waiting for the write lock asks again (_begin_immediate)


def _begin_immediate(connection: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, asked again every half millisecond while another writer holds the lock, for up to the busy
    timeout. SQLite's own busy handler sleeps longer and longer between its tries (up to 100 ms each): with two
    processes taking turns on the write lock every few ms (a cascade's hops), the waiting one slept through its
    turns and its core stood idle."""
    connection.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as e:
                if e.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise
            time.sleep(WRITER_POLL_S)
    finally:
        connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _sqlite_setup(engine: Engine) -> None:
    """WAL, a generous busy timeout, foreign keys, and BEGIN IMMEDIATE: a writer takes the write lock
    when its transaction starts, so two writers queue instead of failing when both try to upgrade."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event emit BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        # A reading transaction (Database.reading) takes no write lock: under WAL it reads a snapshot beside a writer.
        if conn.get_execution_options().get("saraban_reading"):
            conn.exec_driver_sql("BEGIN")
        else:
            _begin_immediate(conn.connection.dbapi_connection)


class DatabaseDamaged(RuntimeError):
    """The SQLite file fails its check (or SQLite calls it malformed): nothing may be written to it."""


def damaged_message(path: str, detail: str) -> str:
    detail = " ".join(detail.split())[:200]  # quick_check lists problems on many lines: one line, the first ones
    return (f"ฐานข้อมูลเสียหาย หยุดการบันทึก: {path} ({detail}) กู้คืนจากสำรองล่าสุด แล้วตรวจด้วย saraban data check / "
            f"the database is damaged, nothing more is written: {path} ({detail}). Restore the newest backup "
            f"(or recover it: sqlite3 {path} .recover | sqlite3 recovered.db), then run saraban data check")


def is_damage(error: BaseException) -> bool:
    """Whether ``error`` (or the driver error inside it) is SQLite saying the file is corrupt."""
    import sqlite3

    original = getattr(error, "orig", error)
    return type(original) is sqlite3.DatabaseError or (
        isinstance(original, sqlite3.DatabaseError)
        and any(m in str(original) for m in ("malformed", "not a database", "database corrupt")))


def _sqlite_file(url: str) -> str | None:
    path = url.split("///", 1)[-1].split("?", 1)[0]
    return path if url.startswith("sqlite") and path and path != ":memory:" else None


def check_sqlite(engine: Engine) -> None:
    """``PRAGMA quick_check`` (a few ms for the demo database): a damaged file raises
    :class:`DatabaseDamaged` before anything is written to it."""
    path = _sqlite_file(str(engine.url)) or "?"
    try:
        with engine.connect() as connection:
            rows = [r[0] for r in connection.exec_driver_sql("PRAGMA quick_check(5)")]
    except SQLAlchemyError as e:
        if is_damage(e):
            raise DatabaseDamaged(damaged_message(path, str(getattr(e, "orig", e)))) from None
        raise
    if rows != ["ok"]:
        raise DatabaseDamaged(damaged_message(path, "; ".join(rows)[:300]))


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = _sqlite_file(url)
        if path:
            make_folder(Path(path).parent)
            # Created private before SQLite opens it (its -wal and -shm files take the same mode).
            os.close(os.open(path, os.O_CREAT | os.O_RDWR, FILE_MODE))
        engine = create_engine(url)
        _sqlite_setup(engine)
        return engine
    # A letter lock (records.locks) holds a connection beside its work's: room for two per worker thread.
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def head_revisions() -> set[str]:
    """The ids of the newest migrations, read from the files in migrations/versions (importing Alembic
    alone costs more than a command's whole work)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        if rev := re.search(r"^revision\s*(?::[^=\n]*)?=\s*[\"']([^\"']+)[\"']", text, re.M):
            revisions.add(rev[1])
        if down := re.search(r"^down_revision\s*(?::[^=\n]*)?=(.*)$", text, re.M):
            parents.update(re.findall(r"[\"']([^\"']+)[\"']", down[1]))
    return revisions - parents


def at_head(engine: Engine) -> bool:
    """Whether the database's schema is already at the newest migration (no table yet: not)."""
    heads = head_revisions()
    try:
        with engine.connect() as connection:
            current = {row[0] for row in connection.exec_driver_sql("SELECT version_num FROM alembic_version")}
    except SQLAlchemyError:
        return False
    return bool(heads) and current == heads


def migrate(engine: Engine) -> None:
    """Bring the schema up to the newest migration (Alembic runs only when one is pending)."""
    if at_head(engine):
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Database:
    """An engine and its sessions; ``with db.transaction() as s:`` commits or rolls back as a whole."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def session(self) -> Session:
        return self._sessions()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A transaction that only reads: on SQLite it neither takes nor waits for the write lock (a plain
        BEGIN; WAL gives it a snapshot), so long reads do not hold up writers. Write nothing in it."""
        with Session(self.engine.execution_options(saraban_reading=True), expire_on_commit=False) as session, \
                session.begin():
            yield session


def open_database(settings: Settings | None = None, url: str | None = None, *, check: bool = True,
                  upgrade: bool = True) -> Database:
    """Connect to the configured database, check a SQLite file (``check``) and apply any pending migrations
    (``upgrade``; a caller that knows they were applied, e.g. a flow's task after the flow's start, skips it)."""
    settings = settings or load_settings()
    engine = make_engine(url or database_url(settings))
    if check and engine.dialect.name == "sqlite":
        check_sqlite(engine)
    if upgrade:
        migrate(engine)
    return Database(engine)


_shared: dict[tuple[int, str], Database] = {}
_shared_lock = threading.Lock()


def shared_database(settings: Settings | None = None) -> Database:
    """The one :class:`Database` (engine and connection pool) of this process for the configured URL, made on
    first use without migrating: the caller (a flow) has applied the migrations once at its start.

    Keyed by process id as well: a worker process forked from one that had an engine makes its own (a
    connection shared across a fork is corrupted by whichever process uses it next)."""
    settings = settings or load_settings()
    key = (os.getpid(), database_url(settings))
    with _shared_lock:
        if key not in _shared:
            _shared[key] = open_database(settings, key[1], upgrade=False)
        return _shared[key]
