"""The catalogue database: versioned entries, their model texts, facets and check results.

Any SQLAlchemy URL works (SQLite by default, see ``config.catalog_url``). Every write is one
transaction, so a refused, failed or killed import leaves the database as it was. Nothing is
overwritten: a changed model becomes version n+1 and the old versions stay readable. The model
text lives in the database, so an import stays usable after the source file is gone.

SQLite specifics (WAL, foreign keys, ``BEGIN IMMEDIATE`` for writes, the FTS5 index) are kept
in ``_tables.sqlite_engine`` and ``_rows.write_index``; other dialects use the portable token
table.
"""

from __future__ import annotations

import builtins
import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from rapidfuzz import fuzz, process
from sqlalchemy.engine import make_url

from immunetwin.catalog import _rows
from immunetwin.catalog import _tables as t
from immunetwin.catalog.entry import (
    Category,
    CurationStatus,
    Entry,
    Formalism,
    Reproduction,
    Simulatability,
)
from immunetwin.errors import (
    CatalogStorageError,
    DuplicateEntryError,
    InvalidInputError,
    UnknownIdentifierError,
)

SeedItems = Iterable[tuple[Entry, str]]
SeedSource = SeedItems | Callable[[], SeedItems]

_SEED_KEY = "seed_checksum"


@dataclass(frozen=True, slots=True)
class SeedOutcome:
    """What ``CatalogStore.seed`` did (``unchanged`` when the shipped seed was already in)."""

    added: int = 0
    new_versions: int = 0
    updated: int = 0
    skipped: tuple[str, ...] = ()  # seed ids left alone because a user entry holds the id/alias
    unchanged: bool = False


