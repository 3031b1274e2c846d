"""The catalogue as one object: open (seeding on first use), find, import, export, check.

Front ends (CLI, service) call these methods and nothing below them. Every write goes through
the store in one transaction, so a refused or interrupted import leaves the catalogue unchanged.
"""

from __future__ import annotations

import builtins
import dataclasses
import enum
import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from immunetwin.catalog.entry import Entry, Provenance, Reproduction, Simulatability
from immunetwin.errors import (
    ArchiveError,
    DuplicateEntryError,
    InvalidInputError,
)
from immunetwin.ir import Model

_SBML_SUFFIXES = (".xml", ".sbml")
_ANTIMONY_SUFFIXES = (".ant", ".antimony", ".txt")
_ARCHIVE_SUFFIXES = (".omex", ".zip", ".sedx")
_ID = re.compile(r"[^A-Za-z0-9_.-]+")


class ExportFormat(enum.StrEnum):
    SBML = "sbml"
    ANTIMONY = "antimony"
    OMEX = "omex"


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    """What an import did to one entry."""

    entry: Entry
    action: str  # "created" | "new-version" | "unchanged"
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.entry.id,
            "alias": self.entry.alias,
            "version": self.entry.version,
            "action": self.action,
            "source": self.source,
            "simulates": None
            if self.entry.simulatability is None
            else self.entry.simulatability.simulates,
            "curation_status": self.entry.curation_status.value,
        }


@dataclass(frozen=True, slots=True)
class CheckReport:
    """Simulatability and reproduction status of one entry, as just measured."""

    entry: Entry
    simulatability: Simulatability
    reproductions: tuple[Reproduction, ...]
    documented_failures: frozenset[str] = frozenset()  # claims known not to reproduce

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.entry.id,
            "alias": self.entry.alias,
            "version": self.entry.version,
            "simulates": self.simulatability.simulates,
            "reason": self.simulatability.reason,
            "agreement": self.simulatability.agreement.value,
            "max_rel_error": self.simulatability.max_rel_error,
            "unsupported": list(self.simulatability.unsupported),
            "reproductions": [
                {
                    "claim": r.claim,
                    "status": r.status.value,
                    "expected": r.expected,
                    "measured": r.measured,
                    "documented_failure": r.claim in self.documented_failures,
                }
                for r in self.reproductions
            ],
            "curation_status": dataclasses.replace(
                self.entry, simulatability=self.simulatability, reproductions=self.reproductions
            ).curation_status.value,
        }


@dataclass(frozen=True, slots=True)
class _Parsed:
    """A model read from disk, ready to become an entry (nothing written yet)."""

    model: Model
    text: str
    model_format: str
    source: Path
    default_end: float | None = None


