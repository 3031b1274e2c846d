"""The model IR: immutable dataclasses, an expression tree, pure transforms and validation."""

from immunetwin.ir._expr import (
    Apply as Apply,
    Avogadro as Avogadro,
    Bool as Bool,
    Call as Call,
    Expr as Expr,
    Num as Num,
    Op as Op,
    Sym as Sym,
    Time as Time,
    substitute as substitute,
    to_infix as to_infix,
)
from immunetwin.ir._model import (
    Annotation as Annotation,
    AssignmentRule as AssignmentRule,
    Compartment as Compartment,
    Event as Event,
    EventAssignment as EventAssignment,
    FunctionDefinition as FunctionDefinition,
    InitialAssignment as InitialAssignment,
    Model as Model,
    Parameter as Parameter,
    RateRule as RateRule,
    Reaction as Reaction,
    Species as Species,
    SpeciesReference as SpeciesReference,
    Unit as Unit,
    UnitDefinition as UnitDefinition,
)
from immunetwin.ir._transform import (
    namespace as namespace,
    rename_ids as rename_ids,
    with_parameters as with_parameters,
    with_values as with_values,
)
from immunetwin.ir._validate import Issue as Issue, Severity as Severity, validate as validate

__all__ = [
    "Annotation", "Apply", "AssignmentRule", "Avogadro", "Bool", "Call", "Compartment", "Event",
    "EventAssignment", "Expr", "FunctionDefinition", "InitialAssignment", "Issue", "Model", "Num",
    "Op", "Parameter", "RateRule", "Reaction", "Severity", "Species", "SpeciesReference", "Sym",
    "Time", "Unit", "UnitDefinition", "namespace", "rename_ids", "substitute", "to_infix",
    "validate", "with_parameters", "with_values",
]
