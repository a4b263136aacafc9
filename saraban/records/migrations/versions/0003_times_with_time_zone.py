"""times with time zone: every time column becomes timestamptz on PostgreSQL

The naive columns held Bangkok wall-clock time, so each value is read as Asia/Bangkok. SQLite keeps the
Thai wall-clock text it has (saraban.records.types.ThaiTime reads it as Asia/Bangkok): nothing to do.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIME_COLUMNS = {
    "letters": ("created_at",),
    "deliveries": ("sent_at", "opened_at", "received_at"),
    "events": ("at",),
    "register_entries": ("entered_at",),
    "programmes": ("opens_at", "closes_at", "created_at"),
    "reminders": ("created_at", "mailed_at"),
    "applications": ("submitted_at", "updated_at"),
}


def _alter(to_type: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in TIME_COLUMNS.items():
        changes = ", ".join(f"ALTER COLUMN \"{c}\" TYPE {to_type} USING \"{c}\" AT TIME ZONE 'Asia/Bangkok'"
                            for c in columns)
        op.execute(f"ALTER TABLE \"{table}\" {changes}")


def upgrade() -> None:
    _alter("TIMESTAMP WITH TIME ZONE")


def downgrade() -> None:
    _alter("TIMESTAMP WITHOUT TIME ZONE")
