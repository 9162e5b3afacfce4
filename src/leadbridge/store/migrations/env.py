"""Alembic's entry point; leadbridge.store.migrate hands it an open connection."""

from __future__ import annotations

from alembic import context

from leadbridge.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through leadbridge.store.migrate.upgrade(url)")

# Batch mode lets later migrations alter columns on SQLite, which cannot ALTER much.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
