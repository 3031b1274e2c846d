"""Pre-equilibration, and steady-state (time = inf) measurements: the steady state of a condition
and its exact derivative with respect to the parameters, by the implicit function theorem on
the vector field plus conservation laws.

At the steady state x*(p): f(x*, q(p)) = 0 and L x* = L x0(p) for the conservation laws L, so

    [J; L] dx*/dp = [-f_q dq/dp; L dx0/dp],

a consistent system of full column rank at a regular steady state (solved by least squares).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import casadi as ca
import numpy as np

from immunetwin.engine import CompiledModel, SteadyStatus, steady_state
from immunetwin.engine._compile import StateKind
from immunetwin.engine._steady import _conservation_basis


@dataclass(frozen=True, eq=False)
class Preequilibrium:
    """A steady state: every output of the model (``ids``: the states and the other variables,
    in the unit math uses) in ``values`` and, when asked for, ``derivative[i, j]`` =
    d values[i] / d wrt[j] (wrt values also in their math unit)."""

    ok: bool
    ids: tuple[str, ...]
    values: np.ndarray
    derivative: np.ndarray | None
    message: str = ""


class _Functions:
    """CasADi pieces of one compiled model, built once: init, f and the state read-out with
    their Jacobians (the vector field frozen at t = 0, as ``steady_state`` does)."""

    def __init__(self, m: CompiledModel) -> None:
        _, x, q = m.symbols
        p = ca.SX.sym("p", len(m.parameter_ids))
        x0, q0 = m.init(0.0, p)
        self.init = ca.Function("init_jac", [p], [x0, q0, ca.jacobian(x0, p), ca.jacobian(q0, p)])
        f = m.rhs(0.0, x, q)
        self.field = ca.Function("field_jac", [x, q], [ca.jacobian(f, x), ca.jacobian(f, q)])
        v = m.outputs(0.0, x, q)
        self.read = ca.Function("read_jac", [x, q], [v, ca.jacobian(v, x), ca.jacobian(v, q)])
        self.laws = _conservation_basis(m)[0]


_FUNCTIONS: weakref.WeakKeyDictionary[CompiledModel, _Functions] = weakref.WeakKeyDictionary()


def _functions(m: CompiledModel) -> _Functions:
    found = _FUNCTIONS.get(m)
    if found is None:
        found = _FUNCTIONS[m] = _Functions(m)
    return found


def _dense(value: ca.DM) -> np.ndarray:
    return np.asarray(ca.DM(value).full(), dtype=float)


def _stored(m: CompiledModel, values: Mapping[str, float], q: np.ndarray) -> np.ndarray:
    """The state vector as stored (species as amounts) from values in their math unit."""
    x = np.zeros(m.n_states)
    for i, (id, kind) in enumerate(zip(m.state_ids, m.state_kinds, strict=True)):
        if kind is StateKind.VALUE:
            x[i] = values[id]
    sizes = dict(zip(m.species_ids, _dense(m.sizes(0.0, x, q)).ravel(), strict=True))
    for i, (id, kind) in enumerate(zip(m.state_ids, m.state_kinds, strict=True)):
        if kind is StateKind.AMOUNT:
            x[i] = values[id] * sizes.get(id, 1.0)
    return x


def preequilibrate(
    m: CompiledModel,
    parameters: Mapping[str, float],
    wrt: Sequence[str] | None,
    tolerance: float,
) -> Preequilibrium:
    """The steady state of ``m`` with ``parameters`` (and its derivative with respect to
    ``wrt`` when not None)."""
    result = steady_state(m, parameters=parameters, tolerance=tolerance)
    if result.status is not SteadyStatus.FOUND:
        values = np.full(len(m.output_ids), np.nan)
        return Preequilibrium(False, m.output_ids, values, None, result.message)
    fn = _functions(m)
    p = m.parameter_vector(parameters)
    x0, q, dx0, dq = (_dense(v) for v in fn.init(p))
    q = q.ravel()
    x = _stored(m, result.state, q)
    v, v_x, v_q = (_dense(a) for a in fn.read(x, q))
    values = v.ravel()
    if wrt is None:
        return Preequilibrium(True, m.output_ids, values, None)
    selection = np.zeros((len(p), len(wrt)))
    for j, w in enumerate(wrt):  # p is linear in each value (species convert by a factor)
        selection[m.parameter_index(w), j] = m.parameter_vector({**parameters, w: 1.0})[
            m.parameter_index(w)
        ]
    dx0 = dx0.reshape(m.n_states, len(p)) @ selection
    dq = dq.reshape(len(q), len(p)) @ selection
    f_x, f_q = (_dense(a) for a in fn.field(x, q))
    lhs = f_x.reshape(m.n_states, m.n_states)
    rhs = -f_q.reshape(m.n_states, len(q)) @ dq
    if fn.laws.size:
        lhs = np.vstack([lhs, fn.laws])
        rhs = np.vstack([rhs, fn.laws @ dx0])
    dx, *_ = np.linalg.lstsq(lhs, rhs, rcond=None)
    k = len(values)
    derivative = v_x.reshape(k, m.n_states) @ dx + v_q.reshape(k, len(q)) @ dq
    return Preequilibrium(True, m.output_ids, values, derivative)
