"""OMEX export of catalogue entries: the archive re-imports to the same model and its SED-ML
time course runs in our engine. CI runs every 10th simulatable entry; ``make catalogue`` all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from immunetwin.catalog import Catalog, ExportFormat
from immunetwin.catalog.archive import run_time_course
from immunetwin.catalog.seed import seed_entries
from immunetwin.formats.omex import read_omex

SIMULATABLE = sorted(
    e.id for e in seed_entries() if e.simulatability is not None and e.simulatability.simulates
)
SUBSET = set(SIMULATABLE[::10]) | {"BIOMD0000000714", "baccam2006", "nowak_bangham1996"}


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalog]:
    with Catalog.open(f"sqlite:///{tmp_path_factory.mktemp('omex') / 'c.sqlite'}") as opened:
        yield opened


def _round_trip(catalog: Catalog, entry_id: str, tmp_path: Path) -> None:
    target = catalog.export(entry_id, ExportFormat.OMEX, tmp_path / f"{entry_id}.omex")
    archive = read_omex(target)
    assert archive.model == catalog.model(entry_id)
    [course] = archive.time_courses
    horizon = catalog.get(entry_id).simulatability.horizon  # type: ignore[union-attr]
    assert course.end == pytest.approx(horizon or 100.0)
    result = run_time_course(archive.model, course)
    assert result.ok, result.message
    assert np.all(np.isfinite(result.values))


@pytest.mark.parametrize(
    "entry_id",
    [pytest.param(i, marks=() if i in SUBSET else pytest.mark.slow, id=i) for i in SIMULATABLE],
)
def test_omex_export_reimports_and_runs(catalog: Catalog, entry_id: str, tmp_path: Path) -> None:
    _round_trip(catalog, entry_id, tmp_path)


def test_an_exported_archive_imports_as_a_new_entry(catalog: Catalog, tmp_path: Path) -> None:
    target = catalog.export("baccam2006", ExportFormat.OMEX, tmp_path / "baccam.omex")
    [outcome] = catalog.import_path(target, id="my_baccam", alias="my-baccam")
    assert outcome.action == "created"
    assert catalog.model("my-baccam") == catalog.model("baccam2006")


def test_a_broken_archive_changes_nothing(catalog: Catalog, tmp_path: Path) -> None:
    from immunetwin.errors import ArchiveError

    before = len(catalog.list())
    broken = tmp_path / "broken.omex"
    broken.write_bytes(b"PK\x03\x04 this is not a whole zip file")
    with pytest.raises(ArchiveError):
        catalog.import_path(broken)
    assert len(catalog.list()) == before
