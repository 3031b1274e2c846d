"""Steady states: Newton (trust-region least squares) from a guess, continued in time when
Newton alone fails, with conservation laws kept and the reduced Jacobian's eigenvalues.

Events are not applied (a steady state is a property of the vector field); time-dependent
right-hand sides are frozen at the start time.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

import casadi as ca
import numpy as np
import scipy.linalg
import scipy.optimize

from immunetwin.engine._compile import CompiledModel, StateKind, compile_model
from immunetwin.engine._simulate import run_trajectory
from immunetwin.engine._solvers import CVODES
from immunetwin.errors import SteadyStateError, UnknownIdentifierError
from immunetwin.ir import Model


class SteadyStatus(enum.Enum):
    FOUND = "found"
    NOT_CONVERGED = "not_converged"


@dataclass(frozen=True, eq=False)
class SteadyStateResult:
    """``state`` maps state ids to values (species in their math unit)."""

    status: SteadyStatus
    state: dict[str, float]
    eigenvalues: np.ndarray  # complex, of the Jacobian reduced by conservation laws
    stable: bool
    residual: float
    message: str = ""
    conservation_laws: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "status": self.status.value,
            "state": self.state,
            "eigenvalues": [[float(v.real), float(v.imag)] for v in self.eigenvalues],
            "stable": self.stable,
            "residual": self.residual,
            "message": self.message,
        }


def _conservation_basis(model: CompiledModel) -> tuple[np.ndarray, np.ndarray]:
    """(L, Q): rows of L are conservation laws (L dx/dt = 0 for every x); the orthonormal
    columns of Q span the directions the dynamics can move in.

    dx/dt = S v, where S holds the reaction stoichiometry for species moved by reactions and a
    unit column for each state under a rate rule; states moved only by events are conserved.
    """
    n = model.n_states
    rate_ruled = {rule.variable for rule in model.model.rate_rules}
    species = {s.id: s for s in model.model.species}
    index = {
        id: i
        for i, (id, kind) in enumerate(zip(model.state_ids, model.state_kinds, strict=True))
        if kind is StateKind.AMOUNT
        and id not in rate_ruled
        and not (species[id].boundary_condition or species[id].constant)
    }
    columns = []
    for r in model.model.reactions:
        column = np.zeros(n)
        for ref in r.products:
            if ref.species in index:
                column[index[ref.species]] += ref.stoichiometry
        for ref in r.reactants:
            if ref.species in index:
                column[index[ref.species]] -= ref.stoichiometry
        columns.append(column)
    for i, id in enumerate(model.state_ids):
        if id in rate_ruled:
            columns.append(np.eye(n)[i])
    stoich = np.column_stack(columns) if columns else np.zeros((n, 0))
    if n == 0:
        return np.zeros((0, 0)), np.zeros((0, 0))
    return scipy.linalg.null_space(stoich.T).T, scipy.linalg.orth(stoich)


def steady_state(
    model: Model | CompiledModel,
    *,
    parameters: Mapping[str, float] | None = None,
    guess: Mapping[str, float] | None = None,
    tolerance: float = 1e-9,
    throw: bool = False,
) -> SteadyStateResult:
    """Find a steady state near ``guess`` (state ids, species in their math unit).

    Newton's method runs first; if it fails the model is integrated forward (t = 10, 100, ...,
    1e6) and Newton restarts from each point. Conservation laws of the reaction network hold
    the totals of the initial state (or of the guess).
    """
    compiled = model if isinstance(model, CompiledModel) else compile_model(model)
    p = compiled.parameter_vector(parameters)
    x0_dm, q_dm = compiled.init(0.0, p)
    x0 = np.asarray(x0_dm, dtype=float).ravel()
    q = np.asarray(q_dm, dtype=float).ravel()
    sizes = np.asarray(compiled.sizes(0.0, x0, q), dtype=float).ravel()
    size_of = dict(zip(compiled.species_ids, sizes, strict=True))
    for id, value in (guess or {}).items():
        if id not in compiled.state_ids:
            raise UnknownIdentifierError(
                f"cannot guess '{id}': expected a state variable of the model "
                f"({', '.join(compiled.state_ids)})"
            )
        i = compiled.state_ids.index(id)
        scale = size_of.get(id, 1.0) if compiled.state_kinds[i] is StateKind.AMOUNT else 1.0
        x0[i] = float(value) * scale

    t, x, qs = compiled.symbols
    f = ca.Function("f", [x, qs], [ca.substitute(compiled.ode, t, 0.0)])
    jac = ca.Function("J", [x, qs], [ca.jacobian(ca.substitute(compiled.ode, t, 0.0), x)])
    laws, moving = _conservation_basis(compiled)
    totals = laws @ x0 if laws.size else np.zeros(0)
    n = compiled.n_states

    def residual(v: np.ndarray) -> np.ndarray:
        rates = np.asarray(f(v, q), dtype=float).ravel()
        return np.concatenate([rates, laws @ v - totals]) if laws.size else rates

    def jacobian(v: np.ndarray) -> np.ndarray:
        j = np.asarray(jac(v, q), dtype=float).reshape(n, n)
        return np.vstack([j, laws]) if laws.size else j

    def converged(v: np.ndarray) -> tuple[bool, float]:
        rates = np.asarray(f(v, q), dtype=float).ravel()
        scale = np.abs(v) + 1e-6 * max(1.0, float(np.max(np.abs(v), initial=0.0)))
        worst = float(np.max(np.abs(rates) / scale, initial=0.0))
        return bool(np.all(np.isfinite(v)) and worst <= tolerance), worst

    def newton(start: np.ndarray) -> np.ndarray | None:
        if n == 0:
            return start
        try:
            solution = scipy.optimize.least_squares(
                residual,
                start,
                jac=jacobian,
                method="lm" if n <= 2 * len(residual(start)) else "trf",
                xtol=1e-15,
                ftol=1e-15,
                gtol=1e-15,
                max_nfev=2000,
                x_scale="jac",
            )
        except (ValueError, np.linalg.LinAlgError):
            return None
        return solution.x if np.all(np.isfinite(solution.x)) else None

    best: tuple[float, np.ndarray] | None = None
    found = None
    solution = newton(x0)
    if solution is not None:
        ok, worst = converged(solution)
        best = (worst, solution)
        if ok:
            found = solution
    if found is None:
        horizons = np.array([0.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6])
        traj = run_trajectory(compiled, horizons, p, CVODES(1e-8, 1e-12))
        for k in range(1, len(horizons)):
            column = traj.states[:, k]
            if not np.all(np.isfinite(column)):
                break
            solution = newton(column)
            if solution is None:
                continue
            ok, worst = converged(solution)
            if best is None or worst < best[0]:
                best = (worst, solution)
            if ok:
                found = solution
                break
    status = SteadyStatus.FOUND if found is not None else SteadyStatus.NOT_CONVERGED
    point = found if found is not None else (best[1] if best is not None else x0)
    worst = converged(point)[1]
    j_full = np.asarray(jac(point, q), dtype=float).reshape(n, n) if n else np.zeros((0, 0))
    reduced = moving.T @ j_full @ moving if moving.shape[1] < n else j_full
    eigenvalues = np.linalg.eigvals(reduced) if reduced.size else np.zeros(0, dtype=complex)
    eigenvalues = eigenvalues[np.argsort(-eigenvalues.real)]
    stable = bool(eigenvalues.size == 0 or np.max(eigenvalues.real) < 0)
    sizes = np.asarray(compiled.sizes(0.0, point, q), dtype=float).ravel()
    size_of = dict(zip(compiled.species_ids, sizes, strict=True))
    state = {}
    for i, id in enumerate(compiled.state_ids):
        value = float(point[i])
        if compiled.state_kinds[i] is StateKind.AMOUNT:
            value /= size_of.get(id, 1.0)
        state[id] = float(value)
    message = (
        ""
        if found is not None
        else (
            f"no steady state found (best scaled residual {worst:.3g} > {tolerance:g}); give a "
            "--guess closer to the equilibrium, or the model may oscillate or diverge"
        )
    )
    result = SteadyStateResult(
        status, state, eigenvalues, stable, worst, message, int(laws.shape[0]) if laws.size else 0
    )
    if throw and found is None:
        raise SteadyStateError(message)
    return result
