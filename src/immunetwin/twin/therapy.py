"""Comparing treatment options for one patient under the twin's posterior.

Each candidate regimen is forecast from the twin's current ensemble; its **expected harm** is
the posterior mean over members of ``peak lung damage over the horizon + lambda * drug
exposure``, where a drug's exposure is its total dose divided by a reference course (so one
standard course costs ``lambda``). The candidate with the lowest expected harm is the
recommendation; it enters the patient's record only when a person approves it
(``TwinStore.approve``). The comparison also reports each candidate's outcome probabilities
and the probability that it beats no treatment in the same member (paired over members).

:func:`candidate_grid` spans the options a clinician allows (start day, dose scale of the
standard course, cumulative limit) for the named drugs; the search over that grid is exhaustive.
Optimising dose amounts and times as continuous controls (gradient-based optimal control) is
the next step (issue 6).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from immunetwin.compose.dosing import Regimen
from immunetwin.errors import InvalidInputError
from immunetwin.twin.ensemble import Ensemble, weighted_order_statistics
from immunetwin.twin.forecast import forecast
from immunetwin.twin.model import TwinModel

# One reference course per drug (mg): exposure 1 = this much drug in the horizon.
REFERENCE_COURSE = {"antiviral": 3000.0, "corticosteroid": 60.0, "anti_il6": 560.0}


@dataclass(frozen=True)
class CandidateResult:
    name: str
    regimens: tuple[Regimen, ...]
    expected_harm: float
    harm_interval90: tuple[float, float]
    expected_peak_damage: float
    exposure: float
    outcomes: dict[str, float]
    beats_no_treatment: float  # fraction of members (weighted) with lower harm than none

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "regimens": [r.to_dict() for r in self.regimens],
            "expected_harm": self.expected_harm,
            "harm_interval90": list(self.harm_interval90),
            "expected_peak_damage": self.expected_peak_damage,
            "exposure": self.exposure,
            "outcomes": self.outcomes,
            "beats_no_treatment": self.beats_no_treatment,
        }


def exposure(regimens: Sequence[Regimen], start: float, end: float) -> float:
    total = 0.0
    for regimen in regimens:
        reference = REFERENCE_COURSE.get(regimen.drug)
        if reference is None:
            raise InvalidInputError(
                f"no reference course for drug '{regimen.drug}'; known: "
                f"{', '.join(REFERENCE_COURSE)}"
            )
        given = sum(
            a for a, t in zip(regimen.amounts, regimen.times, strict=True) if start <= t <= end
        )
        total += given / reference
    return total


def compare_regimens(
    twin: TwinModel,
    ensemble: Ensemble,
    candidates: Mapping[str, Sequence[Regimen]],
    *,
    horizon: float = 14.0,
    exposure_weight: float = 0.005,
    given: Sequence[Regimen] = (),
) -> list[CandidateResult]:
    """Every candidate (plus "no further treatment") forecast from ``ensemble`` over
    ``horizon`` days, best (lowest expected harm) first. ``given`` are doses already in the
    record; candidate doses before the ensemble's day are refused."""
    weights = ensemble.weights
    options = {"no further treatment": (), **{k: tuple(v) for k, v in candidates.items()}}
    end = ensemble.time + horizon
    harms: dict[str, np.ndarray] = {}
    results = []
    for name, regimens in options.items():
        early = [t for r in regimens for t in r.times if t < ensemble.time]
        if early:
            raise InvalidInputError(
                f"candidate '{name}' doses at day {min(early):g}, before the twin's current "
                f"day {ensemble.time:g}; a recommendation can only act from now on"
            )
        result = forecast(twin, ensemble, horizon, regimens=[*given, *regimens])
        peak = result.trajectories.of("damage_D").max(axis=1)
        cost = exposure(regimens, ensemble.time, end)
        harm = peak + exposure_weight * cost
        harms[name] = harm
        low, high = weighted_order_statistics(harm, weights, (0.05, 0.95))
        results.append(
            CandidateResult(
                name,
                regimens,
                float(weights @ harm),
                (low, high),
                float(weights @ peak),
                cost,
                result.outcomes,
                0.0,
            )
        )
    baseline = harms["no further treatment"]
    results = [
        CandidateResult(
            r.name,
            r.regimens,
            r.expected_harm,
            r.harm_interval90,
            r.expected_peak_damage,
            r.exposure,
            r.outcomes,
            float(weights @ (harms[r.name] < baseline - 1e-12)),
        )
        for r in results
    ]
    return sorted(results, key=lambda r: r.expected_harm)