class CatalogStore:
    """Versioned catalogue entries in one database; open with ``CatalogStore.open``."""

    def __init__(self, engine: sa.Engine, *, fts5: bool) -> None:
        self.engine = engine
        self.has_fts5 = fts5  # SQLite with FTS5: search ranks with bm25 in SQL
        self._vocabulary: tuple[int, list[str]] | None = None

    # --- opening -------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str | None = None) -> CatalogStore:
        """Open ``url`` (default ``config.catalog_url()``), creating and migrating it."""
        from immunetwin.config import catalog_url

        url = catalog_url(url)
        try:
            parsed = make_url(url)
        except sa.exc.ArgumentError as exc:
            raise CatalogStorageError(
                f"cannot open the catalogue: expected a SQLAlchemy URL such as "
                f"'sqlite:///path/catalog.sqlite' or a file path, found '{url}' ({exc}); "
                "fix IMMUNETWIN_DB or the --db option"
            ) from None
        shown = parsed.render_as_string(hide_password=True)
        try:
            engine = (
                t.sqlite_engine(parsed)
                if parsed.get_backend_name() == "sqlite"
                else sa.create_engine(parsed, pool_pre_ping=True)
            )
            with engine.connect().execution_options(immediate=True) as conn, conn.begin():
                t.upgrade(conn)
                fts5 = conn.dialect.name == "sqlite" and bool(
                    conn.exec_driver_sql(
                        "SELECT 1 FROM sqlite_master WHERE name = 'search_index'"
                    ).first()
                )
        except ImportError as exc:
            raise CatalogStorageError(
                f"cannot open the catalogue database '{shown}': its driver is not installed "
                f"({exc}). For PostgreSQL use a 'postgresql+psycopg2://' URL after "
                "pip install 'immunetwin[postgres]'"
            ) from None
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            raise CatalogStorageError(
                f"cannot open or migrate the catalogue database '{shown}': "
                f"{type(exc).__name__}: {exc}. Expected a writable database; check the "
                "path and its permissions, or point IMMUNETWIN_DB at another file"
            ) from exc
        return cls(engine, fts5=fts5)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> CatalogStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def reading(self) -> Iterator[sa.Connection]:
        """A connection for a consistent read (one snapshot under WAL)."""
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise _storage_error("read", exc) from exc

    @contextmanager
    def _writing(self) -> Iterator[sa.Connection]:
        """One write transaction that takes the database's write lock up front (SQLite:
        BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock), so concurrent
        writers (two first opens seeding, two imports) run one after the other."""
        try:
            with self.engine.connect().execution_options(immediate=True) as conn, conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
                yield conn
        except sa.exc.IntegrityError as exc:
            raise DuplicateEntryError(
                f"the catalogue refused the write: {exc.orig}. Expected unique ids and "
                "aliases; another process may have imported the same model just now, so "
                "list the catalogue and retry with another --id/--alias"
            ) from None
        except sa.exc.SQLAlchemyError as exc:
            raise _storage_error("write", exc) from exc

    # --- reading -------------------------------------------------------------------------
    def get(self, id_or_alias: str, version: int | None = None) -> Entry:
        """The entry (current version unless ``version``); close matches when unknown."""
        with self.reading() as conn:
            entry_id = self._resolve(conn, id_or_alias)
            if entry_id is None:
                raise UnknownIdentifierError(_unknown_message(conn, id_or_alias))
            row = conn.execute(_select_version(entry_id, version)).first()
            if row is None:
                have = self._version_numbers(conn, entry_id)
                raise UnknownIdentifierError(
                    f"catalogue entry '{entry_id}' has no version {version}; expected one of "
                    f"{', '.join(map(str, have))}. Leave out the version for the current one"
                )
        return _entry(row)

    def find(self, id_or_alias: str) -> Entry | None:
        """The current version of an entry, or None (no error, no suggestions)."""
        with self.reading() as conn:
            entry_id = self._resolve(conn, id_or_alias)
            row = None if entry_id is None else conn.execute(_select_version(entry_id)).first()
        return None if row is None else _entry(row)

    def current(self, entry_id: str) -> tuple[Entry, str] | None:
        """The current version of the entry with exactly this id and its origin ("seed" for
        shipped entries, "user" for imports), or None."""
        with self.reading() as conn:
            row = conn.execute(_select_version(entry_id, columns=_ROW_COLUMNS)).first()
        return None if row is None else (_entry(row), str(row.origin))

    def versions(self, id_or_alias: str) -> builtins.list[Entry]:
        """Every stored version of one entry, oldest first."""
        entry_id = self.get(id_or_alias).id
        with self.reading() as conn:
            rows = conn.execute(
                sa.select(t.entries.c.document)
                .where(t.entries.c.entry_id == entry_id)
                .order_by(t.entries.c.version)
            ).all()
        return [_entry(row) for row in rows]

    def list(
        self,
        category: str | Category | None = None,
        *,
        formalism: str | Formalism | None = None,
        curation_status: str | CurationStatus | None = None,
        origin: str | None = None,
    ) -> builtins.list[Entry]:
        """Current versions, ordered by id, optionally filtered."""
        query = sa.select(t.entries.c.document).where(t.entries.c.is_current)
        if category is not None:
            query = query.where(t.entries.c.category == parse_category(category).value)
        for column, value, kind in (
            (t.entries.c.formalism, formalism, Formalism),
            (t.entries.c.curation_status, curation_status, CurationStatus),
        ):
            if value is not None:
                query = query.where(column == parse_choice(kind, value).value)
        if origin is not None:
            query = query.where(t.entries.c.origin == origin)
        with self.reading() as conn:
            rows = conn.execute(query.order_by(t.entries.c.entry_id)).all()
        return [_entry(row) for row in rows]

    def aliases(self) -> builtins.list[str]:
        with self.reading() as conn:
            return builtins.list(conn.scalars(sa.select(t.entries.c.alias).distinct()))

    def entry_ids(self) -> builtins.list[str]:
        """Every entry id (without reading the documents)."""
        with self.reading() as conn:
            return builtins.list(conn.scalars(sa.select(t.entries.c.entry_id).distinct()))

    def model_text(self, id_or_alias: str, version: int | None = None) -> tuple[str, str]:
        """``(text, format)`` of the stored model file, exactly as imported."""
        entry = self.get(id_or_alias, version)
        with self.reading() as conn:
            row = conn.execute(
                sa.select(t.model_files.c.text, t.model_files.c.format)
                .join(t.entries, t.entries.c.pk == t.model_files.c.entry_pk)
                .where(t.entries.c.entry_id == entry.id, t.entries.c.version == entry.version)
            ).one()
        return row.text, row.format

    @property
    def is_seeded(self) -> bool:
        with self.reading() as conn:
            return _rows.meta(conn, _SEED_KEY) is not None

    # --- writing -------------------------------------------------------------------------
    def add(self, entry: Entry, model_text: str) -> Entry:
        """Store one import: a new id is version 1, a changed model is version n+1."""
        return self.add_many([(entry, model_text)])[0][0]

    def add_many(self, items: Sequence[tuple[Entry, str]]) -> builtins.list[tuple[Entry, str]]:
        """Store imports all or nothing; each comes back with "created", "new-version" or
        "unchanged" (an identical re-import makes no version)."""
        with self._writing() as conn:
            results = [self._add(conn, entry, text, origin="user") for entry, text in items]
            if any(action != "unchanged" for _, action in results):
                _rows.bump_generation(conn)
        return results

    def set_simulatability(self, id_or_alias: str, version: int, report: Simulatability) -> Entry:
        return self.set_checks(id_or_alias, version, report, None)

    def set_reproductions(
        self, id_or_alias: str, version: int, reproductions: Sequence[Reproduction]
    ) -> Entry:
        return self.set_checks(id_or_alias, version, None, reproductions)

    def set_checks(
        self,
        id_or_alias: str,
        version: int,
        report: Simulatability | None,
        reproductions: Sequence[Reproduction] | None,
    ) -> Entry:
        """Record check results on an existing version (no new version; history kept)."""
        known = self.get(id_or_alias, version)
        with self._writing() as conn:  # read the document inside the write: no lost update
            row = conn.execute(
                sa.select(t.entries.c.pk, t.entries.c.document).where(
                    t.entries.c.entry_id == known.id, t.entries.c.version == known.version
                )
            ).one()
            pk = row.pk
            updated = _with_checks(_entry(row), report, reproductions)
            conn.execute(
                t.checks.insert().values(
                    entry_pk=pk,
                    checked_at=datetime.now(UTC),
                    simulatability=None if report is None else _rows.to_json(_plain(report)),
                    reproductions=None
                    if reproductions is None
                    else _rows.to_json([_plain(r) for r in reproductions]),
                )
            )
            self._rewrite_document(conn, pk, updated)
        return updated

    def seed(self, source: SeedSource, *, checksum: str | None = None) -> SeedOutcome:
        """Load the shipped entries on first use, and again whenever the shipped seed changed.

        ``source`` is ``(entry, model_text)`` pairs or a callable returning them (called only
        when needed, if ``checksum`` is given). Seeded entries whose model changed get a new
        version; metadata-only changes update the seeded document in place. Entries imported
        by the user are never touched: a seed entry that collides with one is skipped.
        """
        if checksum is not None and self._seed_checksum() == checksum:
            return SeedOutcome(unchanged=True)
        items = builtins.list(source() if callable(source) else source)
        checksum = checksum or seed_checksum(items)
        with self._writing() as conn:
            if _rows.meta(conn, _SEED_KEY) == checksum:  # another process seeded meanwhile
                return SeedOutcome(unchanged=True)
            added = new_versions = updated = 0
            skipped: builtins.list[str] = []
            for entry, text in items:
                outcome = self._seed_one(conn, entry, text)
                added += outcome == "created"
                new_versions += outcome == "new-version"
                updated += outcome == "updated"
                if outcome == "skipped":
                    skipped.append(entry.id)
            _rows.set_meta(conn, _SEED_KEY, checksum)
            _rows.bump_generation(conn)
        return SeedOutcome(added, new_versions, updated, tuple(skipped))

    # --- internals -----------------------------------------------------------------------
    def _seed_checksum(self) -> str | None:
        with self.reading() as conn:
            return _rows.meta(conn, _SEED_KEY)

    def _seed_one(self, conn: sa.Connection, entry: Entry, text: str) -> str:
        current = conn.execute(_select_version(entry.id, columns=_ROW_COLUMNS)).first()
        if current is None:
            if self._alias_owner(conn, entry.alias, entry.id) is not None:
                return "skipped"
            try:  # the checks in _add run before it writes anything
                self._add(conn, entry, text, origin="seed")
            except DuplicateEntryError:  # the id or alias is a user's: the user's entry wins
                return "skipped"
            return "created"
        if current.origin != "seed":
            return "skipped"
        if current.model_sha256 != _rows.sha256(text):
            try:
                return self._add(conn, entry, text, origin="seed")[1]
            except DuplicateEntryError:
                return "skipped"
        stored = _entry(current)
        merged = _stamped(entry, stored.version, current.model_sha256)
        merged = _reapply_checks(conn, current.pk, merged)
        if _rows.to_json(merged.to_dict()) == current.document:
            return "unchanged"
        if merged.alias != stored.alias and self._alias_owner(conn, merged.alias, entry.id):
            return "skipped"
        self._rewrite_document(conn, current.pk, merged)
        return "updated"

    def _add(self, conn: sa.Connection, entry: Entry, text: str, origin: str) -> tuple[Entry, str]:
        _check_entry(entry, text)
        sha = _rows.sha256(text)
        current = conn.execute(_select_version(entry.id, columns=_ROW_COLUMNS)).first()
        if current is not None and current.model_sha256 == sha:
            return _entry(current), "unchanged"
        owner = self._alias_owner(conn, entry.alias, entry.id)
        if owner is not None:
            raise DuplicateEntryError(
                f"alias '{entry.alias}' is already used by catalogue entry '{owner}'; "
                f"expected a new alias for '{entry.id}'. Import again with another --alias"
            )
        clash = conn.execute(
            sa.select(t.entries.c.entry_id).where(
                t.entries.c.alias == entry.id, t.entries.c.entry_id != entry.id
            )
        ).first()
        if clash is not None:
            raise DuplicateEntryError(
                f"id '{entry.id}' is the alias of catalogue entry '{clash.entry_id}'; expected "
                "an id no other entry is known by. Import again with another --id"
            )
        version = 1 if current is None else current.version + 1
        stored = _stamped(entry, version, sha)
        if current is not None:
            conn.execute(
                t.entries.update().where(t.entries.c.pk == current.pk).values(is_current=False)
            )
            _rows.unindex(conn, current.pk, fts5=self.has_fts5)
        inserted = conn.execute(
            t.entries.insert().values(
                entry_id=stored.id,
                version=version,
                origin=origin,
                model_sha256=sha,
                created_at=datetime.now(UTC),
                is_current=True,
                **_rows.columns(stored),
            )
        ).inserted_primary_key
        assert inserted is not None  # an INSERT always reports its key
        pk = int(inserted[0])
        conn.execute(
            t.model_files.insert().values(
                entry_pk=pk, format=stored.model_format, sha256=sha, text=text
            )
        )
        _rows.write_facets(conn, pk, stored)
        _rows.write_index(conn, pk, stored, fts5=self.has_fts5)
        return stored, "created" if current is None else "new-version"

    def _rewrite_document(self, conn: sa.Connection, pk: int, entry: Entry) -> None:
        conn.execute(t.entries.update().where(t.entries.c.pk == pk).values(**_rows.columns(entry)))
        conn.execute(t.facets.delete().where(t.facets.c.entry_pk == pk))
        _rows.write_facets(conn, pk, entry)
        is_current = conn.execute(
            sa.select(t.entries.c.is_current).where(t.entries.c.pk == pk)
        ).scalar_one()
        if is_current:
            _rows.unindex(conn, pk, fts5=self.has_fts5)
            _rows.write_index(conn, pk, entry, fts5=self.has_fts5)
            _rows.bump_generation(conn)

    def _alias_owner(self, conn: sa.Connection, alias: str, entry_id: str) -> str | None:
        """The other entry that already answers to ``alias`` (as alias or id), if any."""
        row = conn.execute(
            sa.select(t.entries.c.entry_id)
            .where(
                sa.or_(t.entries.c.alias == alias, t.entries.c.entry_id == alias),
                t.entries.c.entry_id != entry_id,
            )
            .limit(1)
        ).first()
        return None if row is None else str(row.entry_id)

    def _resolve(self, conn: sa.Connection, name: str) -> str | None:
        """Entry id for an id or alias: exact id, then alias, then case-insensitively."""
        e = t.entries.c
        for condition in (
            e.entry_id == name,
            sa.and_(e.alias == name, e.is_current),
            e.alias == name,
            sa.or_(
                sa.func.lower(e.entry_id) == name.lower(), sa.func.lower(e.alias) == name.lower()
            ),
        ):
            row = conn.execute(
                sa.select(e.entry_id).where(condition).order_by(e.is_current.desc()).limit(1)
            ).first()
            if row is not None:
                return str(row.entry_id)
        return None

    @staticmethod
    def _version_numbers(conn: sa.Connection, entry_id: str) -> builtins.list[int]:
        return builtins.list(
            conn.scalars(
                sa.select(t.entries.c.version)
                .where(t.entries.c.entry_id == entry_id)
                .order_by(t.entries.c.version)
            )
        )

    def vocabulary(self) -> builtins.list[str]:
        """Every token in the search index (cached until the next write to the index)."""
        with self.reading() as conn:
            generation = int(_rows.meta(conn, _rows.GENERATION_KEY) or 0)
            if self._vocabulary is None or self._vocabulary[0] != generation:
                words = sorted(conn.scalars(sa.select(t.search_tokens.c.token).distinct()))
                self._vocabulary = (generation, words)
        return self._vocabulary[1]