class Catalog:
    """The model catalogue over one database (SQLite by default, any SQLAlchemy URL)."""

    def __init__(self, store: Any) -> None:
        self._store = store

    @classmethod
    def open(cls, url: str | None = None, *, seed: bool = True) -> Catalog:
        """Open (creating and migrating if needed) and seed with the shipped entries."""
        from immunetwin.catalog.store import CatalogStore

        store = CatalogStore.open(url)
        if seed:
            from immunetwin.catalog.seed import seed_checksum, seed_with_texts

            try:
                store.seed(seed_with_texts, checksum=seed_checksum())
            except BaseException:
                store.close()
                raise
        return cls(store)

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ---------------------------------------------------------------------------
    def list(self, category: str | None = None) -> list[Entry]:
        return list(self._store.list(category=category))

    def get(self, id_or_alias: str, version: int | None = None) -> Entry:
        entry: Entry = self._store.get(id_or_alias, version)
        return entry

    def versions(self, id_or_alias: str) -> builtins.list[Entry]:
        return list(self._store.versions(self.get(id_or_alias).id))

    def search(self, query: str, *, limit: int = 10, **filters: str | None) -> builtins.list[Any]:
        from immunetwin.catalog.search import search

        return search(self._store, query, limit=limit, **filters)

    def model_text(self, id_or_alias: str, version: int | None = None) -> tuple[str, str]:
        entry = self.get(id_or_alias, version)
        found: tuple[str, str] = self._store.model_text(entry.id, entry.version)
        return found

    def model(self, id_or_alias: str, version: int | None = None) -> Model:
        text, model_format = self.model_text(id_or_alias, version)
        return _parse_text(text, model_format, origin=id_or_alias)

    # --- import / export -------------------------------------------------------------------
    def import_path(
        self,
        path: str | os.PathLike[str],
        *,
        alias: str | None = None,
        id: str | None = None,
        check: bool = True,
    ) -> builtins.list[ImportOutcome]:
        """Import a model file, an OMEX archive or a folder of them, all or nothing.

        Everything is parsed and checked before the first write; the writes happen in one
        transaction. An id that exists gets a new version when the model changed (nothing
        is overwritten) and is left alone when it did not.
        """
        source = Path(path)
        if not source.exists():
            raise InvalidInputError(
                f"cannot import '{source}': no such file or folder; give an SBML (.xml), "
                "Antimony (.ant), OMEX (.omex) file or a folder of them"
            )
        parsed = _read_sources(source)
        if (alias is not None or id is not None) and len(parsed) != 1:
            raise InvalidInputError(
                f"--alias/--id name one entry, but '{source}' holds {len(parsed)} models; "
                "import the files one at a time to name them"
            )
        # names an alias must not take: every alias and id, growing as the batch assigns
        taken = set(self._store.aliases()) | set(self._store.entry_ids())
        taken |= {id or _model_id(item.model, item.source) for item in parsed}
        entries = [
            self._entry_for(item, alias=alias, id=id, check=check, taken=taken) for item in parsed
        ]
        _refuse_duplicates_within(entries, parsed)
        pairs = [(entry, item.text) for entry, item in zip(entries, parsed, strict=True)]
        added = self._store.add_many(pairs)
        return [
            ImportOutcome(entry=stored, action=action, source=str(item.source))
            for (stored, action), item in zip(added, parsed, strict=True)
        ]

    def export(self, id_or_alias: str, fmt: ExportFormat, out: str | os.PathLike[str]) -> Path:
        """Write one entry as SBML, Antimony or an OMEX archive with a SED-ML time course."""
        entry = self.get(id_or_alias)
        text, model_format = self._store.model_text(entry.id, entry.version)
        target = Path(out)
        if fmt is ExportFormat.OMEX:
            from immunetwin.catalog.archive import default_time_course
            from immunetwin.check.agreement import SOLVER_ATOL, SOLVER_RTOL
            from immunetwin.formats.omex import write_omex

            model = _parse_text(text, model_format, origin=entry.id)
            report = entry.simulatability
            end = report.horizon if report is not None and report.horizon else None
            # the SED-ML states the tolerances at which the simulatability check ran the model
            course = default_time_course(model, end=end, tolerances=(SOLVER_RTOL, SOLVER_ATOL))
            write_omex(
                target,
                text,
                model_format=model_format,
                time_courses=(course,),
                metadata=_archive_metadata(entry),
            )
        elif fmt.value == model_format:
            _write_atomically(target, text)  # lossless: the stored text as is
        else:
            from immunetwin.formats import to_antimony_string, to_sbml_string

            model = _parse_text(text, model_format, origin=entry.id)
            writer = to_sbml_string if fmt is ExportFormat.SBML else to_antimony_string
            _write_atomically(target, writer(model))
        return target

    # --- checks ----------------------------------------------------------------------------
    def check(
        self, ids: Sequence[str] | None = None, *, with_reference: bool = True
    ) -> builtins.list[CheckReport]:
        """Re-run simulatability and reproductions for ``ids`` (all when None); store them."""
        from immunetwin.catalog.reproduce import claims_for, run_claim
        from immunetwin.catalog.simulatability import check_model

        entries = self.list() if ids is None else [self.get(i) for i in ids]
        reports = []
        for entry in entries:
            horizon = entry.simulatability.horizon if entry.simulatability else None
            try:
                model: Model | str = self.model(entry.id)
            except Exception as exc:  # a stored model that no longer parses is a report, too
                model = f"{type(exc).__name__}: {exc}"
            report = (
                check_model(model, horizon=horizon, with_reference=with_reference)
                if isinstance(model, Model)
                else Simulatability(simulates=False, reason=model)
            )
            claims = claims_for(entry.id)
            reproductions = tuple(run_claim(claim) for claim in claims)
            self._store.set_checks(entry.id, entry.version, report, reproductions)
            documented = frozenset(c.id for c in claims if c.expect_failure)
            reports.append(CheckReport(entry, report, reproductions, documented))
        return reports

    # --- internals -------------------------------------------------------------------------
    def _entry_for(
        self, item: _Parsed, *, alias: str | None, id: str | None, check: bool, taken: set[str]
    ) -> Entry:
        from immunetwin.catalog.extract import default_alias, entry_from_model

        entry_id = id or _model_id(item.model, item.source)
        found = self._store.current(entry_id)
        existing = None if found is None else found[0]
        if existing is not None and found is not None and found[1] == "seed":
            raise DuplicateEntryError(
                f"'{entry_id}' is a curated entry shipped with immunetwin ({existing.alias}); "
                "curated entries are not replaced by imports. Import under another id "
                "with --id (e.g. --id my_" + entry_id + ")"
            )
        if alias is not None and existing is not None and alias != existing.alias:
            raise DuplicateEntryError(
                f"'{entry_id}' is already in the catalogue with alias '{existing.alias}'; an "
                f"alias stays with its entry across versions, so it cannot become '{alias}'. "
                "Import without --alias for a new version, or with --id for a separate entry"
            )
        if alias is not None and existing is None and alias in taken:
            raise DuplicateEntryError(
                f"alias '{alias}' is already taken by another entry; choose another --alias "
                "(see 'immunetwin models show " + alias + "')"
            )
        if alias is None:
            alias = (
                existing.alias
                if existing is not None
                else default_alias(_ID.sub("_", entry_id).lower(), None, taken - {entry_id})
            )
        taken.add(alias)
        sha256 = hashlib.sha256(item.text.encode("utf-8")).hexdigest()
        provenance = Provenance(
            source="user import",
            original_id=item.model.id or "",
            sha256=sha256,
            imported_from=str(item.source),
        )
        entry = entry_from_model(
            item.model,
            id=entry_id,
            alias=alias,
            model_format=item.model_format,
            provenance=provenance,
        )
        if check:
            from immunetwin.catalog.simulatability import check_model

            entry = dataclasses.replace(
                entry,
                simulatability=check_model(item.model, horizon=item.default_end),
            )
        return entry


