"""Objective priors of a calibration problem: the log-density and its exact gradient.

PEtab v1 semantics, as pyPESTO applies them: ``uniform``, ``normal``, ``laplace``,
``logNormal`` and ``logLaplace`` are densities of the *linear* parameter value; the
``parameterScale*`` types are densities of the value on the parameter's scale. The gradient
is taken with respect to ``x``, the estimated parameters on their scales (chain rule through
the scale; no change-of-variables term, as in PEtab). Parameters without a prior contribute
nothing, so ``minus_log_prior`` is zero for a problem without priors.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from immunetwin.calibrate._problem import CalibrationProblem, Prior, PriorType, Scale
from immunetwin.errors import InvalidInputError

_LOG_2PI = math.log(2.0 * math.pi)


def _curvature(prior: Prior, value: float) -> float:
    """-d² log p / d value² where it is constant and positive (normal priors on the value's
    scale); 0 otherwise, which only means a trust-region optimiser learns less from it."""
    if prior.type in (PriorType.NORMAL, PriorType.PARAMETER_SCALE_NORMAL):
        return 1.0 / prior.parameters[1] ** 2
    return 0.0


def _log_density(prior: Prior, value: float) -> tuple[float, float]:
    """log p(value) and d log p / d value."""
    kind, params = prior.type, prior.parameters
    if kind in (PriorType.UNIFORM, PriorType.PARAMETER_SCALE_UNIFORM):
        low, high = params
        if not low <= value <= high:
            return -math.inf, 0.0
        return -math.log(high - low), 0.0
    if kind in (PriorType.NORMAL, PriorType.PARAMETER_SCALE_NORMAL):
        mean, sd = params
        z = (value - mean) / sd
        return -0.5 * (_LOG_2PI + z * z) - math.log(sd), -z / sd
    if kind in (PriorType.LAPLACE, PriorType.PARAMETER_SCALE_LAPLACE):
        location, scale = params
        return -math.log(2.0 * scale) - abs(value - location) / scale, -math.copysign(
            1.0 / scale, value - location
        )
    if value <= 0:
        return -math.inf, 0.0
    log_value = math.log(value)
    if kind is PriorType.LOG_NORMAL:
        mean, sd = params
        z = (log_value - mean) / sd
        return -0.5 * (_LOG_2PI + z * z) - math.log(sd) - log_value, (-z / sd - 1.0) / value
    if kind is PriorType.LOG_LAPLACE:
        location, scale = params
        density = -math.log(2.0 * scale * value) - abs(log_value - location) / scale
        slope = (-math.copysign(1.0 / scale, log_value - location) - 1.0) / value
        return density, slope
    raise InvalidInputError(f"unknown prior type {kind!r}")  # pragma: no cover - enum is closed


def _on_parameter_scale(kind: PriorType) -> bool:
    return kind.value.startswith("parameterScale")


def minus_log_prior(problem: CalibrationProblem, x: np.ndarray, *, curvature: bool = False) -> Any:
    """``-log p(x)`` summed over the estimated parameters' objective priors, and its
    gradient with respect to ``x`` (on the parameters' scales); with ``curvature``, also a
    non-negative diagonal Hessian approximation (exact for parameter-scale normal priors)."""
    x = np.asarray(x, dtype=float)
    total, gradient = 0.0, np.zeros(len(x))
    diagonal = np.zeros(len(x))
    for j, parameter in enumerate(problem.estimated):
        prior = parameter.objective_prior
        if prior is None:
            continue
        if _on_parameter_scale(prior.type):
            log_p, slope = _log_density(prior, float(x[j]))
            diagonal[j] = _curvature(prior, float(x[j]))
        else:
            linear = float(parameter.scale.from_scale(np.asarray(x[j])))
            log_p, slope = _log_density(prior, linear)
            chain = float(parameter.scale.derivative(np.asarray(linear)))
            slope *= chain
            diagonal[j] = _curvature(prior, linear) * chain**2
        total -= log_p
        gradient[j] -= slope
    if curvature:
        return total, gradient, diagonal
    return total, gradient


def has_priors(problem: CalibrationProblem) -> bool:
    return any(p.objective_prior is not None for p in problem.estimated)


def sample_prior(
    problem: CalibrationProblem, n: int, rng: np.random.Generator
) -> np.ndarray | None:
    """``n`` draws of ``x`` from the *initialization* priors where every estimated parameter
    has one (clipped to the bounds); None otherwise (callers then sample the bounds)."""
    priors = [p.initialization_prior for p in problem.estimated]
    if not priors or any(p is None for p in priors):
        return None
    lower, upper = problem.bounds_x()
    draws = np.empty((n, len(priors)))
    for j, (parameter, prior) in enumerate(zip(problem.estimated, priors, strict=True)):
        assert prior is not None
        a, b = prior.parameters[:2]
        kind = prior.type
        if kind in (PriorType.UNIFORM, PriorType.PARAMETER_SCALE_UNIFORM):
            values = rng.uniform(a, b, n)
        elif kind in (PriorType.NORMAL, PriorType.PARAMETER_SCALE_NORMAL):
            values = rng.normal(a, b, n)
        elif kind in (PriorType.LAPLACE, PriorType.PARAMETER_SCALE_LAPLACE):
            values = rng.laplace(a, b, n)
        elif kind is PriorType.LOG_NORMAL:
            values = np.exp(rng.normal(a, b, n))
        else:
            values = np.exp(rng.laplace(a, b, n))
        if not _on_parameter_scale(kind) and parameter.scale is not Scale.LIN:
            values = np.array([parameter.scale.to_scale(v) for v in np.maximum(values, 1e-300)])
        draws[:, j] = np.clip(values, lower[j], upper[j])
    return draws
