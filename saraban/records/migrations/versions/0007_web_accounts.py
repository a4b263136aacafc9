"""web accounts: users of an office with a role, failed logins by address, drafts, assignments

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 14:10:00
"""

import sqlalchemy as sa
from alembic import op

from saraban.records.types import ThaiTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False, index=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", ThaiTime(), nullable=True),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(255), nullable=True),
        sa.Column("created_at", ThaiTime(), nullable=False),
        sa.Column("password_changed_at", ThaiTime(), nullable=False),
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", ThaiTime(), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
    )
    op.create_index("ix_login_failures_address", "login_failures", ["address", "at"])
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False, index=True),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("to_text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("approved_at", ThaiTime(), nullable=True),
        sa.Column("letter_id", sa.Integer(), sa.ForeignKey("letters.id"), nullable=True, unique=True),
        sa.Column("created_at", ThaiTime(), nullable=False),
        sa.Column("updated_at", ThaiTime(), nullable=False),
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("delivery_id", sa.Integer(), sa.ForeignKey("deliveries.id"), nullable=False, index=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("assigned_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("at", ThaiTime(), nullable=False),
        sa.UniqueConstraint("delivery_id", "user_id", name="uq_assignment"),
    )


def downgrade() -> None:
    op.drop_table("assignments")
    op.drop_table("drafts")
    op.drop_index("ix_login_failures_address", table_name="login_failures")
    op.drop_table("login_failures")
    op.drop_table("users")
