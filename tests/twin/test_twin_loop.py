"""The twin loop on a synthetic patient: create, forecast, assimilate (EnKF and particle
filter), alerts, history and approvals, all through the twin record (real SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from immunetwin.errors import InvalidInputError, UnknownIdentifierError
from immunetwin.twin.ensemble import at_reference, propagate
from immunetwin.twin.model import viral_pneumonia_twin
from immunetwin.twin.patient import Observation, PatientTimeline
from immunetwin.twin.service import TwinService
from immunetwin.twin.store import TwinStore

REFERENCE = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
KEYS = ("sars_cov_2_rna", "il6", "crp")


@pytest.fixture(scope="module")
def patient() -> tuple[list[Observation], np.ndarray, np.ndarray]:
    """Daily noisy measurements of a patient drawn from the population, and the truth."""
    twin = viral_pneumonia_twin()
    rng = np.random.default_rng(5)
    parameters, tau = twin.sample_prior(1, rng)
    truth = at_reference(twin, parameters, tau)
    trajectory = propagate(twin, truth, np.arange(0.0, 10.01, 1.0))
    observations = []
    for key in KEYS:
        q = twin.quantity(key)
        for i, day in enumerate(trajectory.time):
            value = max(float(q.canonical(trajectory.of(q.model_id)[0, i])), q.floor)
            observations.append(
                Observation(float(day), key, value * np.exp(rng.normal(0, q.log_sd)))
            )
    return observations, trajectory.time, trajectory.of("il6_IL6")[0]


def _timeline(observations: list[Observation], low: float, high: float) -> PatientTimeline:
    chosen = tuple(sorted((o for o in observations if low <= o.time < high), key=lambda o: o.time))
    return PatientTimeline("synthetic-1", REFERENCE, chosen)


def test_create_forecast_assimilate_and_trace(patient, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    observations, times, true_il6 = patient
    service = TwinService(TwinStore.open(f"sqlite:///{tmp_path / 'twins.sqlite'}"))
    created = service.create("p1", "viral_pneumonia", _timeline(observations, 0, 3), size=80)
    assert created.version == 1 and created.ensemble.time == 2.0
    assert set(created.summary) >= {"virus_beta", "infection_day", "members"}

    forecast_id, result, version = service.forecast("p1", 5.0)
    assert version.version == 1 and result.time[0] == 2.0 and result.time[-1] == 7.0
    low, high = result.band("il6", 0.9)
    assert np.all(low <= result.quantities["il6"].median) and np.all(
        result.quantities["il6"].median <= high
    )
    assert set(result.outcomes) == {"il6_above_70", "severe_damage", "viral_clearance_day_14"}
    assert all(0.0 <= p <= 1.0 for p in result.outcomes.values())

    updated = service.assimilate("p1", _timeline(observations, 3, 5), method="enkf")
    assert updated.version.version == 2 and updated.version.ensemble.time == 4.0
    assert updated.assimilated == 6 and updated.alerts == []
    particle = service.assimilate("p1", _timeline(observations, 5, 6), method="pf")
    assert particle.version.version == 3

    # a value far outside the last forecast's 95% band raises an alert
    service.forecast("p1", 3.0)
    wild = PatientTimeline("synthetic-1", REFERENCE, (Observation(7.0, "il6", 5000.0),))
    alerted = service.assimilate("p1", wild)
    assert [a["quantity"] for a in alerted.alerts] == ["il6"]

    history = service.store.history("p1")
    assert [e["version"] for e in history if e["event"] == "version"] == [1, 2, 3, 4]
    assert sum(e["event"] == "forecast" for e in history) == 2
    recommendation = service.store.add_recommendation("p1", 4, {"regimen": "none"})
    assert service.store.approve("p1", recommendation, "Dr Ada")["approved_by"] == "Dr Ada"
    approved = [e for e in service.store.history("p1") if e["event"] == "recommendation"]
    assert approved[0]["approved_by"] == "Dr Ada" and approved[0]["approved_at"]
    with pytest.raises(InvalidInputError, match="already approved"):
        service.store.approve("p1", recommendation, "Dr Bob")


def test_bad_requests_change_nothing(patient, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    observations, _, _ = patient
    service = TwinService(TwinStore.open(tmp_path / "twins.sqlite"))
    service.create("p2", "viral_pneumonia", _timeline(observations, 0, 2), size=40)
    with pytest.raises(InvalidInputError, match="exists already"):
        service.create("p2", "viral_pneumonia", _timeline(observations, 0, 2), size=40)
    with pytest.raises(InvalidInputError):  # data not newer than what the twin has
        service.assimilate("p2", _timeline(observations, 1, 2))
    with pytest.raises(InvalidInputError, match="enkf, pf"):
        service.assimilate("p2", _timeline(observations, 2, 3), method="kalman")
    with pytest.raises(UnknownIdentifierError, match="p2"):
        service.store.version("nobody")
    with pytest.raises(UnknownIdentifierError, match="twin model"):
        service.create("p3", "no_such_model", _timeline(observations, 0, 2))
    assert [e["version"] for e in service.store.history("p2") if e["event"] == "version"] == [1]


def test_recommendation_compares_allowed_regimens_and_waits_for_approval(
    patient, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    observations, _, _ = patient
    service = TwinService(TwinStore.open(tmp_path / "twins.sqlite"))
    service.create("p4", "viral_pneumonia", _timeline(observations, 0, 3), size=40)
    constraints = {
        "antiviral": {"allowed_days": [2, 2], "dose_scales": [1.0]},
        "corticosteroid": {
            "allowed_days": [2, 3],
            "dose_scales": [1.0],
            "max_cumulative_dose": 30.0,
        },
    }
    recommendation, results = service.recommend(
        "p4", ["antiviral", "corticosteroid"], constraints=constraints, horizon=10.0, members=3
    )
    # corticosteroid's standard course is 60 mg: over its 30 mg limit, so never proposed as a
    # course; the gradient-optimised dosing respects the limit
    names = sorted(r.name for r in results)
    assert {"antiviral x1 from day 2", "no further treatment"} <= set(names)
    assert set(names) <= {
        "antiviral x1 from day 2",
        "no further treatment",
        "optimised dosing (gradient)",
    }
    for r in results:
        steroid = sum(sum(g.amounts) for g in r.regimens if g.drug == "corticosteroid")
        assert steroid <= 30.0 + 1e-6
    assert [r.expected_harm for r in results] == sorted(r.expected_harm for r in results)
    stored = [e for e in service.store.history("p4") if e["event"] == "recommendation"]
    assert stored[0]["id"] == recommendation and stored[0]["approved_by"] is None
    assert stored[0]["content"]["recommended"]["name"] == results[0].name
    with pytest.raises(InvalidInputError, match="known drugs"):
        service.recommend("p4", ["antiviral"], constraints={"aspirin": {}})


def test_kalman_update_after_a_weighted_particle_update_keeps_members_and_predictions_paired(
    patient,
) -> None:  # type: ignore[no-untyped-def]
    from immunetwin.twin.assimilate import EnsembleKalmanFilter, assimilate, calibrate_ensemble

    observations, _, _ = patient
    twin = viral_pneumonia_twin()
    first = [o for o in observations if o.time < 2]
    ensemble = calibrate_ensemble(twin, first, size=60, rng=np.random.default_rng(0))
    weights = np.linspace(1.0, 3.0, ensemble.size)
    weighted = ensemble.with_(weights=weights / weights.sum())
    day2 = [o for o in observations if o.time == 2.0]
    rng = np.random.default_rng(4)
    updated = assimilate(twin, weighted, day2, method=EnsembleKalmanFilter(), rng=rng)
    assert updated.effective_size == pytest.approx(updated.size)
    # each member's prediction moved toward the data: the update used its own trajectory
    il6 = next(o for o in day2 if o.quantity == "il6").value
    q = twin.quantity("il6")
    before = np.median(
        np.abs(
            np.log(
                np.maximum(
                    q.canonical(ensemble.states[:, ensemble.state_ids.index("il6_IL6")]), q.floor
                )
            )
            - np.log(il6)
        )
    )
    after = np.median(
        np.abs(
            np.log(
                np.maximum(
                    q.canonical(updated.states[:, updated.state_ids.index("il6_IL6")]), q.floor
                )
            )
            - np.log(il6)
        )
    )
    assert after < before
