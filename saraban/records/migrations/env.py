"""Alembic environment: migrations run on the connection saraban.records.db.migrate hands over."""

from alembic import context

from saraban.records.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through saraban.records.db.migrate (saraban db upgrade)")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
