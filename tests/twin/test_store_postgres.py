"""The twin record on a real PostgreSQL server (``pgserver``; skipped when not installed):
versions, forecasts, recommendations and approvals round-trip, and a refused write changes
nothing."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from immunetwin.errors import InvalidInputError
from immunetwin.twin.ensemble import Ensemble
from immunetwin.twin.store import TwinStore

pgserver = pytest.importorskip("pgserver")
pytest.importorskip("psycopg2")


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = pgserver.get_server(str(tmp_path_factory.mktemp("pg")), cleanup_mode="stop")
    try:
        yield server.get_uri().replace("postgresql://", "postgresql+psycopg2://", 1)
    finally:
        server.cleanup()


def _ensemble(day: float) -> Ensemble:
    rng = np.random.default_rng(0)
    return Ensemble(
        day,
        ("k",),
        rng.random((5, 1)),
        rng.random(5),
        ("X", "Y"),
        rng.random((5, 2)),
        np.full(5, 0.2),
    )


def test_twin_record_on_postgres(postgres_url: str) -> None:
    store = TwinStore.open(postgres_url)
    first = store.create(
        "pg-1",
        "viral_pneumonia",
        "P-1",
        _ensemble(2.0),
        method="test",
        inputs={"model": "viral_pneumonia"},
        summary={},
    )
    second = store.add_version("pg-1", _ensemble(3.0), method="enkf", inputs={}, summary={})
    assert (first.version, second.version) == (1, 2)
    again = store.version("pg-1", 1)
    assert np.array_equal(again.ensemble.states, first.ensemble.states)
    store.add_forecast("pg-1", 2, {"horizon": 5.0, "outcomes": {}})
    recommendation = store.add_recommendation("pg-1", 2, {"recommended": {"name": "none"}})
    store.approve("pg-1", recommendation, "Dr Ada")
    with pytest.raises(InvalidInputError, match="exists already"):
        store.create(
            "pg-1", "viral_pneumonia", "P-1", _ensemble(2.0), method="test", inputs={}, summary={}
        )
    events = [e["event"] for e in store.history("pg-1")]
    assert events.count("version") == 2 and "forecast" in events and "recommendation" in events
    store.close()
