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

import casadi as ca
import numpy as np

from immunetwin.engine._buffers import bound, call
from immunetwin.engine._compile import CompiledModel, compile_model
from immunetwin.engine._results import Status
from immunetwin.engine._simulate import (
    check_times,
    mapped,
    run_trajectory,
    segment_integrators,
)
from immunetwin.engine._solvers import CVODES, AbstractSolver, SegmentIntegrators
from immunetwin.engine._tape import Entry, Fire, Integrate, Root, Trigger
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
        if integrators.solver.jit:
            from immunetwin.engine._jit import compiled

            raw = compiled(raw, integrators.key(grid) + f"|forward{m}")
        if len(cache) > 64:
            cache.clear()
        found = cache[key] = raw
    return found


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
        forward = bound(_forward(self.integrators, grid, m_dirs))
        # inputs: 7 nominal inputs, 7 nominal outputs, then the 7 forward seeds
        args: list[np.ndarray | float] = [x, 0.0, params, 0.0, 0.0, 0.0, 0.0]
        args += [nominal, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        args += [S.ravel(order="F"), 0.0, seeds_p.ravel(order="F")]
        sens = forward(*args)[0].reshape(m_dirs, T, n)  # column-major (n, T*m)
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
    # p = p_num with p[index] = factor * value; the factor converts species values given in
    # their math unit into the declared quantity (parameter_vector is linear in each value).
    selection = np.zeros((len(p_num), len(wrt)))
    for j, (w, i) in enumerate(zip(wrt, indices, strict=True)):
        selection[i, j] = compiled.parameter_vector({**(parameters or {}), w: 1.0})[i]
    values, jacobian = _replay(compiled, solver, tape, grid, p_num, selection, columns)
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
