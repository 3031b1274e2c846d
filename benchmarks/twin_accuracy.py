"""Twin accuracy on synthetic truth (issue 6 acceptance): patients simulated from known
parameters of the viral pneumonia model, with realistic noise and sparse sampling; after 3, 5
and 7 days of data the twin's 90% forecast bands should cover the true future trajectory at
the nominal rate (80-97% over >= 50 patients), and the forecast error should shrink.

Usage: python benchmarks/twin_accuracy.py [--patients 50] [--size 300] [--out docs]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from immunetwin.twin.assimilate import Measured, calibrate_ensemble
from immunetwin.twin.ensemble import Trajectories, at_reference, propagate
from immunetwin.twin.forecast import forecast
from immunetwin.twin.model import TwinModel, viral_pneumonia_twin

ITER = int(__import__("os").environ.get("ITER", "4"))
HORIZON_DAY = 14.0  # forecasts run to day 14 after the reference time
CUTOFFS = (3, 5, 7)  # days of data
# sparse sampling: viral load and IL-6 daily, CRP and blood counts every other day
SCHEDULE = {
    "sars_cov_2_rna": 1.0,
    "il6": 1.0,
    "crp": 2.0,
    "lymphocytes": 2.0,
    "neutrophils": 2.0,
}


def synthetic_patient(
    twin: TwinModel, rng: np.random.Generator
) -> tuple[Trajectories, list[Measured], dict[str, float]]:
    """A patient drawn from the population: true trajectory, noisy sparse measurements, and
    the true parameters."""
    parameters, tau = twin.sample_prior(1, rng)
    truth = at_reference(twin, parameters, tau)
    trajectory = propagate(twin, truth, np.arange(0.0, HORIZON_DAY + 0.01, 0.25))
    measured = []
    for key, every in SCHEDULE.items():
        q = twin.quantity(key)
        for day in np.arange(0.0, HORIZON_DAY, every):
            true = float(np.interp(day, trajectory.time, q.canonical(trajectory.of(q.model_id)[0])))
            value = max(true, q.floor) * float(np.exp(rng.normal(0.0, q.log_sd)))
            measured.append(Measured(float(day), key, value))
    truth_parameters = dict(zip(twin.parameter_ids, map(float, parameters[0]), strict=True))
    return trajectory, measured, truth_parameters


def evaluate(twin: TwinModel, patient: int, size: int) -> list[dict[str, float]]:
    rng = np.random.default_rng(1000 + patient)
    truth, measured, _ = synthetic_patient(twin, rng)
    rows = []
    for days in CUTOFFS:
        first = [m for m in measured if m.time < days]
        begin = time.perf_counter()
        ensemble = calibrate_ensemble(
            twin,
            first,
            size=size,
            rng=np.random.default_rng(patient),
            now=days - 1.0,
            iterations=ITER,
        )
        result = forecast(twin, ensemble, HORIZON_DAY - ensemble.time)
        wall = time.perf_counter() - begin
        future = result.time > ensemble.time + 1e-9
        covered, errors, active_hits, active_n = [], [], 0, 0
        for key in SCHEDULE:
            q = twin.quantity(key)
            true = np.interp(result.time, truth.time, q.canonical(truth.of(q.model_id)[0]))
            true = np.maximum(true, q.floor)[future]
            low, high = (np.maximum(b, q.floor)[future] for b in result.band(key, 0.9))
            median = np.maximum(result.quantities[key].median, q.floor)[future]
            hit = (true >= low * (1 - 1e-6)) & (true <= high * (1 + 1e-6))
            covered.append(np.mean(hit))
            errors.append(float(np.mean(np.abs(np.log(median) - np.log(true)))))
            # "active" points: the quantity is measurable and the band is not collapsed onto
            # the healthy baseline (which no varying parameter changes)
            active = (true > q.floor * 1.001) & (high > low * 1.01)
            active_hits += int(np.sum(hit & active))
            active_n += int(np.sum(active))
        rows.append(
            {
                "patient": patient,
                "days": days,
                "coverage": float(np.mean(covered)),
                "active_hits": active_hits,
                "active_points": active_n,
                "log_error": float(np.mean(errors)),
                "wall_s": wall,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=50)
    parser.add_argument("--size", type=int, default=300)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    twin = viral_pneumonia_twin()
    rows: list[dict[str, float]] = []
    for patient in range(args.patients):
        rows += evaluate(twin, patient, args.size)
        latest = rows[-len(CUTOFFS) :]
        print(
            f"patient {patient}: "
            + ", ".join(
                f"{r['days']}d cov {r['coverage']:.2f} err {r['log_error']:.2f}" for r in latest
            ),
            flush=True,
        )
    print(
        "\n| days of data | 90%-band coverage, all points | active points only | "
        "mean abs log error | wall s per twin |"
    )
    print("|---|---|---|---|---|")
    summary = []
    for days in CUTOFFS:
        chosen = [r for r in rows if r["days"] == days]
        coverage = np.array([r["coverage"] for r in chosen])
        error = np.array([r["log_error"] for r in chosen])
        wall = np.array([r["wall_s"] for r in chosen])
        active = sum(r["active_hits"] for r in chosen) / max(
            sum(r["active_points"] for r in chosen), 1
        )
        summary.append(
            {
                "days": days,
                "coverage": float(coverage.mean()),
                "coverage_active": float(active),
                "log_error": float(error.mean()),
            }
        )
        print(
            f"| {days} | {coverage.mean():.3f} | {active:.3f} | "
            f"{error.mean():.3f} | {np.median(wall):.1f} |"
        )
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "twin-accuracy.json").write_text(
            json.dumps({"rows": rows, "summary": summary}, indent=1), encoding="utf-8"
        )


if __name__ == "__main__":
    main()
