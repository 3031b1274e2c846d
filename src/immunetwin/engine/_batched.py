"""Ensembles with the batched RODAS solver: all members of a part step together.

Without events the members integrate over their output times. With a fixed event schedule
(every event a ``time >= c`` breakpoint, the same times for all members: dosing), the first
member's run is recorded as a tape (integrations and event firings) and replayed for all
members at once, the event maps evaluated across members. Members whose event times differ
from the tape's, and models with state events, run one by one with CVODES.
"""

from __future__ import annotations

from collections.abc import Sequence

import casadi as ca
import numpy as np

from immunetwin.engine._buffers import bound
from immunetwin.engine._compile import CompiledModel
from immunetwin.engine._results import Status
from immunetwin.engine._rosenbrock import (
    BatchStepper,
    StepFailure,
    integrate_batch,
    stepper_for,
)
from immunetwin.engine._simulate import (
    evaluate_outputs,
    event_times,
    fixed_schedule,
    mapped,
    run_trajectory,
    segment_integrators,
)
from immunetwin.engine._solvers import Rodas4
from immunetwin.engine._tape import Entry, Fire, Integrate, Record, Trigger

Outcome = tuple[np.ndarray, list[Status], list[str]]


def _across(model: CompiledModel, function: ca.Function, *args: np.ndarray) -> list[np.ndarray]:
    """``function`` for every member: arguments and results are (N, k) row-per-member arrays
    (one cached map of the function per member count)."""
    count = len(args[0])
    flat = bound(mapped(model, function, count))(*(np.ascontiguousarray(a).ravel() for a in args))
    return [values.reshape(count, -1) for values in flat]


def run_batched(
    model: CompiledModel, times: np.ndarray, members: np.ndarray, solver: Rodas4
) -> Outcome:
    """Species values ``(N, T, K)`` with status and message per member; ``times`` is one grid
    ``(T,)`` or one per member ``(N, T)`` (with events, members with grids of their own run
    one by one)."""
    count = len(members)
    grids = np.broadcast_to(times, (count, times.shape[-1]))
    x0, q = _across(model, model.init, grids[:, :1], members)
    states = np.full((count, grids.shape[1], model.n_states), np.nan)
    states[:, 0] = x0
    status = [Status.SUCCESS] * count
    messages = [""] * count
    alive = np.all(np.isfinite(x0), axis=1)
    for dead in np.flatnonzero(~alive):
        status[dead], messages[dead] = Status.NONFINITE, "initial values are not finite"
    single: list[int] = []
    if not model.events:
        if grids.shape[1] > 1 and model.n_states:
            rows = np.flatnonzero(alive)
            targets, kept = _with_jumps(model, times, grids[rows, 1:])
            block, _, failures = integrate_batch(
                _stepper(model, solver), x0[rows], q[rows], grids[rows, 0], targets,
                solver.max_steps,
            )  # fmt: skip
            states[rows, 1:] = block[:, kept]
            _fail(failures, rows, status, messages)
    elif not model.n_states or (times.ndim == 2 and not np.all(times == times[0])):
        single = [int(m) for m in np.flatnonzero(alive)]
    else:
        stepper = _stepper(model, solver)
        single = _replay(
            model, grids[0], members, x0, q, alive, solver, stepper, states, status, messages
        )
    values = _species(model, grids, states, q)
    for alone in single:
        trajectory = run_trajectory(model, grids[alone], members[alone], solver)
        values[alone] = evaluate_outputs(model, trajectory, species_only=True)
        status[alone], messages[alone] = trajectory.status, trajectory.message
    for member in range(count):
        if status[member].ok and not np.all(np.isfinite(values[member])):
            status[member] = Status.NONFINITE
            messages[member] = "the solution became NaN or infinite"
    return values, status, messages


