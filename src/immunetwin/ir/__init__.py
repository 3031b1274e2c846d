"""The model IR: immutable dataclasses, an expression tree, pure transforms and validation."""

from immunetwin.ir._expr import Apply as Apply
from immunetwin.ir._expr import Avogadro as Avogadro
from immunetwin.ir._expr import Bool as Bool
from immunetwin.ir._expr import Call as Call
from immunetwin.ir._expr import Expr as Expr
from immunetwin.ir._expr import Num as Num
from immunetwin.ir._expr import Op as Op
from immunetwin.ir._expr import Sym as Sym
from immunetwin.ir._expr import Time as Time
from immunetwin.ir._expr import substitute as substitute
from immunetwin.ir._expr import to_infix as to_infix
from immunetwin.ir._model import Annotation as Annotation
from immunetwin.ir._model import AssignmentRule as AssignmentRule
from immunetwin.ir._model import Compartment as Compartment
from immunetwin.ir._model import Event as Event
from immunetwin.ir._model import EventAssignment as EventAssignment
from immunetwin.ir._model import FunctionDefinition as FunctionDefinition
from immunetwin.ir._model import InitialAssignment as InitialAssignment
from immunetwin.ir._model import Model as Model
from immunetwin.ir._model import Parameter as Parameter
from immunetwin.ir._model import RateRule as RateRule
from immunetwin.ir._model import Reaction as Reaction
from immunetwin.ir._model import Species as Species
from immunetwin.ir._model import SpeciesReference as SpeciesReference
from immunetwin.ir._model import Unit as Unit
from immunetwin.ir._model import UnitDefinition as UnitDefinition
from immunetwin.ir._transform import namespace as namespace
from immunetwin.ir._transform import rename_ids as rename_ids
from immunetwin.ir._transform import with_parameters as with_parameters
from immunetwin.ir._transform import with_values as with_values
from immunetwin.ir._validate import Issue as Issue
from immunetwin.ir._validate import Severity as Severity
from immunetwin.ir._validate import validate as validate

__all__ = [
    "Annotation",
    "Apply",
    "AssignmentRule",
    "Avogadro",
    "Bool",
    "Call",
    "Compartment",
    "Event",
    "EventAssignment",
    "Expr",
    "FunctionDefinition",
    "InitialAssignment",
    "Issue",
    "Model",
    "Num",
    "Op",
    "Parameter",
    "RateRule",
    "Reaction",
    "Severity",
    "Species",
    "SpeciesReference",
    "Sym",
    "Time",
    "Unit",
    "UnitDefinition",
    "namespace",
    "rename_ids",
    "substitute",
    "to_infix",
    "validate",
    "with_parameters",
    "with_values",
]
