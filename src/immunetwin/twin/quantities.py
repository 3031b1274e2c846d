"""The catalogue of clinical quantities a twin can observe, and unit conversion into it.

A :class:`Quantity` names one measured quantity (``"il6"``), the LOINC codes that report it,
its canonical unit (every value is stored in it) and whether it must be non-negative. The
default :data:`CATALOGUE` holds the quantities of viral pneumonia twins; each LOINC code was
checked against a public source (``docs/patient-data.md``, "Quantities, LOINC codes and
units").

Units are read with pint. UCUM codes (FHIR ``Quantity.code``) are translated first:
``10*9/L`` and ``10^9/L`` become ``1e9/L``, annotations such as ``{copies}`` count as 1, and
``copies``/``cells`` are dimensionless counts. A unit of another dimension (``kg`` for IL-6) is
an error naming both units.

An :class:`ObservableMap` is what a model declares: which model variable is which catalogue
quantity, and in which unit the model holds it (:func:`viral_pneumonia_observables`).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from immunetwin.errors import InvalidInputError, PatientDataError

UCUM_SYSTEM = "http://unitsofmeasure.org"
LOINC_SYSTEM = "http://loinc.org"

_ANNOTATION = re.compile(r"\{[^{}]*\}")
_POWER_OF_TEN = re.compile(r"(?<![\d.])10[*^]([+-]?\d+)")


@dataclass(frozen=True, slots=True)
class Quantity:
    """One clinical quantity.

    ``codes`` are LOINC codes whose values are read as they are (the first is written to
    FHIR); ``log10_codes`` report the base-10 logarithm of the value in the unit given (a
    viral load of 6.2 log10 copies/mL is 10**6.2 copies/mL). ``unit`` is the canonical pint
    unit every value is stored in, ``ucum`` the same unit as a UCUM code (written to FHIR).
    """

    key: str
    display: str
    codes: tuple[str, ...]
    unit: str
    ucum: str
    non_negative: bool = True
    log10_codes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.key):
            raise InvalidInputError(
                f"a quantity key must be lower-case letters, digits and '_'; got {self.key!r}"
            )
        if not self.codes:
            raise InvalidInputError(f"quantity '{self.key}' needs at least one LOINC code")
        # units are checked when first used (and in tests), so importing loads no pint

    @property
    def code(self) -> str:
        """The LOINC code written for this quantity."""
        return self.codes[0]

    def factor(self, unit: str) -> float:
        """``canonical = factor * value`` for a value given in ``unit`` (pint or UCUM).

        Raises :class:`PatientDataError` (without a location) when ``unit`` cannot be read or
        has another dimension than the canonical unit.
        """
        return unit_factor(unit, self.unit, what=f"{self.display} ({self.key})")


@dataclass(frozen=True, slots=True)
class QuantityCatalogue:
    """Quantities by key and by LOINC code; keys and codes are unique."""

    quantities: tuple[Quantity, ...]

    def __post_init__(self) -> None:
        seen: dict[str, str] = {}
        for quantity in self.quantities:
            for name in (quantity.key, *quantity.codes, *quantity.log10_codes):
                if name in seen:
                    raise InvalidInputError(
                        f"'{name}' names both quantity '{seen[name]}' and '{quantity.key}'; "
                        "keys and LOINC codes must be unique in a catalogue"
                    )
                seen[name] = quantity.key

    def __iter__(self) -> Iterator[Quantity]:
        return iter(self.quantities)

    def __contains__(self, key: object) -> bool:
        return any(q.key == key for q in self.quantities)

    def __getitem__(self, key: str) -> Quantity:
        for quantity in self.quantities:
            if quantity.key == key:
                return quantity
        raise PatientDataError(
            f"unknown quantity '{key}'; the catalogue has {', '.join(self.keys)}"
        )

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(q.key for q in self.quantities)

    def find(self, name: str) -> tuple[Quantity, bool] | None:
        """The quantity that ``name`` (a key or a LOINC code) names, and whether the code
        reports log10 values; ``None`` when the catalogue does not know it."""
        for quantity in self.quantities:
            if name == quantity.key or name in quantity.codes:
                return quantity, False
            if name in quantity.log10_codes:
                return quantity, True
        return None

    def unknown_code_message(self, name: str) -> str:
        """The message for a key or code this catalogue does not know."""
        known = "; ".join(f"{q.key} ({', '.join(q.codes + q.log10_codes)})" for q in self)
        return (
            f"unknown code '{name}': expected a quantity key or a LOINC code of the catalogue "
            f"({known}); add the quantity to the catalogue or remove the row"
        )


def ucum_to_pint(unit: str) -> str:
    """A UCUM unit code as a pint expression (``10*9/L`` -> ``1e9/L``, ``{copies}/mL`` ->
    ``1/mL``); pint expressions pass through unchanged."""
    text = unit.strip().replace("µ", "u").replace("μ", "u")
    text = _ANNOTATION.sub("", text)
    text = _POWER_OF_TEN.sub(r"1e\1", text)
    if text.startswith("/"):
        text = "1" + text
    return text or "1"


def unit_factor(unit: str, target: str, *, what: str = "the value") -> float:
    """``target_value = factor * value`` for a value in ``unit`` (pint or UCUM).

    Raises :class:`PatientDataError` naming both units when ``unit`` cannot be read or has
    another dimension than ``target``.
    """
    if not unit or not unit.strip():
        raise PatientDataError(
            f"{what} has no unit; expected a unit like '{target}', found an empty unit"
        )
    try:
        source = _parse(ucum_to_pint(unit))
    except PatientDataError:
        raise PatientDataError(
            f"cannot read the unit '{unit}' of {what}; expected a pint or UCUM unit like '{target}'"
        ) from None
    goal = _parse(target)
    if source.dimensionality != goal.dimensionality:
        raise PatientDataError(
            f"impossible unit '{unit}' for {what}: it is {_dimension(source)}, expected a unit "
            f"convertible to '{target}' ({_dimension(goal)})"
        )
    # exact rational arithmetic, rounded once: 60 min is exactly 1/24 day
    factor = float(Fraction(source.to(goal.units).magnitude) / Fraction(goal.magnitude))
    if not (math.isfinite(factor) and factor > 0):
        raise PatientDataError(f"the unit '{unit}' of {what} gives the factor {factor}")
    return factor


@functools.cache
def _registry() -> Any:
    import pint

    registry: Any = pint.UnitRegistry(non_int_type=Fraction)  # exact conversion factors
    registry.define("copies = 1 = copy")  # RNA copies and cells are counts (dimensionless)
    registry.define("cells = 1 = cell")
    return registry


def _parse(text: str) -> Any:
    """A pint quantity for ``text`` (a plain number becomes dimensionless)."""
    registry = _registry()
    try:
        value = registry.parse_expression(text)
    except Exception as exc:  # pint raises several unrelated types for bad expressions
        raise PatientDataError(f"cannot read the unit '{text}' ({exc})") from None
    if isinstance(value, int | float | Fraction):
        return registry.Quantity(Fraction(value), "dimensionless")
    return value


def _dimension(quantity: Any) -> str:
    """A pint dimensionality as text (``[mass] / [length]^3``; pint's own formatting fails
    on the Fraction exponents of an exact registry)."""
    powers = {name: Fraction(power) for name, power in dict(quantity.dimensionality).items()}

    def side(sign: int) -> str:
        terms = [(n, abs(p)) for n, p in powers.items() if p * sign > 0]
        return " * ".join(n if p == 1 else f"{n}^{p}" for n, p in terms)

    top, bottom = side(1) or "1", side(-1)
    if not powers:
        return "dimensionless"
    return f"{top} / {bottom}" if bottom else top


# The default catalogue. Codes and their sources are listed in docs/patient-data.md.
CATALOGUE = QuantityCatalogue(
    (
        Quantity(
            "sars_cov_2_rna",
            "SARS-CoV-2 RNA (N gene) in respiratory specimen",
            ("95521-1",),  # N gene [#/volume] (viral load) in Respiratory specimen by NAA
            "copies/mL",
            "{copies}/mL",
            log10_codes=("95522-9",),  # the same as [Log #/volume]
        ),
        Quantity("il6", "Interleukin 6 in serum or plasma", ("26881-3",), "pg/mL", "pg/mL"),
        Quantity(
            "crp",
            "C reactive protein in serum or plasma",
            ("1988-5", "30522-7"),  # standard and high-sensitivity methods
            "mg/L",
            "mg/L",
        ),
        Quantity("lymphocytes", "Lymphocytes in blood", ("731-0",), "1e9/L", "10*9/L"),
        Quantity("neutrophils", "Neutrophils in blood", ("751-8",), "1e9/L", "10*9/L"),
        Quantity(
            "ferritin",
            "Ferritin in serum or plasma",
            ("2276-4", "20567-4"),  # any method, and by immunoassay
            "ug/L",
            "ug/L",
        ),
        Quantity(
            "tnf", "Tumor necrosis factor alpha in serum or plasma", ("3074-2",), "pg/mL", "pg/mL"
        ),
        Quantity("il10", "Interleukin 10 in serum or plasma", ("26848-2",), "pg/mL", "pg/mL"),
    )
)


@dataclass(frozen=True, slots=True)
class ObservableMapping:
    """Model variable ``observable`` is catalogue quantity ``quantity``, held in ``unit``."""

    observable: str
    quantity: str
    unit: str


@dataclass(frozen=True, slots=True)
class ObservableMap:
    """How a model's observables map to catalogue quantities (LOINC codes) and units.

    Every problem (unknown quantity, a variable or quantity mapped twice, a unit of the wrong
    dimension) is reported at construction.
    """

    model: str
    mappings: tuple[ObservableMapping, ...]
    catalogue: QuantityCatalogue = CATALOGUE

    def __post_init__(self) -> None:
        problems: list[str] = []
        for attr in ("observable", "quantity"):
            names = [getattr(m, attr) for m in self.mappings]
            problems += [
                f"{attr} '{n}' is mapped twice" for n in sorted(set(names)) if names.count(n) > 1
            ]
        for m in self.mappings:
            if m.quantity not in self.catalogue:
                problems.append(
                    f"'{m.observable}' maps to unknown quantity '{m.quantity}'; known: "
                    f"{', '.join(self.catalogue.keys)}"
                )
                continue
            try:
                unit_factor(self.catalogue[m.quantity].unit, m.unit, what=m.observable)
            except PatientDataError as exc:
                problems.append(str(exc))
        if problems:
            raise InvalidInputError(
                f"observable map of '{self.model}' is invalid: " + "; ".join(problems)
            )

    @property
    def quantities(self) -> tuple[str, ...]:
        return tuple(m.quantity for m in self.mappings)

    def _mapping(self, quantity: str) -> ObservableMapping:
        for m in self.mappings:
            if m.quantity == quantity:
                return m
        raise InvalidInputError(
            f"model '{self.model}' observes no '{quantity}'; it observes "
            f"{', '.join(self.quantities)}"
        )

    def observable(self, quantity: str) -> str:
        """The model variable that is ``quantity``."""
        return self._mapping(quantity).observable

    def factor(self, quantity: str) -> float:
        """``model_value = factor * canonical_value`` for ``quantity``."""
        m = self._mapping(quantity)
        return unit_factor(self.catalogue[quantity].unit, m.unit, what=m.observable)


@functools.cache
def viral_pneumonia_observables() -> ObservableMap:
    """The observables of :func:`immunetwin.compose.diseases.viral_pneumonia` (variable ids
    of its assembled model) as catalogue quantities."""
    return ObservableMap(
        "viral_pneumonia",
        (
            ObservableMapping("virus_V", "sars_cov_2_rna", "copies/mL"),
            ObservableMapping("il6_IL6", "il6", "pg/mL"),
            ObservableMapping("tnf_TNF", "tnf", "pg/mL"),
            ObservableMapping("il10_IL10", "il10", "pg/mL"),
            ObservableMapping("crp_CRP", "crp", "mg/L"),
            ObservableMapping("lymphocytes_L", "lymphocytes", "1e9/L"),
            ObservableMapping("neutrophils_N", "neutrophils", "1e9/L"),
        ),
    )


__all__ = [
    "CATALOGUE",
    "LOINC_SYSTEM",
    "UCUM_SYSTEM",
    "ObservableMap",
    "ObservableMapping",
    "Quantity",
    "QuantityCatalogue",
    "ucum_to_pint",
    "unit_factor",
    "viral_pneumonia_observables",
]
