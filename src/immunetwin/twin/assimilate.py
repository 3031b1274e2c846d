"""Data assimilation for twins: create a posterior ensemble from the first data, then update it
as measurements arrive.

All updates work on log scales: log parameters, log states (plus a small floor, states are
non-negative) and log measurements with the twin model's log-normal measurement noise.

- :func:`calibrate_ensemble` (creation): an ensemble smoother with multiple data assimilation
  (ES-MDA; Emerick AA, Reynolds AC. Comput Geosci 55:3-15, 2013): the population-prior
  ensemble of (log parameters, infection day) is updated ``iterations`` times against all the
  first data with inflated noise (alpha = iterations), re-simulating from infection each
  time; for linear-Gaussian problems it samples the exact posterior.
- :func:`enkf_update`: a stochastic ensemble Kalman filter (perturbed observations; Evensen
  2003) on the augmented vector (log parameters, log disease states).
- :func:`particle_update`: a particle filter - importance weights by the likelihood,
  systematic resampling when the effective sample size drops below half the ensemble, then
  Liu & West (2001) kernel shrinkage jitter of the augmented vector so resampled copies
  differ (regularisation).

Censored measurements (below a limit of detection) enter the particle filter through the
probability of being below the limit; the Kalman methods treat a member that predicts a value
below the limit as matching it, and pull the others to the limit.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from immunetwin.compose.dosing import Regimen
from immunetwin.errors import InvalidInputError
from immunetwin.twin.ensemble import (
    Ensemble,
    Trajectories,
    advanced,
    at_reference,
    propagate,
)
from immunetwin.twin.model import TwinModel


@dataclass(frozen=True)
class Measured:
    """One measurement as assimilation sees it: patient-clock day, quantity key, value in
    the quantity's canonical unit (the limit of detection when ``censored``)."""

    time: float
    quantity: str
    value: float
    censored: bool = False


def as_measured(observations: Sequence[object]) -> list[Measured]:
    """Accepts ``Measured`` or any object with ``time``, ``quantity``, ``value`` and
    (optionally) ``censored`` attributes, such as the patient timeline's observations."""
    measured = []
    for o in observations:
        value = float(o.value)  # type: ignore[attr-defined]
        if not math.isfinite(value) or value <= 0:
            raise InvalidInputError(
                f"a measurement of {o.quantity} at day {o.time} is {value}: "  # type: ignore[attr-defined]
                "assimilation needs positive, finite values (censored values carry their "
                "limit of detection)"
            )
        measured.append(
            Measured(
                float(o.time),  # type: ignore[attr-defined]
                str(o.quantity),  # type: ignore[attr-defined]
                value,
                bool(getattr(o, "censored", False)),
            )
        )
    return measured


def _predicted_logs(
    twin: TwinModel, trajectories: Trajectories, measured: Sequence[Measured]
) -> np.ndarray:
    """(N, m) log predictions of each measurement for each member."""
    columns = []
    for m in measured:
        q = twin.quantity(m.quantity)
        i = int(np.argmin(np.abs(trajectories.time - m.time)))
        if abs(trajectories.time[i] - m.time) > 1e-9:
            raise InvalidInputError(f"no prediction at day {m.time} (internal grid error)")
        values = q.canonical(trajectories.of(q.model_id)[:, i])
        columns.append(np.log(np.maximum(values, q.floor)))
    return np.column_stack(columns)


