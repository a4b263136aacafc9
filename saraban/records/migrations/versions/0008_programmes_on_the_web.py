"""programmes on the web: evidence files, assessors, assessments, results, announcements, issued files' hashes

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 17:00:00
"""

import sqlalchemy as sa
from alembic import op

from saraban.records.types import ThaiTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_files",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("application_id", sa.Integer(), sa.ForeignKey("applications.id"), nullable=False, index=True),
        sa.Column("indicator", sa.String(16), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(80), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("file_key", sa.Text(), nullable=False),
        sa.Column("uploaded_by", sa.String(120), nullable=False),
        sa.Column("uploaded_at", ThaiTime(), nullable=False),
        sa.Column("removed_at", ThaiTime(), nullable=True),
    )
    op.create_table(
        "programme_assessors",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("programme_id", sa.Integer(), sa.ForeignKey("programmes.id"), nullable=False, index=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("appointed_by", sa.String(120), nullable=False),
        sa.Column("at", ThaiTime(), nullable=False),
        sa.UniqueConstraint("programme_id", "user_id", name="uq_programme_assessor"),
    )
    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("application_id", sa.Integer(), sa.ForeignKey("applications.id"), nullable=False, index=True),
        sa.Column("indicator", sa.String(16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("assessor_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("at", ThaiTime(), nullable=False),
        sa.UniqueConstraint("application_id", "indicator", name="uq_assessment"),
    )
    op.create_table(
        "results",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("application_id", sa.Integer(), sa.ForeignKey("applications.id"), nullable=False, unique=True),
        sa.Column("programme_id", sa.Integer(), sa.ForeignKey("programmes.id"), nullable=False, index=True),
        sa.Column("percent", sa.Float(), nullable=False),
        sa.Column("level", sa.String(64), nullable=True),
        sa.Column("letter_id", sa.Integer(), sa.ForeignKey("letters.id"), nullable=True),
        sa.Column("decided_at", ThaiTime(), nullable=False),
    )
    op.create_table(
        "announcements",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("programme_id", sa.Integer(), sa.ForeignKey("programmes.id"), nullable=False, unique=True),
        sa.Column("letter_id", sa.Integer(), sa.ForeignKey("letters.id"), nullable=True),
        sa.Column("docx_key", sa.Text(), nullable=True),
        sa.Column("pdf_key", sa.Text(), nullable=True),
        sa.Column("announced_by", sa.String(120), nullable=False),
        sa.Column("at", ThaiTime(), nullable=False),
    )
    op.create_table(
        "issued_files",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, index=True),
        sa.Column("letter_id", sa.Integer(), sa.ForeignKey("letters.id"), nullable=False, index=True),
        sa.Column("delivery_id", sa.Integer(), sa.ForeignKey("deliveries.id"), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", ThaiTime(), nullable=False),
    )
    # delivery_id is empty for a letter's own PDF: NULLs never clash in a unique constraint, so 0 stands in.
    op.create_index("uq_issued_file", "issued_files",
                    ["sha256", "letter_id", sa.text("coalesce(delivery_id, 0)"), "kind"], unique=True)


def downgrade() -> None:
    for table in ("issued_files", "announcements", "results", "assessments", "programme_assessors",
                  "evidence_files"):
        op.drop_table(table)
