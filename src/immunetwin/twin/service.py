"""The twin loop as operations on the twin record: create a twin from a patient's first data,
assimilate new data, forecast under a regimen, and record recommendations and approvals.

Each operation reads the latest version, computes, and writes a new row; nothing is changed
in place, so every forecast can be traced to the data, method and model version behind it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from immunetwin.compose.dosing import Regimen, regimen_from_dict
from immunetwin.errors import InvalidInputError, UnknownIdentifierError
from immunetwin.twin.assimilate import (
    AbstractFilter,
    EnsembleKalmanFilter,
    ParticleFilter,
    assimilate,
    calibrate_ensemble,
)
from immunetwin.twin.control import dosing_problem, optimise_dosing
from immunetwin.twin.ensemble import Ensemble, weighted_order_statistics
from immunetwin.twin.forecast import Forecast, forecast
from immunetwin.twin.model import TwinModel, viral_pneumonia_twin
from immunetwin.twin.patient import (
    Intervention,
    Observation,
    PatientTimeline,
    ReferenceEvent,
    Route,
)
from immunetwin.twin.store import TwinStore, TwinVersion
from immunetwin.twin.therapy import (
    CandidateResult,
    candidate_grid,
    compare_regimens,
    constraints_from_dict,
)

# Twin models by the names a user may give (library name, catalogue id and alias).
MODELS: dict[str, Callable[[], TwinModel]] = {
    "viral_pneumonia": viral_pneumonia_twin,
    "viral_pneumonia_composed": viral_pneumonia_twin,
    "sars-cov-2-pneumonia-cytokine-storm": viral_pneumonia_twin,
}
FILTERS: dict[str, Callable[[], AbstractFilter]] = {
    "enkf": EnsembleKalmanFilter,
    "pf": ParticleFilter,
}


def twin_model(name: str) -> TwinModel:
    factory = MODELS.get(name)
    if factory is None:
        raise UnknownIdentifierError(
            f"no twin model '{name}'; twins can be made of: {', '.join(sorted(MODELS))}"
        )
    return factory()


def population_from_json(data: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """(medians, log-scale sds) from ``PopulationPrior.to_json()`` (means and sds on each
    parameter's scale: lin, log or log10)."""
    try:
        parameters = data["parameters"]
        medians, log_sds = {}, {}
        for id, item in parameters.items():
            scale, mean, sd = item["scale"], float(item["mean"]), float(item["sd"])
            if scale == "log10":
                medians[id], log_sds[id] = 10.0**mean, sd * math.log(10.0)
            elif scale == "log":
                medians[id], log_sds[id] = math.exp(mean), sd
            else:
                raise InvalidInputError(
                    f"population parameter '{id}' is on the '{scale}' scale; a twin's "
                    "population is log-normal: fit it on the log or log10 scale"
                )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"a population file must be PopulationPrior.to_json() output: "
            f"{{'parameters': {{id: {{'scale', 'mean', 'sd'}}}}}}; {type(exc).__name__}: {exc}"
        ) from None
    return medians, log_sds


def _twin_of(inputs: dict[str, Any]) -> TwinModel:
    """The twin model a version was made with (with its population, if one was given)."""
    twin = twin_model(inputs["model"])
    population = inputs.get("population")
    return twin.with_population(*population_from_json(population)) if population else twin


def regimens_of(interventions: Sequence[Intervention]) -> list[Regimen]:
    """Doses grouped into regimens by (drug, route, duration), times in patient days."""
    groups: dict[tuple[str, str, float | None], list[Intervention]] = {}
    for dose in interventions:
        groups.setdefault((dose.drug, dose.route.value, dose.duration), []).append(dose)
    return [
        Regimen(
            drug,
            tuple(d.dose for d in doses),
            tuple(d.time for d in doses),
            route,
            duration=duration,
        )
        for (drug, route, duration), doses in groups.items()
    ]


def timeline_to_json(timeline: PatientTimeline) -> dict[str, Any]:
    def clean(item: Any) -> dict[str, Any]:
        data = dataclasses.asdict(item)
        if isinstance(item, Intervention):
            data["route"] = item.route.value
        return data

    return {
        "patient": timeline.patient_id,
        "reference": timeline.reference.isoformat(),
        "reference_event": timeline.reference_event.value,
        "observations": [clean(o) for o in timeline.observations],
        "interventions": [clean(i) for i in timeline.interventions],
    }


