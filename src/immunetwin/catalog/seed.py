"""The shipped catalogue entries, read from the package data (no network, no ``shared/``).

``data/seed.json`` holds the BioModels entries (``scripts/build_catalog_seed.py``). Three
optional files written by other build scripts are merged in when present:
``classics.json`` (entries immunetwin encodes by hand; one with a seed id replaces it),
``composed.json`` (disease models composed from the module library,
``scripts/build_composed.py``),
``simulatability.json`` (entry id → simulatability report) and ``curation.json`` (entry id →
curation notes). Reproduction records come from the claims in ``reproductions.toml`` with the
status their last run recorded in ``reproduction_status.json``
(``scripts/build_reproduction_status.py``; ``immunetwin models check`` re-runs them live).
Parsing is cached, so the catalogue opens fast after the first call.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import replace
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

from immunetwin.catalog.entry import Entry, Reproduction, ReproductionStatus
from immunetwin.errors import UnknownIdentifierError

__all__ = ["model_file", "seed_checksum", "seed_entries", "seed_with_texts"]

# every data file whose content reaches the seeded entries (model files are covered by the
# sha256 each entry records)
_SEED_FILES = (
    "seed.json",
    "classics.json",
    "composed.json",
    "simulatability.json",
    "curation.json",
    "reproductions.toml",
    "reproduction_status.json",
)


def _data() -> Traversable:
    return resources.files("immunetwin.catalog").joinpath("data")


def _read_json(name: str) -> Any:
    item = _data().joinpath(name)
    return json.loads(item.read_text(encoding="utf-8")) if item.is_file() else None


@functools.cache
def seed_entries() -> tuple[Entry, ...]:
    """Every shipped entry: BioModels seed plus classics, with reports and notes attached."""
    documents: dict[str, dict[str, Any]] = {}
    shipped = [_read_json(name) or [] for name in ("seed.json", "classics.json", "composed.json")]
    for document in (d for documents_in in shipped for d in documents_in):
        documents[document["id"]] = document
    reports: dict[str, Any] = _read_json("simulatability.json") or {}
    notes: dict[str, list[dict[str, Any]]] = _read_json("curation.json") or {}
    recorded: dict[str, dict[str, str]] = _read_json("reproduction_status.json") or {}
    entries = []
    for entry_id, document in documents.items():
        merged = dict(document)
        if entry_id in reports:
            merged["simulatability"] = reports[entry_id]
        if entry_id in notes:
            present = list(merged.get("curation_notes", []))
            merged["curation_notes"] = present + [n for n in notes[entry_id] if n not in present]
        merged["reproductions"] = []  # from the claims table, below
        entry = Entry.from_dict(merged)
        entries.append(replace(entry, reproductions=_reproductions(entry.id, recorded)))
    return tuple(entries)


def _reproductions(entry_id: str, recorded: dict[str, dict[str, str]]) -> tuple[Reproduction, ...]:
    """The entry's claims with the status their last run recorded."""
    from immunetwin.catalog.reproduce import claims_for

    out = []
    for claim in claims_for(entry_id):
        last = recorded.get(claim.id, {})
        out.append(
            Reproduction(
                claim=claim.id,
                description=claim.description,
                expected=claim.expected,
                status=ReproductionStatus(last.get("status", ReproductionStatus.NOT_RUN.value)),
                measured=last.get("measured", ""),
                test=claim.test,
            )
        )
    return tuple(out)


@functools.cache
def seed_checksum() -> str:
    """Identifies the shipped seed, so that opening a seeded catalogue skips re-seeding."""
    digest = hashlib.sha256()
    for name in _SEED_FILES:
        item = _data().joinpath(name)
        digest.update(name.encode())
        digest.update(item.read_bytes() if item.is_file() else b"-")
    return digest.hexdigest()


def model_file(entry: Entry | str) -> Path:
    """Path of the shipped model file of an entry (or of an entry id or alias)."""
    if isinstance(entry, str):
        entry = _find(entry)
    relative = entry.provenance.file
    path = Path(str(_data().joinpath(relative))) if relative else None
    if path is None or not path.is_file():
        raise UnknownIdentifierError(
            f"entry '{entry.id}' has no shipped model file (expected "
            f"'{relative or 'provenance.file'}' in the catalogue data folder); only shipped "
            "entries have one: read imported models through Catalog.model()"
        )
    return path


def seed_with_texts() -> list[tuple[Entry, str]]:
    """(entry, model text) pairs for ``CatalogStore.seed``."""
    return [(entry, model_file(entry).read_text(encoding="utf-8")) for entry in seed_entries()]


def _find(id_or_alias: str) -> Entry:
    for entry in seed_entries():
        if id_or_alias in (entry.id, entry.alias):
            return entry
    raise UnknownIdentifierError(
        f"no shipped catalogue entry has id or alias '{id_or_alias}'; list them with "
        "'immunetwin models list'"
    )
