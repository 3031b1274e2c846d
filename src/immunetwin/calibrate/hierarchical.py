"""Hierarchical optimisation: noise parameters solved in closed form inside each evaluation.

A noise parameter ``sigma`` that is a plain estimated parameter (the observable's noise formula
is just ``noiseParameter1_<id>`` set to ``sigma`` in the measurement table, or the parameter
id itself), touching neither the model nor any observable formula, has for fixed other
parameters an optimum in closed form (Loos et al. 2018): over the measurements ``R`` it
belongs to, with ``r`` the residual on each observable's transformation,

    normal noise:   sigma^2 = mean over R of r^2
    Laplace noise:  sigma   = mean over R of |r|

(clipped to the parameter's bounds). The outer optimiser then searches only the other
parameters and sees the *profiled* objective ``min_sigma nllh(theta, sigma)``: its gradient is
the partial gradient at the optimal sigma (the envelope theorem) and its Gauss-Newton Hessian
the Schur complement of the Fisher information on the inner block. A parameter with an
objective prior stays outer (its optimum is no longer the closed form).

Every evaluation simulates once: the objective keeps the last simulation, so re-evaluating
the likelihood with the optimal sigma costs no integration.

References
----------
Loos C, Krause S, Hasenauer J (2018). Hierarchical optimization for the efficient
parametrization of ODE models. Bioinformatics 34(24):4266-4273.
Schmiester L, Schälte Y, Fröhlich F, Hasenauer J, Weindl D (2020). Efficient parameterization
of large-scale dynamic models based on relative measurements. Bioinformatics 36(2):594-602.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

from immunetwin.calibrate._evaluation import Evaluation, ObjectiveStatus
from immunetwin.calibrate._formulas import parse, placeholder
from immunetwin.calibrate._formulas import symbol_names as names_of
from immunetwin.calibrate._objective import Objective
from immunetwin.calibrate._problem import (
    CalibrationProblem,
    Measurement,
    NoiseDistribution,
    Observable,
    Scale,
)


@dataclass(frozen=True)
class InnerNoise:
    """A noise parameter solved in closed form: estimated parameter ``index`` (into the full
    vector), the sigma of measurements ``rows``."""

    id: str
    index: int
    rows: np.ndarray
    noise: NoiseDistribution


class HierarchicalObjective:
    """The profiled objective over the *outer* parameters of ``objective`` (every estimated
    parameter but the noise parameters found solvable in closed form, :attr:`inner`).

    ``x`` given to :meth:`evaluate` holds the outer parameters (:attr:`outer_ids`) on their
    scales; the evaluation it returns is the full objective's at :meth:`full_x` (the inner
    parameters at their optimum), with gradient and Fisher information of the full vector
    (reduce them with :meth:`profiled`).
    """

    def __init__(self, objective: Objective) -> None:
        self.objective = objective
        self.problem: CalibrationProblem = objective.problem
        self.inner: tuple[InnerNoise, ...] = _find_inner(objective)
        inner_index = {s.index for s in self.inner}
        n = len(self.problem.estimated)
        self.outer_index = np.array([j for j in range(n) if j not in inner_index], dtype=int)
        self.inner_index = np.array([s.index for s in self.inner], dtype=int)
        ids = self.problem.estimated_ids
        self.outer_ids: tuple[str, ...] = tuple(ids[j] for j in self.outer_index)
        self.inner_ids: tuple[str, ...] = tuple(s.id for s in self.inner)
        self._lower, self._upper = self.problem.bounds_x()
        self._nominal = self.problem.nominal_x()
        ms = self.problem.measurements
        self._values = np.array([m.value for m in ms], dtype=float)
        observables = {o.id: o for o in self.problem.observables}
        self._transform = [observables[m.observable_id].transformation for m in ms]

    def bounds_x(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) of the outer parameters on their scales."""
        return self._lower[self.outer_index], self._upper[self.outer_index]

    def outer(self, x_full: np.ndarray) -> np.ndarray:
        return np.asarray(x_full, dtype=float)[self.outer_index]

    def full_x(self, x_outer: Sequence[float] | np.ndarray) -> np.ndarray:
        """The full parameter vector: ``x_outer`` with the inner parameters at their optimum."""
        return self.evaluate(x_outer).x

    def evaluate(
        self, x_outer: Sequence[float] | np.ndarray, *, gradient: bool = False, fisher: bool = False
    ) -> Evaluation:
        """The full objective at ``x_outer`` with every inner parameter at its optimum."""
        x = self._nominal.copy()
        x[self.outer_index] = np.asarray(x_outer, dtype=float)
        if not self.inner:
            return self.objective.evaluate(x, gradient=gradient, fisher=fisher)
        first = self.objective.evaluate(x, gradient=gradient or fisher)
        if first.status in _FAILED:
            return first
        x = self.optimal_inner(x, first.simulation)
        return self.objective.evaluate(x, gradient=gradient, fisher=fisher)  # no integration

    def optimal_inner(self, x: np.ndarray, simulation: np.ndarray) -> np.ndarray:
        """``x`` with each inner noise parameter set to its closed-form optimum given the
        simulated observables ``simulation`` (one per measurement, before transformation)."""
        x = np.array(x, dtype=float)
        for s in self.inner:
            residuals = np.array(
                [
                    _transformed(self._transform[i], simulation[i])
                    - _transformed(self._transform[i], self._values[i])
                    for i in s.rows
                ]
            )
            if not np.all(np.isfinite(residuals)):
                continue  # the likelihood is not finite anyway; keep the value
            if s.noise is NoiseDistribution.NORMAL:
                sigma = math.sqrt(float(np.mean(residuals**2)))
            else:
                sigma = float(np.mean(np.abs(residuals)))
            scale = self.problem.estimated[s.index].scale
            if sigma > 0:
                value = scale.to_scale(sigma)
            else:  # a perfect fit: the lower bound
                value = 0.0 if scale is Scale.LIN else -math.inf
            x[s.index] = float(np.clip(value, self._lower[s.index], self._upper[s.index]))
        return x

    def profiled(self, evaluation: Evaluation) -> tuple[np.ndarray, np.ndarray | None]:
        """Gradient and Fisher information of the profiled objective over the outer parameters:
        the outer block of the gradient (the inner one vanishes at the optimum) and the Schur
        complement ``F_oo - F_oi F_ii^+ F_io`` of the Fisher information."""
        assert evaluation.gradient is not None
        o, i = self.outer_index, self.inner_index
        gradient = evaluation.gradient[o]
        if evaluation.fisher is None:
            return gradient, None
        f = evaluation.fisher
        if not len(i):
            return gradient, f[np.ix_(o, o)]
        coupling = f[np.ix_(o, i)]
        schur = f[np.ix_(o, o)] - coupling @ np.linalg.pinv(f[np.ix_(i, i)]) @ coupling.T
        return gradient, 0.5 * (schur + schur.T)


