"""``simulate``: one time course, through a chained event schedule when one applies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from immunetwin.engine._compile import CompiledModel, compile_model
from immunetwin.engine._results import SimulationResult, Status
from immunetwin.engine._schedule import cached_run, remember
from immunetwin.engine._simulate import (
    Trajectory,
    check_times,
    evaluate_outputs,
    event_times,
    fixed_schedule,
    run_trajectory,
)
from immunetwin.engine._solvers import CVODES, AbstractSolver
from immunetwin.engine._tape import Entry
from immunetwin.errors import SimulationError
from immunetwin.ir import Model


def trajectory(
    model: CompiledModel, times: np.ndarray, p: np.ndarray, solver: AbstractSolver
) -> Trajectory:
    """Raw states for ``p``: a chained schedule when a previous run on this grid left one
    that fits, else the event loop (recording its schedule for the next run)."""
    if not fixed_schedule(model):
        return run_trajectory(model, times, p, solver)
    traj = cached_run(model, times, solver, p)
    if traj is not None:
        return traj
    tape: list[Entry] = []
    traj = run_trajectory(model, times, p, solver, tape)
    if traj.status.ok:
        remember(model, times, solver, tape, event_times(model, traj.q))
    return traj


def _as_compiled(model: Model | CompiledModel) -> CompiledModel:
    return model if isinstance(model, CompiledModel) else compile_model(model)


def simulate(
    model: Model | CompiledModel,
    times: Sequence[float] | np.ndarray,
    *,
    parameters: Mapping[str, float] | None = None,
    variables: Sequence[str] = (),
    solver: AbstractSolver | None = None,
    throw: bool = False,
) -> SimulationResult:
    """Simulate at the output ``times`` (the first is the start time).

    ``parameters`` overrides parameter values, compartment sizes or species initial values by
    id. The result holds every species, then the ``variables`` asked for (parameters,
    compartments, reactions or rule variables). ``throw=True`` raises ``SimulationError``
    instead of returning a failed result.
    """
    compiled = _as_compiled(model)
    solver = solver or CVODES()
    solver.check()
    grid = check_times(times)
    p = compiled.parameter_vector(parameters)
    wanted = list(compiled.species_ids) + [v for v in variables if v not in compiled.species_ids]
    columns = []
    for id in wanted:
        if id not in compiled.output_ids:
            from immunetwin.errors import UnknownIdentifierError

            raise UnknownIdentifierError(
                f"cannot output '{id}': it is not a species, compartment, parameter or reaction "
                f"of model '{compiled.model.id}'"
            )
        columns.append(compiled.output_ids.index(id))
    traj = trajectory(compiled, grid, p, solver)
    values = evaluate_outputs(compiled, traj)[:, columns]
    status, message = traj.status, traj.message
    if status is Status.SUCCESS and not np.all(np.isfinite(values)):
        bad = [wanted[j] for j in np.flatnonzero(~np.all(np.isfinite(values), axis=0))]
        status = Status.NONFINITE
        message = f"outputs are NaN or infinite for: {', '.join(bad[:5])} (check their math)"
    result = SimulationResult(
        time=grid,
        ids=tuple(wanted),
        values=values,
        status=status,
        message=message,
        solver=type(solver).__name__,
        n_events=traj.n_events,
    )
    if throw and not result.ok:
        raise SimulationError(f"simulation of '{compiled.model.id}' failed: {result.message}")
    return result
