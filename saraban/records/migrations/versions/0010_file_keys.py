"""file keys: letters and deliveries name their files by key in the file store, not by absolute path (issue 13)

``letters.docx_path/pdf_path`` → ``docx_key/pdf_key``; ``deliveries.docx_path/pdf_path/stamped_pdf_path`` →
``docx_key/pdf_key/stamped_pdf_key``. A path under the file store's folder (SARABAN_FILES when it is a local
folder, else the output folder ``<data>/out``: copy that folder into a remote store) becomes its key,
``letters/<slug>/letter.docx``. A path elsewhere (a data folder moved without its database, say) is kept as it
is: saraban.records.file_store still reads an absolute value as a local path, and never writes it.

The columns are renamed in place (ALTER TABLE ... RENAME COLUMN: PostgreSQL, SQLite 3.25+), not by batch
recreation: recreating ``deliveries`` would drop a table that mailings and register lines reference.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-20 10:00:00
"""

from pathlib import Path, PurePosixPath

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COLUMNS = {"letters": ("docx", "pdf"), "deliveries": ("docx", "pdf", "stamped_pdf")}


def _roots() -> list[PurePosixPath]:
    """The folders whose files become keys: the local store's folder, as written and resolved."""
    from saraban.kernel.settings import load_settings

    settings = load_settings()
    root = Path(settings.files) if settings.files and "://" not in settings.files else settings.output_dir
    # The output folder too: letters made before SARABAN_FILES was set are there.
    places = (root, settings.output_dir)
    return list(dict.fromkeys(PurePosixPath(p) for r in places for p in (str(r), str(r.resolve()))))


def key_of(value: str | None, roots: list[PurePosixPath]) -> str | None:
    """The key of a stored path under one of ``roots``; None: keep the value as it is."""
    if not value or not PurePosixPath(value).is_absolute():
        return None
    for root in roots:
        try:
            relative = PurePosixPath(value).relative_to(root)
        except ValueError:
            continue
        if relative.parts and ".." not in relative.parts:
            return str(relative)
    return None


def _convert(table: str, columns: list[str], convert) -> None:
    bind = op.get_bind()
    t = sa.table(table, sa.column("id", sa.Integer), *(sa.column(c, sa.Text) for c in columns))
    changes = []
    for row in bind.execute(sa.select(t.c.id, *(t.c[c] for c in columns))):
        new = {c: convert(row._mapping[c]) for c in columns}
        new = {c: v for c, v in new.items() if v is not None}
        if new:
            changes.append({"row_id": row.id, **{f"new_{c}": new.get(c, row._mapping[c]) for c in columns}})
    if changes:
        bind.execute(t.update().where(t.c.id == sa.bindparam("row_id"))
                     .values({c: sa.bindparam(f"new_{c}") for c in columns}), changes)


def upgrade() -> None:
    for table, names in COLUMNS.items():
        for name in names:
            op.alter_column(table, f"{name}_path", new_column_name=f"{name}_key")
    roots = _roots()
    for table, names in COLUMNS.items():
        _convert(table, [f"{n}_key" for n in names], lambda v: key_of(v, roots))


def downgrade() -> None:
    # Keys become absolute paths under the output folder again (the local store's folder).
    root = _roots()[0]
    for table, names in COLUMNS.items():
        _convert(table, [f"{n}_key" for n in names],
                 lambda v: str(root / v) if v and not PurePosixPath(v).is_absolute() else None)
        for name in names:
            op.alter_column(table, f"{name}_key", new_column_name=f"{name}_path")
