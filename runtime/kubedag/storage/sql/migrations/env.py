"""Alembic's entry point for kubedag's migrations: run on the connection kubedag hands over."""

from __future__ import annotations

from alembic import context

from kubedag.storage.sql.migration import VERSION_TABLE
from kubedag.storage.sql.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