_FAILED = (ObjectiveStatus.SIMULATION_FAILED, ObjectiveStatus.STEADY_STATE_FAILED)


def _transformed(scale: Scale, value: float) -> float:
    if scale is Scale.LIN:
        return float(value)
    if value <= 0:
        return math.nan
    return math.log(value) if scale is Scale.LOG else math.log10(value)


def _find_inner(objective: Objective) -> tuple[InnerNoise, ...]:
    """The estimated parameters that are a plain sigma wherever they appear (see the module
    docstring), with the measurements they are the sigma of."""
    problem = objective.problem
    estimated = {p.id: j for j, p in enumerate(problem.estimated)}
    excluded = {problem.estimated_ids[j] for j in objective.simulated_parameters}
    excluded |= {p.id for p in problem.estimated if p.objective_prior is not None}
    rows: dict[str, list[int]] = {}
    noise: dict[str, set[NoiseDistribution]] = {}
    parsed = {o.id: (parse(o.formula), parse(o.noise_formula)) for o in problem.observables}
    observables = {o.id: o for o in problem.observables}
    for i, m in enumerate(problem.measurements):
        o = observables[m.observable_id]
        formula, noise_formula = parsed[o.id]
        condition = problem.condition(m.simulation_condition_id).as_dict()
        # every estimated parameter the observable formula reads is outer
        for name in names_of(formula):
            found = _resolve(name, o, m, condition, estimated)
            if found is not None:
                excluded.add(found)
        names = names_of(noise_formula)
        if isinstance(noise_formula, sp.Symbol) and len(names) == 1:
            found = _resolve(noise_formula.name, o, m, condition, estimated)
            if found is not None:
                rows.setdefault(found, []).append(i)
                noise.setdefault(found, set()).add(o.noise_distribution)
            continue
        for name in names:  # a noise formula that is more than one parameter
            found = _resolve(name, o, m, condition, estimated)
            if found is not None:
                excluded.add(found)
    return tuple(
        InnerNoise(id, estimated[id], np.array(rows[id], dtype=int), next(iter(noise[id])))
        for id in problem.estimated_ids
        if id in rows and id not in excluded and len(noise[id]) == 1
    )


def _resolve(
    name: str,
    o: Observable,
    m: Measurement,
    condition: dict[str, float | str],
    estimated: dict[str, int],
) -> str | None:
    """The estimated parameter a formula symbol stands for in measurement ``m``, if any."""
    held = placeholder(name)
    value: float | str = name
    if held is not None and held[2] == o.id:
        kind, index, _ = held
        values = m.observable_parameters if kind == "observable" else m.noise_parameters
        if index > len(values):
            return None
        value = values[index - 1]
    elif name in condition:
        value = condition[name]
    return value if isinstance(value, str) and value in estimated else None


__all__ = ["HierarchicalObjective", "InnerNoise"]
