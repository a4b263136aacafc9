"""mailings: each delivery's copy e-mailed to its unit exactly once (issue 12 §6)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10 10:00:00
"""

import sqlalchemy as sa
from alembic import op

from saraban.records.types import ThaiTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mailings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("delivery_id", sa.Integer(), sa.ForeignKey("deliveries.id"), nullable=False, unique=True),
        sa.Column("letter_id", sa.Integer(), sa.ForeignKey("letters.id"), nullable=False, index=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("address", sa.String(255), nullable=True),
        sa.Column("claim", sa.String(32), nullable=True),
        sa.Column("claimed_at", ThaiTime(), nullable=True),
        sa.Column("mailed_at", ThaiTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(255), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("mailings")
