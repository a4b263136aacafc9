"""data folder id: the database's own id, also written in the output folder (out/saraban.json)

A database and an output folder that do not carry the same id do not belong together (another
database, a new one, or one restored from an older backup): saraban refuses to number with them
(saraban.records.data_folder).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("data_folder", sa.Column("id", sa.String(36), primary_key=True))


def downgrade() -> None:
    op.drop_table("data_folder")