_LOCK = 0x1A7E_7C01  # the advisory lock id of catalogue writes on PostgreSQL


def _storage_error(action: str, exc: sa.exc.SQLAlchemyError) -> CatalogStorageError:
    return CatalogStorageError(
        f"the catalogue database failed during a {action} ({type(exc).__name__}: "
        f"{getattr(exc, 'orig', None) or exc}); nothing was changed. If it is locked, another "
        "immunetwin process is writing: retry; otherwise check the disk and its permissions"
    )


def parse_category(value: str | Category) -> Category:
    """A category by value, or by an unambiguous part of it ("viral", "sepsis", "tumour")."""
    if isinstance(value, Category):
        return value
    wanted = value.strip().lower().replace("_", "-").replace(" ", "-")
    if wanted in ("tumor", "tumor-immune", "cancer"):
        wanted = "tumour"
    partial = [c for c in Category if c.value == wanted] or [
        c for c in Category if wanted and wanted in c.value
    ]
    if len(partial) == 1:
        return partial[0]
    choices = ", ".join(c.value for c in Category)
    raise InvalidInputError(f"unknown category '{value}'; expected one of: {choices}")


def parse_choice(kind: type[Any], value: Any) -> Any:
    """An enum member from its value, case- and separator-insensitively, or a helpful error."""
    if isinstance(value, kind):
        return value
    wanted = str(value).strip().lower().replace("_", "-").replace(" ", "-")
    for member in kind:
        if member.value == wanted:
            return member
    choices = ", ".join(member.value for member in kind)
    raise InvalidInputError(
        f"unknown {kind.__name__.lower()} '{value}'; expected one of: {choices}"
    )


