"""Initial catalogue schema: entries, model files, facets, checks, meta and the search index.

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01

The SQLite-only part (the FTS5 table and its vocabulary view) is created only on SQLite; every
other dialect searches through the portable ``search_tokens`` table (see ``catalog/search.py``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "entries",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entry_id", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("alias", sa.String(200), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("formalism", sa.String(20), nullable=False),
        sa.Column("scale", sa.String(20), nullable=False),
        sa.Column("organism", sa.Text, nullable=False, server_default=""),
        sa.Column("year", sa.Integer, nullable=True),
        sa.Column("curation_status", sa.String(20), nullable=False),
        sa.Column("origin", sa.String(10), nullable=False),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_current", sa.Boolean, nullable=False),
        sa.UniqueConstraint("entry_id", "version", name="uq_entries_id_version"),
        sa.CheckConstraint("version >= 1", name="ck_entries_version_positive"),
    )
    op.create_index("ix_entries_alias", "entries", ["alias"])
    op.create_index(
        "uq_entries_current_id",
        "entries",
        ["entry_id"],
        unique=True,
        sqlite_where=sa.text("is_current"),
        postgresql_where=sa.text("is_current"),
    )
    op.create_index(
        "uq_entries_current_alias",
        "entries",
        ["alias"],
        unique=True,
        sqlite_where=sa.text("is_current"),
        postgresql_where=sa.text("is_current"),
    )
    op.create_table(
        "model_files",
        sa.Column(
            "entry_pk",
            sa.Integer,
            sa.ForeignKey("entries.pk", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("format", sa.String(20), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_table(
        "facets",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "entry_pk", sa.Integer, sa.ForeignKey("entries.pk", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("facet", sa.String(20), nullable=False),
        sa.Column("accession", sa.String(200), nullable=False),
        sa.Column("accession_key", sa.String(200), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
    )
    op.create_index("ix_facets_entry", "facets", ["entry_pk"])
    op.create_index("ix_facets_facet_key", "facets", ["facet", "accession_key"])
    op.create_table(
        "checks",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "entry_pk", sa.Integer, sa.ForeignKey("entries.pk", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("simulatability", sa.Text, nullable=True),
        sa.Column("reproductions", sa.Text, nullable=True),
    )
    op.create_index("ix_checks_entry", "checks", ["entry_pk"])
    op.create_table(
        "search_tokens",
        sa.Column(
            "entry_pk", sa.Integer, sa.ForeignKey("entries.pk", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("field", sa.String(20), nullable=False),
        sa.Column("token", sa.String(200), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("field_length", sa.Integer, nullable=False),
    )
    op.create_index("ix_search_tokens_token", "search_tokens", ["token"])
    op.create_index("ix_search_tokens_entry", "search_tokens", ["entry_pk"])
    if _has_fts5():
        op.execute(
            "CREATE VIRTUAL TABLE search_index USING fts5("
            "names, title, keywords, accessions, body, facets, "
            "tokenize = 'unicode61 remove_diacritics 2')"
        )
        op.execute("CREATE VIRTUAL TABLE search_vocab USING fts5vocab(search_index, 'row')")


def _has_fts5() -> bool:
    """SQLite built with FTS5 (nearly every build is; without it search uses the token table)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return False
    options = {row[0] for row in bind.exec_driver_sql("PRAGMA compile_options")}
    return "ENABLE_FTS5" in options


def downgrade() -> None:
    if _has_fts5():
        op.execute("DROP TABLE search_vocab")
        op.execute("DROP TABLE search_index")
    for table in ("search_tokens", "checks", "facets", "model_files", "entries", "meta"):
        op.drop_table(table)
