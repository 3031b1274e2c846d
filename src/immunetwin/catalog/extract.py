"""A catalogue entry from a model alone: everything the model itself says about itself.

Used both for the shipped seed (with curated extras from the BioModels index) and for user
imports of arbitrary SBML or Antimony, so it must work on a model with no annotation, no name
and no units: whatever is missing stays empty rather than guessed.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable

from immunetwin.catalog.annotations import parse_resource, terms_of
from immunetwin.catalog.entry import (
    Category,
    Citation,
    Entry,
    Facet,
    Formalism,
    OntologyTerm,
    Provenance,
    Quantity,
    Scale,
)
from immunetwin.ir import Model, Species, UnitDefinition

__all__ = ["default_alias", "entry_from_model", "readable_unit", "time_unit"]

_CITING = frozenset({"bqmodel:isDescribedBy", "bqbiol:isDescribedBy"})
# A second written with one of these factors has a name of its own.
_TIME_NAMES = {
    1.0: "second",
    60.0: "minute",
    3600.0: "hour",
    86400.0: "day",
    604800.0: "week",
    31536000.0: "year (365 days)",
    31557600.0: "year (365.25 days)",
}
_SI_PREFIXES = {
    -15: "femto",
    -12: "pico",
    -9: "nano",
    -6: "micro",
    -3: "milli",
    -2: "centi",
    -1: "deci",
    3: "kilo",
    6: "mega",
}


def entry_from_model(
    model: Model,
    *,
    id: str,
    alias: str,
    model_format: str,
    provenance: Provenance,
    category: Category | None = None,
    citation: Citation | None = None,
    title: str | None = None,
    description: str = "",
    scale: Scale = Scale.CELLULAR,
    extra_terms: Iterable[OntologyTerm] = (),
) -> Entry:
    """The entry of ``model``: title, citation ids, terms, quantities, time unit, diseases.

    ``citation`` supplies what a model does not hold (authors, year, journal); its pubmed and
    doi win over the model's own ``isDescribedBy`` annotations. ``extra_terms`` (e.g. a taxon
    from a curated index) are added after the model's own terms unless already present.
    """
    terms = list(terms_of(model))
    seen = {(t.accession, t.element) for t in terms}
    terms += [t for t in extra_terms if (t.accession, t.element) not in seen]
    cited = described_by(model)
    given = citation or Citation()
    full_citation = Citation(
        authors=given.authors,
        year=given.year,
        title=given.title,
        journal=given.journal,
        doi=given.doi or cited.get("doi", ""),
        pubmed=given.pubmed or cited.get("pubmed", ""),
    )
    diseases = tuple(  # curated labels only: an element's name is no disease name
        dict.fromkeys(
            t.label for t in terms if t.facet is Facet.DISEASE and t.label_source == "curated"
        )
    )
    return Entry(
        id=id,
        alias=alias,
        title=title or model.name or model.id,
        citation=full_citation,
        category=category or Category.OTHER,
        diseases=diseases,
        formalism=formalism_of(model),
        scale=scale,
        time_unit=time_unit(model),
        description=description,
        terms=tuple(terms),
        quantities=quantities_of(model, terms),
        provenance=provenance,
        model_format=model_format,
    )


def described_by(model: Model) -> dict[str, str]:
    """First pubmed id and doi the model cites as its own description (``isDescribedBy``)."""
    found: dict[str, str] = {}
    for annotation in model.annotations:
        if annotation.qualifier not in _CITING:
            continue
        parsed = parse_resource(annotation.uri)
        if parsed is not None and parsed[0] in ("pubmed", "doi"):
            found.setdefault(parsed[0], parsed[1].partition(":")[2])
    return found


def formalism_of(model: Model) -> Formalism:
    """ODE for SBML core and Antimony; the reader has no sbml-qual, so nothing else is seen."""
    del model  # the IR holds no qualitative species; kept as a hook for when it does
    return Formalism.ODE


def time_unit(model: Model) -> str:
    """The model's time unit, readable ("hour"), or "" when the model declares none."""
    unit = model.time_units or ("time" if _definition(model, "time") is not None else "")
    return readable_unit(model, unit) if unit else ""


def readable_unit(model: Model, unit: str) -> str:
    """A unit id of the model as words: ``nM_per_h`` → ``nanomole / (litre * hour)``."""
    if not unit:
        return ""
    definition = _definition(model, unit)
    if definition is None:
        return unit  # a base unit kind ("second", "mole", "dimensionless") reads as itself
    return _render(definition)


