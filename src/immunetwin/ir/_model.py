"""The immutable model IR: frozen dataclasses of tuples, no I/O, no numerics.

Quantities follow SBML semantics: a species' value in math is its concentration unless
``has_only_substance_units``; kinetic laws give extent per time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol, TypeVar

from immunetwin.ir._expr import Expr


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=_HasId)


@dataclass(frozen=True, slots=True)
class Annotation:
    """One MIRIAM annotation: a BioModels or model qualifier with a resource URI."""

    qualifier: str  # e.g. "bqbiol:is", "bqmodel:isDescribedBy"
    uri: str


@dataclass(frozen=True, slots=True)
class Unit:
    kind: str
    exponent: float = 1.0
    scale: int = 0
    multiplier: float = 1.0


@dataclass(frozen=True, slots=True)
class UnitDefinition:
    id: str
    units: tuple[Unit, ...]
    name: str = ""


@dataclass(frozen=True, slots=True)
class Compartment:
    id: str
    size: float | None = 1.0
    constant: bool = True
    spatial_dimensions: float | None = 3.0
    units: str = ""
    name: str = ""
    annotations: tuple[Annotation, ...] = ()
    notes: str = ""


@dataclass(frozen=True, slots=True)
class Species:
    id: str
    compartment: str
    initial_amount: float | None = None
    initial_concentration: float | None = None
    has_only_substance_units: bool = False
    boundary_condition: bool = False
    constant: bool = False
    units: str = ""
    name: str = ""
    annotations: tuple[Annotation, ...] = ()
    notes: str = ""


@dataclass(frozen=True, slots=True)
class Parameter:
    id: str
    value: float | None = None
    constant: bool = True
    units: str = ""
    name: str = ""
    annotations: tuple[Annotation, ...] = ()
    notes: str = ""


@dataclass(frozen=True, slots=True)
class SpeciesReference:
    species: str
    stoichiometry: float = 1.0


@dataclass(frozen=True, slots=True)
class Reaction:
    id: str
    reactants: tuple[SpeciesReference, ...] = ()
    products: tuple[SpeciesReference, ...] = ()
    modifiers: tuple[str, ...] = ()
    kinetic_law: Expr | None = None
    local_parameters: tuple[Parameter, ...] = ()
    reversible: bool = False
    name: str = ""
    annotations: tuple[Annotation, ...] = ()
    notes: str = ""


@dataclass(frozen=True, slots=True)
class FunctionDefinition:
    id: str
    arguments: tuple[str, ...]
    body: Expr
    name: str = ""


@dataclass(frozen=True, slots=True)
class AssignmentRule:
    variable: str
    math: Expr


@dataclass(frozen=True, slots=True)
class RateRule:
    variable: str
    math: Expr


@dataclass(frozen=True, slots=True)
class InitialAssignment:
    symbol: str
    math: Expr


@dataclass(frozen=True, slots=True)
class EventAssignment:
    variable: str
    math: Expr


@dataclass(frozen=True, slots=True)
class Event:
    """An SBML event. ``trigger`` fires on its false-to-true transition."""

    id: str
    trigger: Expr
    assignments: tuple[EventAssignment, ...] = ()
    delay: Expr | None = None
    priority: Expr | None = None
    initial_value: bool = True
    persistent: bool = True
    use_values_from_trigger_time: bool = True
    name: str = ""


@dataclass(frozen=True, slots=True)
class Model:
    """A whole model. Build new versions with the pure transforms in ``ir.transform``."""

    id: str
    name: str = ""
    compartments: tuple[Compartment, ...] = ()
    species: tuple[Species, ...] = ()
    parameters: tuple[Parameter, ...] = ()
    reactions: tuple[Reaction, ...] = ()
    function_definitions: tuple[FunctionDefinition, ...] = ()
    assignment_rules: tuple[AssignmentRule, ...] = ()
    rate_rules: tuple[RateRule, ...] = ()
    initial_assignments: tuple[InitialAssignment, ...] = ()
    events: tuple[Event, ...] = ()
    unit_definitions: tuple[UnitDefinition, ...] = ()
    time_units: str = ""
    substance_units: str = ""
    volume_units: str = ""
    annotations: tuple[Annotation, ...] = ()
    notes: str = ""
    metadata: tuple[tuple[str, str], ...] = field(default=())

    # --- lookups (derived, never stored) ---------------------------------------------------
    def compartment(self, id: str) -> Compartment:
        return _find(self.compartments, id, "compartment")

    def get_species(self, id: str) -> Species:
        return _find(self.species, id, "species")

    def parameter(self, id: str) -> Parameter:
        return _find(self.parameters, id, "parameter")

    def reaction(self, id: str) -> Reaction:
        return _find(self.reactions, id, "reaction")

    def ids(self) -> frozenset[str]:
        """Every global identifier that math may refer to."""
        items: tuple[_HasId, ...] = (
            *self.compartments,
            *self.species,
            *self.parameters,
            *self.reactions,
        )
        return frozenset(item.id for item in items)

    def assignment_rule(self, variable: str) -> AssignmentRule | None:
        return next((r for r in self.assignment_rules if r.variable == variable), None)

    def rate_rule(self, variable: str) -> RateRule | None:
        return next((r for r in self.rate_rules if r.variable == variable), None)

    def initial_assignment(self, symbol: str) -> InitialAssignment | None:
        return next((a for a in self.initial_assignments if a.symbol == symbol), None)

    def replace(self, **changes: object) -> Model:
        return replace(self, **changes)  # type: ignore[arg-type]


def _find(items: tuple[T, ...], id: str, kind: str) -> T:
    for item in items:
        if item.id == id:
            return item
    from immunetwin.errors import UnknownIdentifierError

    known = ", ".join(sorted(i.id for i in items)[:20]) or "none"
    raise UnknownIdentifierError(f"no {kind} with id '{id}'; the model's {kind} ids are: {known}")
