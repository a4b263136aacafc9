"""who did what: the event trail names the acting office and keeps before -> after

(Filled in by the event-trail work; until then it changes nothing.)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:30:00
"""

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
