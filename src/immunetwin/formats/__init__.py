"""File formats at the edge: SBML and Antimony in, SBML L3V2 and Antimony out."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from immunetwin.errors import InvalidInputError
from immunetwin.formats._antimony import read_antimony as read_antimony
from immunetwin.formats._antimony import to_antimony_string as to_antimony_string
from immunetwin.formats._antimony import write_antimony as write_antimony
from immunetwin.formats._sbml import read_sbml as read_sbml
from immunetwin.formats._sbml import read_sbml_string as read_sbml_string
from immunetwin.formats._sbml_write import to_sbml_string as to_sbml_string
from immunetwin.formats._sbml_write import write_sbml as write_sbml
from immunetwin.ir import Model

_SBML = (".xml", ".sbml")
_ANTIMONY = (".ant", ".txt", ".antimony")


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in _SBML:
        return "sbml"
    if suffix in _ANTIMONY:
        return "antimony"
    raise InvalidInputError(
        f"cannot tell the model format of '{path}' from its extension '{suffix}': expected "
        f"one of {', '.join(_SBML)} (SBML) or {', '.join(_ANTIMONY)} (Antimony); "
        "call read_sbml/read_antimony (or write_sbml/write_antimony) directly otherwise"
    )


def read_model(path: str | os.PathLike[str]) -> Model:
    """Read a model file, choosing SBML or Antimony by its extension."""
    source = Path(path)
    readers: dict[str, Callable[[Path], Model]] = {"sbml": read_sbml, "antimony": read_antimony}
    return readers[_format(source)](source)


def write_model(model: Model, path: str | os.PathLike[str]) -> None:
    """Write a model file, choosing SBML or Antimony by its extension."""
    target = Path(path)
    writers: dict[str, Callable[[Model, Path], None]] = {
        "sbml": write_sbml,
        "antimony": write_antimony,
    }
    writers[_format(target)](model, target)


__all__ = [
    "read_antimony",
    "read_model",
    "read_sbml",
    "read_sbml_string",
    "to_antimony_string",
    "to_sbml_string",
    "write_antimony",
    "write_model",
    "write_sbml",
]
