"""The catalogue on a real PostgreSQL server (``pgserver`` runs one from a wheel; skipped when
it is not installed): migrations, seeding, the portable search path, versioned imports and
refused imports that change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from immunetwin.catalog import Catalog
from immunetwin.errors import DuplicateEntryError

pgserver = pytest.importorskip("pgserver")
pytest.importorskip("psycopg2")

GROWTH = """
model growth
  species X = 1;
  J: -> X; r*X*(1 - X/K)
  r = 1; K = 10;
end
"""


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = pgserver.get_server(str(tmp_path_factory.mktemp("pg")), cleanup_mode="stop")
    try:
        yield server.get_uri().replace("postgresql://", "postgresql+psycopg2://", 1)
    finally:
        server.cleanup()


def test_seed_search_and_versioned_import(postgres_url: str, tmp_path: Path) -> None:
    with Catalog.open(postgres_url) as catalog:
        assert len(catalog.list()) >= 143
        assert catalog.get("reynolds2006").id == "BIOMD0000000714"
        assert "reynolds2006" in [h.alias for h in catalog.search("sepsis", limit=3)]
        assert "perelson1993" in [h.alias for h in catalog.search("HIV CD4", limit=3)]
        source = tmp_path / "growth.ant"
        source.write_text(GROWTH)
        [created] = catalog.import_path(source, alias="pg-growth", check=False)
        source.write_text(GROWTH.replace("K = 10", "K = 30"))
        [changed] = catalog.import_path(source, check=False)
        assert (created.entry.version, changed.entry.version) == (1, 2)
        count = len(catalog.list())
        with pytest.raises(DuplicateEntryError):
            catalog.import_path(source, alias="reynolds2006", check=False)
        assert len(catalog.list()) == count
    with Catalog.open(postgres_url) as reopened:  # migrations and seeding are idempotent
        assert len(reopened.list()) == count
        assert "K = 10" in reopened.model_text("pg-growth", version=1)[0]
