"""Settings read from the environment, once, here and nowhere else."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Where compiled model code is cached (IMMUNETWIN_CACHE, else ~/.cache/immunetwin)."""
    configured = os.environ.get("IMMUNETWIN_CACHE")
    base = Path(configured) if configured else Path.home() / ".cache" / "immunetwin"
    return base


def c_compiler() -> str:
    """The C compiler used to JIT-compile models (IMMUNETWIN_CC, else cc)."""
    return os.environ.get("IMMUNETWIN_CC", "cc")
