"""The check every flow that numbers or writes makes first: the database and the output folder belong
together (saraban.records.data_folder); a mismatch fails the flow run with the clerk's message, before
anything is numbered."""

from __future__ import annotations

from prefect import task

from saraban.kernel.settings import load_settings
from saraban.records.data_folder import check_data_folder
from saraban.records.db import open_database


@task(name="check-data-folder")
def guard_data_folder() -> None:
    settings = load_settings()
    db = open_database(settings)
    try:
        check_data_folder(db, settings)
    finally:
        db.engine.dispose()
