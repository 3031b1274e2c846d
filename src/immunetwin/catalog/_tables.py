"""The catalogue tables (SQLAlchemy Core), the in-code Alembic upgrade and the SQLite engine.

The tables here mirror the migrations in ``catalog/migrations/versions``; the migrations, not
``metadata.create_all``, create them, so an existing database is always upgraded in place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.pool import StaticPool

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

metadata = sa.MetaData()

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

entries = sa.Table(
    "entries",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entry_id", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("alias", sa.String(200), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("category", sa.String(40), nullable=False),
    sa.Column("formalism", sa.String(20), nullable=False),
    sa.Column("scale", sa.String(20), nullable=False),
    sa.Column("organism", sa.Text, nullable=False),
    sa.Column("year", sa.Integer, nullable=True),
    sa.Column("curation_status", sa.String(20), nullable=False),
    sa.Column("origin", sa.String(10), nullable=False),  # "seed" | "user"
    sa.Column("model_sha256", sa.String(64), nullable=False),
    sa.Column("document", sa.Text, nullable=False),  # Entry.to_dict() as JSON
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("is_current", sa.Boolean, nullable=False),
)

model_files = sa.Table(
    "model_files",
    metadata,
    sa.Column("entry_pk", sa.Integer, sa.ForeignKey("entries.pk"), primary_key=True),
    sa.Column("format", sa.String(20), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
)

facets = sa.Table(
    "facets",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entry_pk", sa.Integer, sa.ForeignKey("entries.pk"), nullable=False),
    sa.Column("facet", sa.String(20), nullable=False),
    sa.Column("accession", sa.String(200), nullable=False),
    sa.Column("accession_key", sa.String(200), nullable=False),
    sa.Column("label", sa.Text, nullable=False),
)

checks = sa.Table(
    "checks",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entry_pk", sa.Integer, sa.ForeignKey("entries.pk"), nullable=False),
    sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("simulatability", sa.Text, nullable=True),
    sa.Column("reproductions", sa.Text, nullable=True),
)

# One row per (current entry, field, token): the portable search index and the vocabulary
# for typo correction on every dialect.
search_tokens = sa.Table(
    "search_tokens",
    metadata,
    sa.Column("entry_pk", sa.Integer, sa.ForeignKey("entries.pk"), nullable=False),
    sa.Column("field", sa.String(20), nullable=False),
    sa.Column("token", sa.String(200), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("field_length", sa.Integer, nullable=False),
)


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic Config built in code (no alembic.ini), pointing at the shipped migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: sa.Connection) -> None:
    """Migrate to head inside the caller's transaction (a no-op when already there)."""
    if current_revision(connection) == head_revision():
        return
    command.upgrade(alembic_config(connection), "head")


def sqlite_engine(url: sa.URL) -> sa.Engine:
    """SQLite with WAL, foreign keys, a busy timeout and real (SQL-level) transactions."""
    database = url.database or ""
    memory = database in ("", ":memory:") or "mode=memory" in str(url)
    if not memory:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        connect_args={"timeout": 30},
        **({"poolclass": StaticPool} if memory else {}),
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see "begin")
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        if not memory:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        immediate = conn.get_execution_options().get("immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