def _definition(model: Model, unit: str) -> UnitDefinition | None:
    return next((u for u in model.unit_definitions if u.id == unit), None)


def _render(definition: UnitDefinition) -> str:
    numerator: list[str] = []
    denominator: list[str] = []
    for part in definition.units:
        if part.kind == "dimensionless":
            continue
        factor = part.multiplier * 10.0**part.scale
        if part.kind == "second" and _TIME_NAMES.get(round(factor, 6)):
            word = _TIME_NAMES[round(factor, 6)]
        elif part.multiplier == 1.0 and part.scale in _SI_PREFIXES:
            word = _SI_PREFIXES[part.scale] + part.kind
        elif factor != 1.0:
            word = f"({factor:g} {part.kind})"
        else:
            word = part.kind
        power = abs(part.exponent)
        if power != 1.0:
            word += f"^{power:g}"
        (numerator if part.exponent > 0 else denominator).append(word)
    if not numerator and not denominator:
        return "dimensionless"
    top = " * ".join(numerator) or "1"
    if not denominator:
        return top
    bottom = denominator[0] if len(denominator) == 1 else "(" + " * ".join(denominator) + ")"
    return f"{top} / {bottom}"


def quantities_of(model: Model, terms: Iterable[OntologyTerm] = ()) -> tuple[Quantity, ...]:
    """Every compartment, species and global parameter with its readable unit and value."""
    by_element: dict[str, list[str]] = {}
    for term in terms:
        if term.element:
            by_element.setdefault(term.element, []).append(term.accession)
    out: list[Quantity] = []
    for c in model.compartments:
        unit = c.units or model.volume_units or _predefined(model, "volume")
        out.append(_quantity(c.id, "compartment", c.name, readable_unit(model, unit), c.size))
    for s in model.species:
        value = s.initial_amount if s.initial_amount is not None else s.initial_concentration
        out.append(_quantity(s.id, "species", s.name, _species_unit(model, s), value))
    for p in model.parameters:
        out.append(_quantity(p.id, "parameter", p.name, readable_unit(model, p.units), p.value))
    return tuple(
        Quantity(
            id=q.id,
            kind=q.kind,
            name=q.name,
            unit=q.unit,
            value=q.value,
            terms=tuple(dict.fromkeys(by_element.get(q.id, ()))),
        )
        for q in out
    )


def _quantity(id: str, kind: str, name: str, unit: str, value: float | None) -> Quantity:
    finite = value is not None and math.isfinite(value)
    return Quantity(id=id, kind=kind, name=name, unit=unit, value=value if finite else None)


def _predefined(model: Model, name: str) -> str:
    """An SBML Level 2 built-in unit name, if the model redefines it ("substance", "volume")."""
    return name if _definition(model, name) is not None else ""


def _species_unit(model: Model, species: Species) -> str:
    """Amount unit, or amount / volume for a concentration; "" when the model declares none."""
    substance = species.units or model.substance_units or _predefined(model, "substance")
    if not substance:
        return ""
    amount = readable_unit(model, substance)
    compartment = next((c for c in model.compartments if c.id == species.compartment), None)
    if species.has_only_substance_units or (
        compartment is not None and compartment.spatial_dimensions == 0
    ):
        return amount
    volume = (compartment.units if compartment else "") or model.volume_units
    volume = volume or _predefined(model, "volume")
    return f"{amount} / {readable_unit(model, volume) if volume else 'volume'}"


def default_alias(first_author: str, year: int | None, taken: set[str]) -> str:
    """``reynolds2006``: lowercase ASCII surname plus year; ``a``, ``b``, ... on a collision.

    Accents are folded (``Hernández`` → ``hernandez``); spaces and punctuation other than
    ``-`` and ``_`` are dropped, so the alias is safe on a command line.
    """
    folded = unicodedata.normalize("NFKD", first_author).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^a-z0-9_-]+", "", folded.lower()).strip("-_") or "model"
    base = f"{stem}{year}" if year is not None else stem
    if base not in taken:
        return base
    for suffix in _suffixes():
        candidate = base + suffix
        if candidate not in taken:
            return candidate
    raise AssertionError("unreachable: the suffix sequence is infinite")


def _suffixes() -> Iterable[str]:
    """a, b, ..., z, aa, ab, ... (never exhausted)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    width = 1
    while True:
        for index in range(len(letters) ** width):
            word = ""
            for _ in range(width):
                index, rest = divmod(index, len(letters))
                word = letters[rest] + word
            yield word
        width += 1
