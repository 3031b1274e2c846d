"""Twin performance (issue 6 acceptance): a 14-day forecast with 1,000 draws (goal < 2 s) and a
10,000-patient two-arm in-silico trial of the viral pneumonia model, ours against the same
trial as a libroadrunner loop in the same run (goal: ours <= 0.33x).

The libroadrunner trial does the same work per patient and arm: simulate from infection to
the patient's infection day (no doses), then from the reference time over the horizon with
the arm's doses as events, on the same output grid, with CVODES at rtol 1e-6, atol 1e-9.
Ours runs RODAS at rtol 1e-5, atol 1e-8 (the twin's setting). Tolerances mean different
errors for different methods, so both are checked against a tight reference (CVODES at
rtol 1e-10) on the first patients and their errors printed: the speed ratio only counts
if ours is at least as accurate.

Usage: python benchmarks/twin_trial.py [--patients 10000] [--checked 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from immunetwin.compose.dosing import Regimen
from immunetwin.engine import CVODES
from immunetwin.formats import to_sbml_string
from immunetwin.twin.assimilate import Measured, calibrate_ensemble
from immunetwin.twin.ensemble import at_reference, propagate
from immunetwin.twin.forecast import forecast
from immunetwin.twin.model import viral_pneumonia_twin
from immunetwin.twin.trial import Arm, TrialSpec, run_trial

HORIZON = 21.0
ARMS = (
    Arm("control", ()),
    Arm(
        "antiviral from onset",
        (Regimen("antiviral", 300.0, tuple(0.5 * i for i in range(10)), "oral"),),
    ),
)


def roadrunner_trial(  # type: ignore[no-untyped-def]
    twin, parameters: np.ndarray, tau: np.ndarray, keep: int = 0
) -> tuple[float, list[np.ndarray], list[str]]:
    """Wall time of the loop, the arms' species trajectories ``(keep, T, K)`` of the first
    ``keep`` patients, and the species' ids (K)."""
    import roadrunner

    infection = roadrunner.RoadRunner(to_sbml_string(twin.build(())))
    arms = [roadrunner.RoadRunner(to_sbml_string(twin.build(arm.regimens))) for arm in ARMS]
    for rr in (infection, *arms):
        rr.integrator.relative_tolerance = 1e-6
        rr.integrator.absolute_tolerance = 1e-9
        rr.integrator.maximum_num_steps = 100_000
    species = list(infection.model.getFloatingSpeciesIds())
    globals_ = list(infection.model.getGlobalParameterIds())
    index = np.array([globals_.index(id) for id in twin.parameter_ids], dtype=np.int32)
    kept: list[list[np.ndarray]] = [[] for _ in ARMS]
    begin = time.perf_counter()
    for n, (row, day) in enumerate(zip(parameters, tau, strict=True)):
        infection.resetAll()
        infection.model.setGlobalParameterValues(index, row)
        infection.reset()  # initial values from the patient's parameters
        at_reference = infection.simulate(0.0, float(day), 2)[-1, 1:]
        for a, rr in enumerate(arms):
            # Start from the patient's state through the initial values and reset(), so
            # doses due at time 0 fire on that state (assigning the state after resetAll()
            # would overwrite a dose that reset already gave).
            rr.resetAll()
            rr.model.setGlobalParameterValues(index, row)
            rr.model.setFloatingSpeciesInitConcentrations(at_reference)
            rr.reset()
            course = rr.simulate(0.0, HORIZON, int(HORIZON / 0.25) + 1)
            if n < keep:
                kept[a].append(np.asarray(course)[:, 1:])
    wall = time.perf_counter() - begin
    return wall, [np.array(k) for k in kept], species


def errors(values: np.ndarray, reference: np.ndarray) -> str:
    """Relative error over every species, time and patient (floor 1e-6 of the unit)."""
    relative = np.abs(values - reference) / (np.abs(reference) + 1e-6)
    median, p99, worst = np.quantile(relative, [0.5, 0.99, 1.0])
    return f"median {median:.1e}, 99th percentile {p99:.1e}, max {worst:.1e}"


def accuracy(  # type: ignore[no-untyped-def]
    twin, parameters: np.ndarray, tau: np.ndarray, theirs: list[np.ndarray], species: list[str]
) -> None:
    """Both trials' arm trajectories against CVODES at rtol 1e-10, same patients."""
    tight = CVODES(rtol=1e-10, atol=1e-13)
    times = np.arange(0.0, HORIZON + 0.125, 0.25)
    cohort = at_reference(twin, parameters, tau)
    exact = at_reference(twin, parameters, tau, solver=tight)
    for a, arm in enumerate(ARMS):
        ours = propagate(twin, cohort, times, arm.regimens)
        reference = propagate(twin, exact, times, arm.regimens, solver=tight)
        rr = theirs[a][:, :, [species.index(s) for s in ours.ids]]
        print(
            f"  {arm.name}: immunetwin error {errors(ours.values, reference.values)}; "
            f"libroadrunner {errors(rr, reference.values)}"
        )
        truth = outcomes(twin, times, ours.ids, reference.values)
        for name, values in (("immunetwin", ours.values), ("libroadrunner", rr)):
            wrong = outcomes(twin, times, ours.ids, values) != truth
            print(f"    {name}: {int(wrong.any(axis=0).sum())} patients with an outcome flipped")


def outcomes(twin, times: np.ndarray, ids: tuple[str, ...], values: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The model's outcome flags ``(outcomes, patients)``."""
    columns = {id: values[:, :, k] for k, id in enumerate(ids)}
    return np.array([np.asarray(o.test(times, columns)) for o in twin.outcomes])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--checked", type=int, default=200, help="patients checked for accuracy")
    args = parser.parse_args()
    twin = viral_pneumonia_twin()

    data = [Measured(0.0, "sars_cov_2_rna", 2e6), Measured(1.0, "il6", 80.0)]
    ensemble = calibrate_ensemble(twin, data, size=1000, rng=np.random.default_rng(0))
    forecast(twin, ensemble, 14.0)  # compile once (cached on disk)
    runs = []
    for _ in range(3):
        begin = time.perf_counter()
        forecast(twin, ensemble, 14.0)
        runs.append(time.perf_counter() - begin)
    print(f"14-day forecast, 1000 members: median {np.median(runs):.2f} s (goal < 2 s)")

    spec = TrialSpec("viral_pneumonia", args.patients, 1, HORIZON, ARMS)
    run_trial(twin, TrialSpec("viral_pneumonia", 50, 1, HORIZON, ARMS))  # compile once
    ours = run_trial(twin, spec).wall_s
    parameters, tau = twin.sample_prior(args.patients, np.random.default_rng(spec.seed))
    theirs, courses, species = roadrunner_trial(twin, parameters, tau, keep=args.checked)
    print(
        f"{args.patients}-patient two-arm trial: immunetwin {ours:.1f} s, libroadrunner loop "
        f"{theirs:.1f} s, ratio {ours / theirs:.2f}x (goal <= 0.33)"
    )
    k = args.checked
    print(f"accuracy on the first {k} patients (against CVODES at rtol 1e-10):")
    accuracy(twin, parameters[:k], tau[:k], courses, species)


if __name__ == "__main__":
    main()
