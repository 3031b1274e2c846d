"""A recorded event schedule chained into one CasADi function.

When every event is a timed breakpoint (``fixed_schedule``), the sequence of integrations and
event maps a run performs depends only on the event times. Recording it once (the tape) and
chaining those steps symbolically replaces a dozen Python-level calls per run with one call,
which is most of the cost of a short dosed simulation and of every ensemble member after the
first.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import casadi as ca
import numpy as np

from immunetwin.engine._buffers import bound
from immunetwin.engine._compile import CompiledModel
from immunetwin.engine._results import Status
from immunetwin.engine._simulate import Trajectory, segment_integrators
from immunetwin.engine._solvers import AbstractSolver
from immunetwin.engine._tape import Entry, Fire, Integrate, Record, Trigger


@dataclass(frozen=True, eq=False)
class ScheduledRun:
    """``function``: p -> (states (n, T), q, event times), valid for runs whose event times
    equal ``schedule``."""

    function: ca.Function
    times: np.ndarray
    schedule: np.ndarray
    fired: tuple[tuple[float, int, bool], ...]
    n_states: int

    def __call__(self, p: np.ndarray) -> Trajectory | None:
        """The trajectory for ``p``, or None when ``p`` moves an event time or the chained
        integration fails (the caller then runs the event loop, which explains failures)."""
        try:
            flat, q, when = bound(self.function)(p)
        except RuntimeError:
            return None
        if not np.array_equal(when, self.schedule, equal_nan=True):
            return None
        states = flat.reshape(len(self.times), self.n_states).T
        status, message = Status.SUCCESS, ""
        if not np.all(np.isfinite(states)):
            status, message = Status.NONFINITE, "the solution became NaN or infinite"
        return Trajectory(self.times, states, q, status, message, len(self.fired), [*self.fired])


@dataclass(frozen=True, eq=False)
class ChainGraph:
    """A tape as an MX graph: ``states`` (n, T), ``q`` and event times ``when`` of ``p``."""

    p: ca.MX
    states: ca.MX
    q: ca.MX
    when: ca.MX
    fired: tuple[tuple[float, int, bool], ...]


def chain_graph(
    model: CompiledModel,
    times: np.ndarray,
    solver: AbstractSolver,
    tape: list[Entry],
) -> ChainGraph | None:
    """The tape's integrations and event maps as one graph over the (compiled) segment
    integrators; None if it has a located root, or nothing to integrate."""
    if model.n_states == 0:  # nothing to integrate: the event loop is as cheap
        return None
    integrators = segment_integrators(model, solver)
    p = ca.MX.sym("p", len(model.p0))
    x, q = model.init(float(times[0]), p)
    columns: list[ca.MX | None] = [None] * len(times)
    columns[0] = x
    t = float(times[0])
    at_trigger: dict[int, ca.MX] = {}
    fired: list[tuple[float, int, bool]] = []
    for entry in tape:
        if isinstance(entry, Integrate):
            targets = np.asarray(entry.targets, dtype=float)
            h = float(targets[-1] - t)
            grid = tuple(((targets - t) / h).tolist())
            block = integrators.get(grid)(x0=x, p=ca.vertcat(q, t, h))["xf"]
            for column, k in entry.recorded.items():
                columns[k] = block[:, column]
            x, t = block[:, -1], float(targets[-1])
        elif isinstance(entry, Trigger):
            at_trigger[entry.order] = model.assignment_values[entry.event](t, x, q)
        elif isinstance(entry, Fire):
            e = entry.event
            values = at_trigger.get(entry.order)
            if values is None or not model.events[e].use_values_from_trigger_time:
                values = model.assignment_values[e](t, x, q)
            x = model.apply_assignments[e](t, x, q, values)
            fired.append((t, e, False))
        elif isinstance(entry, Record):
            columns[entry.index] = x
        else:  # a located root: state events have no fixed schedule
            return None
    missing = ca.DM(np.full(model.n_states, np.nan))
    states = ca.horzcat(*(missing if c is None else c for c in columns))
    return ChainGraph(p, states, q, event_time_vector(model, q), tuple(fired))


def event_time_vector(model: CompiledModel, q: ca.MX) -> ca.MX:
    """Per event, its breakpoint time as a function of ``q`` (NaN for state events): the
    symbolic twin of ``event_times``, checked by every chained call."""
    return ca.vertcat(
        *(ca.MX(np.nan) if e.time_expr is None else e.time_expr(q) for e in model.events)
    )


def chain(
    model: CompiledModel,
    times: np.ndarray,
    solver: AbstractSolver,
    tape: list[Entry],
    schedule: np.ndarray,
) -> ScheduledRun | None:
    """Chain a tape recorded with event times ``schedule`` into one function (None if it
    cannot be)."""
    graph = chain_graph(model, times, solver, tape)
    if graph is None:
        return None
    function = ca.Function("scheduled_run", [graph.p], [graph.states, graph.q, graph.when])
    return ScheduledRun(function, times.copy(), schedule.copy(), graph.fired, model.n_states)


_LOCK = threading.Lock()
Slot = TypeVar("Slot")


def per_model_slot(
    table: weakref.WeakKeyDictionary[CompiledModel, dict[tuple[object, ...], Slot]],
    model: CompiledModel,
    key: tuple[object, ...],
    new: Callable[[], Slot],
    limit: int,
) -> Slot:
    """The ``key`` slot of ``model`` in ``table`` (created by ``new``; a table that grows past
    ``limit`` slots for one model starts over). Dropped with the compiled model."""
    with _LOCK:
        per_model = table.setdefault(model, {})
        slot = per_model.get(key)
        if slot is None:
            if len(per_model) > limit:
                per_model.clear()
            slot = per_model[key] = new()
        return slot


@dataclass
class _Slot:
    seen: int = 0
    runs: tuple[ScheduledRun, ...] = ()


_RUNS: weakref.WeakKeyDictionary[CompiledModel, dict[tuple[object, ...], _Slot]]
_RUNS = weakref.WeakKeyDictionary()


def _slot(model: CompiledModel, times: np.ndarray, solver: AbstractSolver) -> _Slot:
    return per_model_slot(_RUNS, model, (solver, times.tobytes()), _Slot, limit=32)


def cached_run(
    model: CompiledModel, times: np.ndarray, solver: AbstractSolver, p: np.ndarray
) -> Trajectory | None:
    """A trajectory from a chained schedule seen before on this grid, if one applies."""
    slot = _slot(model, times, solver)
    for run in slot.runs:
        traj = run(p)
        if traj is not None:
            return traj
    return None


def remember(
    model: CompiledModel,
    times: np.ndarray,
    solver: AbstractSolver,
    tape: list[Entry],
    schedule: np.ndarray,
) -> ScheduledRun | None:
    """Count a fresh run of this grid; from the second on, chain its tape for next time.

    (A one-off simulation should not pay for building the chain.)
    """
    slot = _slot(model, times, solver)
    slot.seen += 1
    if slot.seen < 2 or len(slot.runs) >= 4:
        return None
    run = chain(model, times, solver, tape, schedule)
    if run is not None:
        slot.runs = (*slot.runs, run)
    return run