def seed_checksum(items: Iterable[tuple[Entry, str]]) -> str:
    """Checksum of a seed: every entry document and model text, order-independent."""
    parts = sorted(_rows.to_json(entry.to_dict()) + _rows.sha256(text) for entry, text in items)
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


_ROW_COLUMNS = (
    t.entries.c.pk,
    t.entries.c.version,
    t.entries.c.origin,
    t.entries.c.model_sha256,
    t.entries.c.document,
)


def _select_version(
    entry_id: str, version: int | None = None, columns: Sequence[Any] = (t.entries.c.document,)
) -> sa.Select[Any]:
    query = sa.select(*columns).where(t.entries.c.entry_id == entry_id)
    if version is None:
        return query.where(t.entries.c.is_current)
    return query.where(t.entries.c.version == version)


def _entry(row: Any) -> Entry:
    return Entry.from_dict(json.loads(row.document))


def _plain(value: Any) -> Any:
    """A check result as JSON-ready data (enums are str enums, so they dump as values)."""
    return json.loads(json.dumps(dataclasses.asdict(value)))


def _stamped(entry: Entry, version: int, sha: str) -> Entry:
    """The entry as stored: its version number, and the model checksum in its provenance."""
    provenance = entry.provenance
    if not provenance.sha256:
        provenance = dataclasses.replace(provenance, sha256=sha)
    return dataclasses.replace(entry, version=version, provenance=provenance)


