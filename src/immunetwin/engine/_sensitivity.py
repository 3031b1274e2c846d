"""Forward sensitivities of outputs with respect to parameters and initial values, exact
through events.

A numerical run records its tape (segments, located roots, triggers, firings). The tape is
then replayed in forward mode: the state carries its derivative matrix S = dx/dP through each
segment (the integrator's own forward derivative, C-compiled with the solver when it is), and
through each event by the chain rule of the event map. Event times that depend on the
parameters move with them: time events through d(time)/dP, and a state event by the implicit
function rule d tau/dP = -(dg/dP) / (dg/dt).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import casadi as ca
import numpy as np

from immunetwin.engine._buffers import bound, call
from immunetwin.engine._compile import CompiledModel, compile_model
from immunetwin.engine._results import Status
from immunetwin.engine._schedule import event_time_vector, per_model_slot
from immunetwin.engine._simulate import (
    check_times,
    event_times,
    fixed_schedule,
    mapped,
    run_trajectory,
    segment_integrators,
)
from immunetwin.engine._solvers import CVODES, AbstractSolver, SegmentIntegrators
from immunetwin.engine._tape import Entry, Fire, Integrate, Record, Root, Trigger
from immunetwin.errors import SimulationError
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


class _Derivatives:
    """Jacobians of the compiled model's pieces, built once per model (SX, cheap to call)."""

    def __init__(self, m: CompiledModel) -> None:
        t, x, q = m.symbols
        self.m = m
        p = ca.SX.sym("p", len(m.parameter_ids))
        t0 = ca.SX.sym("t0")
        x0, q0 = m.init(t0, p)
        self.init = ca.Function("d_init", [t0, p], [ca.jacobian(x0, p), ca.jacobian(q0, p)])
        f = m.ode
        self.rhs = m.rhs
        outputs = m.outputs(t, x, q)
        self.outputs = ca.Function(
            "d_outputs", [t, x, q], [ca.jacobian(outputs, x), ca.jacobian(outputs, q)]
        )
        self.indicators: list[ca.Function] = []
        self.values: list[ca.Function] = []
        self.apply: list[ca.Function] = []
        self.delays: list[ca.Function] = []
        self.times: list[ca.Function | None] = []
        for e, event in enumerate(m.events):
            assert m.indicators is not None and m.delays is not None
            g = m.indicators(t, x, q)[e]
            g_dot = ca.jacobian(g, t) + ca.jacobian(g, x) @ f
            self.indicators.append(
                ca.Function(f"d_g{e}", [t, x, q], [ca.jacobian(g, x), ca.jacobian(g, q), g_dot])
            )
            v = m.assignment_values[e](t, x, q)
            self.values.append(ca.Function(f"d_v{e}", [t, x, q], [*_jac(v, (t, x, q))]))
            values = ca.SX.sym("v", v.numel())
            post = m.apply_assignments[e](t, x, q, values)
            self.apply.append(
                ca.Function(f"d_a{e}", [t, x, q, values], [*_jac(post, (t, x, q, values))])
            )
            d = m.delays(t, x, q)[e]
            self.delays.append(ca.Function(f"d_d{e}", [t, x, q], [*_jac(d, (t, x, q))]))
            if event.time_expr is not None:
                self.times.append(ca.Function(f"d_t{e}", [q], [ca.jacobian(event.time_expr(q), q)]))
            else:
                self.times.append(None)


def _jac(expr: ca.SX, wrt: tuple[ca.SX, ...]) -> list[ca.SX]:
    return [ca.jacobian(expr, w) for w in wrt]


_DERIVATIVES: weakref.WeakKeyDictionary[CompiledModel, _Derivatives] = weakref.WeakKeyDictionary()
_FORWARD: weakref.WeakKeyDictionary[SegmentIntegrators, dict[tuple[object, ...], ca.Function]]
_FORWARD = weakref.WeakKeyDictionary()


def _derivatives(m: CompiledModel) -> _Derivatives:
    found = _DERIVATIVES.get(m)
    if found is None:
        found = _DERIVATIVES[m] = _Derivatives(m)
    return found


def _forward(integrators: SegmentIntegrators, grid: tuple[float, ...], m: int) -> ca.Function:
    """The integrator's forward derivative in ``m`` directions, C-compiled with the solver."""
    cache = _FORWARD.setdefault(integrators, {})
    key = (grid, m)
    found = cache.get(key)
    if found is None:
        raw = integrators.raw(grid).forward(m)
        if integrators.solver.compile_segments:
            from immunetwin.engine._jit import compiled

            raw = compiled(raw, integrators.key(grid) + f"|forward{m}")
        if len(cache) > 64:
            cache.clear()
        found = cache[key] = raw
    return found


