"""Read and write Antimony text, through SBML, with the ``antimony`` library.

libAntimony keeps its loaded modules in process-global state, so every call sequence runs
under one module-level lock.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import antimony

from immunetwin.errors import ModelReadError
from immunetwin.formats._sbml import read_sbml_string
from immunetwin.formats._sbml_write import to_sbml_string
from immunetwin.ir import Model

_LOCK = threading.Lock()
_SUFFIXES = (".ant", ".antimony", ".txt")


def read_antimony(source: str | os.PathLike[str]) -> Model:
    """Read an Antimony model from a file path or from Antimony text.

    A ``PathLike``, or a one-line string naming an existing file or ending in ``.ant``,
    ``.antimony`` or ``.txt``, is read as a file; any other string is Antimony text.
    Raises ``ModelReadError`` with Antimony's message when the text cannot be parsed.
    """
    path = _as_path(source)
    origin = str(path) if path is not None else "<antimony text>"
    if path is not None and not path.is_file():
        raise ModelReadError(f"no Antimony file at '{path}': expected an existing .ant file")
    with _LOCK:
        antimony.clearPreviousLoads()
        if path is not None:
            handle = antimony.loadAntimonyFile(str(path))
        else:
            handle = antimony.loadAntimonyString(str(source))
        if handle < 0:
            message = (antimony.getLastError() or "unknown error").strip()
            raise ModelReadError(f"{origin} is not valid Antimony: {message}")
        name = antimony.getMainModuleName()
        sbml = antimony.getSBMLString(name) if name else ""
    if not sbml:
        raise ModelReadError(f"{origin} defines no Antimony model")
    return read_sbml_string(sbml, origin=origin)


def to_antimony_string(model: Model) -> str:
    """The Antimony text for ``model`` (converted from its SBML L3V2 form)."""
    sbml = to_sbml_string(model)
    with _LOCK:
        antimony.clearPreviousLoads()
        # keep function definitions as Antimony functions (by default they are inlined)
        antimony.setRemoveFunctionDefinitions(False)
        try:
            handle = antimony.loadSBMLString(sbml)
        finally:
            antimony.setRemoveFunctionDefinitions(True)  # the library's default
        if handle < 0:
            message = (antimony.getLastError() or "unknown error").strip()
            raise ModelReadError(f"Antimony could not convert model '{model.id}': {message}")
        text = antimony.getAntimonyString(antimony.getMainModuleName())
    if not text:
        raise ModelReadError(f"Antimony produced no text for model '{model.id}'")
    return str(text)


def write_antimony(model: Model, path: str | os.PathLike[str]) -> None:
    """Write ``model`` to ``path`` as Antimony text (UTF-8)."""
    Path(path).write_text(to_antimony_string(model), encoding="utf-8")


def _as_path(source: str | os.PathLike[str]) -> Path | None:
    if isinstance(source, os.PathLike):
        return Path(source)
    if "\n" in source or ";" in source:
        return None
    candidate = Path(source.strip())
    if candidate.suffix.lower() in _SUFFIXES or candidate.is_file():
        return candidate
    return None