def _data(
    twin: TwinModel, measured: Sequence[Measured]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log values, log-scale noise sd, censored flags) of the measurements."""
    observed = np.log([m.value for m in measured])
    sd = np.array([twin.quantity(m.quantity).log_sd for m in measured])
    return observed, sd, np.array([m.censored for m in measured])


def _kalman_shift(
    z: np.ndarray,
    predicted: np.ndarray,
    observed: np.ndarray,
    sd: np.ndarray,
    censored: np.ndarray,
    rng: np.random.Generator,
    inflation: float = 1.0,
) -> np.ndarray:
    """The stochastic EnKF analysis of ``z`` (N, d) given predicted (N, m) and observed (m,)."""
    n = len(z)
    noise = sd * math.sqrt(inflation)
    perturbed = observed[None, :] + rng.normal(size=predicted.shape) * noise[None, :]
    innovation = perturbed - predicted
    # a censored value: members predicting below the limit already agree with it
    innovation = np.where(censored[None, :] & (predicted <= observed[None, :]), 0.0, innovation)
    dz = z - z.mean(axis=0)
    dy = predicted - predicted.mean(axis=0)
    c_zy = dz.T @ dy / (n - 1)
    c_yy = dy.T @ dy / (n - 1) + np.diag(noise**2)
    gain = np.linalg.solve(c_yy, c_zy.T).T
    return z + innovation @ gain.T


class _Augmented:
    """The log-scale vector a Kalman or particle update acts on, and its way back."""

    def __init__(self, twin: TwinModel, ensemble: Ensemble) -> None:
        self.twin, self.ensemble = twin, ensemble
        drugs = tuple(f"{d}_" for d in twin.drugs)
        self.state_columns = [
            k for k, id in enumerate(ensemble.state_ids) if not id.startswith(drugs)
        ]
        states = ensemble.states[:, self.state_columns]
        self.floor = 1e-9 + 1e-6 * np.max(np.abs(states), axis=0)
        self.lower = np.log([p.lower for p in twin.parameters])
        self.upper = np.log([p.upper for p in twin.parameters])

    def vector(self) -> np.ndarray:
        e = self.ensemble
        states = e.states[:, self.state_columns]
        return np.column_stack([np.log(e.parameters), np.log(states + self.floor)])

    def back(self, z: np.ndarray) -> Ensemble:
        p = len(self.twin.parameters)
        log_parameters = np.clip(z[:, :p], self.lower, self.upper)
        states = self.ensemble.states.copy()
        states[:, self.state_columns] = np.maximum(np.exp(z[:, p:]) - self.floor, 0.0)
        return self.ensemble.with_(parameters=np.exp(log_parameters), states=states)


class AbstractFilter(abc.ABC):
    """A sequential update: the ensemble propagated to the measurements' time, then updated."""

    @abc.abstractmethod
    def update(
        self,
        twin: TwinModel,
        ensemble: Ensemble,
        trajectories: Trajectories,
        measured: Sequence[Measured],
        rng: np.random.Generator,
    ) -> Ensemble: ...


@dataclass(frozen=True)
class EnsembleKalmanFilter(AbstractFilter):
    def update(
        self,
        twin: TwinModel,
        ensemble: Ensemble,
        trajectories: Trajectories,
        measured: Sequence[Measured],
        rng: np.random.Generator,
    ) -> Ensemble:
        if ensemble.effective_size < ensemble.size - 1e-6:
            # weighted (after a particle filter): resample to equal weights first, members
            # and their trajectories alike
            index = _systematic(ensemble.weights, ensemble.size, rng)
            ensemble = ensemble.resampled(index)
            trajectories = Trajectories(
                trajectories.time, trajectories.ids, trajectories.values[index], ensemble.weights
            )
        augmented = _Augmented(twin, ensemble)
        predicted = _predicted_logs(twin, trajectories, measured)
        z = _kalman_shift(augmented.vector(), predicted, *_data(twin, measured), rng)
        return augmented.back(z)


@dataclass(frozen=True)
class ParticleFilter(AbstractFilter):
    resample_below: float = 0.5  # of the ensemble size
    shrinkage: float = 0.98  # Liu-West discount factor delta

    def update(
        self,
        twin: TwinModel,
        ensemble: Ensemble,
        trajectories: Trajectories,
        measured: Sequence[Measured],
        rng: np.random.Generator,
    ) -> Ensemble:
        predicted = _predicted_logs(twin, trajectories, measured)
        observed, sd, censored = _data(twin, measured)
        z = (observed[None, :] - predicted) / sd[None, :]
        log_like = np.where(
            censored[None, :], stats.norm.logcdf(z), stats.norm.logpdf(z) - np.log(sd)
        ).sum(axis=1)
        log_w = np.log(np.maximum(ensemble.weights, 1e-300)) + log_like
        weights = np.exp(log_w - log_w.max())
        weights /= weights.sum()
        ensemble = ensemble.with_(weights=weights)
        if ensemble.effective_size >= self.resample_below * ensemble.size:
            return ensemble
        resampled = ensemble.resampled(_systematic(weights, ensemble.size, rng))
        return self._jitter(twin, resampled, weights_before=weights, original=ensemble, rng=rng)

    def _jitter(
        self,
        twin: TwinModel,
        resampled: Ensemble,
        *,
        weights_before: np.ndarray,
        original: Ensemble,
        rng: np.random.Generator,
    ) -> Ensemble:
        augmented = _Augmented(twin, original)
        z_all = augmented.vector()
        mean = weights_before @ z_all
        covariance = np.cov(z_all.T, aweights=weights_before) + 1e-12 * np.eye(z_all.shape[1])
        a = (3 * self.shrinkage - 1) / (2 * self.shrinkage)
        h2 = 1 - a**2
        resampled_aug = _Augmented(twin, resampled)
        resampled_aug.floor = augmented.floor  # same transform as the weighted ensemble
        z = resampled_aug.vector()
        centre = a * z + (1 - a) * mean
        chol = np.linalg.cholesky(h2 * covariance)
        jittered = centre + rng.normal(size=z.shape) @ chol.T
        return resampled_aug.back(jittered)


