"""Population priors: a distribution of parameters across individuals, fitted from several
individuals' data, then used as the prior for a new individual with sparse data.

Method (an EM algorithm with a Laplace approximation of each individual's posterior - the
first-order conditional estimation used in NLME software, written out over our exact-gradient
fits; Python has no mature NLME package). On the parameters' scales (so log-scaled
parameters are log-normal across the population) the model is

    x_i ~ Normal(mu, Omega),  Omega diagonal,   data_i | x_i ~ the problem's likelihood.

Each iteration (1) finds each individual's MAP estimate under the current Normal(mu, Omega)
prior, warm-started from the previous one; (2) approximates that posterior by a Gaussian
(mean x_i, covariance S_i from the Hessian); (3) sets mu = mean(x_i) and
Omega_jj = mean((x_ij - mu_j)^2 + S_i,jj). It stops when mu and the standard deviations
change by less than ``tolerance`` (on the scale). The first iteration uses a flat prior over
the bounds and a few multistart starts per individual.

``PopulationPrior.apply(problem)`` writes the result into a problem as independent
``parameterScaleNormal`` objective priors (PEtab v1 priors are independent, hence the diagonal
Omega), truncated to the problem's bounds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from immunetwin.calibrate._objective import Objective
from immunetwin.calibrate._problem import CalibrationProblem, Prior, PriorType
from immunetwin.calibrate.optimize import LBFGSB, optimize
from immunetwin.calibrate.uncertainty import laplace
from immunetwin.errors import InvalidInputError


@dataclass(frozen=True)
class PopulationPrior:
    parameter_ids: tuple[str, ...]
    scales: tuple[str, ...]
    mean: np.ndarray  # on the parameters' scales
    sd: np.ndarray
    individuals: np.ndarray  # (n, d) MAP estimates at the last iteration
    iterations: int
    converged: bool

    def apply(self, problem: CalibrationProblem) -> CalibrationProblem:
        """``problem`` with this population as its objective priors."""
        missing = set(self.parameter_ids) - set(problem.estimated_ids)
        if missing:
            raise InvalidInputError(
                f"the problem does not estimate {', '.join(sorted(missing))}, which the "
                "population prior describes; estimate the same parameters"
            )
        by_id = dict(zip(self.parameter_ids, zip(self.mean, self.sd, strict=True), strict=True))
        parameters = []
        for p in problem.parameters:
            if p.id in by_id:
                mean, sd = by_id[p.id]
                prior = Prior(PriorType.PARAMETER_SCALE_NORMAL, (float(mean), float(sd)))
                p = dataclasses.replace(p, objective_prior=prior, initialization_prior=prior)
            parameters.append(p)
        return dataclasses.replace(problem, parameters=tuple(parameters))

    def to_json(self) -> dict[str, Any]:
        return {
            "method": "EM with Laplace-approximated individual posteriors (diagonal Omega)",
            "iterations": self.iterations,
            "converged": self.converged,
            "parameters": {
                id: {"scale": scale, "mean": float(m), "sd": float(s)}
                for id, scale, m, s in zip(
                    self.parameter_ids, self.scales, self.mean, self.sd, strict=True
                )
            },
        }


def _with_prior(problem: CalibrationProblem, mean: np.ndarray, sd: np.ndarray) -> Objective:
    prior = PopulationPrior(problem.estimated_ids, (), mean, sd, np.empty((0, len(mean))), 0, False)
    return Objective(prior.apply(problem))


def fit_population(
    problems: Sequence[CalibrationProblem],
    *,
    max_iterations: int = 20,
    tolerance: float = 1e-3,
    starts: int = 5,
    seed: int = 0,
    min_sd: float = 1e-3,
) -> PopulationPrior:
    """Fit the population distribution of the estimated parameters from several individuals'
    problems (same model and estimated parameters; each its own data)."""
    if len(problems) < 2:
        raise InvalidInputError(f"a population needs at least 2 individuals; got {len(problems)}")
    ids = problems[0].estimated_ids
    for k, problem in enumerate(problems):
        if problem.estimated_ids != ids:
            raise InvalidInputError(
                f"individual {k} estimates {', '.join(problem.estimated_ids)}; individual 0 "
                f"estimates {', '.join(ids)}; every individual must estimate the same "
                "parameters in the same order"
            )
    lower, upper = problems[0].bounds_x()
    # iteration 0: flat prior, multistart per individual
    estimates = np.array(
        [
            optimize(p, starts=starts, seed=seed + k, workers=1).best.x
            for k, p in enumerate(problems)
        ]
    )
    mean = estimates.mean(axis=0)
    sd = np.maximum(estimates.std(axis=0), (upper - lower) / 20.0)
    converged = False
    iterations = 0
    for iteration in range(1, max_iterations + 1):
        iterations = iteration
        variances = []
        new_estimates = []
        for problem, previous in zip(problems, estimates, strict=True):
            objective = _with_prior(problem, mean, sd)
            fit = optimize(
                objective, start_points=previous[None, :], workers=1, optimizer=LBFGSB()
            ).best
            new_estimates.append(fit.x)
            covariance = laplace(objective, fit.x).covariance
            variances.append(np.where(np.isfinite(np.diag(covariance)), np.diag(covariance), 0.0))
        estimates = np.array(new_estimates)
        new_mean = estimates.mean(axis=0)
        new_sd = np.sqrt(np.mean((estimates - new_mean) ** 2 + np.array(variances), axis=0))
        new_sd = np.maximum(new_sd, min_sd)
        change = max(float(np.max(np.abs(new_mean - mean))), float(np.max(np.abs(new_sd - sd))))
        mean, sd = new_mean, new_sd
        if change < tolerance:
            converged = True
            break
    scales = tuple(p.scale.value for p in problems[0].estimated)
    if not np.all(np.isfinite(mean)) or not np.all(np.isfinite(sd)):
        raise InvalidInputError(
            "the population fit did not give finite values; check that every individual's "
            "problem can be fitted on its own (immunetwin calibrate)"
        )
    return PopulationPrior(ids, scales, mean, sd, estimates, iterations, converged)
