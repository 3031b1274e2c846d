"""What one entry becomes in the tables: its columns, facet rows, index rows and meta keys.

``write_index``/``unindex`` keep the portable token table and, on SQLite, the FTS5 table in
step with the current versions; they are the only writers of either.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa

from immunetwin.catalog import _tables as t
from immunetwin.catalog._text import FIELDS, accession_key, index_fields, token_rows
from immunetwin.catalog.entry import Entry, Facet

GENERATION_KEY = "index_generation"


def to_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def columns(entry: Entry) -> dict[str, Any]:
    organisms = [term.label or term.accession for term in entry.terms_for(Facet.ORGANISM)]
    return {
        "alias": entry.alias,
        "title": entry.title,
        "category": entry.category.value,
        "formalism": entry.formalism.value,
        "scale": entry.scale.value,
        "organism": ", ".join(dict.fromkeys(organisms)),
        "year": entry.citation.year,
        "curation_status": entry.curation_status.value,
        "document": to_json(entry.to_dict()),
    }


def write_facets(conn: sa.Connection, pk: int, entry: Entry) -> None:
    rows = [
        {
            "entry_pk": pk,
            "facet": term.facet.value,
            "accession": term.accession,
            "accession_key": accession_key(term.accession),
            "label": term.label,
        }
        for term in entry.terms
    ]
    rows += [
        {
            "entry_pk": pk,
            "facet": Facet.DISEASE.value,
            "accession": "",
            "accession_key": "",
            "label": disease,
        }
        for disease in entry.diseases
    ]
    if rows:
        conn.execute(t.facets.insert(), rows)


def write_index(conn: sa.Connection, pk: int, entry: Entry, *, fts5: bool) -> None:
    rows = [
        {"entry_pk": pk, "field": field, "token": token, "count": count, "field_length": length}
        for field, token, count, length in token_rows(entry)
    ]
    if rows:
        conn.execute(t.search_tokens.insert(), rows)
    if fts5:  # SQLite only
        fields = index_fields(entry)
        conn.execute(
            sa.text(
                f"INSERT INTO search_index (rowid, {', '.join(FIELDS)}) "
                f"VALUES (:pk, {', '.join(':' + f for f in FIELDS)})"
            ),
            {"pk": pk, **fields},
        )


def unindex(conn: sa.Connection, pk: int, *, fts5: bool) -> None:
    conn.execute(t.search_tokens.delete().where(t.search_tokens.c.entry_pk == pk))
    if fts5:  # SQLite only
        conn.execute(sa.text("DELETE FROM search_index WHERE rowid = :pk"), {"pk": pk})


def meta(conn: sa.Connection, key: str) -> str | None:
    return conn.execute(sa.select(t.meta.c.value).where(t.meta.c.key == key)).scalar()


def set_meta(conn: sa.Connection, key: str, value: str) -> None:
    if conn.execute(t.meta.update().where(t.meta.c.key == key).values(value=value)).rowcount:
        return
    conn.execute(t.meta.insert().values(key=key, value=value))


def bump_generation(conn: sa.Connection) -> None:
    set_meta(conn, GENERATION_KEY, str(int(meta(conn, GENERATION_KEY) or 0) + 1))