def _check_entry(entry: Entry, text: str) -> None:
    problems = [
        f"{name} is empty"
        for name, value in (("id", entry.id), ("alias", entry.alias), ("model text", text))
        if not value.strip()
    ]
    if problems:
        raise InvalidInputError(
            f"cannot store catalogue entry '{entry.id}': {'; '.join(problems)}. Expected a "
            "non-empty id, alias and model text; give them (--id, --alias) or fix the file"
        )


def _with_checks(
    entry: Entry,
    report: Simulatability | None,
    reproductions: Sequence[Reproduction] | None,
) -> Entry:
    changes: dict[str, Any] = {}
    if report is not None:
        changes["simulatability"] = report
    if reproductions is not None:
        changes["reproductions"] = tuple(reproductions)
    return dataclasses.replace(entry, **changes)


def _reapply_checks(conn: sa.Connection, pk: int, entry: Entry) -> Entry:
    """Keep the latest stored check results when the seed rewrites a document."""
    rows = conn.execute(
        sa.select(t.checks.c.simulatability, t.checks.c.reproductions)
        .where(t.checks.c.entry_pk == pk)
        .order_by(t.checks.c.pk)
    ).all()
    report = next((r.simulatability for r in reversed(rows) if r.simulatability), None)
    repro = next((r.reproductions for r in reversed(rows) if r.reproductions is not None), None)
    if report is None and repro is None:
        return entry
    data = entry.to_dict()
    if report is not None:
        data["simulatability"] = json.loads(report)
    if repro is not None:
        data["reproductions"] = json.loads(repro)
    return Entry.from_dict(data)


def _unknown_message(conn: sa.Connection, name: str) -> str:
    known = builtins.list(
        conn.execute(
            sa.select(t.entries.c.entry_id, t.entries.c.alias).where(t.entries.c.is_current)
        )
    )
    choices = {value for row in known for value in (row.entry_id, row.alias)}
    close = process.extract(name, choices, scorer=fuzz.WRatio, limit=5, score_cutoff=60)
    hint = (
        f"close matches: {', '.join(match for match, _, _ in close)}"
        if close
        else "no close matches"
    )
    return (
        f"no catalogue entry with id or alias '{name}' ({hint}); expected the id or alias "
        "of a catalogue entry. Find it with `immunetwin models search`"
    )
