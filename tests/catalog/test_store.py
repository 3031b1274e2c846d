"""The catalogue store: migrations, seeding, versions, atomic writes, crash safety."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from immunetwin.catalog import _rows, _tables
from immunetwin.catalog import store as store_module
from immunetwin.catalog.entry import (
    Agreement,
    Category,
    Citation,
    CurationStatus,
    Entry,
    Facet,
    OntologyTerm,
    Reproduction,
    ReproductionStatus,
    Simulatability,
)
from immunetwin.catalog.search import search
from immunetwin.catalog.store import CatalogStore
from immunetwin.config import catalog_url
from immunetwin.errors import (
    CatalogStorageError,
    DuplicateEntryError,
    InvalidInputError,
    UnknownIdentifierError,
)

TABLES = ("entries", "model_files", "facets", "checks", "search_tokens", "search_index", "meta")


def make_entry(entry_id: str, alias: str, title: str = "A model", **changes: object) -> Entry:
    return Entry(
        id=entry_id,
        alias=alias,
        title=title,
        citation=Citation(authors=("Doe J",), year=2001, title=title),
        terms=(OntologyTerm("CL:0000084", "T cell", Facet.CELL_TYPE),),
        **changes,  # type: ignore[arg-type]
    )


def sbml(n: int) -> str:
    return f'<?xml version="1.0"?><sbml><model id="m{n}"/></sbml>'


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "folder" / "catalog.sqlite"


@pytest.fixture
def store(db: Path) -> Iterator[CatalogStore]:
    opened = CatalogStore.open(f"sqlite:///{db}")
    yield opened
    opened.close()


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {name: conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in TABLES}


# --- configuration and opening ---------------------------------------------------------------
def test_catalog_url_reads_immunetwin_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IMMUNETWIN_DB", "postgresql://u:p@host/db")
    assert catalog_url() == "postgresql://u:p@host/db"
    monkeypatch.setenv("IMMUNETWIN_DB", str(tmp_path / "x.sqlite"))
    assert catalog_url() == f"sqlite:///{tmp_path / 'x.sqlite'}"
    monkeypatch.delenv("IMMUNETWIN_DB")
    assert catalog_url().startswith("sqlite:///") and catalog_url().endswith("catalog.sqlite")


def test_open_creates_the_folder_migrates_and_sets_wal(db: Path) -> None:
    CatalogStore.open(f"sqlite:///{db}").close()
    assert db.is_file()
    with sqlite3.connect(db) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert set(TABLES) <= names and "alembic_version" in names
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert revision == _tables.head_revision()
    reopened = CatalogStore.open(f"sqlite:///{db}")  # idempotent
    with reopened.reading() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    reopened.close()


def test_open_uses_immunetwin_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IMMUNETWIN_DB", str(tmp_path / "env" / "cat.sqlite"))
    with CatalogStore.open() as opened:
        opened.add(make_entry("m1", "one"), sbml(1))
    assert (tmp_path / "env" / "cat.sqlite").is_file()


def test_migrations_run_on_an_empty_database_and_are_idempotent(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'raw.sqlite'}")
    for _ in range(2):
        with engine.begin() as conn:
            _tables.upgrade(conn)
            assert _tables.current_revision(conn) == _tables.head_revision()
    inspector = sa.inspect(engine)
    assert {"entries", "model_files", "facets", "checks", "meta"} <= set(
        inspector.get_table_names()
    )
    engine.dispose()


def test_in_memory_database_works() -> None:
    with CatalogStore.open("sqlite://") as memory:
        memory.add(make_entry("m1", "one", title="Sepsis outcomes"), sbml(1))
        assert memory.get("one").id == "m1"
        assert [hit.id for hit in search(memory, "sepsis")] == ["m1"]


def test_a_seed_never_displaces_a_user_entry(tmp_path: Path) -> None:
    with CatalogStore.open(f"sqlite:///{tmp_path / 'c.sqlite'}") as store:
        store.add(make_entry("u1", "s2"), sbml(1))  # the user took "s2" as an alias
        outcome = store.seed([(make_entry("s2", "seeded"), sbml(2))], checksum="one")
        assert outcome.skipped == ("s2",)
        store.seed([(make_entry("s3", "s3"), sbml(3))], checksum="two")
        store.add(make_entry("u2", "taken"), sbml(4))
        changed = make_entry("s3", "taken")  # a new seed version wanting the user's alias
        assert store.seed([(changed, sbml(5))], checksum="three").skipped == ("s3",)
        assert store.get("s2").id == "u1" and store.get("taken").id == "u2"


def test_a_missing_database_driver_is_a_storage_error() -> None:
    with pytest.raises(CatalogStorageError, match="driver is not installed"):
        CatalogStore.open("mysql://user@localhost/nowhere")


def test_unopenable_database_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CatalogStorageError, match="IMMUNETWIN_DB"):
        CatalogStore.open(f"sqlite:///{blocker / 'sub' / 'c.sqlite'}")


# --- seeding ---------------------------------------------------------------------------------
def test_seed_is_idempotent_and_follows_a_changed_seed(store: CatalogStore, db: Path) -> None:
    seed = [(make_entry(f"S{n}", f"seed{n}", f"Seed model {n}"), sbml(n)) for n in range(5)]
    assert not store.is_seeded
    first = store.seed(seed)
    assert first.added == 5 and store.is_seeded
    before = counts(db)
    assert store.seed(seed).unchanged
    calls: list[int] = []

    def source() -> list[tuple[Entry, str]]:
        calls.append(1)
        return seed

    assert store.seed(source, checksum=store_module.seed_checksum(seed)).unchanged
    assert calls == []  # a matching checksum skips loading the seed
    assert counts(db)["entries"] == before["entries"]

    store.add(make_entry("U1", "user1"), "user text")
    changed = list(seed)
    changed[0] = (seed[0][0], sbml(100))  # new model file: new version
    changed[1] = (make_entry("S1", "seed1", "Better title"), seed[1][1])  # metadata only
    changed.append((make_entry("U1", "user1", "Seed claims this id"), sbml(7)))
    outcome = store.seed(changed)
    assert (outcome.new_versions, outcome.updated, outcome.skipped) == (1, 1, ("U1",))
    assert [e.version for e in store.versions("S0")] == [1, 2]
    assert store.get("S1").title == "Better title" and store.get("S1").version == 1
    assert store.get("U1").title == "A model"  # user entries are never touched
    assert store.model_text("U1") == ("user text", "sbml")


# --- versions --------------------------------------------------------------------------------
def test_a_changed_model_is_a_new_version_and_old_versions_stay(store: CatalogStore) -> None:
    first = store.add(make_entry("m1", "one"), sbml(1))
    second = store.add(make_entry("m1", "one", "Revised"), sbml(2))
    assert (first.version, second.version) == (1, 2)
    assert [e.version for e in store.versions("one")] == [1, 2]
    assert store.get("m1").title == "Revised"
    assert store.get("m1", version=1).title == "A model"
    assert store.model_text("m1", 1) == (sbml(1), "sbml")
    assert store.model_text("one") == (sbml(2), "sbml")
    assert store.get("m1").provenance.sha256  # filled from the model text
    assert [e.id for e in store.list()] == ["m1"]
    with pytest.raises(UnknownIdentifierError, match="expected one of 1, 2"):
        store.get("m1", version=3)


def test_an_identical_reimport_makes_no_version(store: CatalogStore, db: Path) -> None:
    store.add(make_entry("m1", "one"), sbml(1))
    before = counts(db)
    result = store.add_many([(make_entry("m1", "one", "Other title"), sbml(1))])
    assert result[0][1] == "unchanged" and result[0][0].version == 1
    assert counts(db) == before


def test_add_many_reports_what_it_did(store: CatalogStore) -> None:
    store.add(make_entry("m1", "one"), sbml(1))
    actions = store.add_many(
        [
            (make_entry("m1", "one"), sbml(1)),
            (make_entry("m1", "one"), sbml(9)),
            (make_entry("m2", "two"), sbml(2)),
        ]
    )
    assert [a for _, a in actions] == ["unchanged", "new-version", "created"]


def test_alias_clash_is_refused_and_changes_nothing(store: CatalogStore, db: Path) -> None:
    store.add(make_entry("m1", "one"), sbml(1))
    before = counts(db)
    with pytest.raises(DuplicateEntryError, match="alias 'one' is already used by .*'m1'"):
        store.add_many([(make_entry("m2", "two"), sbml(2)), (make_entry("m3", "one"), sbml(3))])
    with pytest.raises(DuplicateEntryError, match="alias of catalogue entry 'm1'"):
        store.add(make_entry("one", "other"), sbml(4))
    assert counts(db) == before
    assert store.find("m2") is None


def test_a_failure_midway_through_add_leaves_nothing(
    store: CatalogStore, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add(make_entry("m1", "one"), sbml(1))
    before = counts(db)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(_rows, "write_facets", broken)  # after entries + model rows
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.add_many([(make_entry("m2", "two"), sbml(2)), (make_entry("m1", "one"), sbml(5))])
    assert counts(db) == before
    assert [e.version for e in store.versions("m1")] == [1]


def test_empty_fields_are_invalid_input(store: CatalogStore) -> None:
    with pytest.raises(InvalidInputError, match="alias is empty"):
        store.add(make_entry("m1", " "), sbml(1))


def test_unknown_ids_suggest_close_matches(store: CatalogStore) -> None:
    store.add(make_entry("BIOMD0000000714", "reynolds2006"), sbml(1))
    with pytest.raises(UnknownIdentifierError, match="close matches: reynolds2006"):
        store.get("reynold2006")
    assert store.get("REYNOLDS2006").id == "BIOMD0000000714"
    assert store.find("nothing") is None


def test_checks_are_stored_without_a_new_version(store: CatalogStore, db: Path) -> None:
    store.add(make_entry("m1", "one"), sbml(1))
    report = Simulatability(simulates=True, agreement=Agreement.AGREE, max_rel_error=1e-8)
    updated = store.set_simulatability("one", 1, report)
    assert updated.curation_status is CurationStatus.AGREES
    reproduced = Reproduction("m1.peak", "peak", "3", status=ReproductionStatus.REPRODUCED)
    store.set_reproductions("m1", 1, [reproduced])
    entry = store.get("m1")
    assert entry.version == 1 and entry.simulatability == report
    assert entry.curation_status is CurationStatus.REPRODUCED
    assert counts(db)["checks"] == 2 and counts(db)["entries"] == 1
    assert [e.id for e in store.list(curation_status="reproduced")] == ["m1"]
    assert store.list(category=Category.VACCINE) == []


# --- crash safety ----------------------------------------------------------------------------
_IMPORTER = textwrap.dedent(
    """
    import sys
    from immunetwin.catalog.entry import Entry
    from immunetwin.catalog.store import CatalogStore

    store = CatalogStore.open(sys.argv[1])
    big = "x" * 200_000
    for batch in range(10_000):
        items = [
            (Entry(id=f"m{n}", alias=f"a{n}", title=f"model {n} batch {batch}"),
             f"{big} {batch} {n}")
            for n in range(20)
        ]
        store.add_many(items)  # one transaction: 20 entries (new versions after batch 0)
        print(batch, flush=True)
    """
)


def test_kill_9_mid_import_leaves_only_complete_entries(db: Path) -> None:
    CatalogStore.open(f"sqlite:///{db}").close()
    child = subprocess.Popen(
        [sys.executable, "-c", _IMPORTER, f"sqlite:///{db}"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")},
    )
    assert child.stdout is not None
    for _ in range(3):  # let a few transactions commit, then kill one in flight
        assert child.stdout.readline().strip(), "the importer died before committing"
    time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with CatalogStore.open(f"sqlite:///{db}") as reopened:
        entries = reopened.list()
        assert len(entries) == 20  # batches are all or nothing
        batches = {e.title.split()[-1] for e in entries}
        assert len(batches) == 1  # every entry is at the same committed batch
        for entry in entries:
            versions = [v.version for v in reopened.versions(entry.id)]
            assert versions == list(range(1, entry.version + 1))
            for version in versions:
                text, _ = reopened.model_text(entry.id, version)
                assert text.endswith(f" {version - 1} {entry.id[1:]}")
    with sqlite3.connect(db) as conn:
        current = conn.execute("SELECT count(*) FROM entries WHERE is_current").fetchone()[0]
        indexed = conn.execute("SELECT count(*) FROM search_index").fetchone()[0]
        orphans = conn.execute(
            "SELECT count(*) FROM entries e LEFT JOIN model_files f ON f.entry_pk = e.pk "
            "WHERE f.entry_pk IS NULL"
        ).fetchone()[0]
    assert current == indexed == 20 and orphans == 0
