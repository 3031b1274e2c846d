"""The engine: compile the IR once to CasADi, then simulate, find steady states, run
ensembles and compute sensitivities."""

from immunetwin.engine._compile import CompiledModel as CompiledModel
from immunetwin.engine._compile import compile_model as compile_model
from immunetwin.engine._ensemble import (
    EnsembleResult as EnsembleResult,
)
from immunetwin.engine._ensemble import (
    read_parameter_table as read_parameter_table,
)
from immunetwin.engine._ensemble import (
    simulate_ensemble as simulate_ensemble,
)
from immunetwin.engine._results import SimulationResult as SimulationResult
from immunetwin.engine._results import Status as Status
from immunetwin.engine._sensitivity import (
    SensitivityResult as SensitivityResult,
)
from immunetwin.engine._sensitivity import (
    sensitivities as sensitivities,
)
from immunetwin.engine._solvers import (
    CVODES as CVODES,
)
from immunetwin.engine._solvers import (
    AbstractSolver as AbstractSolver,
)
from immunetwin.engine._solvers import (
    DormandPrince as DormandPrince,
)
from immunetwin.engine._solvers import (
    Rodas4 as Rodas4,
)
from immunetwin.engine._steady import (
    SteadyStateResult as SteadyStateResult,
)
from immunetwin.engine._steady import (
    SteadyStatus as SteadyStatus,
)
from immunetwin.engine._steady import (
    steady_state as steady_state,
)
from immunetwin.engine._timecourse import simulate as simulate

__all__ = [
    "CVODES",
    "AbstractSolver",
    "CompiledModel",
    "DormandPrince",
    "EnsembleResult",
    "Rodas4",
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
