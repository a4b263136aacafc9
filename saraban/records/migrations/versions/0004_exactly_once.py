"""exactly once: the unique constraints that make issue, receive, forward, cancel and apply happen once

(Filled in by the exactly-once work; until then it changes nothing.)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:30:00
"""

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