def timeline_from_json(data: dict[str, Any]) -> PatientTimeline:
    observations = tuple(Observation(**o) for o in data["observations"])
    interventions = tuple(
        Intervention(**{**i, "route": Route(i["route"])}) for i in data["interventions"]
    )
    return PatientTimeline(
        data["patient"],
        datetime.fromisoformat(data["reference"]),
        observations,
        interventions,
        ReferenceEvent(data["reference_event"]),
    )


def _digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _summary(ensemble: Ensemble) -> dict[str, Any]:
    """Posterior medians and 90% intervals of the varying parameters and infection day."""
    summary: dict[str, Any] = {
        "day": ensemble.time,
        "members": ensemble.size,
        "effective_size": round(ensemble.effective_size, 1),
    }
    rows = {id: ensemble.parameters[:, j] for j, id in enumerate(ensemble.parameter_ids)} | {
        "infection_day": ensemble.infection_days
    }
    for id, values in rows.items():
        pick = weighted_order_statistics(values, ensemble.weights, (0.05, 0.5, 0.95))
        summary[id] = {"median": pick[1], "interval90": [pick[0], pick[2]]}
    return summary


def _usable(twin: TwinModel, observations: Sequence[Observation]) -> list[Observation]:
    return [o for o in observations if twin.predicts(o.quantity)]


@dataclasses.dataclass(frozen=True)
class AssimilationResult:
    version: TwinVersion
    assimilated: int
    ignored: list[str]  # quantities the model does not predict
    alerts: list[dict[str, Any]]  # new measurements outside the previous forecast's 95% band


