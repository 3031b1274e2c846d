"""The catalogue facade: open and seed, find, import with versions, refuse bad input without
changing anything, export, check, and resolve ids where a model file is expected."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from immunetwin.catalog import Catalog, ExportFormat, resolve_model
from immunetwin.catalog.entry import CurationStatus, ReproductionStatus
from immunetwin.catalog.seed import model_file, seed_entries
from immunetwin.errors import (
    DuplicateEntryError,
    InvalidInputError,
    ModelReadError,
    UnknownIdentifierError,
)

GROWTH = """
model growth
  species X = 1;
  J: -> X; r*X*(1 - X/K)
  r = 1; K = 10;
end
"""


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalog]:
    url = f"sqlite:///{tmp_path_factory.mktemp('seeded') / 'catalog.sqlite'}"
    with Catalog.open(url) as catalog:
        yield catalog


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Catalog]:
    with Catalog.open(f"sqlite:///{tmp_path / 'catalog.sqlite'}") as catalog:
        yield catalog


def _count(catalog: Catalog) -> int:
    return sum(len(catalog.versions(e.id)) for e in catalog.list())


def test_the_shipped_catalogue_is_seeded_on_first_use(seeded: Catalog) -> None:
    entries = seeded.list()
    assert len(entries) == len(seed_entries()) >= 143
    assert sum(e.id.startswith("BIOMD") and "_" not in e.id for e in entries) == 140
    reynolds = seeded.get("reynolds2006")
    assert reynolds.id == "BIOMD0000000714"
    assert reynolds.curation_status is CurationStatus.REPRODUCED
    text, fmt = seeded.model_text("reynolds2006")
    assert fmt == "sbml" and text == model_file(reynolds).read_text(encoding="utf-8")


def test_reopening_does_not_reseed_or_duplicate(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    with Catalog.open(url) as first:
        before = _count(first)
    with Catalog.open(url) as second:
        assert _count(second) == before


def test_hancioglu_discrepancy_and_corrected_variant_ship_side_by_side(seeded: Catalog) -> None:
    original = seeded.get("BIOMD0000000711")
    corrected = seeded.get("hancioglu2007-corrected")
    assert any(n.kind == "discrepancy" and "aE" in n.text for n in original.curation_notes)
    assert corrected.provenance.derived_from == "BIOMD0000000711"
    statuses = {r.claim: r.status for r in corrected.reproductions}
    assert statuses and all(s is ReproductionStatus.REPRODUCED for s in statuses.values())


def test_unknown_id_suggests_close_matches(seeded: Catalog) -> None:
    with pytest.raises(UnknownIdentifierError, match="reynolds2006"):
        seeded.get("reynold2006")


def test_import_versions_and_never_overwrites(fresh: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "growth.ant"
    path.write_text(GROWTH)
    [created] = fresh.import_path(path, alias="mygrowth")
    assert (created.action, created.entry.version, created.entry.alias) == (
        "created",
        1,
        "mygrowth",
    )
    assert created.entry.simulatability is not None and created.entry.simulatability.simulates
    [again] = fresh.import_path(path)
    assert (again.action, again.entry.version) == ("unchanged", 1)
    path.write_text(GROWTH.replace("K = 10", "K = 20"))
    [changed] = fresh.import_path(path)
    assert (changed.action, changed.entry.version, changed.entry.alias) == (
        "new-version",
        2,
        "mygrowth",
    )
    assert [e.version for e in fresh.versions("mygrowth")] == [1, 2]
    assert "K = 10" in fresh.model_text("mygrowth", version=1)[0]
    assert "K = 20" in fresh.model_text("mygrowth")[0]


def test_refused_imports_leave_the_catalogue_unchanged(fresh: Catalog, tmp_path: Path) -> None:
    before = _count(fresh)
    good = tmp_path / "growth.ant"
    good.write_text(GROWTH)
    with pytest.raises(DuplicateEntryError, match="alias"):
        fresh.import_path(good, alias="reynolds2006")  # taken by a curated entry
    curated = tmp_path / "copy.xml"
    shutil.copy(model_file("reynolds2006"), curated)
    with pytest.raises(DuplicateEntryError, match="curated"):
        fresh.import_path(curated)
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.ant").write_text(GROWTH)
    (folder / "b.xml").write_text("<sbml><model id='broken'")  # truncated XML
    with pytest.raises(ModelReadError):
        fresh.import_path(folder)  # all or nothing: a.ant is not imported either
    twins = tmp_path / "twins"
    twins.mkdir()
    (twins / "one.ant").write_text(GROWTH)
    (twins / "two.ant").write_text(GROWTH.replace("K = 10", "K = 5"))
    with pytest.raises(DuplicateEntryError, match="both define"):
        fresh.import_path(twins)
    with pytest.raises(InvalidInputError, match="no such file"):
        fresh.import_path(tmp_path / "missing.xml")
    assert _count(fresh) == before


def test_export_round_trips(seeded: Catalog, tmp_path: Path) -> None:
    from immunetwin.formats import read_model

    original = seeded.model("nowak1996")
    for fmt, suffix in ((ExportFormat.SBML, ".xml"), (ExportFormat.ANTIMONY, ".ant")):
        target = seeded.export("nowak1996", fmt, tmp_path / f"nowak{suffix}")
        again = read_model(target)
        assert {s.id for s in again.species} == {s.id for s in original.species}
        assert {p.id: p.value for p in again.parameters} == {
            p.id: p.value for p in original.parameters
        }


def test_check_reruns_reproductions_and_stores_them(fresh: Catalog) -> None:
    [report] = fresh.check(["baccam2006"], with_reference=False)
    assert report.simulatability.simulates
    assert report.reproductions and all(
        r.status is ReproductionStatus.REPRODUCED for r in report.reproductions
    )
    payload = report.to_dict()
    assert payload["curation_status"] == "reproduced"
    assert fresh.get("baccam2006").simulatability == report.simulatability


def test_models_resolve_by_file_or_catalogue_id(tmp_path: Path) -> None:
    assert resolve_model("reynolds2006").id == resolve_model(str(model_file("reynolds2006"))).id
    with pytest.raises(UnknownIdentifierError):
        resolve_model("no-such-model-anywhere")
    with pytest.raises((ModelReadError, OSError)):
        resolve_model(str(tmp_path / "typo.xml"))  # a file name is never looked up by id


def test_hand_encoded_classics_are_curated_too(fresh: Catalog, tmp_path: Path) -> None:
    copy = tmp_path / "baccam2006.ant"
    shutil.copy(model_file("baccam2006"), copy)
    changed = copy.read_text().replace("4.6e-2", "5e-2")
    copy.write_text(changed)
    with pytest.raises(DuplicateEntryError, match="curated"):
        fresh.import_path(copy, id="baccam2006")
    assert [e.version for e in fresh.versions("baccam2006")] == [1]


def test_a_folder_gets_distinct_aliases(fresh: Catalog, tmp_path: Path) -> None:
    folder = tmp_path / "cases"
    folder.mkdir()
    (folder / "one.ant").write_text(GROWTH.replace("model growth", "model A1"))
    (folder / "two.ant").write_text(GROWTH.replace("model growth", "model a1"))
    (folder / "README.txt").write_text("notes, not a model")  # ignored in a folder
    outcomes = fresh.import_path(folder, check=False)
    assert sorted(o.entry.id for o in outcomes) == ["A1", "a1"]
    assert len({o.entry.alias for o in outcomes}) == 2
