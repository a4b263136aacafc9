"""What every command shares: opening the data (settings, database, directory) and failing with a message."""

from __future__ import annotations

from typing import NoReturn

import typer

from saraban.directory.skeleton import ensure_directory
from saraban.kernel.settings import Settings, load_settings
from saraban.records.db import Database, open_database


def open_data() -> tuple[Settings, Database]:
    """The settings and the database, with the directory of offices filled on first use."""
    settings = load_settings()
    db = open_database(settings)
    ensure_directory(db)
    return settings, db


def fail(message: str) -> NoReturn:
    """Print ``message`` in red on stderr and exit with code 2 (bad input, nothing changed)."""
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(2)