class TwinService:
    """Twins over one record (``TwinStore``)."""

    def __init__(self, store: TwinStore) -> None:
        self.store = store

    def create(
        self,
        name: str,
        model: str,
        timeline: PatientTimeline,
        *,
        size: int = 500,
        seed: int = 0,
        iterations: int = 4,
        population: dict[str, Any] | None = None,
    ) -> TwinVersion:
        """Create a twin from the first data; ``population`` (``PopulationPrior.to_json()``,
        e.g. fitted from other patients by ``calibrate.population``) replaces the model's
        default population prior."""
        twin = _twin_of({"model": model, "population": population})
        usable = _usable(twin, timeline.observations)
        if not usable:
            raise InvalidInputError(
                f"patient '{timeline.patient_id}' has no measurement the model predicts "
                f"({', '.join(q.key for q in twin.quantities)}); a twin needs at least one"
            )
        ensemble = calibrate_ensemble(
            twin,
            usable,
            size=size,
            iterations=iterations,
            regimens=regimens_of(timeline.interventions),
            rng=np.random.default_rng(seed),
        )
        inputs = {
            **_data_record(timeline, len(usable), ensemble.time),
            "settings": {"size": size, "seed": seed, "iterations": iterations},
            "model": model,
            "population": population,
        }
        return self.store.create(
            name,
            model,
            timeline.patient_id,
            ensemble,
            method=f"ES-MDA ({iterations} iterations, {size} members) from the population prior",
            inputs=inputs,
            summary=_summary(ensemble),
        )

    def assimilate(
        self, name: str, new_data: PatientTimeline, *, method: str = "enkf", seed: int = 0
    ) -> AssimilationResult:
        if method not in FILTERS:
            raise InvalidInputError(f"--method must be one of {', '.join(FILTERS)}; got '{method}'")
        latest = self.store.version(name)
        twin = _twin_of(latest.inputs)
        known = timeline_from_json(latest.inputs["timeline"])
        merged = known.merged(new_data)  # refuses duplicates and out-of-order data
        fresh = [o for o in new_data.observations if o.time > latest.ensemble.time]
        stale = [o for o in new_data.observations if o.time <= latest.ensemble.time]
        if stale:
            raise InvalidInputError(
                f"{len(stale)} new measurement(s) are not newer than the twin (day "
                f"{latest.ensemble.time:g}); e.g. {stale[0].quantity} at day {stale[0].time:g}"
            )
        usable = _usable(twin, fresh)
        ignored = sorted({o.quantity for o in fresh} - {o.quantity for o in usable})
        alerts = self._alerts(name, usable)
        ensemble = assimilate(
            twin,
            latest.ensemble,
            usable,
            method=FILTERS[method](),
            regimens=regimens_of(merged.interventions),
            rng=np.random.default_rng(seed),
        )
        inputs = {
            **latest.inputs,
            **_data_record(merged, len(usable), ensemble.time, ignored=ignored),
            "settings": {**latest.inputs.get("settings", {}), "method": method, "seed": seed},
        }
        version = self.store.add_version(
            name,
            ensemble,
            method=f"{method} update of version {latest.version}",
            inputs=inputs,
            summary=_summary(ensemble),
        )
        return AssimilationResult(version, len(usable), ignored, alerts)

    def _alerts(self, name: str, observations: Sequence[Observation]) -> list[dict[str, Any]]:
        previous = self.store.latest_forecast(name)
        if previous is None or not observations:
            return []
        content = previous["content"]
        alerts = []
        for o in observations:
            q = content["quantities"].get(o.quantity)
            times = content["time"]
            if q is None or not times[0] <= o.time <= times[-1]:
                continue
            low = float(np.interp(o.time, times, q["predictive95"][0]))
            high = float(np.interp(o.time, times, q["predictive95"][1]))
            if o.value > high or (not o.censored and o.value < low):
                alerts.append(
                    {
                        "quantity": o.quantity,
                        "day": o.time,
                        "value": o.value,
                        "band95": [low, high],
                        "forecast": previous["id"],
                        "advice": "the twin has diverged from the patient: recalibrate "
                        "(immunetwin twin create with all the data)",
                    }
                )
        return alerts

    def forecast(
        self,
        name: str,
        horizon: float,
        *,
        regimens: Sequence[Regimen] | None = None,
        seed: int = 0,
    ) -> tuple[int, Forecast, TwinVersion]:
        """Forecast ``horizon`` days ahead under ``regimens`` (default: the doses already in
        the patient's record, none more)."""
        latest = self.store.version(name)
        twin = _twin_of(latest.inputs)
        known = timeline_from_json(latest.inputs["timeline"])
        given = regimens_of(known.interventions)
        plan = given if regimens is None else [*given, *regimens]
        result = forecast(
            twin, latest.ensemble, horizon, regimens=plan, rng=np.random.default_rng(seed)
        )
        content = {**result.to_json(), "horizon": horizon, "twin_version": latest.version}
        forecast_id = self.store.add_forecast(name, latest.version, content)
        return forecast_id, result, latest

    def recommend(
        self,
        name: str,
        drugs: Sequence[str],
        *,
        constraints: dict[str, Any] | None = None,
        horizon: float = 14.0,
        exposure_weight: float = 0.005,
        members: int = 16,
    ) -> tuple[int, list[CandidateResult]]:
        """Regimens of ``drugs`` within ``constraints``: every standard-course option on the
        allowed grid plus the gradient-optimised dosing (``twin.control``; drugs optimised
        one after the other, each given the previous ones), all ranked by expected harm over
        the whole posterior; the best is stored as a recommendation awaiting approval."""
        if not drugs:
            raise InvalidInputError("name at least one drug to optimise (--drug)")
        latest = self.store.version(name)
        twin = _twin_of(latest.inputs)
        known = timeline_from_json(latest.inputs["timeline"])
        now = latest.ensemble.time
        limits = constraints_from_dict(constraints or {}, now)
        grid = candidate_grid(drugs, now, limits)
        given = regimens_of(known.interventions)
        optimised: list[Regimen] = []
        for drug in drugs:
            limit = limits.get(drug)
            cumulative = None
            if limit is not None and math.isfinite(limit.max_cumulative):
                cumulative = limit.max_cumulative
            problem = dosing_problem(
                drug,
                now,
                horizon=horizon,
                exposure_weight=exposure_weight,
                first_day=None if limit is None else limit.first_day,
                last_day=None if limit is None else limit.last_day,
                min_interval=None if limit is None else limit.min_interval,
                max_dose=None if limit is None else limit.max_dose,
                max_cumulative=cumulative,
            )
            found = optimise_dosing(
                twin, latest.ensemble, problem, given=[*given, *optimised], members=members
            )
            if found.regimen is not None:
                optimised.append(found.regimen)
        if optimised:
            grid["optimised dosing (gradient)"] = optimised
        results = compare_regimens(
            twin,
            latest.ensemble,
            grid,
            horizon=horizon,
            exposure_weight=exposure_weight,
            given=given,
        )
        content = _recommendation_content(results, horizon, exposure_weight, now)
        return self.store.add_recommendation(name, latest.version, content), results

    def replay(self, name: str) -> list[tuple[int, bool]]:
        """Recompute every version from its recorded inputs (data, method, seed) and compare
        with the stored posterior: (version, equal) per version."""
        checked: list[tuple[int, bool]] = []
        previous: TwinVersion | None = None
        number = 1
        while True:
            try:
                version = self.store.version(name, number)
            except UnknownIdentifierError:
                break
            replayed = self._recompute(version, previous)
            stored = version.ensemble
            equal = (
                replayed.time == stored.time
                and np.allclose(replayed.parameters, stored.parameters, rtol=1e-9, atol=0)
                and np.allclose(replayed.states, stored.states, rtol=1e-9, atol=1e-12)
                and np.allclose(replayed.weights, stored.weights, rtol=1e-9, atol=0)
            )
            checked.append((number, bool(equal)))
            previous, number = version, number + 1
        return checked

    def _recompute(self, version: TwinVersion, previous: TwinVersion | None) -> Ensemble:
        inputs = version.inputs
        twin = _twin_of(inputs)
        timeline = timeline_from_json(inputs["timeline"])
        settings = inputs.get("settings", {})
        if previous is None:
            return calibrate_ensemble(
                twin,
                _usable(twin, timeline.observations),
                size=settings["size"],
                iterations=settings["iterations"],
                regimens=regimens_of(timeline.interventions),
                rng=np.random.default_rng(settings["seed"]),
            )
        if "approval" in inputs and inputs.get("approval") != previous.inputs.get("approval"):
            return previous.ensemble  # an approval plans doses; the posterior is unchanged
        known = timeline_from_json(previous.inputs["timeline"])
        before = previous.ensemble.time
        fresh = [
            o for o in timeline.observations if o.time > before and o not in known.observations
        ]
        return assimilate(
            twin,
            previous.ensemble,
            _usable(twin, fresh),
            method=FILTERS[settings["method"]](),
            regimens=regimens_of(timeline.interventions),
            rng=np.random.default_rng(settings["seed"]),
        )

    def approve(self, name: str, recommendation: int, by: str) -> dict[str, Any]:
        """A person approves a recommendation: its doses enter the patient's record (a new
        twin version, same ensemble, planned interventions added), atomically with the
        approval row. Until then nothing in the record changes."""
        content = self.store.recommendation(name, recommendation)["content"]
        regimens = [regimen_from_dict(r) for r in content["recommended"]["regimens"]]
        if not regimens:  # "no further treatment": nothing to add to the record
            return self.store.approve(name, recommendation, by)
        latest = self.store.version(name)
        known = timeline_from_json(latest.inputs["timeline"])
        planned = PatientTimeline(
            known.patient_id,
            known.reference,
            (),
            interventions_of(regimens, f"recommendation {recommendation}"),
            known.reference_event,
        )
        merged = known.merged(planned)
        data = timeline_to_json(merged)
        inputs = {
            **latest.inputs,
            "timeline": data,
            "data_summary": {
                **latest.inputs.get("data_summary", {}),
                "digest": _digest(data),
                "planned_doses": len(planned.interventions),
            },
            "approval": {"recommendation": recommendation, "by": by},
        }
        method = f"approved recommendation {recommendation} (by {by.strip()}): doses planned"
        return self.store.approve(
            name,
            recommendation,
            by,
            new_version=(latest.ensemble, method, inputs, latest.summary),
        )


