"""Settings read from the environment, once, here and nowhere else."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir


def cache_dir() -> Path:
    """Where compiled model code is cached (IMMUNETWIN_CACHE, else ~/.cache/immunetwin)."""
    configured = os.environ.get("IMMUNETWIN_CACHE")
    base = Path(configured) if configured else Path.home() / ".cache" / "immunetwin"
    return base


def c_compiler() -> str:
    """The C compiler used to JIT-compile models (IMMUNETWIN_CC, else cc)."""
    return os.environ.get("IMMUNETWIN_CC", "cc")


def catalog_url(configured: str | None = None) -> str:
    """The catalogue database as a SQLAlchemy URL.

    ``configured`` (the --db option), else IMMUNETWIN_DB, may be a URL (``sqlite:///...``,
    ``postgresql+psycopg2://...``) or a plain file path, which means a SQLite file there;
    otherwise the catalogue lives in the user's data folder, so imports survive reinstalls.
    """
    configured = (configured or os.environ.get("IMMUNETWIN_DB", "")).strip()
    if configured:
        if "://" in configured:
            return configured
        return f"sqlite:///{Path(configured).expanduser().resolve()}"
    return f"sqlite:///{Path(user_data_dir('immunetwin')) / 'catalog.sqlite'}"
