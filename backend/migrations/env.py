"""Alembic environment: migrations run on the connection `backend.db.migrate` hands over."""

from __future__ import annotations

from alembic import context

from backend.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # `alembic` command line: build an engine from the settings
    from backend.db import make_engine
    from backend.settings import get_settings

    engine = make_engine(get_settings().resolved_database_url)
    connection = engine.connect()

if connection.dialect.name == "postgresql":
    # Two processes starting at once (server and job) must not both create the schema.
    connection.exec_driver_sql("SELECT pg_advisory_xact_lock(4242001)")

context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
with context.begin_transaction():
    context.run_migrations()
