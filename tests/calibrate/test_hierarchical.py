"""Hierarchical optimisation: noise parameters in closed form, checked against the full
objective minimised over sigma numerically, and a straight-line fit with unknown noise whose
maximum-likelihood sigma is sqrt(RSS / n)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize as scipy_optimize

from immunetwin.calibrate import Objective, read_petab
from immunetwin.calibrate.hierarchical import HierarchicalObjective
from immunetwin.calibrate.optimize import objective_with_prior_and_fisher, optimize

LineWriter = Callable[[str, dict[str, list[str]]], Path]

TIMES = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0])


def _line_tables(noise_formula: str, noise_parameters: str, extra: str = "") -> dict:
    rng = np.random.default_rng(3)
    data = 1.2 + 0.45 * TIMES + rng.normal(0.0, 0.3, len(TIMES))
    return {
        "observables.tsv": [
            "observableId\tobservableFormula\tnoiseFormula",
            f"y\tX\t{noise_formula}",
        ],
        "conditions.tsv": ["conditionId", "c"],
        "measurements.tsv": [
            "observableId\tsimulationConditionId\tmeasurement\ttime\tnoiseParameters",
            *(
                f"y\tc\t{float(v)!r}\t{float(t)!r}\t{noise_parameters}"
                for t, v in zip(TIMES, data, strict=True)
            ),
        ],
        "parameters.tsv": [
            "parameterId\tparameterScale\tlowerBound\tupperBound\tnominalValue\testimate"
            + ("\tobjectivePriorType\tobjectivePriorParameters" if extra else ""),
            "a\tlin\t-20\t20\t1\t1" + ("\t\t" if extra else ""),
            "b\tlin\t-20\t20\t0.5\t1" + ("\t\t" if extra else ""),
            "sd\tlog10\t0.001\t100\t1\t1" + extra,
        ],
    }


@pytest.fixture
def line_sd(write_line: LineWriter) -> Objective:
    yaml = write_line("line_sd", _line_tables("noiseParameter1_y", "sd"))
    return Objective(read_petab(yaml))


def _profile_numerically(objective: Objective, x: np.ndarray, inner: list[int]) -> float:
    """min over the inner parameters of the full nllh, by a bounded numerical search."""
    lower, upper = objective.problem.bounds_x()

    def fun(z: np.ndarray) -> float:
        y = x.copy()
        y[inner] = z
        return objective.nllh(y)

    bounds = list(zip(lower[inner], upper[inner], strict=True))
    starts = (x[inner], (lower[inner] + upper[inner]) / 2)
    runs = [scipy_optimize.minimize(fun, z, method="L-BFGS-B", bounds=bounds) for z in starts]
    best = min(runs, key=lambda r: r.fun)
    return float(best.fun)


def test_finds_plain_noise_parameters_and_leaves_the_others_outer(decay_yaml: Path) -> None:
    # obs_a: scale * A with sigma sd_a (placeholder); obs_b: Laplace on log10 with sigma sd_b
    objective = Objective(read_petab(decay_yaml))
    profiled = HierarchicalObjective(objective)
    assert profiled.inner_ids == ("sd_a", "sd_b")
    assert profiled.outer_ids == ("k", "A0", "scale")  # scale is in an observable formula
    assert [s.noise.value for s in profiled.inner] == ["normal", "laplace"]
    sd_a = profiled.inner[0]
    assert list(sd_a.rows) == [0, 1, 2, 3]  # the fifth obs_a row has a numeric sigma


def test_a_noise_parameter_with_an_objective_prior_stays_outer(write_line: LineWriter) -> None:
    tables = _line_tables("sd", "", extra="\tparameterScaleNormal\t0;1")
    objective = Objective(read_petab(write_line("prior", tables)))
    assert HierarchicalObjective(objective).inner_ids == ()


def test_a_parameter_read_by_the_noise_formula_with_others_stays_outer(
    write_line: LineWriter,
) -> None:
    tables = _line_tables("sd * X", "")
    objective = Objective(read_petab(write_line("relative", tables)))
    assert HierarchicalObjective(objective).inner_ids == ()


def test_the_profile_is_the_minimum_over_sigma(decay_yaml: Path) -> None:
    objective = Objective(read_petab(decay_yaml))
    profiled = HierarchicalObjective(objective)
    rng = np.random.default_rng(0)
    x = objective.problem.nominal_x() + rng.normal(0.0, 0.1, len(profiled.outer_ids) + 2)
    evaluation = profiled.evaluate(profiled.outer(x))
    assert evaluation.ok
    expected = _profile_numerically(objective, x, list(profiled.inner_index))
    assert evaluation.nllh == pytest.approx(expected, abs=1e-6)
    assert evaluation.nllh <= objective.nllh(x) + 1e-12


def test_the_direct_parameter_id_as_noise_formula_is_inner(write_line: LineWriter) -> None:
    tables = _line_tables("sd", "")
    objective = Objective(read_petab(write_line("direct", tables)))
    assert HierarchicalObjective(objective).inner_ids == ("sd",)


def test_profiled_gradient_and_fisher(decay_yaml: Path) -> None:
    objective = Objective(read_petab(decay_yaml))
    profiled = HierarchicalObjective(objective)
    fun = objective_with_prior_and_fisher(profiled)
    x = profiled.outer(objective.problem.nominal_x()) + np.array([0.05, -0.1, 0.3])
    f, g, information = fun(x)
    h = 1e-6
    fd = [
        (fun(x + h * e)[0] - fun(x - h * e)[0]) / (2 * h) for e in np.eye(len(x))
    ]  # fmt: skip
    assert g == pytest.approx(np.array(fd), rel=1e-5, abs=1e-6)
    assert information.shape == (3, 3)
    assert np.all(np.linalg.eigvalsh(information) >= -1e-9)


def test_reevaluating_with_only_sigma_changed_integrates_nothing(line_sd: Objective) -> None:
    calls = []
    simulate = line_sd._simulate

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return simulate(*args, **kwargs)

    line_sd._simulate = counted  # type: ignore[method-assign]
    x = line_sd.problem.nominal_x()
    first = line_sd.evaluate(x, gradient=True)
    y = x.copy()
    y[2] += 0.3  # sd only
    second = line_sd.evaluate(y, gradient=True)
    assert len(calls) == 1
    fresh = Objective(line_sd.problem).evaluate(y, gradient=True)
    assert second.nllh == pytest.approx(fresh.nllh, rel=1e-12)
    assert second.gradient == pytest.approx(fresh.gradient, rel=1e-10)
    assert first.nllh != second.nllh


def test_hierarchical_multistart_fits_the_line_and_reports_sigma(line_sd: Objective) -> None:
    rows = [m for m in line_sd.problem.measurements]
    t = np.array([m.time for m in rows])
    y = np.array([m.value for m in rows])
    design = np.column_stack([np.ones_like(t), t])
    estimate, residual, *_ = np.linalg.lstsq(design, y, rcond=None)
    sigma = np.sqrt(residual[0] / len(y))
    result = optimize(line_sd, starts=3, seed=2, workers=1, hierarchical=True)
    assert result.inner_ids == ("sd",)
    best = result.best
    assert best.x[:2] == pytest.approx(estimate, abs=1e-4)
    assert best.x[2] == pytest.approx(np.log10(sigma), abs=1e-6)
    assert best.llh == pytest.approx(line_sd.llh(best.x), abs=1e-10)
    assert best.fval == pytest.approx(-best.llh, abs=1e-8)
    assert result.reached_best(0.1) == 3
    assert result.to_json(line_sd.problem)["hierarchical"] == ["sd"]
    plain = optimize(line_sd, starts=3, seed=2, workers=1)
    assert plain.best.llh == pytest.approx(best.llh, abs=1e-6)
    assert plain.inner_ids == ()