def _by_name(function: ca.Function, empty: Any, **named: Any) -> list[Any]:
    """Positional inputs of a forward derivative, by name: the plain integrator and the
    wrapper that rescales states (a model with non-unit nominal values) order them
    differently, so positions must not be assumed."""
    return [named.get(name, empty) for name in function.name_in()]


def _num(value: ca.DM | ca.SX | float) -> np.ndarray:
    return np.asarray(ca.DM(value).full(), dtype=float)


class _ForwardReplay:
    """Replays a tape numerically, carrying S = dx/dP, Q = dq/dP and dt/dP."""

    def __init__(self, m: CompiledModel, solver: AbstractSolver, q: np.ndarray, dq: np.ndarray):
        self.m = m
        self.d = _derivatives(m)
        self.integrators = segment_integrators(m, solver)
        self.q = q
        self.dq = dq

    def integrate(
        self, x: np.ndarray, S: np.ndarray, t: float, dt: np.ndarray, targets: np.ndarray
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """States and their derivatives at ``targets``; a moving start takes its own step so
        that every output time stays fixed."""
        states: list[np.ndarray] = []
        derivatives: list[np.ndarray] = []
        if np.any(dt):
            first = float(targets[0])
            head, head_S = self._segment(x, S, t, dt, np.array([first]))
            states.append(head[:, 0])
            derivatives.append(head_S[0])
            x, S, t, dt, targets = head[:, 0], head_S[0], first, np.zeros_like(dt), targets[1:]
        if len(targets):
            block, block_S = self._segment(x, S, t, dt, targets)
            states += [block[:, i] for i in range(len(targets))]
            derivatives += block_S
        return np.column_stack(states), derivatives

    def _segment(
        self, x: np.ndarray, S: np.ndarray, start: float, dt: np.ndarray, targets: np.ndarray
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        n, m_dirs, T = len(x), S.shape[1], len(targets)
        h = float(targets[-1] - start)
        grid = tuple(((targets - start) / h).tolist())
        params = np.concatenate([self.q, [start, h]])
        nominal = bound(self.integrators.get(grid))(x, 0.0, params)[0]
        seeds_p = np.vstack([self.dq, dt[None, :], -dt[None, :]])  # h = end - start
        function = _forward(self.integrators, grid, m_dirs)
        args = _by_name(
            function,
            0.0,
            x0=x,
            p=params,
            out_xf=nominal,
            fwd_x0=S.ravel(order="F"),
            fwd_p=seeds_p.ravel(order="F"),
        )
        sens = bound(function)(*args)[0].reshape(m_dirs, T, n)  # column-major (n, T*m)
        states = nominal.reshape(T, n).T
        return states, [sens[:, k, :].T for k in range(T)]

    def rhs(self, t: float, x: np.ndarray) -> np.ndarray:
        return bound(self.m.rhs)(t, x, self.q)[0]


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
    ids. By default every global parameter.

    With a compiled solver (``DormandPrince()``) the forward derivative of each integrator is
    compiled to C on first use (cached on disk), which takes seconds once and is then fast.
    """
    compiled = model if isinstance(model, CompiledModel) else compile_model(model)
    solver = solver or CVODES()
    solver.check()
    grid = check_times(times)
    wrt = tuple(wrt) if wrt is not None else tuple(p.id for p in compiled.model.parameters)
    p_num = compiled.parameter_vector(parameters)
    indices = [compiled.parameter_index(w) for w in wrt]
    ids = list(compiled.species_ids) + [v for v in variables if v not in compiled.species_ids]
    columns = [compiled.output_ids.index(i) for i in ids]

    # p = p_num with p[index] = factor * value; the factor converts species values given in
    # their math unit into the declared quantity (parameter_vector is linear in each value).
    selection = np.zeros((len(p_num), len(wrt)))
    for j, (w, i) in enumerate(zip(wrt, indices, strict=True)):
        selection[i, j] = compiled.parameter_vector({**(parameters or {}), w: 1.0})[i]
    chained = _chained(compiled, grid, solver, selection, p_num) if len(wrt) else None
    if chained is not None:
        values, jacobian = chained
        return SensitivityResult(
            grid, tuple(ids), wrt, values[:, columns], jacobian[:, columns], Status.SUCCESS
        )
    tape: list[Entry] = []
    traj = run_trajectory(compiled, grid, p_num, solver, tape)

    def failed(status: Status, message: str) -> SensitivityResult:
        if throw:
            raise SimulationError(message)
        nan = np.full((len(grid), len(ids)), np.nan)
        jacobian = np.full((*nan.shape, len(wrt)), np.nan)
        return SensitivityResult(grid, tuple(ids), wrt, nan, jacobian, status, message)

    if traj.status is not Status.SUCCESS:
        return failed(traj.status, traj.message)
    try:
        values, jacobian = _replay(compiled, solver, tape, grid, p_num, selection, columns)
    except RuntimeError as exc:  # the solution integrated, its sensitivities did not
        reason = str(exc).splitlines()[-1].split(": ")[-1]
        return failed(
            Status.INTEGRATION_FAILED,
            f"the sensitivity integration failed ({reason}); try CVODES() with looser "
            "tolerances or a larger max_steps",
        )
    if len(wrt) and fixed_schedule(compiled):
        _remember_chain(compiled, grid, solver, selection, tape, event_times(compiled, traj.q))
    return SensitivityResult(grid, tuple(ids), wrt, values, jacobian, Status.SUCCESS)


def _replay(
    m: CompiledModel,
    solver: AbstractSolver,
    tape: list[Entry],
    grid: np.ndarray,
    p: np.ndarray,
    selection: np.ndarray,
    columns: list[int],
) -> tuple[np.ndarray, np.ndarray]:
    d = _derivatives(m)
    n_dirs = selection.shape[1]
    x0_dm, q_dm = m.init(grid[0], p)
    x, q = _num(x0_dm).ravel(), _num(q_dm).ravel()
    dx0_dp, dq_dp = (_num(v) for v in d.init(grid[0], p))
    S = dx0_dp.reshape(len(x), len(p)) @ selection
    Q = dq_dp.reshape(len(q), len(p)) @ selection
    replay = _ForwardReplay(m, solver, q, Q)
    t, dt = float(grid[0]), np.zeros(n_dirs)
    recorded: dict[int, tuple[np.ndarray, np.ndarray]] = {0: (x, S)}
    trigger_values: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    pending_dt: dict[int, np.ndarray] = {}
    for entry in tape:
        if isinstance(entry, Integrate):
            block, block_S = replay.integrate(x, S, t, dt, entry.targets)
            for column, k in entry.recorded.items():
                recorded[k] = (block[:, column], block_S[column])
            x, S = block[:, -1], block_S[-1]
            t, dt = float(entry.targets[-1]), np.zeros(n_dirs)
            if entry.end is not None:
                kind, index = entry.end
                if kind == "timed":
                    time_jac = d.times[index]
                    assert time_jac is not None
                    dt = (_num(time_jac(q)).reshape(1, -1) @ Q).ravel()
                else:
                    dt = pending_dt.get(index, np.zeros(n_dirs))
                # the end moves with the parameters: d x(t_end) = S + f dt_end
                S = S + np.outer(replay.rhs(t, x), dt)
        elif isinstance(entry, Root):
            g_x, g_q, g_dot = (_num(v) for v in d.indicators[entry.event](entry.time, x, q))
            dtau = -(g_x.reshape(1, -1) @ S + g_q.reshape(1, -1) @ Q).ravel() / g_dot.item()
            S = S + np.outer(replay.rhs(entry.time, x), dtau)
            t, dt = entry.time, dtau
        elif isinstance(entry, Trigger):
            e = entry.event
            values = bound(m.assignment_values[e])(t, x, q)[0]
            trigger_values[entry.order] = (values, _chain(d.values[e](t, x, q), S, Q, dt))
            delay_t, delay_x, delay_q = (_num(v) for v in d.delays[e](t, x, q))
            ddelay = delay_t * dt + delay_x.reshape(1, -1) @ S + delay_q.reshape(1, -1) @ Q
            pending_dt[entry.order] = dt + ddelay.ravel()
        elif isinstance(entry, Fire):
            e = entry.event
            if m.events[e].use_values_from_trigger_time and entry.order in trigger_values:
                values, dvalues = trigger_values[entry.order]
            else:
                values = bound(m.assignment_values[e])(t, x, q)[0]
                dvalues = _chain(d.values[e](t, x, q), S, Q, dt)
            a_t, a_x, a_q, a_v = (_num(v) for v in d.apply[e](t, x, q, values))
            n = len(x)
            S = (
                a_x.reshape(n, n) @ S
                + a_q.reshape(n, -1) @ Q
                + a_v.reshape(n, -1) @ dvalues
                + np.outer(a_t.ravel(), dt)
            )
            x = bound(m.apply_assignments[e])(t, x, q, values)[0]
        else:
            recorded[entry.index] = (x, S)
    # outputs and their Jacobians at every output time in one mapped evaluation each
    T = len(grid)
    states = np.column_stack([recorded[k][0] for k in range(T)])
    S_all = np.stack([recorded[k][1] for k in range(T)])  # (T, n, dirs)
    q_tiled = np.tile(q[:, None], T)
    y = call(mapped(m, m.outputs, T), [grid[None, :], states, q_tiled])[0].T  # (T, n_out)
    y_x, y_q = call(mapped(m, d.outputs, T), [grid[None, :], states, q_tiled])
    n_out, n = y.shape[1], len(x)
    y_x = y_x.reshape(n_out, T, n)[columns].transpose(1, 0, 2)  # horizontally stacked per time
    y_q = y_q.reshape(n_out, T, len(q))[columns].transpose(1, 0, 2)
    jacobian = np.matmul(y_x, S_all) + np.matmul(y_q, Q)
    return y[:, columns], jacobian


def _chain(jacobians: Sequence[ca.DM], S: np.ndarray, Q: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """d value = J_t dt + J_x S + J_q Q for a function of (t, x, q)."""
    j_t, j_x, j_q = (_num(v) for v in jacobians)
    rows = j_x.shape[0]
    return np.outer(j_t.ravel(), dt) + j_x.reshape(rows, -1) @ S + j_q.reshape(rows, -1) @ Q


# --- fixed event schedules: the whole computation chained into one (compiled) function -------


@dataclass
class _ChainSlot:
    seen: int = 0
    function: ca.Function | None = None  # p -> (outputs (K, T), d outputs (K, T * m), when)
    schedule: np.ndarray | None = None
    unusable: bool = False


_CHAINS: weakref.WeakKeyDictionary[CompiledModel, dict[tuple[object, ...], _ChainSlot]]
_CHAINS = weakref.WeakKeyDictionary()


def _chain_slot(
    m: CompiledModel, grid: np.ndarray, solver: AbstractSolver, selection: np.ndarray
) -> _ChainSlot:
    key = (solver, grid.tobytes(), selection.shape, selection.tobytes())
    return per_model_slot(_CHAINS, m, key, _ChainSlot, limit=16)


def _chained(
    m: CompiledModel,
    grid: np.ndarray,
    solver: AbstractSolver,
    selection: np.ndarray,
    p: np.ndarray,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Outputs (T, K) and Jacobian (T, K, dirs) from a chained schedule seen before, or None
    when there is none, ``p`` moves an event time, or the run fails (the replay explains)."""
    if not fixed_schedule(m):
        return None
    slot = _chain_slot(m, grid, solver, selection)
    if slot.function is None or slot.schedule is None:
        return None
    try:
        y, dy, when = bound(slot.function)(p)
    except RuntimeError:
        return None
    if not np.array_equal(when, slot.schedule, equal_nan=True):
        return None
    T, dirs = len(grid), selection.shape[1]
    values = y.reshape(T, -1)  # column-major (K, T)
    K = values.shape[1]
    jacobian = dy.reshape(T, dirs, K).transpose(0, 2, 1)  # column-major (K, T * dirs)
    if not (np.all(np.isfinite(values)) and np.all(np.isfinite(jacobian))):
        return None
    return values, jacobian


def _remember_chain(
    m: CompiledModel,
    grid: np.ndarray,
    solver: AbstractSolver,
    selection: np.ndarray,
    tape: list[Entry],
    schedule: np.ndarray,
) -> None:
    """From the second run with the same grid and directions, chain the tape with its forward
    derivative into one function (compiled with the solver), for the runs after it."""
    slot = _chain_slot(m, grid, solver, selection)
    slot.seen += 1
    if slot.seen < 2 or slot.unusable or slot.function is not None:
        return
    function = _chain_forward(m, grid, solver, selection, tape)
    if function is None:
        slot.unusable = True  # moving event times or state events: the replay handles them
        return
    slot.function, slot.schedule = function, schedule.copy()


def _chain_forward(
    m: CompiledModel,
    grid: np.ndarray,
    solver: AbstractSolver,
    selection: np.ndarray,
    tape: list[Entry],
) -> ca.Function | None:
    """The replay of ``_replay`` as one MX graph over the same (compiled) integrators and
    their forward derivatives, for schedules whose event times do not move with the
    directions (so dt = 0 throughout)."""
    if m.n_states == 0:
        return None
    d = _derivatives(m)
    integrators = segment_integrators(m, solver)
    dirs = selection.shape[1]
    p = ca.MX.sym("p", len(m.p0))
    x, q = m.init(float(grid[0]), p)
    seeds = ca.DM(selection)
    dx0_dp, dq_dp = d.init(float(grid[0]), p)
    S: Any = dx0_dp @ seeds
    Q: Any = dq_dp @ seeds
    recorded: dict[int, tuple[Any, Any]] = {0: (x, S)}
    at_trigger: dict[int, tuple[Any, Any]] = {}
    t = float(grid[0])
    n = m.n_states
    for entry in tape:
        if isinstance(entry, Integrate):
            targets = np.asarray(entry.targets, dtype=float)
            h = float(targets[-1] - t)
            rel = tuple(((targets - t) / h).tolist())
            params = ca.vertcat(q, t, h)
            nominal = integrators.get(rel)(x0=x, p=params)["xf"]
            forward = _forward(integrators, rel, dirs)
            seeds_p = ca.vertcat(Q, ca.MX.zeros(2, dirs))
            # inputs and outputs the forward derivative does not need stay empty
            inputs = _by_name(
                forward, ca.MX(), x0=x, p=params, out_xf=nominal, fwd_x0=S, fwd_p=seeds_p
            )
            sens = forward.call(inputs)[0]
            T = len(targets)
            for column, k in entry.recorded.items():
                recorded[k] = (
                    nominal[:, column],
                    ca.horzcat(*(sens[:, j * T + column] for j in range(dirs))),
                )
            x = nominal[:, -1]
            S = ca.horzcat(*(sens[:, j * T + T - 1] for j in range(dirs)))
            t = float(targets[-1])
        elif isinstance(entry, Trigger):
            e = entry.event
            _, v_x, v_q = d.values[e](t, x, q)
            at_trigger[entry.order] = (m.assignment_values[e](t, x, q), v_x @ S + v_q @ Q)
        elif isinstance(entry, Fire):
            e = entry.event
            found = at_trigger.get(entry.order)
            if found is None or not m.events[e].use_values_from_trigger_time:
                _, v_x, v_q = d.values[e](t, x, q)
                found = (m.assignment_values[e](t, x, q), v_x @ S + v_q @ Q)
            values, dvalues = found
            _, a_x, a_q, a_v = d.apply[e](t, x, q, values)
            S = a_x @ S + a_q @ Q + a_v @ dvalues
            x = m.apply_assignments[e](t, x, q, values)
        elif isinstance(entry, Record):
            recorded[entry.index] = (x, S)
        else:
            return None
    T = len(grid)
    if len(recorded) != T:
        return None
    states = ca.horzcat(*(recorded[k][0] for k in range(T)))
    outputs = mapped(m, m.outputs, T)(ca.DM(grid).T, states, ca.repmat(q, 1, T))
    y_x, y_q = mapped(m, d.outputs, T)(ca.DM(grid).T, states, ca.repmat(q, 1, T))
    per_time = []
    for k in range(T):  # d outputs at time k: (K, dirs)
        jx = y_x[:, k * n : (k + 1) * n]
        jq = y_q[:, k * q.numel() : (k + 1) * q.numel()]
        per_time.append(jx @ recorded[k][1] + jq @ Q)
    derivative = ca.horzcat(*per_time)  # (K, T * dirs), time-major
    when = event_time_vector(m, q)
    if _moving_event_times(when, p, selection):
        return None
    return ca.Function("chained_sensitivities", [p], [outputs, derivative, when])


def _moving_event_times(when: ca.MX, p: ca.MX, selection: np.ndarray) -> bool:
    """Whether an event time depends on a differentiated direction (then output times in
    that segment would move: the replay's job)."""
    sparsity = ca.Function("event_time_jac", [p], [ca.jacobian(when, p)]).sparsity_out(0)
    moving_columns = set(sparsity.get_col())
    directed = set(np.flatnonzero(np.any(selection != 0, axis=1)).tolist())
    return bool(moving_columns & directed)
