"""Forecasts from a twin's ensemble: predictive bands of the measured quantities, outcome
probabilities, and the divergence alert.

Bands are weighted quantiles over members of the model prediction (the patient's true course
under the model); ``predictive`` bands add the measurement noise and are what a new
measurement is checked against: one outside the previous forecast's 95% predictive band
raises an alert (the twin may have diverged from the patient; recalibrate).
Outcome probabilities are the weighted fraction of members whose forecast trajectory (from
the twin's current day to the horizon) meets the outcome's definition.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from immunetwin.compose.dosing import Regimen
from immunetwin.errors import InvalidInputError
from immunetwin.twin.assimilate import Measured, as_measured
from immunetwin.twin.ensemble import Ensemble, Trajectories, propagate
from immunetwin.twin.model import TwinModel

LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)


def weighted_quantiles(
    values: np.ndarray, weights: np.ndarray, levels: Sequence[float]
) -> np.ndarray:
    """Quantiles of ``values`` (N, ...) over members along axis 0 with ``weights``."""
    order = np.argsort(values, axis=0)
    sorted_values = np.take_along_axis(values, order, axis=0)
    w = weights[order]
    cumulative = np.cumsum(w, axis=0) - 0.5 * w
    cumulative /= np.sum(w, axis=0, keepdims=True)
    out = np.empty((len(levels), *values.shape[1:]))
    flat_values = sorted_values.reshape(len(values), -1)
    flat_cumulative = cumulative.reshape(len(values), -1)
    for j in range(flat_values.shape[1]):
        out.reshape(len(levels), -1)[:, j] = np.interp(
            levels, flat_cumulative[:, j], flat_values[:, j]
        )
    return out


@dataclass(frozen=True, eq=False)
class QuantityForecast:
    key: str
    unit_model_id: str
    quantiles: np.ndarray  # (len(LEVELS), T) of the model prediction
    predictive: np.ndarray  # (2, T): 2.5% and 97.5% including measurement noise

    @property
    def median(self) -> np.ndarray:
        return self.quantiles[LEVELS.index(0.5)]


@dataclass(frozen=True, eq=False)
class Forecast:
    start: float
    time: np.ndarray
    quantities: dict[str, QuantityForecast]
    outcomes: dict[str, float]
    regimens: tuple[Regimen, ...]
    trajectories: Trajectories

    def band(self, key: str, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
        """The central ``level`` band (0.5 or 0.9) of quantity ``key``."""
        q = self.quantities[key]
        if level == 0.9:
            return q.quantiles[0], q.quantiles[-1]
        if level == 0.5:
            return q.quantiles[1], q.quantiles[3]
        raise InvalidInputError(f"bands are 0.5 or 0.9; got {level}")

    def outside(self, measurements: Sequence[object]) -> list[Measured]:
        """The measurements that fall outside this forecast's 95% predictive band."""
        flagged = []
        for m in as_measured(measurements):
            q = self.quantities.get(m.quantity)
            if q is None or not self.time[0] <= m.time <= self.time[-1]:
                continue
            low = float(np.interp(m.time, self.time, q.predictive[0]))
            high = float(np.interp(m.time, self.time, q.predictive[1]))
            if m.value > high or (not m.censored and m.value < low):
                flagged.append(m)
        return flagged

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "time": self.time.tolist(),
            "quantities": {
                key: {
                    "model_id": q.unit_model_id,
                    "median": q.median.tolist(),
                    "band50": [q.quantiles[1].tolist(), q.quantiles[3].tolist()],
                    "band90": [q.quantiles[0].tolist(), q.quantiles[-1].tolist()],
                    "predictive95": q.predictive.tolist(),
                }
                for key, q in self.quantities.items()
            },
            "outcomes": self.outcomes,
            "regimens": [r.to_dict() for r in self.regimens],
        }


def forecast(
    twin: TwinModel,
    ensemble: Ensemble,
    horizon: float,
    *,
    regimens: Sequence[Regimen] = (),
    step: float = 0.25,
    rng: np.random.Generator | None = None,
) -> Forecast:
    """The predictive distribution from the ensemble's day to ``horizon`` days later."""
    if not (math.isfinite(horizon) and horizon > 0):
        raise InvalidInputError(f"the horizon must be a positive number of days; got {horizon}")
    rng = rng or np.random.default_rng(0)
    times = ensemble.time + np.arange(0.0, horizon + step / 2, step)
    trajectories = propagate(twin, ensemble, times, regimens)
    weights = ensemble.weights
    quantities = {}
    for q in twin.quantities:
        values = np.maximum(q.canonical(trajectories.of(q.model_id)), 0.0)
        bands = weighted_quantiles(values, weights, LEVELS)
        noisy = np.maximum(values, q.floor) * np.exp(rng.normal(0.0, q.log_sd, values.shape))
        predictive = weighted_quantiles(noisy, weights, (0.025, 0.975))
        quantities[q.key] = QuantityForecast(q.key, q.model_id, bands, predictive)
    values_by_id = {id: trajectories.of(id) for id in trajectories.ids}
    outcomes = {
        outcome.key: float(weights @ outcome.test(trajectories.time, values_by_id))
        for outcome in twin.outcomes
    }
    return Forecast(
        ensemble.time, trajectories.time, quantities, outcomes, tuple(regimens), trajectories
    )