# Standard courses (times relative to the start day): the usual adult regimens the model's
# drugs stand for (5-day oral antiviral twice daily; dexamethasone 6 mg daily for 10 days,
# RECOVERY; tocilizumab 8 mg/kg once, about 560 mg).
STANDARD = {
    "antiviral": (300.0, tuple(0.5 * i for i in range(10)), "oral"),
    "corticosteroid": (6.0, tuple(float(i) for i in range(10)), "iv_bolus"),
    "anti_il6": (560.0, (0.0,), "iv_bolus"),
}


@dataclass(frozen=True)
class DrugConstraints:
    """What a recommendation may do with one drug: start within ``allowed_days`` (patient
    days, inclusive), scale the standard course by one of ``dose_scales``, and give at most
    ``max_cumulative`` mg in total."""

    first_day: float
    last_day: float
    dose_scales: tuple[float, ...] = (0.5, 1.0, 2.0)
    max_cumulative: float = float("inf")
    min_interval: float | None = None  # days between doses (optimal dosing slots)
    max_dose: float | None = None  # mg per dose (optimal dosing)


def constraints_from_dict(data: Mapping[str, Any], now: float) -> dict[str, DrugConstraints]:
    """``{drug: {allowed_days: [a, b], dose_scales: [...], max_cumulative_dose: mg,
    min_interval: days, max_dose: mg}}``."""
    out = {}
    for drug, spec in data.items():
        if drug not in STANDARD:
            raise InvalidInputError(
                f"constraints name drug '{drug}'; known drugs: {', '.join(STANDARD)}"
            )
        days = spec.get("allowed_days", [now, now + 2])
        if len(days) != 2 or days[0] > days[1]:
            raise InvalidInputError(f"{drug}.allowed_days must be [first, last]; got {days}")
        unknown = set(spec) - {
            "allowed_days",
            "dose_scales",
            "max_cumulative_dose",
            "min_interval",
            "max_dose",
        }
        if unknown:
            raise InvalidInputError(
                f"unknown constraint(s) for {drug}: {', '.join(sorted(unknown))}; allowed: "
                "allowed_days, dose_scales, max_cumulative_dose, min_interval, max_dose"
            )
        interval, dose = spec.get("min_interval"), spec.get("max_dose")
        out[drug] = DrugConstraints(
            max(float(days[0]), now),
            float(days[1]),
            tuple(float(x) for x in spec.get("dose_scales", (0.5, 1.0, 2.0))),
            float(spec.get("max_cumulative_dose", float("inf"))),
            None if interval is None else float(interval),
            None if dose is None else float(dose),
        )
    return out


def candidate_grid(
    drugs: Sequence[str], now: float, constraints: Mapping[str, DrugConstraints] | None = None
) -> dict[str, list[Regimen]]:
    """Every combination of, per drug, "not given" or a standard course scaled by an allowed
    factor and started on an allowed whole day."""
    per_drug: list[list[tuple[str, Regimen | None]]] = []
    for drug in drugs:
        if drug not in STANDARD:
            raise InvalidInputError(
                f"no standard course for '{drug}'; known: {', '.join(STANDARD)}"
            )
        limits = (constraints or {}).get(drug) or DrugConstraints(now, now + 2)
        amount, offsets, route = STANDARD[drug]
        options: list[tuple[str, Regimen | None]] = [("", None)]
        start = math.ceil(limits.first_day)
        for day in np.arange(start, limits.last_day + 1e-9, 1.0):
            for scale in limits.dose_scales:
                if amount * scale * len(offsets) > limits.max_cumulative:
                    continue
                times = tuple(float(day) + t for t in offsets)
                label = f"{drug} x{scale:g} from day {day:g}"
                options.append((label, Regimen(drug, amount * scale, times, route)))
        per_drug.append(options)
    grid: dict[str, list[Regimen]] = {}
    for combination in itertools.product(*per_drug):
        chosen = [(label, regimen) for label, regimen in combination if regimen is not None]
        if chosen:
            grid[" + ".join(label for label, _ in chosen)] = [r for _, r in chosen]
    return grid
