"""Data shipped with the package (models with provenance)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def bundled_model(name: str) -> Path:
    """Path of a bundled model file, e.g. ``bundled_model("immune_tiv_dosed.xml")``."""
    from immunetwin.errors import UnknownIdentifierError

    path = Path(str(files("immunetwin.data") / "models" / name))
    if not path.is_file():
        available = sorted(p.name for p in path.parent.iterdir() if p.suffix in (".xml", ".ant"))
        raise UnknownIdentifierError(
            f"no bundled model '{name}'; available: {', '.join(available)}"
        )
    return path
