"""Forward sensitivities of outputs with respect to parameters and initial values, exact
through events.

A numerical run records its tape (segments, located roots, triggers, firings). The tape is
replayed as a CasADi MX graph with the same integrators, event maps and outputs, so automatic
differentiation gives the derivative of the discrete event sequence: time events move with
the parameters they depend on, and a state event's time moves by the implicit-function rule
dtau/dp = -(dg/dp) / (dg/dt) through a zero-valued Newton correction.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import casadi as ca
import numpy as np

from immunetwin.engine._compile import CompiledModel, compile_model
from immunetwin.engine._results import Status
from immunetwin.engine._simulate import check_times, run_trajectory, segment_integrators
from immunetwin.engine._solvers import CVODES, AbstractSolver
from immunetwin.engine._tape import Entry, Fire, Integrate, Root, Trigger
from immunetwin.errors import InvalidInputError, SimulationError
from immunetwin.ir import Model


@dataclass(frozen=True, eq=False)
class SensitivityResult:
    """``values[i, k]`` as in a simulation; ``jacobian[i, k, j]`` = d values[i, k] / d wrt[j]."""

    time: np.ndarray
    ids: tuple[str, ...]
    wrt: tuple[str, ...]
    values: np.ndarray
    jacobian: np.ndarray
    status: Status
    message: str = ""

    def derivative(self, id: str, parameter: str) -> np.ndarray:
        return self.jacobian[:, self.ids.index(id), self.wrt.index(parameter)]


class _Replay:
    def __init__(
        self,
        model: CompiledModel,
        solver: AbstractSolver,
        q: ca.MX,
        inputs: tuple[ca.MX, ca.MX],
        values: tuple[np.ndarray, np.ndarray],
    ) -> None:
        self.m = model
        self.integrators = segment_integrators(model, solver)
        self.q = q
        self.inputs = inputs  # (P: the differentiated inputs, p: every other value)
        self.values = values
        self.trigger_values: dict[int, ca.MX] = {}  # pending order -> values at trigger time

    def as_float(self, value: ca.MX | float) -> float | ca.MX:
        """Numbers that do not depend on the parameters are kept as floats."""
        if isinstance(value, ca.MX) and not ca.depends_on(value, self.inputs[0]):
            return float(ca.Function("value", list(self.inputs), [value])(*self.values))
        return value

    def integrate(self, x: ca.MX, start: float | ca.MX, times: np.ndarray) -> ca.MX:
        """States at ``times`` from ``x`` at ``start``; a symbolic start gets its own step."""
        columns: list[ca.MX] = []
        if isinstance(start, ca.MX):
            first = float(times[0])
            x = self._call(x, start, first - start, (1.0,))
            columns.append(x)
            start, times = first, times[1:]
        if len(times):
            h = float(times[-1] - start)
            grid = tuple(float(v) for v in (times - start) / h)
            block = self._call(x, start, h, grid)
            columns += [block[:, i] for i in range(len(times))]
        return ca.horzcat(*columns)

    def _call(
        self, x: ca.MX, start: float | ca.MX, h: float | ca.MX, grid: tuple[float, ...]
    ) -> ca.MX:
        function = self.integrators.get(grid)
        return function(x0=x, p=ca.vertcat(self.q, start, h))["xf"]


def sensitivities(
    model: Model | CompiledModel,
    times: Sequence[float] | np.ndarray,
    *,
    wrt: Sequence[str] | None = None,
    parameters: Mapping[str, float] | None = None,
    variables: Sequence[str] = (),
    solver: AbstractSolver | None = None,
    throw: bool = False,
) -> SensitivityResult:
    """Outputs (every species, then ``variables``) and their derivatives with respect to
    ``wrt``: parameter ids, species ids (initial values, in their math unit) or compartment
    ids. By default every global parameter."""
    compiled = model if isinstance(model, CompiledModel) else compile_model(model)
    solver = solver or CVODES()
    if solver.jit:
        raise InvalidInputError(
            "sensitivities need an interpreted integrator (CasADi differentiates it); use "
            "CVODES() or DormandPrince(jit=False)"
        )
    solver.check()
    grid = check_times(times)
    wrt = tuple(wrt) if wrt is not None else tuple(p.id for p in compiled.model.parameters)
    p_num = compiled.parameter_vector(parameters)
    indices = [compiled.parameter_index(w) for w in wrt]
    ids = list(compiled.species_ids) + [v for v in variables if v not in compiled.species_ids]
    columns = [compiled.output_ids.index(i) for i in ids]

    tape: list[Entry] = []
    traj = run_trajectory(compiled, grid, p_num, solver, tape)
    if traj.status is not Status.SUCCESS:
        if throw:
            raise SimulationError(traj.message)
        nan = np.full((len(grid), len(ids)), np.nan)
        return SensitivityResult(
            grid,
            tuple(ids),
            wrt,
            nan,
            np.full((*nan.shape, len(wrt)), np.nan),
            traj.status,
            traj.message,
        )

    scale = np.array(
        [
            compiled.parameter_vector({**(parameters or {}), w: 1.0})[i]
            for w, i in zip(wrt, indices, strict=True)
        ]
    )  # species values are given in math units: p = scale * value (linear)
    start = p_num[indices] / np.where(scale == 0, 1.0, scale)
    key = (_tape_key(tape), wrt, tuple(columns), tuple(grid), tuple(scale), solver)
    cache = _GRAPHS.setdefault(compiled, {})
    function = cache.get(key)
    if function is None:
        if len(cache) > 32:
            cache.clear()
        function = cache[key] = _replay_graph(
            compiled, solver, tape, grid, p_num, indices, scale, start, columns
        )
    values, jac = function(start, p_num)
    values = np.asarray(values).T
    jacobian = np.asarray(jac).reshape(len(ids), len(grid), len(wrt), order="F").transpose(1, 0, 2)
    return SensitivityResult(grid, tuple(ids), wrt, values, jacobian, Status.SUCCESS)


_GRAPHS: weakref.WeakKeyDictionary[CompiledModel, dict[object, ca.Function]]
_GRAPHS = weakref.WeakKeyDictionary()


def _tape_key(tape: list[Entry]) -> tuple[object, ...]:
    return tuple(entry.key() for entry in tape)


def _replay_graph(
    compiled: CompiledModel,
    solver: AbstractSolver,
    tape: list[Entry],
    grid: np.ndarray,
    p_num: np.ndarray,
    indices: list[int],
    scale: np.ndarray,
    start: np.ndarray,
    columns: list[int],
) -> ca.Function:
    """The run as an MX function of the chosen inputs: P -> (outputs, d outputs / d P)."""
    P = ca.MX.sym("P", len(indices))
    p_all = ca.MX.sym("p", len(p_num))
    position = {i: j for j, i in enumerate(indices)}
    p_sym = ca.vertcat(
        *[
            P[position[i]] * scale[position[i]] if i in position else p_all[i]
            for i in range(len(p_num))
        ]
    )
    x0, q = compiled.init(grid[0], p_sym)
    replay = _Replay(compiled, solver, q, (P, p_all), (start, p_num))
    x: ca.MX = x0
    t: float | ca.MX = float(grid[0])
    outputs: list[ca.MX | None] = [None] * len(grid)
    outputs[0] = x
    pending_time: dict[int, float | ca.MX] = {}
    for entry in tape:
        if isinstance(entry, Integrate):
            block = replay.integrate(x, t, entry.targets)
            for column, k in entry.recorded.items():
                outputs[k] = block[:, column]
            x = block[:, block.shape[1] - 1]
            t = float(entry.targets[-1])
            if entry.end is not None:
                symbolic = _end_time(compiled, replay, entry.end, pending_time)
                if symbolic is not None:
                    # Move the end with the parameters: x(t_end) = x + f * (t_end - t).
                    x = x + compiled.rhs(t, x, q) * (symbolic - t)
                    t = symbolic
        elif isinstance(entry, Root):
            x, t = _root_correction(compiled, q, x, entry.time, entry.event)
        elif isinstance(entry, Trigger):
            values = compiled.assignment_values[entry.event](t, x, q)
            delay = compiled.delays(t, x, q)[entry.event] if compiled.delays is not None else 0.0
            replay.trigger_values[entry.order] = values
            end = t + delay
            pending_time[entry.order] = (
                replay.as_float(end) if isinstance(end, ca.MX) else float(end)
            )
        elif isinstance(entry, Fire):
            event = compiled.events[entry.event]
            if event.use_values_from_trigger_time and entry.order in replay.trigger_values:
                values = replay.trigger_values[entry.order]
            else:
                values = compiled.assignment_values[entry.event](t, x, q)
            x = compiled.apply_assignments[entry.event](t, x, q, values)
        else:
            outputs[entry.index] = x
    y = []
    for k, state in enumerate(outputs):
        assert state is not None, f"output {k} was not recorded"
        y.append(compiled.outputs(grid[k], state, q)[columns])
    Y = ca.horzcat(*y)  # (n_ids, T)
    return ca.Function("sens", [P, p_all], [Y, ca.jacobian(ca.vec(Y), P)])


def _end_time(
    compiled: CompiledModel,
    replay: _Replay,
    end: tuple[str, int],
    pending_time: dict[int, float | ca.MX],
) -> ca.MX | None:
    """The symbolic end of a segment that stops at a parameter-dependent event time."""
    kind, index = end
    value: float | ca.MX
    if kind == "timed":
        function = compiled.events[index].time_expr
        assert function is not None
        value = replay.as_float(function(replay.q))
    else:
        value = pending_time.get(index, 0.0)
    return value if isinstance(value, ca.MX) else None


def _root_correction(
    compiled: CompiledModel, q: ca.MX, x: ca.MX, tau: float, e: int
) -> tuple[ca.MX, ca.MX]:
    """Event time and state at a located root, with the implicit-function derivative."""
    assert compiled.indicators is not None
    t_sym, x_sym, q_sym = compiled.symbols
    g = compiled.indicators(t_sym, x_sym, q_sym)[e]
    f = compiled.rhs(t_sym, x_sym, q_sym)
    g_dot = ca.jacobian(g, t_sym) + ca.jacobian(g, x_sym) @ f
    g_value = ca.Function("g", [t_sym, x_sym, q_sym], [g])(tau, x, q)
    slope = ca.Function("gdot", [t_sym, x_sym, q_sym], [g_dot])(tau, x, q)
    # g_value is ~0 at the root, so tau_sym equals tau numerically but carries d tau / dp.
    tau_sym = tau - g_value / slope
    x_tau = x + compiled.rhs(tau, x, q) * (tau_sym - tau)
    return x_tau, tau_sym
