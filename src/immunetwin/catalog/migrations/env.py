"""Alembic environment: migrate the connection that ``_tables.upgrade`` hands over.

It runs only programmatically (``config.attributes["connection"]``); there is no offline mode,
because users never generate SQL scripts for the catalogue.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "the catalogue migrations run only through immunetwin.catalog._tables.upgrade "
        "(expected a connection in config.attributes, found none); call "
        "CatalogStore.open() instead of the alembic command line"
    )
context.configure(connection=connection, render_as_batch=True, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