def _with_jumps(
    model: CompiledModel, times: np.ndarray, targets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """On a shared grid, the targets with the model's discontinuities inside it added (a step
    then never straddles a jump), and which columns are the requested ones."""
    jumps = model.jumps_within(times[0], times[-1]) if times.ndim == 1 else ()
    extra = np.setdiff1d(jumps, times)
    if not len(extra):
        return targets, np.arange(targets.shape[1])
    merged = np.union1d(times[1:], extra)
    return np.tile(merged, (len(targets), 1)), np.searchsorted(merged, times[1:])


def _stepper(model: CompiledModel, solver: Rodas4) -> BatchStepper:
    nominal = segment_integrators(model, solver).nominal
    assert nominal is not None
    return stepper_for(model, solver.rtol, solver.atol, nominal, solver.jit)


def _fail(
    failures: Sequence[StepFailure], rows: np.ndarray, status: list[Status], messages: list[str]
) -> None:
    for failure in failures:
        member = int(rows[failure.member])
        status[member], messages[member] = Status.INTEGRATION_FAILED, failure.message


def _replay(
    model: CompiledModel,
    grid: np.ndarray,
    members: np.ndarray,
    x0: np.ndarray,
    q: np.ndarray,
    alive: np.ndarray,
    solver: Rodas4,
    stepper: BatchStepper,
    states: np.ndarray,
    status: list[Status],
    messages: list[str],
) -> list[int]:
    """Replay the first live member's event tape for every member on its schedule; returns
    the members left to run one by one."""
    live = np.flatnonzero(alive)
    if not fixed_schedule(model) or len(live) == 0:
        return [int(m) for m in live]
    tape: list[Entry] = []
    first = run_trajectory(model, grid, members[live[0]], solver, tape)
    schedule = event_times(model, first.q)
    if not first.status.ok:
        return [int(m) for m in live]
    same = np.array([np.array_equal(event_times(model, q[m]), schedule) for m in live])
    rows = live[same]
    x, qs = x0[rows], q[rows]
    t = float(grid[0])
    h: np.ndarray | None = None
    ok = np.ones(len(rows), dtype=bool)
    at_trigger: dict[int, np.ndarray] = {}
    for entry in tape:
        if isinstance(entry, Integrate):
            targets = np.tile(np.asarray(entry.targets, dtype=float), (len(rows), 1))
            block = np.full((len(rows), targets.shape[1], model.n_states), np.nan)
            going = np.flatnonzero(ok)
            block[going], steps, failures = integrate_batch(
                stepper,
                x[going],
                qs[going],
                np.full(len(going), t),
                targets[going],
                solver.max_steps,
                None if h is None else h[going],
            )
            h = np.full(len(rows), np.nan) if h is None else h
            h[going] = steps
            for failure in failures:
                ok[going[failure.member]] = False
            _fail(failures, rows[going], status, messages)
            for column, k in entry.recorded.items():
                states[rows, k] = block[:, column]
            x, t = block[:, -1], float(entry.targets[-1])
        elif isinstance(entry, Trigger):
            at_trigger[entry.order] = _evaluate(
                model, model.assignment_values[entry.event], t, x, qs
            )
        elif isinstance(entry, Fire):
            values = at_trigger.get(entry.order)
            if values is None or not model.events[entry.event].use_values_from_trigger_time:
                values = _evaluate(model, model.assignment_values[entry.event], t, x, qs)
            x = _evaluate(model, model.apply_assignments[entry.event], t, x, qs, values)
        elif isinstance(entry, Record):
            states[rows, entry.index] = x
    return [int(m) for m in live[~same]]


def _evaluate(
    model: CompiledModel,
    function: ca.Function,
    t: float,
    x: np.ndarray,
    q: np.ndarray,
    *more: np.ndarray,
) -> np.ndarray:
    """``function(t, x, q, ...)`` for every member (rows)."""
    return _across(model, function, np.full((len(x), 1), t), x, q, *more)[0]


def _species(
    model: CompiledModel, grids: np.ndarray, states: np.ndarray, q: np.ndarray
) -> np.ndarray:
    """Species values ``(N, T, K)`` from raw states ``(N, T, n)``, a block of members per
    call of one map over ``block * T`` columns (the last block padded)."""
    count, steps = grids.shape
    block = max(1, min(count, 4096 // steps))
    outputs = bound(mapped(model, model.species_outputs, block * steps))
    values = np.empty((count, steps, len(model.species_ids)))
    for begin in range(0, count, block):
        rows = np.arange(begin, begin + block).clip(max=count - 1)
        flat = outputs(
            grids[rows].ravel(), states[rows].ravel(), np.repeat(q[rows], steps, axis=0).ravel()
        )[0]
        values[begin : begin + block] = flat.reshape(block, steps, -1)[: count - begin]
    return values
