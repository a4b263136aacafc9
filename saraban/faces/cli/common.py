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


def current_actor() -> str:
    """Who is acting: the operating-system user running the command (recorded in every event); from now on
    every event of this process also says it came from the CLI."""
    import getpass

    from saraban.records.events import set_origin

    set_origin("cli")
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for the uid (a bare container): the number still says who
        import os

        return f"uid:{os.getuid()}"


def open_data(*, guard: bool = True) -> tuple[Settings, Database]:
    """The settings and the database (a SQLite file checked for damage), with the directory of offices filled
    on first use; with ``guard``, refused when the database and the output folder do not belong together
    (saraban.records.data_folder)."""
    from saraban.directory.skeleton import ensure_directory
    from saraban.kernel.settings import load_settings
    from saraban.records.data_folder import check_data_folder
    from saraban.records.db import open_database

    settings = load_settings()
    db = open_database(settings)
    current_actor()  # from here on, events say they came from the CLI
    ensure_directory(db)
    if guard:
        check_data_folder(db, settings)
    return settings, db


_STORAGE_ERRORS = {  # errno name: (Thai, English)
    "ENOSPC": ("ดิสก์เต็ม", "the disk is full"),
    "EDQUOT": ("เกินโควตาดิสก์", "the disk quota is exceeded"),
    "EROFS": ("ระบบไฟล์อ่านได้อย่างเดียว", "the file system is read-only"),
    "EACCES": ("ไม่มีสิทธิ์เขียน", "permission denied"),
    "EPERM": ("ไม่มีสิทธิ์", "operation not permitted"),
    "EISDIR": ("เป็นโฟลเดอร์ ไม่ใช่ไฟล์", "is a folder, not a file"),
    "ENOTDIR": ("ไม่ใช่โฟลเดอร์", "is not a folder"),
    "EEXIST": ("มีอยู่แล้ว", "already exists"),
}


def _data_folder() -> str:
    from saraban.kernel.settings import SettingsError, load_settings

    try:
        return str(load_settings().data_dir)
    except SettingsError:
        return "SARABAN_DATA_DIR"


def failure_line(error: BaseException) -> str | None:
    """One line (Thai / English, naming the path) for a failure of the data folder: a storage error (disk
    full, read-only, permission), a setting that cannot work, a damaged database, a database and an output
    folder that do not belong together, an issued file that would be replaced. None: not one of those."""
    import errno

    from saraban.kernel.files import IssuedFileError
    from saraban.kernel.settings import SettingsError

    if isinstance(error, IssuedFileError):
        return f"{error.filename}: {error.strerror}"
    if isinstance(error, SettingsError):
        return str(error)
    if isinstance(error, OSError) and error.errno is not None:
        name = errno.errorcode.get(error.errno, "")
        thai, english = _STORAGE_ERRORS.get(name, ("เขียนหรืออ่านไฟล์ไม่ได้", error.strerror or name))
        where = error.filename or _data_folder()  # a full disk does not always say where
        return (f"{thai}: {where} ไม่มีการบันทึกเพิ่ม / {english}: {where} ({name or error.errno}); nothing more "
                "was written")
    module = type(error).__module__
    if module.startswith(("saraban.records", "sqlalchemy", "sqlite3")):
        from saraban.records.data_folder import DataFolderError
        from saraban.records.db import DatabaseDamaged, damaged_message, is_damage

        if isinstance(error, (DataFolderError, DatabaseDamaged)):
            return str(error)
        if is_damage(error):
            from saraban.kernel.settings import load_settings
            from saraban.records.db import database_url

            try:
                where = database_url(load_settings()).split("///", 1)[-1]
            except SettingsError:
                where = "saraban.db"
            return damaged_message(where, str(getattr(error, "orig", error)))
    return None


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
