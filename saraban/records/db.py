"""The database: SQLite in the data folder by default (WAL), PostgreSQL by URL.

``SARABAN_DATABASE_URL`` chooses the database (``postgresql+psycopg2://user@host/db``); the schema is
kept by Alembic migrations (saraban/migrations), applied by ``open_database``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from saraban.kernel.settings import Settings, load_settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def database_url(settings: Settings) -> str:
    return settings.database_url or f"sqlite:///{settings.data_dir / 'saraban.db'}"


def _sqlite_setup(engine: Engine) -> None:
    """WAL, a generous busy timeout, foreign keys, and BEGIN IMMEDIATE: a writer takes the write lock
    when its transaction starts, so two writers queue instead of failing when both try to upgrade."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event emit BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        _sqlite_setup(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


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


def open_database(settings: Settings | None = None, url: str | None = None) -> Database:
    """Connect to the configured database and apply any pending migrations."""
    settings = settings or load_settings()
    engine = make_engine(url or database_url(settings))
    migrate(engine)
    return Database(engine)
