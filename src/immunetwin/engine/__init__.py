"""The engine: compile the IR once to CasADi, then simulate, find steady states, run
ensembles and compute sensitivities."""

from immunetwin.engine._compile import CompiledModel as CompiledModel, compile_model as compile_model
from immunetwin.engine._ensemble import (
    EnsembleResult as EnsembleResult,
    read_parameter_table as read_parameter_table,
    simulate_ensemble as simulate_ensemble,
)
from immunetwin.engine._results import SimulationResult as SimulationResult, Status as Status
from immunetwin.engine._sensitivity import (
    SensitivityResult as SensitivityResult,
    sensitivities as sensitivities,
)
from immunetwin.engine._simulate import simulate as simulate
from immunetwin.engine._solvers import (
    CVODES as CVODES,
    AbstractSolver as AbstractSolver,
    DormandPrince as DormandPrince,
)
from immunetwin.engine._steady import (
    SteadyStateResult as SteadyStateResult,
    SteadyStatus as SteadyStatus,
    steady_state as steady_state,
)

__all__ = [
    "CVODES",
    "AbstractSolver",
    "CompiledModel",
    "DormandPrince",
    "EnsembleResult",
    "SensitivityResult",
    "SimulationResult",
    "Status",
    "SteadyStateResult",
    "SteadyStatus",
    "compile_model",
    "read_parameter_table",
    "sensitivities",
    "simulate",
    "simulate_ensemble",
    "steady_state",
]
