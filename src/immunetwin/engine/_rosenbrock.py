"""RODAS: a stiff Rosenbrock 4(3) method that steps every ensemble member at once.

One compiled function takes a step of every member (each with its own time and step size);
NumPy does the step-size control across members. Stiff models (the pneumonia model's killing
terms reach rates of hundreds per day) need hundreds of steps with an explicit method and
pay CVODES's per-member overhead with an implicit one; here the Jacobian, a sparse LU
factorisation and the six stages are one straight-line C function per member-step.

The method is Hairer & Wanner's RODAS (Solving ODEs II, 2nd ed., section VI.4; coefficients
of their ``rodas.f``, METH=1): L-stable and stiffly accurate, so its error estimate stays
reliable for decaying stiff components, which is where a non-L-stable Rosenbrock pair
(e.g. Shampine's) shrinks its steps to nothing.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import casadi as ca
import numpy as np
import scipy.sparse as sparse
from scipy.sparse.csgraph import reverse_cuthill_mckee

from immunetwin.engine._buffers import Bound
from immunetwin.engine._compile import CompiledModel

GAMMA = 0.25
_A = {
    (2, 1): 1.544,
    (3, 1): 0.9466785280815826,
    (3, 2): 0.2557011698983284,
    (4, 1): 3.314825187068521,
    (4, 2): 2.896124015972201,
    (4, 3): 0.9986419139977817,
    (5, 1): 1.221224509226641,
    (5, 2): 6.019134481288629,
    (5, 3): 12.53708332932087,
    (5, 4): -0.6878860361058950,
}
_C = {
    (2, 1): -5.6688,
    (3, 1): -2.430093356833875,
    (3, 2): -0.2063599157091915,
    (4, 1): -0.1073529058151375,
    (4, 2): -9.594562251023355,
    (4, 3): -20.47028614809616,
    (5, 1): 7.496443313967647,
    (5, 2): -10.24680431464352,
    (5, 3): -33.99990352819905,
    (5, 4): 11.70890893206160,
    (6, 1): 8.083246795921522,
    (6, 2): -7.981132988064893,
    (6, 3): -31.52159432874371,
    (6, 4): 16.31930543123136,
    (6, 5): -6.058818238834054,
}
_NODES = {1: 0.0, 2: 0.386, 3: 0.21, 4: 0.63, 5: 1.0, 6: 1.0}
_TIME_TERMS = {1: 0.25, 2: -0.1043, 3: 0.1035, 4: -0.0362, 5: 0.0, 6: 0.0}
ORDER = 4  # of the solution; the error estimate is of order 3


def _fill_reducing_order(pattern: ca.Sparsity) -> np.ndarray:
    """Reverse Cuthill-McKee on the symmetrised pattern: keeps LU fill-in small."""
    n = pattern.size1()
    rows, cols = pattern.get_triplet()
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    order = reverse_cuthill_mckee((matrix + matrix.T).tocsr(), symmetric_mode=True)
    return np.asarray(order[::-1])


def _sparse_lu_solver(matrix: ca.SX) -> Callable[[ca.SX], ca.SX]:
    """Symbolic LU without pivoting over the structural nonzeros; returns ``b -> matrix \\ b``.

    The matrix is ``I/(gamma h) - J``: for small ``h`` it is diagonally dominant, so a step
    whose pivots break down gives non-finite values, which the step control rejects and
    retries with a smaller ``h``.
    """
    n = matrix.size1()
    rows, cols = matrix.sparsity().get_triplet()
    entries: list[dict[int, ca.SX]] = [{} for _ in range(n)]
    for i, j in zip(rows, cols, strict=True):
        entries[i][j] = matrix[i, j]
    for k in range(n):
        pivot = entries[k][k]
        upper = [(j, u) for j, u in entries[k].items() if j > k]
        for i in range(k + 1, n):
            if k in entries[i]:
                factor = entries[i][k] / pivot
                entries[i][k] = factor
                for j, u in upper:
                    entries[i][j] = entries[i].get(j, 0) - factor * u

    def solve(b: ca.SX) -> ca.SX:
        y: list[ca.SX] = []
        for i in range(n):
            value = b[i]
            for j, factor in entries[i].items():
                if j < i:
                    value = value - factor * y[j]
            y.append(value)
        x: list[ca.SX] = [ca.SX(0)] * n
        for i in reversed(range(n)):
            value = y[i]
            for j, u in entries[i].items():
                if j > i:
                    value = value - u * x[j]
            x[i] = value / entries[i][i]
        return ca.vertcat(*x)

    return solve


def step_function(
    model: CompiledModel, rtol: float, atol: float, nominal: np.ndarray
) -> ca.Function:
    """``(x, q, t, h) -> (x after one step, scaled RMS error)`` for one member.

    The error of state i is measured against ``nominal_i atol + rtol max(|x_i|, |x_new_i|)``
    (CVODES's weighted RMS norm); a step is acceptable when the norm is at most 1.
    """
    t, x, q = model.symbols
    n = model.n_states
    order = _fill_reducing_order(ca.jacobian(model.ode, x).sparsity() + ca.Sparsity.diag(n))
    back = np.argsort(order)
    z = ca.SX.sym("z", n)  # the states in elimination order
    ode = ca.substitute(model.ode, x, z[back.tolist()])[order.tolist()]
    rhs = ca.Function("rhs", [t, z, q], [ode])
    h = ca.SX.sym("h")
    jacobian = ca.jacobian(ode, z)
    time_derivative = ca.jacobian(ode, t)
    solve = _sparse_lu_solver(ca.SX.eye(n) / (GAMMA * h) - jacobian)
    stages: dict[int, ca.SX] = {}
    u = z
    for i in range(1, 7):
        if 2 <= i <= 5:
            u = z + sum((_A[(i, j)] * stages[j] for j in range(1, i)), ca.SX.zeros(n))
        elif i == 6:
            u = u + stages[5]
        slope = ode if i == 1 else rhs(t + _NODES[i] * h, u, q)
        coupling = sum((_C[(i, j)] / h * stages[j] for j in range(1, i)), ca.SX.zeros(n))
        stages[i] = solve(slope + h * _TIME_TERMS[i] * time_derivative + coupling)
    new = u + stages[6]
    weights = ca.DM(nominal[order]) * atol + rtol * ca.fmax(ca.fabs(z), ca.fabs(new))
    error = ca.sqrt(ca.sumsqr(stages[6] / weights) / max(n, 1))
    inner = ca.Function("rodas_inner", [z, q, t, h], [new, error])
    x_in = ca.SX.sym("x", n)
    stepped, norm = inner(x_in[order.tolist()], q, t, h)
    return ca.Function("rodas_step", [x_in, q, t, h], [stepped[back.tolist()], norm])


@dataclass(frozen=True)
class StepFailure:
    member: int
    message: str


class BatchStepper:
    """Steps many members at once through maps of the compiled step (sizes: powers of two;
    a batch is padded to the next one, so at most half the work of a map is padding)."""

    CHUNK = 256

    def __init__(self, step: ca.Function, n_states: int) -> None:
        self.step = step
        self.n = n_states
        self._bound: dict[int, Bound] = {}

    def _mapped(self, size: int) -> Bound:
        found = self._bound.get(size)
        if found is None:
            found = self._bound[size] = Bound(self.step.map(size))
        return found

    def __call__(
        self, x: np.ndarray, q: np.ndarray, t: np.ndarray, h: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        count = len(t)
        new = np.empty_like(x)
        error = np.empty(count)
        for begin in range(0, count, self.CHUNK):
            part = slice(begin, min(begin + self.CHUNK, count))
            k = part.stop - part.start
            size = 1 << (k - 1).bit_length()
            rows = np.arange(part.start, part.stop)
            if size > k:
                rows = np.concatenate([rows, np.full(size - k, part.start)])
            stepped, norm = self._mapped(size)(x[rows].ravel(), q[rows].ravel(), t[rows], h[rows])
            new[part] = stepped.reshape(size, self.n)[:k]
            error[part] = norm[:k]
        return new, error


def integrate_batch(
    stepper: BatchStepper,
    x0: np.ndarray,
    q: np.ndarray,
    start: np.ndarray,
    targets: np.ndarray,
    max_steps: int,
    initial_step: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, list[StepFailure]]:
    """Every member from ``x0[m]`` at ``start[m]`` through its increasing ``targets[m]``
    (all after ``start[m]``).

    Returns the states at the targets ``(N, T, n)`` (NaN from a member's failure on), the
    step sizes to continue with, and the failures.
    """
    count, steps_out = targets.shape
    out = np.empty((count, steps_out, stepper.n))  # unreached rows become NaN at the end
    x = np.array(x0, dtype=float, copy=True)
    t = np.array(start, dtype=float, copy=True)
    span = np.maximum(targets[:, -1] - t, 1e-300)
    h = initial_step.copy() if initial_step is not None else 1e-4 * span
    h = np.minimum(h, span)
    following = np.zeros(count, dtype=int)
    attempts = np.zeros(count, dtype=int)
    rejected = np.zeros(count, dtype=bool)
    active = np.ones(count, dtype=bool)
    failures: list[StepFailure] = []
    while active.any():
        idx = np.flatnonzero(active)
        goal = targets[idx, following[idx]]
        remaining = goal - t[idx]
        reach = remaining <= 1.05 * h[idx]
        trial = np.where(reach, remaining, h[idx])
        new, error = stepper(x[idx], q[idx], t[idx], trial)
        finite = np.isfinite(error) & np.all(np.isfinite(new), axis=1)
        ok = finite & (error <= 1.0)
        accepted = idx[ok]
        x[accepted] = new[ok]
        t[accepted] = np.where(reach[ok], goal[ok], t[accepted] + trial[ok])
        arrived = accepted[reach[ok]]
        out[arrived, following[arrived]] = x[arrived]
        following[arrived] += 1
        active[arrived[following[arrived] >= steps_out]] = False
        # Step size: the usual controller for an order-3 estimate, no growth right after a
        # rejection, a hard cut on non-finite steps; a step shortened to land on a target
        # does not shrink the next one.
        safe = np.where(finite, np.maximum(error, 1e-10), np.inf)
        factor = np.clip(0.9 * safe ** (-1.0 / ORDER), 0.2, 6.0)
        factor = np.where(finite, factor, 0.25)
        factor = np.where(ok & rejected[idx], np.minimum(factor, 1.0), factor)
        proposal = trial * factor
        h[idx] = np.where(ok & reach, np.maximum(h[idx], proposal), proposal)
        rejected[idx] = ~ok
        attempts[idx] += 1
        too_many = active[idx] & (attempts[idx] >= max_steps)
        too_small = active[idx] & (h[idx] <= 1e-14 * np.maximum(1.0, np.abs(t[idx])))
        for position in np.flatnonzero(too_many | too_small):
            member = int(idx[position])
            active[member] = False
            reason = (
                f"more than {max_steps} steps"
                if too_many[position]
                else "the step size underflowed"
            )
            failures.append(
                StepFailure(
                    member,
                    f"RODAS stopped at t = {t[member]:g}: {reason}; try CVODES(), a larger "
                    "max_steps or looser tolerances",
                )
            )
    for failure in failures:
        out[failure.member, following[failure.member] :] = np.nan
    return out, h, failures


_STEPPERS: weakref.WeakKeyDictionary[CompiledModel, dict[tuple[object, ...], BatchStepper]]
_STEPPERS = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def stepper_for(
    model: CompiledModel, rtol: float, atol: float, nominal: np.ndarray, jit: bool
) -> BatchStepper:
    """The (cached) batch stepper of ``model`` at these tolerances, C-compiled when ``jit``."""
    key = (rtol, atol, jit, nominal.tobytes())
    with _LOCK:
        per_model = _STEPPERS.setdefault(model, {})
        found = per_model.get(key)
        if found is not None:
            return found
    raw = step_function(model, rtol, atol, nominal)
    step = raw
    if jit:
        from immunetwin.engine._jit import compiled

        step = compiled(raw, f"{ca.CasadiMeta.version()}|rodas|{rtol}|{atol}|{model.ode}")
    found = BatchStepper(step, model.n_states)
    with _LOCK:
        per_model[key] = found
    return found
