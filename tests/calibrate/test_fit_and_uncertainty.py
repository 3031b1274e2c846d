"""Multistart fits, priors, profiles, the Laplace approximation and MCMC against closed forms.

A straight line X(t) = a + b t (an ODE dX/dt = b) observed with known normal noise has a
Gaussian likelihood in (a, b): the fit is linear least squares, the Laplace covariance is
exact, the profile's 95% interval is +-1.96 standard errors and 90% credible intervals are
+-1.645 standard errors (flat priors inside wide bounds).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from immunetwin.calibrate import Objective, Prior, PriorType, read_petab
from immunetwin.calibrate.optimize import (
    LBFGSB,
    FidesTrustRegion,
    Sobol,
    objective_with_prior_and_fisher,
    optimize,
)
from immunetwin.calibrate.priors import minus_log_prior
from immunetwin.calibrate.uncertainty import laplace, profile, sample
from immunetwin.errors import InvalidInputError

SIGMA = 0.3
TIMES = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0])
TRUE = (1.2, 0.45)


def _line_tables(seed: int = 3) -> dict[str, list[str]]:
    rng = np.random.default_rng(seed)
    data = TRUE[0] + TRUE[1] * TIMES + rng.normal(0.0, SIGMA, len(TIMES))
    return {
        "observables.tsv": ["observableId\tobservableFormula\tnoiseFormula", f"y\tX\t{SIGMA}"],
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


def _least_squares(tables: dict[str, list[str]]) -> tuple[np.ndarray, np.ndarray]:
    rows = [line.split("\t") for line in tables["measurements.tsv"][1:]]
    t = np.array([float(r[3]) for r in rows])
    y = np.array([float(r[2]) for r in rows])
    design = np.column_stack([np.ones_like(t), t])
    estimate = np.linalg.lstsq(design, y, rcond=None)[0]
    covariance = SIGMA**2 * np.linalg.inv(design.T @ design)
    return estimate, covariance


Writer = Callable[[str, str, dict[str, list[str]]], Path]
LineWriter = Callable[[str, dict[str, list[str]]], Path]


@pytest.fixture
def line(write_line: LineWriter) -> tuple[Objective, np.ndarray, np.ndarray]:
    tables = _line_tables()
    objective = Objective(read_petab(write_line("line", tables)))
    estimate, covariance = _least_squares(tables)
    return objective, estimate, covariance


@pytest.mark.parametrize("optimizer", [FidesTrustRegion(), LBFGSB()], ids=["fides", "lbfgsb"])
def test_multistart_finds_the_least_squares_fit(line, optimizer) -> None:  # type: ignore[no-untyped-def]
    objective, estimate, _ = line
    result = optimize(objective, starts=6, seed=1, optimizer=optimizer, workers=1)
    assert result.best.x == pytest.approx(estimate, abs=1e-4)
    assert result.reached_best(0.1) == 6 and all(s.converged for s in result.starts)
    assert [s.fval for s in result.starts] == sorted(s.fval for s in result.starts)
    assert result.best.llh == pytest.approx(objective.llh(estimate), abs=1e-8)
    data = result.to_json(objective.problem)
    assert set(data) >= {"llh", "nllh_objective", "parameters", "starts", "converged", "wall_s"}
    assert data["parameters"]["a"]["linear"] == pytest.approx(estimate[0], abs=1e-4)


def test_parallel_starts_equal_serial_starts(line) -> None:  # type: ignore[no-untyped-def]
    objective, _, _ = line
    serial = optimize(objective, starts=4, seed=7, workers=1, start_points=Sobol())
    parallel = optimize(objective, starts=4, seed=7, workers=2, start_points=Sobol())
    assert parallel.workers == 2
    for a, b in zip(serial.starts, parallel.starts, strict=True):
        assert a.x0 == pytest.approx(b.x0) and a.fval == pytest.approx(b.fval, abs=1e-10)


def test_start_points_lie_within_bounds_and_follow_the_seed(decay_yaml: Path) -> None:
    objective = Objective(read_petab(decay_yaml))
    lower, upper = objective.problem.bounds_x()
    first = optimize(objective, starts=3, seed=5, workers=1)
    again = optimize(objective, starts=3, seed=5, workers=1)
    for start in first.starts:
        assert np.all(start.x0 >= lower) and np.all(start.x0 <= upper)
        assert np.all(start.x >= lower - 1e-12) and np.all(start.x <= upper + 1e-12)
    assert [s.x0.tolist() for s in first.starts] == [s.x0.tolist() for s in again.starts]
    with pytest.raises(InvalidInputError, match="at least 1"):
        optimize(objective, starts=0)


def test_fisher_information_is_the_exact_hessian_of_a_linear_gaussian_fit(line) -> None:  # type: ignore[no-untyped-def]
    objective, estimate, covariance = line
    _, _, information = objective_with_prior_and_fisher(objective)(estimate)
    assert information == pytest.approx(np.linalg.inv(covariance), rel=1e-6)


def test_laplace_covariance_is_exact_for_a_linear_gaussian_fit(line) -> None:  # type: ignore[no-untyped-def]
    objective, estimate, covariance = line
    result = laplace(objective, estimate)
    assert result.covariance == pytest.approx(covariance, rel=1e-4)
    assert result.identifiable.all()
    z = stats.norm.ppf(0.95)
    expected = np.column_stack([estimate - z * np.sqrt(np.diag(covariance)),
                                estimate + z * np.sqrt(np.diag(covariance))])  # fmt: skip
    assert result.intervals(0.9) == pytest.approx(expected, rel=1e-4)


def test_profile_interval_is_plus_minus_1_96_standard_errors(line) -> None:  # type: ignore[no-untyped-def]
    objective, estimate, covariance = line
    se = math.sqrt(covariance[1, 1])
    result = profile(objective, "b", estimate)
    assert result.identifiable == (True, True)
    expected = (estimate[1] - 1.96 * se, estimate[1] + 1.96 * se)
    assert result.interval == pytest.approx(expected, abs=0.02 * se)
    assert result.ratio.max() == pytest.approx(1.0)
    with pytest.raises(InvalidInputError, match="not an estimated parameter"):
        profile(objective, "nope", estimate)


def test_mcmc_credible_intervals_match_the_gaussian_posterior(line) -> None:  # type: ignore[no-untyped-def]
    objective, estimate, covariance = line
    result = sample(objective, estimate, draws=10000, seed=2, burn_in=300)
    se = np.sqrt(np.diag(covariance))
    assert np.median(result.draws, axis=0) == pytest.approx(estimate, abs=0.1 * se.max())
    expected = np.column_stack([estimate - 1.645 * se, estimate + 1.645 * se])
    assert result.intervals(0.9) == pytest.approx(expected, abs=0.2 * se.max())
    again = sample(objective, estimate, draws=10000, seed=2, burn_in=300)
    assert np.array_equal(result.draws, again.draws)  # reproducible with the seed


def test_a_non_identifiable_parameter_has_a_flat_profile(
    write_petab: Writer, decay_model: str
) -> None:
    # y = scale * A(t) with A(0) estimated too: only the product scale * A(0) is identifiable
    tables = {
        "observables.tsv": [
            "observableId\tobservableFormula\tnoiseFormula",
            "y\tscale * A\t0.1",
        ],
        "conditions.tsv": ["conditionId", "c"],
        "measurements.tsv": [
            "observableId\tsimulationConditionId\tmeasurement\ttime",
            *(f"y\tc\t{20 * math.exp(-0.3 * t)!r}\t{t}" for t in (0.0, 1.0, 2.0, 4.0)),
        ],
        "parameters.tsv": [
            "parameterId\tparameterScale\tlowerBound\tupperBound\tnominalValue\testimate",
            "k\tlog10\t0.001\t10\t0.3\t1",
            "scale\tlog10\t0.01\t100\t2\t1",
            "A\tlog10\t0.001\t100000\t10\t1",
        ],
    }
    objective = Objective(read_petab(write_petab("nonid", decay_model, tables)))
    x = objective.problem.nominal_x()
    assert laplace(objective, x).identifiable.tolist() == [True, False, False]
    result = profile(objective, "scale", x)
    assert result.identifiable == (False, False)  # flat to both bounds


@pytest.mark.parametrize(
    ("kind", "parameters", "scipy_logpdf"),
    [
        (PriorType.NORMAL, (0.5, 0.2), lambda v: stats.norm.logpdf(v, 0.5, 0.2)),
        (PriorType.LAPLACE, (0.5, 0.2), lambda v: stats.laplace.logpdf(v, 0.5, 0.2)),
        (
            PriorType.LOG_NORMAL,
            (-1.0, 0.5),
            lambda v: stats.lognorm.logpdf(v, 0.5, scale=math.exp(-1.0)),
        ),  # fmt: skip
        (PriorType.UNIFORM, (0.01, 2.0), lambda v: stats.uniform.logpdf(v, 0.01, 1.99)),
    ],
)
def test_priors_are_densities_of_the_linear_value(
    decay_yaml: Path, kind: PriorType, parameters: tuple[float, ...], scipy_logpdf
) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    problem = read_petab(decay_yaml)
    k = dataclasses.replace(problem.parameter("k"), objective_prior=Prior(kind, parameters))
    problem = dataclasses.replace(
        problem, parameters=tuple(k if p.id == "k" else p for p in problem.parameters)
    )
    x = problem.nominal_x()
    value, gradient = minus_log_prior(problem, x)
    assert value == pytest.approx(-scipy_logpdf(0.3), rel=1e-10)
    h = 1e-6
    step = np.eye(len(x))[0] * h
    fd = (minus_log_prior(problem, x + step)[0] - minus_log_prior(problem, x - step)[0]) / (2 * h)
    assert gradient[0] == pytest.approx(fd, rel=1e-5, abs=1e-8)
    assert np.all(gradient[1:] == 0)
