"""exactly once: the unique constraints that make issue, receive, forward, cancel and apply happen once

One letter per sender and spec (``uq_letter_spec``); a letter forwards at most one delivery and a delivery is
forwarded by at most one letter (``letters.forwards_delivery_id``, unique, filled from
``deliveries.forwarded_letter_id``); one live receive line per delivery (``uq_register_receipt``, partial); one
cancellation line per register line (``uq_register_cancels``). Deliveries (letter, unit), applications
(programme, unit) and reminders already had theirs. A database that already holds duplicates (made by the
races this fixes) is refused with the list, so a person decides which line stands.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

RECEIPT_LINE = "series = 'receive' AND delivery_id IS NOT NULL AND cancels_id IS NULL"

DUPLICATES = {
    "uq_letter_spec": "SELECT unit_id, spec_hash, COUNT(*) FROM letters GROUP BY unit_id, spec_hash "
                      "HAVING COUNT(*) > 1",
    "uq_register_receipt": f"SELECT delivery_id, COUNT(*) FROM register_entries WHERE {RECEIPT_LINE} "
                           "GROUP BY delivery_id HAVING COUNT(*) > 1",
    "uq_register_cancels": "SELECT cancels_id, COUNT(*) FROM register_entries WHERE cancels_id IS NOT NULL "
                           "GROUP BY cancels_id HAVING COUNT(*) > 1",
}


def _refuse_duplicates() -> None:
    bind = op.get_bind()
    found = {name: bind.execute(sa.text(query)).all() for name, query in DUPLICATES.items()}
    found = {name: rows for name, rows in found.items() if rows}
    if found:
        listed = "; ".join(f"{name}: {[tuple(r) for r in rows[:10]]}" for name, rows in found.items())
        raise RuntimeError(f"ฐานข้อมูลมีรายการซ้ำ ต้องแก้ก่อนปรับรุ่น / the database holds duplicates made before "
                           f"migration 0004; resolve them first: {listed}")


def upgrade() -> None:
    _refuse_duplicates()
    op.add_column("letters", sa.Column("forwards_delivery_id", sa.Integer(), nullable=True))
    op.execute("UPDATE letters SET forwards_delivery_id = "
               "(SELECT d.id FROM deliveries d WHERE d.forwarded_letter_id = letters.id)")
    op.create_index("uq_letter_spec", "letters", ["unit_id", "spec_hash"], unique=True)
    op.create_index("uq_letter_forwards", "letters", ["forwards_delivery_id"], unique=True)
    op.create_index("uq_register_receipt", "register_entries", ["delivery_id"], unique=True,
                    sqlite_where=sa.text(RECEIPT_LINE), postgresql_where=sa.text(RECEIPT_LINE))
    op.create_index("uq_register_cancels", "register_entries", ["cancels_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_register_cancels", table_name="register_entries")
    op.drop_index("uq_register_receipt", table_name="register_entries")
    op.drop_index("uq_letter_forwards", table_name="letters")
    op.drop_index("uq_letter_spec", table_name="letters")
    op.execute("ALTER TABLE letters DROP COLUMN forwards_delivery_id")  # SQLite 3.35 or later
