"""Alembic migrations of the catalogue database, run in code by ``CatalogStore.open``.

Users never need an ``alembic.ini``: ``immunetwin.catalog._tables`` builds the Alembic
``Config`` with ``script_location`` pointing here. Developers add a revision with
``alembic -x ... revision`` against a Config built the same way (see ``_tables.alembic_config``).
"""
