"""Steady-state measurements (PEtab time = inf): the observable at the steady state the
simulation condition settles in, with its exact derivative through conservation laws and
pre-equilibration."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from immunetwin.calibrate import Objective, ObjectiveStatus, read_petab
from immunetwin.engine import CVODES

Writer = Callable[[str, str, dict[str, list[str]]], Path]
TIGHT = CVODES(rtol=1e-11, atol=1e-13)


# On the conftest's TURNOVER model: X is made at rate p and degraded at rate d (steady state
# p/d); Y <-> Z conserve Y + Z (steady state Z = kf / (kf + kr) (Y + Z)).
def _tables(pre: str) -> dict[str, list[str]]:
    return {
        "observables.tsv": [
            "observableId\tobservableFormula\tnoiseFormula\tobservableTransformation",
            "obs_x\tX\tsd_x\tlin",
            "obs_z\tZ\t0.2\tlog",
        ],
        "conditions.tsv": ["conditionId\tp\tY", "pre\tp_pre\tY0", "sim\t2\t"],
        "measurements.tsv": [
            "observableId\tpreequilibrationConditionId\tsimulationConditionId\tmeasurement\ttime",
            f"obs_x\t{pre}\tsim\t0.9\t1",
            f"obs_x\t{pre}\tsim\t4.3\tinf",
            f"obs_z\t{pre}\tsim\t2.1\tinf",
            f"obs_z\t{pre}\tsim\t1.2\t0.5",
        ],
        "parameters.tsv": [
            "parameterId\tparameterScale\tlowerBound\tupperBound\tnominalValue\testimate",
            "p_pre\tlog10\t0.01\t100\t0.6\t1",
            "d\tlog10\t0.01\t100\t0.5\t1",
            "kf\tlog10\t0.01\t100\t2\t1",
            "kr\tlin\t0.01\t100\t1\t1",
            "Y0\tlin\t0.01\t100\t3\t1",
            "sd_x\tlog10\t0.01\t100\t0.3\t1",
        ],
    }


def _fd(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(len(x))])


@pytest.mark.parametrize("pre", ["", "pre"], ids=["from-the-start", "after-preequilibration"])
def test_steady_state_values_and_gradient(
    write_petab: Writer, turnover_model: str, pre: str
) -> None:
    problem = read_petab(write_petab(f"steady{pre}", turnover_model, _tables(pre)))
    assert math.isinf(problem.measurements[1].time)
    objective = Objective(problem, solver=TIGHT)
    x = problem.nominal_x() + np.linspace(-0.1, 0.1, len(problem.nominal_x()))
    values = problem.to_linear(x)
    evaluation = objective.nllh_and_gradient(x)
    assert evaluation.ok, evaluation.message
    total = values["Y0"] if pre else 1.0  # Y + Z: the pre-equilibrated start, or the model's
    z_star = values["kf"] / (values["kf"] + values["kr"]) * total
    assert evaluation.simulation[1] == pytest.approx(2.0 / values["d"], rel=1e-8)
    assert evaluation.simulation[2] == pytest.approx(z_star, rel=1e-8)
    assert evaluation.gradient is not None
    np.testing.assert_allclose(evaluation.gradient, _fd(objective.nllh, x), rtol=1e-5, atol=1e-6)


def test_no_steady_state_is_a_status(write_petab: Writer, turnover_model: str) -> None:
    tables = _tables("")
    # without degradation X grows for ever: no steady state
    tables["parameters.tsv"][2] = "d\tlin\t0\t100\t0\t0"
    objective = Objective(read_petab(write_petab("nosteady", turnover_model, tables)))
    evaluation = objective.evaluate(objective.problem.nominal_x())
    assert evaluation.status is ObjectiveStatus.STEADY_STATE_FAILED
    assert "time = inf" in evaluation.message
    assert evaluation.nllh == math.inf


def test_libpetab_agrees_on_the_steady_rows(
    write_petab: Writer,
    turnover_model: str,
    libpetab_llh: Callable[[Path, pd.DataFrame], float],
) -> None:
    path = write_petab("steady_libpetab", turnover_model, _tables("pre"))
    problem = read_petab(path)
    evaluation = Objective(problem, solver=TIGHT).evaluate(problem.nominal_x())
    assert evaluation.llh == pytest.approx(libpetab_llh(path, evaluation.to_dataframe()), abs=1e-9)
