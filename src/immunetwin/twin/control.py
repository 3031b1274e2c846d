"""Optimal dosing under the twin's posterior, by gradient-based optimisation.

Decision variables: the amount of ``drug`` at each allowed dose time (slots; amounts between
0 and ``max_dose``, their sum at most ``max_cumulative``). The objective is a sample average
over posterior members (a robust, sample-average approximation):

    J(a) = mean_m [ smooth_peak(D_m(t; a)) ] + lambda * sum(a) / reference_course

with D the lung damage over the horizon and ``smooth_peak`` the p-norm (p = 8) of D over the
time grid, a differentiable stand-in for the peak. Its exact gradient comes from the
engine's forward sensitivities through the dosing events (``compose.dosing.dose_slots``
makes each amount a parameter); scipy's SLSQP handles the bounds and the cumulative-dose
constraint. Slots at least ``min_interval`` apart encode the minimal dosing interval.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize as scipy_optimize

from immunetwin.compose.dosing import Regimen, dose_slots
from immunetwin.engine import CVODES, compile_model, sensitivities
from immunetwin.errors import InvalidInputError
from immunetwin.twin.ensemble import Ensemble
from immunetwin.twin.model import TwinModel
from immunetwin.twin.therapy import REFERENCE_COURSE, STANDARD

P_NORM = 8.0
_SOLVER = CVODES(rtol=1e-6, atol=1e-9)


@dataclass(frozen=True)
class DosingProblem:
    drug: str
    times: tuple[float, ...]  # dose slots (patient days)
    max_dose: float  # mg per slot
    max_cumulative: float  # mg in total
    horizon: float
    exposure_weight: float = 0.005


@dataclass(frozen=True)
class DosingResult:
    regimen: Regimen | None  # None: no dose is worth giving
    amounts: np.ndarray
    objective: float
    objective_untreated: float
    iterations: int
    converged: bool
    message: str
    wall_s: float

    def to_json(self) -> dict[str, Any]:
        return {
            "regimen": None if self.regimen is None else self.regimen.to_dict(),
            "amounts": self.amounts.tolist(),
            "objective": self.objective,
            "objective_untreated": self.objective_untreated,
            "iterations": self.iterations,
            "converged": self.converged,
            "message": self.message,
            "wall_s": self.wall_s,
        }


def dosing_problem(
    drug: str,
    now: float,
    *,
    first_day: float | None = None,
    last_day: float | None = None,
    min_interval: float | None = None,
    max_dose: float | None = None,
    max_cumulative: float | None = None,
    horizon: float = 14.0,
    exposure_weight: float = 0.005,
) -> DosingProblem:
    """Slots every ``min_interval`` days from ``first_day`` to ``last_day`` (defaults from
    the drug's standard course: its dosing interval, twice its dose, its course total)."""
    if drug not in STANDARD:
        raise InvalidInputError(f"no standard course for '{drug}'; known: {', '.join(STANDARD)}")
    amount, offsets, _ = STANDARD[drug]
    interval = min_interval or (offsets[1] - offsets[0] if len(offsets) > 1 else 1.0)
    first = max(now, first_day if first_day is not None else now)
    last = last_day if last_day is not None else first + max(offsets[-1], interval)
    if last < first or interval <= 0:
        raise InvalidInputError(
            f"allowed days [{first:g}, {last:g}] with interval {interval:g} hold no dose slot"
        )
    times = tuple(float(t) for t in np.arange(first, last + 1e-9, interval))
    return DosingProblem(
        drug,
        times,
        max_dose if max_dose is not None else 2.0 * amount,
        max_cumulative if max_cumulative is not None else amount * len(offsets),
        horizon,
        exposure_weight,
    )


def optimise_dosing(
    twin: TwinModel,
    ensemble: Ensemble,
    problem: DosingProblem,
    *,
    given: Sequence[Regimen] = (),
    members: int = 16,
    seed: int = 0,
    max_iterations: int = 40,
) -> DosingResult:
    """Amounts per slot minimising the sample-average objective over ``members`` posterior
    members (drawn by weight)."""
    if twin.dose_target is None:
        raise InvalidInputError(f"twin model '{twin.name}' declares no dose targets")
    begin = time.perf_counter()
    if any(t < ensemble.time for t in problem.times):
        raise InvalidInputError("dose slots must not lie before the twin's current day")
    model, slot_ids = dose_slots(
        twin.build(given), problem.times, twin.dose_target(problem.drug), f"opt_{problem.drug}"
    )
    compiled = compile_model(model)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(ensemble.size, size=min(members, ensemble.size), p=ensemble.weights)
    grid = ensemble.time + np.linspace(0.0, problem.horizon, int(problem.horizon * 4) + 1)
    reference = REFERENCE_COURSE[problem.drug]

    def member_values(n: int, amounts: np.ndarray) -> dict[str, float]:
        values = dict(zip(ensemble.state_ids, map(float, ensemble.states[n]), strict=True))
        values.update(zip(ensemble.parameter_ids, map(float, ensemble.parameters[n]), strict=True))
        values.update(zip(slot_ids, map(float, amounts), strict=True))
        return values

    def objective(amounts: np.ndarray) -> tuple[float, np.ndarray]:
        total, gradient = 0.0, np.zeros(len(amounts))
        for n in chosen:
            result = sensitivities(
                compiled,
                grid,
                wrt=slot_ids,
                parameters=member_values(n, amounts),
                solver=_SOLVER,
            )
            if not result.status.ok:
                return math.inf, gradient
            k = result.ids.index("damage_D")
            damage = np.maximum(result.values[:, k], 0.0)
            mean_p = float(np.mean(damage**P_NORM))
            peak = mean_p ** (1.0 / P_NORM)
            # d peak / d D_i = peak^(1-p) * D_i^(p-1) / T
            weights = peak ** (1.0 - P_NORM) * damage ** (P_NORM - 1.0) / len(damage)
            total += peak
            gradient += weights @ result.jacobian[:, k, :]
        count = len(chosen)
        cost = problem.exposure_weight / reference
        return total / count + cost * float(np.sum(amounts)), gradient / count + cost

    x0 = np.zeros(len(slot_ids))
    untreated = objective(x0)[0]
    # start at half the cumulative limit spread evenly, and scale the objective (harm is a
    # fraction of tissue, differences of 1e-4 matter) so SLSQP's tolerances see them
    start = np.full(
        len(slot_ids), min(problem.max_dose, problem.max_cumulative / len(slot_ids)) / 2
    )
    scale = 1e3

    def scaled(amounts: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = objective(amounts)
        return scale * value, scale * gradient

    result = scipy_optimize.minimize(
        scaled,
        start,
        jac=True,
        method="SLSQP",
        bounds=[(0.0, problem.max_dose)] * len(slot_ids),
        constraints=[
            {
                "type": "ineq",
                "fun": lambda a: problem.max_cumulative - np.sum(a),
                "jac": lambda a: -np.ones_like(a),
            }
        ],
        options={"maxiter": max_iterations, "ftol": 1e-9},
    )
    amounts = np.where(result.x > 1e-3 * problem.max_dose, result.x, 0.0)
    best = float(result.fun) / scale
    if best >= untreated:  # no dose beats none
        amounts, best = np.zeros_like(amounts), untreated
    given_slots = [(t, float(a)) for t, a in zip(problem.times, amounts, strict=True) if a > 0]
    _, _, route = STANDARD[problem.drug]
    regimen = (
        Regimen(
            problem.drug, tuple(a for _, a in given_slots), tuple(t for t, _ in given_slots), route
        )
        if given_slots
        else None
    )
    return DosingResult(
        regimen,
        amounts,
        best,
        untreated,
        int(result.nit),
        bool(result.success),
        str(result.message),
        time.perf_counter() - begin,
    )
