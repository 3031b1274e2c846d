"""Multistart options: failed trial points and failed start points, fides' Hessian choices."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import fides
import numpy as np
import pytest

from immunetwin.calibrate import Objective, read_petab
from immunetwin.calibrate.optimize import FidesTrustRegion, Subspace, optimize

LineWriter = Callable[[str, dict[str, list[str]]], Path]

TIMES = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0])


def _tables(transformation: str) -> dict[str, list[str]]:
    rng = np.random.default_rng(3)
    data = 1.2 + 0.45 * TIMES + rng.normal(0.0, 0.1, len(TIMES))
    return {
        "observables.tsv": [
            "observableId\tobservableFormula\tnoiseFormula\tobservableTransformation",
            f"y\tX\t0.3\t{transformation}",
        ],
        "conditions.tsv": ["conditionId", "c"],
        "measurements.tsv": [
            "observableId\tsimulationConditionId\tmeasurement\ttime",
            *(f"y\tc\t{float(v)!r}\t{float(t)!r}" for t, v in zip(TIMES, data, strict=True)),
        ],
        "parameters.tsv": [
            "parameterId\tparameterScale\tlowerBound\tupperBound\tnominalValue\testimate",
            "a\tlin\t-20\t20\t1\t1",
            "b\tlin\t-20\t20\t0.5\t1",
        ],
    }


def test_a_failed_trial_point_shrinks_the_trust_region_instead_of_stopping() -> None:
    calls = [0]

    def fun(x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        calls[0] += 1
        if calls[0] == 2:  # the first trial point "fails to simulate"
            return math.inf, np.zeros(1), np.zeros((1, 1))
        return float((x[0] - 2.0) ** 2), 2.0 * (x - 2.0), np.array([[2.0]])

    result = FidesTrustRegion().minimize(fun, np.array([-3.0]), np.array([-5.0]), np.array([5.0]))
    assert result.x == pytest.approx([2.0], abs=1e-4)
    assert result.converged and calls[0] > 3


def test_starts_where_the_objective_fails_are_redrawn(write_line: LineWriter) -> None:
    # a log-transformed observable of X = a + b t: no likelihood where X <= 0 at some time
    objective = Objective(read_petab(write_line("log_line", _tables("log"))))
    kept = optimize(objective, starts=8, seed=1, workers=1, resample_failed=0)
    assert any(not math.isfinite(objective.nllh(s.x0)) for s in kept.starts)
    redrawn = optimize(objective, starts=8, seed=1, workers=1)
    lower, upper = objective.problem.bounds_x()
    for start in redrawn.starts:
        assert math.isfinite(objective.nllh(start.x0))
        assert np.all(start.x0 >= lower) and np.all(start.x0 <= upper)
    again = optimize(objective, starts=8, seed=1, workers=1)
    assert [s.x0.tolist() for s in again.starts] == [s.x0.tolist() for s in redrawn.starts]
    assert redrawn.reached_best(0.1) == 8


@pytest.mark.parametrize(
    "optimizer",
    [
        FidesTrustRegion(hessian_update=fides.HybridFixed),
        FidesTrustRegion(hessian_update=fides.BFGS),
        FidesTrustRegion(subspace=Subspace.FULL, frtol=1e-10),
    ],
    ids=["hybrid", "bfgs", "full"],
)
def test_fides_hessian_choices_find_the_fit(write_line: LineWriter, optimizer) -> None:  # type: ignore[no-untyped-def]
    objective = Objective(read_petab(write_line("line", _tables("lin"))))
    rows = objective.problem.measurements
    t = np.array([m.time for m in rows])
    design = np.column_stack([np.ones_like(t), t])
    estimate = np.linalg.lstsq(design, np.array([m.value for m in rows]), rcond=None)[0]
    result = optimize(objective, starts=3, seed=4, workers=1, optimizer=optimizer)
    assert result.best.x == pytest.approx(estimate, abs=1e-4)
    assert all(s.converged for s in result.starts)