def _systematic(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    positions = (rng.random() + np.arange(n)) / n
    cumulative = np.cumsum(weights)
    cumulative[-1] = 1.0
    return np.searchsorted(cumulative, positions)


def assimilate(
    twin: TwinModel,
    ensemble: Ensemble,
    measurements: Sequence[object],
    *,
    method: AbstractFilter | None = None,
    regimens: Sequence[Regimen] = (),
    rng: np.random.Generator | None = None,
) -> Ensemble:
    """Move the ensemble through the new measurements' times (in order, one update per
    distinct time) and return it at the last one."""
    measured = as_measured(measurements)
    if not measured:
        return ensemble
    method = method or EnsembleKalmanFilter()
    rng = rng or np.random.default_rng()
    early = [m for m in measured if m.time < ensemble.time]
    if early:
        raise InvalidInputError(
            f"a measurement of {early[0].quantity} at day {early[0].time:g} is older than the "
            f"twin's current time (day {ensemble.time:g}); new data must be newer"
        )
    for m in measured:
        twin.quantity(m.quantity)  # unknown quantities fail before anything moves
    for day in sorted({m.time for m in measured}):
        now = [m for m in measured if m.time == day]
        trajectories = propagate(twin, ensemble, [day], regimens)
        ensemble = method.update(twin, advanced(ensemble, trajectories), trajectories, now, rng)
    return ensemble


def calibrate_ensemble(
    twin: TwinModel,
    measurements: Sequence[object],
    *,
    size: int = 500,
    iterations: int = 4,
    regimens: Sequence[Regimen] = (),
    rng: np.random.Generator | None = None,
    now: float | None = None,
) -> Ensemble:
    """The posterior ensemble after the first data (ES-MDA from the population prior), at
    day ``now`` (default: the last measurement's day)."""
    measured = as_measured(measurements)
    if not measured:
        raise InvalidInputError("a twin needs at least one measurement to be created")
    if min(m.time for m in measured) < 0:
        raise InvalidInputError(
            "measurements before the reference time (negative days) cannot be assimilated; "
            "choose an earlier reference time for the patient"
        )
    for m in measured:
        twin.quantity(m.quantity)
    rng = rng or np.random.default_rng()
    parameters, tau = twin.sample_prior(size, rng)
    low_tau, high_tau = twin.infection_day[2:]
    lower = np.log([p.lower for p in twin.parameters])
    upper = np.log([p.upper for p in twin.parameters])
    observed, sd, censored = _data(twin, measured)
    last = max(m.time for m in measured)
    end = last if now is None else max(now, last)
    times = sorted({m.time for m in measured} | {end})
    for _ in range(iterations):
        ensemble = at_reference(twin, parameters, tau)
        trajectories = propagate(twin, ensemble, times, regimens)
        predicted = _predicted_logs(twin, trajectories, measured)
        z = np.column_stack([np.log(parameters), tau])
        z = _kalman_shift(z, predicted, observed, sd, censored, rng, inflation=iterations)
        parameters = np.exp(np.clip(z[:, :-1], lower, upper))
        tau = np.clip(z[:, -1], low_tau, high_tau)
    ensemble = at_reference(twin, parameters, tau)
    trajectories = propagate(twin, ensemble, [end], regimens)
    return advanced(ensemble, trajectories)
