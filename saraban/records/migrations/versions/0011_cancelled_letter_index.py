"""cancelled letters found by index: the cancellation lines of the registers by letter (issue 13)

Whether a letter was cancelled (saraban.chain.cancellations: a cancellation line of its send-register line) is
asked at every hop of a cascade, inside the hop's write transaction. Without an index SQLite read the whole
register table for it: ~3 ms a hop once a national circular's 9,000 lines were written, growing with the table.
A partial index: only cancellation lines are in it, so the lines a hop writes cost nothing more.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 16:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

WHERE = sa.text("cancels_id IS NOT NULL")


def upgrade() -> None:
    op.create_index("ix_register_cancelled_letter", "register_entries", ["letter_id"], sqlite_where=WHERE,
                    postgresql_where=WHERE)


def downgrade() -> None:
    op.drop_index("ix_register_cancelled_letter", table_name="register_entries")
