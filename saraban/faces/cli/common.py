"""What every command shares: opening the data (settings, database, directory), naming units as clerks do,
and failing with a message.

The core is imported inside the functions: every command module is imported to print ``saraban --help``,
which must not pay for SQLAlchemy, docx or Prefect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from saraban.kernel.settings import Settings
    from saraban.records.db import Database

UNIT_HELP = "a key (prov.81), an exact Thai name, or a unique part of one (สถจ.กระบี่)"


def open_data() -> tuple[Settings, Database]:
    """The settings and the database, with the directory of offices filled on first use."""
    from saraban.directory.skeleton import ensure_directory
    from saraban.kernel.settings import load_settings
    from saraban.records.db import open_database

    settings = load_settings()
    db = open_database(settings)
    ensure_directory(db)
    return settings, db


def fail(message: str) -> NoReturn:
    """Print ``message`` in red on stderr and exit with code 2 (bad input, nothing changed)."""
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(2)


def unit_key(db: Database, text: str) -> str:
    """The key of the unit ``text`` names (key, exact name, or a unique part of a name); none or several:
    the message (with the candidates and their keys) and exit code 2."""
    from saraban.directory.levels import DirectoryError
    from saraban.directory.units import resolve_unit

    try:
        with db.transaction() as session:
            return resolve_unit(session, text).key
    except DirectoryError as e:
        fail(str(e))


def receipt_text(number: int, year: int) -> str:
    """A receive-register number as clerks write it: ``เลขรับ ๑/๒๕๖๙``."""
    from thai_text import register_number

    return f"เลขรับ {register_number(number, year)}"
