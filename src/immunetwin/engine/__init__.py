"""The engine: compile the IR once to CasADi, then simulate, find steady states, run
ensembles and compute sensitivities."""

from immunetwin.engine._compile import CompiledModel as CompiledModel, compile_model as compile_model
from immunetwin.engine._results import SimulationResult as SimulationResult, Status as Status
from immunetwin.engine._simulate import simulate as simulate
from immunetwin.engine._solvers import (
    CVODES as CVODES,
    AbstractSolver as AbstractSolver,
    DormandPrince as DormandPrince,
)

__all__ = [
    "CVODES",
    "AbstractSolver",
    "CompiledModel",
    "DormandPrince",
    "SimulationResult",
    "Status",
    "compile_model",
    "simulate",
]
