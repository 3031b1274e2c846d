"""The catalogue entry: a versioned, immutable metadata record for one model.

Every entry serialises to a JSON-compatible dict (``Entry.to_dict``) whose layout is the stable,
documented contract of ``immunetwin models show --json``; ``SCHEMA_VERSION`` changes when that
layout does, and ``Entry.from_dict`` reads every version it knows.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1


class Category(enum.StrEnum):
    """Disease area of an entry (the catalogue's first facet)."""

    AUTOIMMUNE = "autoimmune"
    IMMUNE_CELL_REGULATION = "immune-cell-regulation"
    INFECTION_BACTERIAL = "infection-bacterial"
    INFECTION_VIRAL = "infection-viral"
    INFLAMMATION_SEPSIS = "inflammation-sepsis"
    TUMOUR_IMMUNE = "tumour-immune"
    VACCINE = "vaccine"
    OTHER = "other"


class Formalism(enum.StrEnum):
    ODE = "ode"
    BOOLEAN = "boolean"
    STOCHASTIC = "stochastic"
    HYBRID = "hybrid"


class Scale(enum.StrEnum):
    INTRACELLULAR = "intracellular"
    CELLULAR = "cellular"
    TISSUE = "tissue"
    ORGANISM = "organism"


class Facet(enum.StrEnum):
    """What an ontology term tells a searcher about the model."""

    CELL_TYPE = "cell_type"  # Cell Ontology (CL), BRENDA tissue (BTO) cell lines
    MOLECULE = "molecule"  # ChEBI, UniProt, InterPro, KEGG compound, Ensembl genes
    PATHOGEN = "pathogen"  # NCBI Taxonomy: a virus, bacterium or parasite
    ORGANISM = "organism"  # NCBI Taxonomy: the host (human, mouse, ...)
    PROCESS = "process"  # GO biological process, KEGG / Reactome pathway
    DISEASE = "disease"  # Disease Ontology, MeSH, OMIM, EFO, NCIT disease terms
    OTHER = "other"


class CurationStatus(enum.StrEnum):
    """How far the catalogue vouches for an entry (a search facet)."""

    REPRODUCED = "reproduced"  # at least one published number recomputed by a passing test
    AGREES = "agrees"  # simulates and agrees with libroadrunner
    SIMULATES = "simulates"  # runs in our engine; agreement not shown
    UNSUPPORTED = "unsupported"  # uses a construct the engine does not support
    FAILS = "fails"  # the engine fails on it (see the simulatability reason)
    UNCHECKED = "unchecked"  # imported, not yet checked


class Agreement(enum.StrEnum):
    AGREE = "agree"
    TOLERANCE_LIMITED = "tolerance-limited"  # differs at rtol 1e-6, same answer at tight tolerance
    DISAGREE = "disagree"
    NOT_CHECKED = "not-checked"  # libroadrunner not installed, or the model did not run
    REFERENCE_FAILED = "reference-failed"  # libroadrunner could not run it


class ReproductionStatus(enum.StrEnum):
    REPRODUCED = "reproduced"
    FAILED = "failed"
    NOT_RUN = "not-run"


@dataclass(frozen=True, slots=True)
class OntologyTerm:
    """One ontology term attached to the model or one of its elements."""

    accession: str  # compact id: "CL:0000625", "CHEBI:16412", "taxonomy:9606", "uniprot:P05231"
    label: str = ""  # readable label; "" when unknown offline
    facet: Facet = Facet.OTHER
    uri: str = ""  # the MIRIAM resource URI as written in the model
    qualifier: str = ""  # e.g. "bqbiol:is"
    element: str = ""  # id of the annotated element; "" for the model itself
    label_source: str = ""  # "curated" (shipped label table) or "element-name" (SBML name)


@dataclass(frozen=True, slots=True)
class Citation:
    authors: tuple[str, ...] = ()  # "Reynolds A", "Rubin J", ...; may end with "et al."
    year: int | None = None
    title: str = ""
    journal: str = ""  # with volume and pages where known
    doi: str = ""
    pubmed: str = ""

    def short(self) -> str:
        """``Reynolds et al. 2006``."""
        if not self.authors:
            return str(self.year or "")
        more = " et al." if len(self.authors) > 1 else ""
        return f"{surname(self.authors[0])}{more} {self.year or ''}".strip()

    def authors_text(self) -> str:
        """``Reynolds A, Rubin J et al.``"""
        named = [a for a in self.authors if a != "et al."]
        return ", ".join(named) + (" et al." if len(named) < len(self.authors) else "")


def surname(author: str) -> str:
    """``den Breems NY`` -> ``den Breems``: the name without trailing initials."""
    words = author.split()
    while len(words) > 1 and words[-1].replace(".", "").isupper() and len(words[-1]) <= 4:
        words.pop()
    return " ".join(words)


@dataclass(frozen=True, slots=True)
class Quantity:
    """A species, parameter or compartment with its unit (as the model declares it)."""

    id: str
    kind: str  # "species" | "parameter" | "compartment"
    name: str = ""
    unit: str = ""  # readable unit string, "" when the model declares none
    value: float | None = None  # initial value / size where declared
    terms: tuple[str, ...] = ()  # accessions of its ontology terms


@dataclass(frozen=True, slots=True)
class Simulatability:
    """Whether and how well the engine runs the model."""

    simulates: bool
    reason: str = ""  # why not, or "" when it simulates
    features: tuple[str, ...] = ()  # SBML constructs used, e.g. "events", "rate-rules"
    unsupported: tuple[str, ...] = ()  # constructs that stop the engine
    horizon: float | None = None  # the natural horizon it was run to (model time units)
    agreement: Agreement = Agreement.NOT_CHECKED
    max_rel_error: float | None = None  # against libroadrunner, at rtol 1e-6
    detail: str = ""
    checked_with: str = ""  # "immunetwin 0.1.0; libroadrunner 2.10.0"


@dataclass(frozen=True, slots=True)
class CurationNote:
    kind: str  # "discrepancy" | "correction" | "note"
    text: str
    source: str = ""  # where the finding comes from (paper table, reference-results.md, ...)


@dataclass(frozen=True, slots=True)
class Reproduction:
    """One published number and whether our engine reproduces it."""

    claim: str  # id of the claim in the reproduction table, e.g. "reynolds2006.septic-death"
    description: str
    expected: str  # the published value(s), readable
    status: ReproductionStatus = ReproductionStatus.NOT_RUN
    measured: str = ""
    test: str = ""  # the test that recomputes it, e.g. "tests/catalog/test_reproduce.py"


@dataclass(frozen=True, slots=True)
class Provenance:
    source: str  # e.g. "BioModels (EBI), via Biosimulant/models-immunology"
    original_id: str = ""  # e.g. "BIOMD0000000714"
    url: str = ""
    licence: str = ""  # e.g. "CC0-1.0"
    sha256: str = ""  # of the shipped model file
    file: str = ""  # the shipped file, relative to the catalogue data folder
    derived_from: str = ""  # entry id this one corrects or derives from
    imported_from: str = ""  # the path a user import came from


@dataclass(frozen=True, slots=True)
class Entry:
    """One catalogue entry (one version of one model)."""

    id: str  # BioModels id where there is one, else a stable id such as "baccam2006"
    alias: str  # short readable name, e.g. "reynolds2006"
    title: str
    citation: Citation = field(default_factory=Citation)
    category: Category = Category.OTHER
    diseases: tuple[str, ...] = ()  # readable disease names (terms live in ``terms``)
    formalism: Formalism = Formalism.ODE
    scale: Scale = Scale.CELLULAR
    time_unit: str = ""
    description: str = ""  # one or two sentences on what the model is about
    terms: tuple[OntologyTerm, ...] = ()
    quantities: tuple[Quantity, ...] = ()
    simulatability: Simulatability | None = None
    curation_notes: tuple[CurationNote, ...] = ()
    reproductions: tuple[Reproduction, ...] = ()
    provenance: Provenance = field(default_factory=lambda: Provenance(source=""))
    model_format: str = "sbml"  # "sbml" | "antimony"
    version: int = 1
    schema_version: int = SCHEMA_VERSION

    def terms_for(self, facet: Facet) -> tuple[OntologyTerm, ...]:
        return tuple(term for term in self.terms if term.facet is facet)

    @property
    def curation_status(self) -> CurationStatus:
        if any(r.status is ReproductionStatus.REPRODUCED for r in self.reproductions):
            return CurationStatus.REPRODUCED
        report = self.simulatability
        if report is None:
            return CurationStatus.UNCHECKED
        if not report.simulates:
            return CurationStatus.UNSUPPORTED if report.unsupported else CurationStatus.FAILS
        if report.agreement in (Agreement.AGREE, Agreement.TOLERANCE_LIMITED):
            return CurationStatus.AGREES
        return CurationStatus.SIMULATES

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict (enums as their values, tuples as lists)."""
        data = _plain(dataclasses.asdict(self))
        data["curation_status"] = self.curation_status.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        version = data.get("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            from immunetwin.errors import InvalidInputError

            raise InvalidInputError(
                f"catalogue entry schema version {version} is not readable by this immunetwin "
                f"(expected {SCHEMA_VERSION}); upgrade immunetwin"
            )
        report = data.get("simulatability")
        return cls(
            id=data["id"],
            alias=data["alias"],
            title=data["title"],
            citation=_build(Citation, data.get("citation", {})),
            category=Category(data.get("category", Category.OTHER)),
            diseases=tuple(data.get("diseases", ())),
            formalism=Formalism(data.get("formalism", Formalism.ODE)),
            scale=Scale(data.get("scale", Scale.CELLULAR)),
            time_unit=data.get("time_unit", ""),
            description=data.get("description", ""),
            terms=tuple(
                _build(OntologyTerm, {**t, "facet": Facet(t.get("facet", Facet.OTHER))})
                for t in data.get("terms", ())
            ),
            quantities=tuple(_build(Quantity, q) for q in data.get("quantities", ())),
            simulatability=None
            if report is None
            else _build(
                Simulatability,
                {**report, "agreement": Agreement(report.get("agreement", "not-checked"))},
            ),
            curation_notes=tuple(_build(CurationNote, n) for n in data.get("curation_notes", ())),
            reproductions=tuple(
                _build(Reproduction, {**r, "status": ReproductionStatus(r.get("status", NOT_RUN))})
                for r in data.get("reproductions", ())
            ),
            provenance=_build(Provenance, data.get("provenance", {"source": ""})),
            model_format=data.get("model_format", "sbml"),
            version=int(data.get("version", 1)),
        )


NOT_RUN = ReproductionStatus.NOT_RUN.value


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _build(kind: type[Any], data: dict[str, Any]) -> Any:
    """Construct ``kind`` from a dict, turning lists back into tuples."""
    names = {f.name for f in dataclasses.fields(kind)}
    values = {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in data.items()
        if key in names
    }
    return kind(**values)
