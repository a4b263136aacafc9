"""who did what: the event trail names the acting office and keeps before -> after

The event gains the acting office (``office_id``: the unit on whose behalf the actor acted), ``before`` and
``after`` (the changed fields of a change), ``via`` (cli | flow | web | core) and ``address`` (the web
client's), and indexes for ``saraban log`` (by time, unit, office, actor). Old events keep NULL in the new
columns. SQLite adds the columns in place (batch mode copies the table only for the foreign key).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


INDEXES = {"ix_events_at": ["at", "id"], "ix_events_unit": ["unit_id"], "ix_events_office": ["office_id"],
           "ix_events_actor": ["actor"]}


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("office_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("before", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("after", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("via", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("address", sa.String(length=255), nullable=True))
        batch.create_foreign_key("fk_events_office", "units", ["office_id"], ["id"])
    for name, columns in INDEXES.items():
        op.create_index(name, "events", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_constraint("fk_events_office", type_="foreignkey")
        for column in ("address", "via", "after", "before", "office_id"):
            batch.drop_column(column)