def _write_atomically(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` (creating its folder) so that it is whole or absent."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, target)


def _refuse_duplicates_within(entries: Iterable[Entry], parsed: Sequence[_Parsed]) -> None:
    seen: dict[str, Path] = {}
    for entry, item in zip(entries, parsed, strict=True):
        if entry.id in seen:
            raise DuplicateEntryError(
                f"'{item.source}' and '{seen[entry.id]}' both define model id '{entry.id}'; "
                "import them one at a time with --id to keep both"
            )
        seen[entry.id] = item.source


def _model_id(model: Model, source: Path) -> str:
    """The model's curated BioModels id if it declares one (else its MODEL id), else its SBML
    id, else the file stem."""
    declared = [a.uri for a in model.annotations if a.qualifier in ("bqmodel:is", "bqbiol:is")]
    for pattern in (r"BIOMD\d{10}", r"MODEL\d{10}"):
        for uri in declared:
            match = re.search(pattern, uri)
            if match:
                return match.group(0)
    return _ID.sub("_", model.id or source.stem).strip("_") or "model"


def _parse_text(text: str, model_format: str, origin: str) -> Model:
    from immunetwin.formats import read_antimony, read_sbml_string

    if model_format == "antimony":
        return read_antimony(text)
    return read_sbml_string(text, origin=origin)


def _read_sources(source: Path) -> list[_Parsed]:
    if source.is_dir():
        files = sorted(
            p
            for p in source.iterdir()
            if p.is_file()
            # .txt only when named explicitly: in a folder it is as likely a README
            and p.suffix.lower() in (*_SBML_SUFFIXES, ".ant", ".antimony", *_ARCHIVE_SUFFIXES)
        )
        if not files:
            raise InvalidInputError(
                f"folder '{source}' holds no model files; expected .xml/.sbml (SBML), "
                ".ant (Antimony) or .omex (COMBINE archive) files"
            )
        return [item for path in files for item in _read_sources(path)]
    suffix = source.suffix.lower()
    if suffix in _ARCHIVE_SUFFIXES:
        from immunetwin.formats.omex import read_omex

        archive = read_omex(source)
        ends = [tc.end for tc in archive.time_courses]
        return [
            _Parsed(
                model=archive.model,
                text=archive.model_text,
                model_format=archive.model_format,
                source=source,
                default_end=ends[0] if ends else None,
            )
        ]
    if suffix in _SBML_SUFFIXES:
        text = _read_text(source)
        return [_Parsed(_parse_text(text, "sbml", str(source)), text, "sbml", source)]
    if suffix in _ANTIMONY_SUFFIXES:
        from immunetwin.formats import read_antimony

        text = _read_text(source)
        return [_Parsed(read_antimony(source), text, "antimony", source)]  # errors name it
    raise InvalidInputError(
        f"cannot import '{source}': unknown extension '{suffix}'; expected SBML (.xml, .sbml), "
        "Antimony (.ant) or a COMBINE archive (.omex)"
    )


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArchiveError(
            f"'{path}' is not UTF-8 text (byte {exc.start}); a model file must be SBML XML or "
            "Antimony text"
        ) from None


def _archive_metadata(entry: Entry) -> dict[str, str]:
    """The archive's description: what the entry is, where it comes from, under which id."""
    citation = entry.citation
    parts = [
        entry.title,
        entry.description,
        ", ".join(
            part
            for part in (
                citation.short(),
                citation.title,
                citation.journal,
                f"doi:{citation.doi}" if citation.doi else "",
                f"pubmed:{citation.pubmed}" if citation.pubmed else "",
            )
            if part
        ),
        f"immunetwin catalogue entry {entry.id} ({entry.alias}), version {entry.version}",
        f"licence {entry.provenance.licence}" if entry.provenance.licence else "",
    ]
    return {"description": ". ".join(part.rstrip(".") for part in parts if part) + "."}


def resolve_model(reference: str) -> Model:
    """A model from a file path or, failing that, a catalogue id or alias.

    Anything that looks like a file (an existing path, a path separator or a model-file
    extension) is read as a file, so a mistyped file name reports a missing file rather than
    an unknown catalogue id.
    """
    path = Path(reference)
    looks_like_file = (
        path.exists()
        or os.sep in reference
        or "/" in reference
        or path.suffix.lower() in _SBML_SUFFIXES + _ANTIMONY_SUFFIXES + _ARCHIVE_SUFFIXES
    )
    if looks_like_file:
        from immunetwin.formats import read_model

        return read_model(path)
    with Catalog.open() as catalog:
        return catalog.model(reference)
