"""The objective on tiny problems with closed-form solutions: PEtab's likelihood for every
noise model and transformation, overrides, pre-equilibration, and exact gradients."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from immunetwin.calibrate import Objective, ObjectiveStatus, read_petab
from immunetwin.engine import CVODES
from immunetwin.errors import InvalidInputError

TIGHT = CVODES(rtol=1e-11, atol=1e-13)


def _normal(y: float, m: float, sigma: float) -> float:
    return 0.5 * math.log(2 * math.pi * sigma**2) + 0.5 * ((y - m) / sigma) ** 2


def _decay_nllh(v: dict[str, float]) -> float:
    """PEtab's -log L of the decay problem from A = A0 exp(-k t), B = A0 - A."""
    k, a0 = v["k"], v["A0"]
    total = 0.0
    for t, m in ((0.5, 14.1), (1, 11.0), (2, 7.1), (4, 3.3)):
        total += _normal(v["scale"] * a0 * math.exp(-k * t), m, v["sd_a"])
    total += _normal(1.5 * 5 * math.exp(-k), 5.9, 0.3)
    sigma = v["sd_b"]
    for t, m in ((1, 2.8), (2, 4.6), (4, 7.3)):
        y = a0 * (1 - math.exp(-k * t)) + v["offset_b"]
        total += math.log(2 * sigma * m * math.log(10)) + abs(math.log10(y / m)) / sigma
    for t, m in ((1, 3.6), (3, 2.1)):
        y = 5 * math.exp(-k * t)
        total += 0.5 * math.log(2 * math.pi * 0.2**2 * m**2) + 0.5 * (math.log(y / m) / 0.2) ** 2
    return total


def _turnover_nllh(v: dict[str, float]) -> float:
    """Pre-equilibrated with p = p_pre, then p = 2 (keeping, or resetting X to 0)."""
    d, kf, kr, sd = v["d"], v["kf"], v["kr"], v["sd_x"]
    x_ss, z_ss = v["p_pre"] / d, v["Y0"] * kf / (kf + kr)
    total = 0.0
    for t, m in ((0, 1.1), (1, 2.4), (3, 3.3)):
        total += _normal(2 / d + (x_ss - 2 / d) * math.exp(-d * t), m, sd)
    total += _normal(z_ss, 1.8, sd)
    for t, m in ((1, 1.5), (3, 3.1)):
        total += _normal(2 / d * (1 - math.exp(-d * t)), m, sd)
    return total


def _linear(objective: Objective, x: np.ndarray) -> dict[str, float]:
    return objective.problem.to_linear(x)


def _fd(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(len(x))])


@pytest.mark.parametrize(
    ("fixture", "closed_form"),
    [("decay_yaml", _decay_nllh), ("turnover_yaml", _turnover_nllh)],
)
def test_nllh_and_gradient_match_the_closed_form(
    fixture: str, closed_form: Callable[[dict[str, float]], float], request: pytest.FixtureRequest
) -> None:
    problem = read_petab(request.getfixturevalue(fixture))
    objective = Objective(problem, solver=TIGHT)
    x0 = problem.nominal_x()
    for x in (x0, x0 + np.linspace(-0.1, 0.1, len(x0))):
        evaluation = objective.nllh_and_gradient(x)
        assert evaluation.ok, evaluation.message
        expected = closed_form(_linear(objective, x))
        assert evaluation.nllh == pytest.approx(expected, abs=1e-7)
        assert objective.llh(x) == pytest.approx(-expected, abs=1e-7)
        exact = _fd(lambda v: closed_form(_linear(objective, v)), x)
        assert evaluation.gradient is not None
        np.testing.assert_allclose(evaluation.gradient, exact, rtol=1e-6, atol=1e-7)


def test_libpetab_agrees_on_our_simulation_table(
    decay_yaml: Path, libpetab_llh: Callable[[Path, pd.DataFrame], float]
) -> None:
    problem = read_petab(decay_yaml)
    evaluation = Objective(problem, solver=TIGHT).evaluate(problem.nominal_x())
    llh = libpetab_llh(decay_yaml, evaluation.to_dataframe())
    assert evaluation.llh == pytest.approx(llh, abs=1e-9)
    assert evaluation.sigma[:4] == pytest.approx([0.5] * 4)


def test_a_non_finite_likelihood_is_reported(decay_yaml: Path) -> None:
    problem = read_petab(decay_yaml)
    objective = Objective(problem)
    x = problem.nominal_x()
    x[problem.estimated_ids.index("sd_b")] = -0.1  # a negative noise scale
    evaluation = objective.nllh_and_gradient(x)
    assert evaluation.status is ObjectiveStatus.NONFINITE
    assert not evaluation.ok and evaluation.nllh == math.inf
    assert "not finite" in evaluation.message


def test_the_parameter_vector_must_fit(decay_yaml: Path) -> None:
    objective = Objective(read_petab(decay_yaml))
    assert objective.parameter_ids == ("k", "A0", "scale", "sd_a", "sd_b")
    with pytest.raises(InvalidInputError, match="5 estimated parameters"):
        objective.nllh(np.zeros(3))


def test_negative_times_start_every_simulation_early(write_petab: Callable[..., Path]) -> None:
    # as in the benchmark collection's Hass_PONE2017: the input switches on at time 0 and the
    # data start at -2, so the simulation starts at -2 (X = 1 until 0, then 1 + k t)
    model = """
    model input
      species X = 1;
      u := piecewise(0, time < 0, k);
      J: -> X; u
      k = 0.5;
    end
    """
    tables = {
        "observables.tsv": ["observableId\tobservableFormula\tnoiseFormula", "y\tX\t0.1"],
        "conditions.tsv": ["conditionId", "c"],
        "measurements.tsv": [
            "observableId\tsimulationConditionId\tmeasurement\ttime",
            "y\tc\t1.0\t-2",
            "y\tc\t1.1\t-1",
            "y\tc\t1.4\t1",
            "y\tc\t2.1\t2",
        ],
        "parameters.tsv": [
            "parameterId\tparameterScale\tlowerBound\tupperBound\tnominalValue\testimate",
            "k\tlin\t0\t10\t0.5\t1",
        ],
    }
    problem = read_petab(write_petab("negative", model, tables))
    evaluation = Objective(problem, solver=TIGHT).nllh_and_gradient(np.array([0.5]))
    assert evaluation.ok, evaluation.message
    np.testing.assert_allclose(evaluation.simulation, [1.0, 1.0, 1.5, 2.0], rtol=1e-8)
    residuals = (np.array([1.0, 1.1, 1.4, 2.1]) - evaluation.simulation) / 0.1
    expected = 0.5 * np.sum(residuals**2) + 4 * math.log(math.sqrt(2 * math.pi) * 0.1)
    assert evaluation.nllh == pytest.approx(expected, abs=1e-7)
    assert evaluation.gradient is not None
    # d nllh / dk = -sum(r_i * t_i / sigma) over t > 0
    assert evaluation.gradient[0] == pytest.approx(-(residuals[2] * 1 + residuals[3] * 2) / 0.1)
