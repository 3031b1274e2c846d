"""Shared test fixtures: paths to the bundled and shared data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session", autouse=True)
def private_catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test (and CLI subprocess) uses its own catalogue, never the user's."""
    path = tmp_path_factory.mktemp("catalog") / "catalog.sqlite"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IMMUNETWIN_DB", f"sqlite:///{path}")
        yield path
