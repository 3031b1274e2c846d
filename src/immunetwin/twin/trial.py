"""In-silico trials: a virtual cohort drawn from a twin model's population distribution, every
patient run under every regimen arm (paired design: the same virtual patients in each arm),
outcome rates with confidence intervals and differences against the first (control) arm.

A spec (YAML) names the model, the cohort size, the seed, the horizon (days after the
reference time) and the arms, each a list of regimens in ``compose.dosing`` form with times
on the patients' clock (days since symptom onset)::

    model: viral_pneumonia
    patients: 1000
    seed: 1
    horizon: 21
    arms:
      - name: standard of care
        regimens: []
      - name: antiviral from onset
        regimens:
          - {drug: antiviral, amount: 300, route: oral, interval: 0.5, count: 10, start: 0}

The whole cohort of one arm is one ensemble run through the engine's ensemble path.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from immunetwin.compose.dosing import Regimen, regimen_from_dict
from immunetwin.errors import InvalidInputError
from immunetwin.twin.ensemble import at_reference, propagate
from immunetwin.twin.model import TwinModel

_SPEC_KEYS = ("model", "patients", "seed", "horizon", "arms", "step")


@dataclass(frozen=True)
class Arm:
    name: str
    regimens: tuple[Regimen, ...]


@dataclass(frozen=True)
class TrialSpec:
    model: str
    patients: int
    seed: int
    horizon: float
    arms: tuple[Arm, ...]
    step: float = 0.25


def spec_from_dict(data: Mapping[str, Any]) -> TrialSpec:
    if not isinstance(data, Mapping):
        raise InvalidInputError("a trial spec must be a mapping with model, patients, arms")
    unknown = sorted(set(map(str, data)) - set(_SPEC_KEYS))
    if unknown:
        raise InvalidInputError(
            f"unknown trial spec keys: {', '.join(unknown)}; allowed: {', '.join(_SPEC_KEYS)}"
        )
    arms_data = data.get("arms")
    if not isinstance(arms_data, Sequence) or not arms_data:
        raise InvalidInputError("a trial spec needs 'arms': a list of {name, regimens}")
    arms = []
    for k, arm in enumerate(arms_data):
        if not isinstance(arm, Mapping) or "name" not in arm:
            raise InvalidInputError(f"arm {k} needs a 'name' (and 'regimens', a list)")
        regimens = arm.get("regimens") or []
        arms.append(Arm(str(arm["name"]), tuple(regimen_from_dict(r) for r in regimens)))
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        raise InvalidInputError(f"arm names must be unique; got {names}")
    patients = int(data.get("patients", 500))
    horizon = float(data.get("horizon", 21.0))
    if patients < 2 or not (math.isfinite(horizon) and horizon > 0):
        raise InvalidInputError(
            f"patients must be at least 2 and horizon a positive number of days; got "
            f"{patients} and {horizon}"
        )
    return TrialSpec(
        str(data.get("model", "viral_pneumonia")),
        patients,
        int(data.get("seed", 0)),
        horizon,
        tuple(arms),
        float(data.get("step", 0.25)),
    )


@dataclass(frozen=True)
class ArmResult:
    name: str
    rates: dict[str, float]
    intervals: dict[str, tuple[float, float]]  # Wilson 95%
    differences: dict[str, float]  # rate minus the control arm's
    difference_intervals: dict[str, tuple[float, float]]  # paired, normal approximation
    peak: dict[str, dict[str, float]]  # per quantity: median and 90% range of the peak


@dataclass(frozen=True)
class TrialResult:
    spec: TrialSpec
    arms: tuple[ArmResult, ...]
    wall_s: float

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.spec.model,
            "patients": self.spec.patients,
            "seed": self.spec.seed,
            "horizon": self.spec.horizon,
            "wall_s": self.wall_s,
            "arms": [
                {
                    "name": a.name,
                    "regimens": [
                        r.to_dict()
                        for r in next(arm.regimens for arm in self.spec.arms if arm.name == a.name)
                    ],
                    "rates": a.rates,
                    "intervals95": {k: list(v) for k, v in a.intervals.items()},
                    "difference_vs_control": a.differences,
                    "difference_intervals95": {
                        k: list(v) for k, v in a.difference_intervals.items()
                    },
                    "peak": a.peak,
                }
                for a in self.arms
            ],
        }


def _wilson(hits: int, n: int) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    z = 1.959963984540054
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)


def run_trial(twin: TwinModel, spec: TrialSpec) -> TrialResult:
    """Simulate the cohort under every arm and summarise the outcomes."""
    begin = time.perf_counter()
    rng = np.random.default_rng(spec.seed)
    parameters, tau = twin.sample_prior(spec.patients, rng)
    cohort = at_reference(twin, parameters, tau)
    times = np.arange(0.0, spec.horizon + spec.step / 2, spec.step)
    hits_by_arm: dict[str, dict[str, np.ndarray]] = {}
    peaks: dict[str, dict[str, dict[str, float]]] = {}
    for arm in spec.arms:
        trajectories = propagate(twin, cohort, times, arm.regimens)
        values = {id: trajectories.of(id) for id in trajectories.ids}
        hits_by_arm[arm.name] = {
            o.key: np.asarray(o.test(trajectories.time, values)) for o in twin.outcomes
        }
        peaks[arm.name] = {}
        for q in twin.quantities:
            peak = q.canonical(trajectories.of(q.model_id)).max(axis=1)
            low, mid, high = np.quantile(peak, [0.05, 0.5, 0.95])
            peaks[arm.name][q.key] = {"median": float(mid), "p05": float(low), "p95": float(high)}
    control = hits_by_arm[spec.arms[0].name]
    arms = []
    n = spec.patients
    for arm in spec.arms:
        hits = hits_by_arm[arm.name]
        rates = {k: float(h.mean()) for k, h in hits.items()}
        intervals = {k: _wilson(int(h.sum()), n) for k, h in hits.items()}
        differences, difference_intervals = {}, {}
        for k, h in hits.items():
            paired = h.astype(float) - control[k].astype(float)
            mean = float(paired.mean())
            half = 1.959963984540054 * float(paired.std(ddof=1)) / math.sqrt(n)
            differences[k], difference_intervals[k] = mean, (mean - half, mean + half)
        arms.append(
            ArmResult(
                arm.name, rates, intervals, differences, difference_intervals, peaks[arm.name]
            )
        )
    return TrialResult(spec, tuple(arms), time.perf_counter() - begin)