def _data_record(
    timeline: PatientTimeline, assimilated: int, until_day: float, **more: Any
) -> dict[str, Any]:
    """The data part of a version's inputs: the whole timeline and a summary of it."""
    data = timeline_to_json(timeline)
    summary = {
        "observations": len(timeline.observations),
        "assimilated": assimilated,
        **more,
        "digest": _digest(data),
        "until_day": until_day,
    }
    return {"timeline": data, "data_summary": summary}


def interventions_of(regimens: Sequence[Regimen], source: str) -> tuple[Intervention, ...]:
    """A regimen's doses as interventions of the patient's record."""
    return tuple(
        Intervention(t, r.drug, a, Route(r.route), r.duration, source=source)
        for r in regimens
        for t, a in zip(r.times, r.amounts, strict=True)
    )


def _recommendation_content(
    results: Sequence[CandidateResult], horizon: float, exposure_weight: float, day: float
) -> dict[str, Any]:
    best = results[0]
    return {
        "day": day,
        "horizon": horizon,
        "objective": f"expected peak lung damage + {exposure_weight} x drug exposure",
        "recommended": best.to_json(),
        "compared": [r.to_json() for r in results],
        "status": "awaiting approval: not part of the patient's record until approved",
    }


def read_timeline(path: Path) -> PatientTimeline:
    """A patient timeline from CSV (long format) or a FHIR R4 bundle (.json)."""
    if path.suffix.lower() == ".json":
        from immunetwin.twin.fhir import read_fhir

        return read_fhir(path)
    return PatientTimeline.from_csv(path)


def write_timeline_csv(timeline: PatientTimeline) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "timeline.csv"
        timeline.to_csv(path)
        return path.read_text(encoding="utf-8")
