"""Alembic environment. The engine comes from `bot.core.migrate`, never from a config file."""

from __future__ import annotations

from alembic import context

import models

config = context.config
connection = config.attributes["connection"]

context.configure(
    connection=connection,
    target_metadata=models.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        # Several processes may start at once; only one of them migrates at a time.
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(727274)")
    context.run_migrations()
