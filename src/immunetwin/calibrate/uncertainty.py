"""Uncertainty around a fit: profile likelihoods, the Laplace (Fisher) approximation and a
posterior sampler.

All work on ``x``, the estimated parameters on their scales, and on the objective that was
minimised (``nllh - log prior``). Intervals are reported on the parameter scale and linear.

- :func:`profile`: for one parameter, fix it on a grid stepping away from the optimum and
  re-optimise the others; the 95% confidence interval is where the profile rises by
  ``chi2(0.95, 1)/2 = 1.92`` (a non-identifiable parameter's profile stays flat to a bound).
- :func:`laplace`: the Hessian at the optimum (central differences of the exact gradient)
  inverted into a covariance: Gaussian intervals, and a flag for directions with (near) zero
  curvature.
- :func:`sample`: affine-invariant ensemble MCMC (``emcee``, Goodman & Weare 2010) on the
  posterior ``exp(-(nllh - log prior))`` restricted to the bounds, started around the
  optimum; returns draws and credible intervals.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize as scipy_optimize
from scipy import stats

from immunetwin.calibrate._objective import Objective
from immunetwin.calibrate.optimize import objective_with_prior
from immunetwin.calibrate.priors import minus_log_prior
from immunetwin.errors import InvalidInputError

CHI2_95_HALF = float(stats.chi2.ppf(0.95, 1) / 2.0)  # 1.92


def _index(objective: Objective, parameter: str) -> int:
    ids = objective.parameter_ids
    if parameter not in ids:
        raise InvalidInputError(
            f"'{parameter}' is not an estimated parameter; estimated: {', '.join(ids)}"
        )
    return ids.index(parameter)


def _linear(objective: Objective, j: int, values: np.ndarray) -> np.ndarray:
    scale = objective.problem.estimated[j].scale
    return np.asarray(scale.from_scale(np.asarray(values, dtype=float)), dtype=float)


@dataclass(frozen=True)
class ProfileResult:
    parameter: str
    values: np.ndarray  # on the parameter's scale, increasing
    fvals: np.ndarray  # re-optimised objective at each value
    optimum: float  # the objective at the fit
    interval: tuple[float, float]  # 95% CI on the scale (a bound where the profile is flat)
    identifiable: tuple[bool, bool]  # (lower side, upper side) reached the threshold

    @property
    def ratio(self) -> np.ndarray:
        """Likelihood ratio to the optimum, exp(-(f - f_opt))."""
        return np.exp(-(self.fvals - self.optimum))

    def to_json(self, linear: tuple[float, float]) -> dict[str, Any]:
        return {
            "parameter": self.parameter,
            "values": self.values.tolist(),
            "fvals": self.fvals.tolist(),
            "interval": list(self.interval),
            "interval_linear": list(linear),
            "identifiable": list(self.identifiable),
        }


def profile(
    objective: Objective,
    parameter: str,
    x_optimum: np.ndarray,
    *,
    threshold: float = CHI2_95_HALF,
    max_steps: int = 100,
    step: float | None = None,
) -> ProfileResult:
    """The profile likelihood of ``parameter`` around the optimum ``x_optimum``."""
    j = _index(objective, parameter)
    x_optimum = np.asarray(x_optimum, dtype=float)
    fun = objective_with_prior(objective)
    f_opt = fun(x_optimum)[0]
    if not math.isfinite(f_opt):
        raise InvalidInputError("the objective is not finite at the given optimum")
    lower, upper = objective.problem.bounds_x()
    base_step = step or max((upper[j] - lower[j]) / 100.0, 1e-3)
    min_step = 1e-6 * (upper[j] - lower[j])
    others = [i for i in range(len(x_optimum)) if i != j]
    points: list[tuple[float, float]] = [(float(x_optimum[j]), f_opt)]
    reached = []
    for direction in (-1.0, 1.0):
        x, f_prev, h, hit = x_optimum.copy(), f_opt, base_step, False
        for _ in range(max_steps):
            target = float(np.clip(x[j] + direction * h, lower[j], upper[j]))
            if target == x[j]:
                break
            trial, f = _reoptimised(fun, x, j, target, others, lower, upper)
            if not math.isfinite(f):
                break
            # step control: each accepted step raises the profile by at most half the
            # threshold, so the crossing is bracketed finely; flat stretches grow the step
            rise = f - f_prev
            if rise > threshold / 2 and h > min_step:
                h /= 4
                continue
            points.append((target, f))
            x, f_prev = trial, f
            if f - f_opt > threshold:
                hit = True
                break
            if rise < threshold / 20:
                h *= 2
        reached.append(hit)
    points.sort()
    values = np.array([v for v, _ in points])
    fvals = np.array([f for _, f in points])
    interval = (_crossing(values, fvals, f_opt + threshold, x_optimum[j], -1),
                _crossing(values, fvals, f_opt + threshold, x_optimum[j], 1))  # fmt: skip
    return ProfileResult(parameter, values, fvals, f_opt, interval, (reached[0], reached[1]))


def _reoptimised(
    fun: Any,
    x: np.ndarray,
    j: int,
    value: float,
    others: list[int],
    lower: np.ndarray,
    upper: np.ndarray,
) -> tuple[np.ndarray, float]:
    """x with x[j] fixed at ``value`` and the other parameters re-optimised (warm start)."""
    trial = x.copy()
    trial[j] = value
    if not others:
        return trial, float(fun(trial)[0])

    def sub(z: np.ndarray) -> tuple[float, np.ndarray]:
        full = trial.copy()
        full[others] = z
        f, g = fun(full)
        return f, g[others]

    result = scipy_optimize.minimize(
        sub, trial[others], jac=True, method="L-BFGS-B",
        bounds=list(zip(lower[others], upper[others], strict=True)),
    )  # fmt: skip
    trial[others] = result.x
    return trial, float(result.fun)


def _crossing(
    values: np.ndarray, fvals: np.ndarray, level: float, centre: float, direction: int
) -> float:
    """Where the profile crosses ``level`` on one side of ``centre`` (linear interpolation);
    the last point where it never does."""
    side = values <= centre if direction < 0 else values >= centre
    v, f = values[side], fvals[side]
    order = np.argsort(v)[::-1] if direction < 0 else np.argsort(v)
    v, f = v[order], f[order]
    for k in range(1, len(v)):
        if f[k] > level >= f[k - 1]:
            w = (level - f[k - 1]) / (f[k] - f[k - 1])
            return float(v[k - 1] + w * (v[k] - v[k - 1]))
    return float(v[-1])


@dataclass(frozen=True)
class LaplaceResult:
    parameter_ids: tuple[str, ...]
    x: np.ndarray
    hessian: np.ndarray
    covariance: np.ndarray
    identifiable: np.ndarray  # per parameter: no near-zero curvature direction involves it

    @property
    def standard_errors(self) -> np.ndarray:
        return np.sqrt(np.maximum(np.diag(self.covariance), 0.0))

    def intervals(self, level: float = 0.9) -> np.ndarray:
        """(n, 2) Gaussian intervals on the parameter scale."""
        z = stats.norm.ppf(0.5 + level / 2.0)
        se = self.standard_errors
        return np.column_stack([self.x - z * se, self.x + z * se])


def laplace(objective: Objective, x_optimum: np.ndarray, *, step: float = 1e-4) -> LaplaceResult:
    """The Laplace approximation at ``x_optimum``: Hessian of the minimised objective by
    central differences of its exact gradient, covariance its (pseudo-)inverse."""
    x = np.asarray(x_optimum, dtype=float)
    fun = objective_with_prior(objective)
    n = len(x)
    hessian = np.empty((n, n))
    for i in range(n):
        h = step * max(1.0, abs(x[i]))
        e = np.zeros(n)
        e[i] = h
        hessian[:, i] = (fun(x + e)[1] - fun(x - e)[1]) / (2 * h)
    hessian = 0.5 * (hessian + hessian.T)
    eigenvalues, vectors = np.linalg.eigh(hessian)
    floor = 1e-8 * max(float(np.max(np.abs(eigenvalues))), 1e-300)
    flat = eigenvalues <= floor
    inverse = np.where(flat, 0.0, 1.0 / np.where(flat, 1.0, eigenvalues))
    covariance = (vectors * inverse) @ vectors.T
    # a parameter is unidentifiable if a flat direction has a large component on it
    involved = np.any(np.abs(vectors[:, flat]) > 0.1, axis=1) if flat.any() else np.zeros(n, bool)
    if flat.any():
        covariance[involved, :] = np.inf
        covariance[:, involved] = np.inf
    return LaplaceResult(objective.parameter_ids, x, hessian, covariance, ~involved)


@dataclass(frozen=True)
class SamplingResult:
    parameter_ids: tuple[str, ...]
    draws: np.ndarray  # (n, d) on the parameters' scales, after burn-in and thinning
    log_posterior: np.ndarray  # (n,)
    acceptance: float
    autocorrelation_time: np.ndarray | None  # per parameter, where emcee could estimate it
    wall_s: float
    seed: int

    def intervals(self, level: float = 0.9) -> np.ndarray:
        """(d, 2) equal-tailed credible intervals on the parameter scale."""
        tail = (1.0 - level) / 2.0
        return np.quantile(self.draws, [tail, 1.0 - tail], axis=0).T

    def to_json(self, objective: Objective, level: float = 0.9) -> dict[str, Any]:
        bounds = self.intervals(level)
        return {
            "draws": len(self.draws),
            "acceptance": self.acceptance,
            "wall_s": self.wall_s,
            "seed": self.seed,
            "level": level,
            "parameters": {
                id: {
                    "median": float(np.median(self.draws[:, j])),
                    "interval": bounds[j].tolist(),
                    "interval_linear": _linear(objective, j, bounds[j]).tolist(),
                }
                for j, id in enumerate(self.parameter_ids)
            },
        }


def sample(
    objective: Objective,
    x_optimum: np.ndarray,
    *,
    draws: int = 2000,
    walkers: int | None = None,
    burn_in: int = 200,
    seed: int = 0,
    spread: np.ndarray | None = None,
) -> SamplingResult:
    """Posterior draws by ensemble MCMC (emcee), walkers started around ``x_optimum``
    (scattered by ``spread``, default the Laplace standard errors, capped to a tenth of the
    bounds). Returns about ``draws`` draws after ``burn_in`` steps per walker."""
    import emcee

    x = np.asarray(x_optimum, dtype=float)
    d = len(x)
    walkers = walkers or max(2 * d + 2, 16)
    lower, upper = objective.problem.bounds_x()

    def log_posterior(z: np.ndarray) -> float:
        if np.any(z < lower) or np.any(z > upper):
            return -math.inf
        value = objective.nllh(z)
        if not math.isfinite(value):
            return -math.inf
        return -(value + minus_log_prior(objective.problem, z)[0])

    if spread is None:
        se = laplace(objective, x).standard_errors
        spread = np.where(np.isfinite(se) & (se > 0), se, 0.01 * (upper - lower))
    spread = np.minimum(np.asarray(spread, dtype=float), 0.1 * (upper - lower))
    rng = np.random.default_rng(seed)
    start = np.clip(x + rng.normal(size=(walkers, d)) * spread, lower, upper)
    sampler = emcee.EnsembleSampler(walkers, d, log_posterior)
    sampler.random_state = np.random.RandomState(seed).get_state()  # emcee's moves draw here
    steps = burn_in + math.ceil(draws / walkers)
    begin = time.perf_counter()
    sampler.run_mcmc(start, steps, progress=False)
    wall = time.perf_counter() - begin
    chain = sampler.get_chain(discard=burn_in, flat=True)
    log_p = sampler.get_log_prob(discard=burn_in, flat=True)
    try:
        tau = np.asarray(sampler.get_autocorr_time(discard=burn_in, quiet=True))
    except Exception:  # noqa: BLE001 - emcee raises for chains too short to estimate
        tau = None
    return SamplingResult(
        objective.parameter_ids, chain, log_p, float(np.mean(sampler.acceptance_fraction)),
        tau, wall, seed,
    )  # fmt: skip
