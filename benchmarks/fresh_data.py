"""A fresh data folder and database for a benchmark: the folder emptied, SARABAN_DATABASE_URL set, a
PostgreSQL database emptied of saraban's tables (so it must be one kept for benchmarks)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def fresh_data(data: Path, database: str | None, sqlite_name: str) -> str:
    """Empty ``data`` and point saraban at ``database`` (default: a new SQLite file in ``data``); the URL."""
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    url = database or f"sqlite:///{data / sqlite_name}"
    os.environ["SARABAN_DATABASE_URL"] = url
    if url.startswith("postgresql"):
        from sqlalchemy import text

        from saraban.records.db import make_engine
        from saraban.records.models import Base

        engine = make_engine(url)
        Base.metadata.drop_all(engine)
        with engine.begin() as c:
            c.execute(text("DROP TABLE IF EXISTS alembic_version"))
        engine.dispose()
    return url
