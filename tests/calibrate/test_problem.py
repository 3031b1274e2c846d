"""Reading, checking and writing PEtab v1 problems; every bad input names file, line, column."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import immunetwin.calibrate as calibrate
from immunetwin.calibrate import (
    CalibrationProblem,
    NoiseDistribution,
    Objective,
    Scale,
    read_petab,
    write_petab,
)
from immunetwin.errors import InvalidInputError, ProblemError


def test_the_tables_become_typed_values(decay_yaml: Path) -> None:
    problem = read_petab(decay_yaml)
    assert [o.id for o in problem.observables] == ["obs_a", "obs_b", "obs_c"]
    obs_b = problem.observable("obs_b")
    assert obs_b.transformation is Scale.LOG10
    assert obs_b.noise_distribution is NoiseDistribution.LAPLACE
    assert problem.condition("c1").as_dict() == {"A": "A0"}
    assert problem.condition("c2").as_dict() == {"A": 5.0}
    first, fifth = problem.measurements[0], problem.measurements[4]
    assert (first.observable_parameters, first.noise_parameters) == (("scale",), ("sd_a",))
    assert (fifth.observable_parameters, fifth.noise_parameters) == ((1.5,), (0.3,))
    assert first.preequilibration_condition_id is None and first.time == 0.5
    assert problem.estimated_ids == ("k", "A0", "scale", "sd_a", "sd_b")
    np.testing.assert_allclose(
        problem.nominal_x(), [math.log10(0.3), math.log(10), 2, math.log10(0.5), 0.2]
    )
    lower, upper = problem.bounds_x()
    np.testing.assert_allclose(lower, [-3, math.log(0.1), 0, -2, 0.01])
    np.testing.assert_allclose(upper, [1, math.log(100), 10, 1, 1])
    assert problem.to_linear(problem.nominal_x())["offset_b"] == 0.1
    assert problem.sources.model == decay_yaml.parent / "model.xml"


def test_write_then_read_gives_the_same_problem(decay_yaml: Path, tmp_path: Path) -> None:
    problem = read_petab(decay_yaml)
    again = read_petab(write_petab(problem, tmp_path / "copy"))
    for name in ("observables", "conditions", "measurements", "parameters"):
        assert getattr(again, name) == getattr(problem, name), name
    x = problem.nominal_x()
    assert Objective(again).nllh(x) == Objective(problem).nllh(x)


def test_a_nan_species_value_round_trips(turnover_yaml: Path, tmp_path: Path) -> None:
    problem = read_petab(turnover_yaml)
    assert math.isnan(float(problem.condition("sim").as_dict()["Y"]))
    again = read_petab(write_petab(problem, tmp_path / "copy"))
    assert math.isnan(float(again.condition("sim").as_dict()["Y"]))
    assert again.condition("restart").as_dict()["X"] == 0.0


def test_the_public_names(decay_yaml: Path) -> None:
    mine = {"CalibrationProblem", "Objective", "Evaluation", "ObjectiveStatus", "read_petab"}
    assert mine | {"write_petab", "Scale", "NoiseDistribution", "PriorType"} <= set(
        calibrate.__all__
    )
    assert isinstance(read_petab(decay_yaml), CalibrationProblem)


def _edit(tables: dict[str, list[str]], name: str, row: int, text: str) -> dict[str, list[str]]:
    """``tables`` with line ``row`` (1 = header) of file ``name`` replaced (or removed)."""
    edited = {k: list(v) for k, v in tables.items()}
    if text:
        edited[name][row - 1] = text
    else:
        del edited[name][row - 1]
    return edited


BAD = [
    pytest.param(
        "measurements.tsv",
        1,
        "observableId\tsimulationConditionId\tmeasurement\tobservableParameters\tnoiseParameters",
        (None, "time"),
        "required column 'time' is missing",
        id="missing-column",
    ),
    pytest.param(
        "measurements.tsv",
        3,
        "obs_zz\tc1\t11.0\t1\tscale\tsd_a",
        (3, "observableId"),
        "unknown observable 'obs_zz'",
        id="unknown-observable",
    ),
    pytest.param(
        "measurements.tsv",
        4,
        "obs_a\tc1\tNaN\t2\tscale\tsd_a",
        (4, "measurement"),
        "finite measurement",
        id="nan-measurement",
    ),
    pytest.param(
        "measurements.tsv",
        4,
        "obs_a\tc1\tabc\t2\tscale\tsd_a",
        (4, "measurement"),
        "expected a number, found 'abc'",
        id="text-measurement",
    ),
    pytest.param(
        "measurements.tsv",
        7,
        "obs_b\tc1\t0\t1\t\tsd_b",
        (7, "measurement"),
        "log10-transformed, so its measurements must be positive",
        id="log-of-zero",
    ),
    pytest.param(
        "measurements.tsv",
        2,
        "obs_a\tc9\t14.1\t0.5\tscale\tsd_a",
        (2, "simulationConditionId"),
        "unknown condition 'c9'",
        id="unknown-condition",
    ),
    pytest.param(
        "measurements.tsv",
        2,
        "obs_a\tc1\t14.1\t0.5\tscale;2\tsd_a",
        (2, "observableParameters"),
        "1 observable parameter placeholder(s), but 2 value(s)",
        id="placeholder-count",
    ),
    pytest.param(
        "measurements.tsv",
        2,
        "obs_a\tc1\t14.1\t0.5\tnope\tsd_a",
        (2, "observableParameters"),
        "'nope' is neither a number nor a parameter",
        id="unknown-override",
    ),
    pytest.param(
        "measurements.tsv",
        2,
        "obs_a\tc1\t14.1\t-inf\tscale\tsd_a",
        (2, "time"),
        "expected a finite time or inf, found -inf",
        id="negative-infinite-time",
    ),
    pytest.param(
        "observables.tsv",
        3,
        "obs_b\tB + offset_q\tnoiseParameter1_obs_b\tlog10\tlaplace",
        (3, "observableFormula"),
        "'offset_q' is not a model id",
        id="unknown-formula-symbol",
    ),
    pytest.param(
        "observables.tsv",
        3,
        "obs_b\tB + (\tnoiseParameter1_obs_b\tlog10\tlaplace",
        (3, "observableFormula"),
        "cannot parse",
        id="bad-math",
    ),
    pytest.param(
        "observables.tsv",
        3,
        "obs_b\tB\tnoiseParameter1_obs_b\tlog2\tlaplace",
        (3, "observableTransformation"),
        "expected one of lin, log, log10, found 'log2'",
        id="bad-transformation",
    ),
    pytest.param(
        "conditions.tsv",
        1,
        "conditionId\tconditionName\tQ",
        (None, "Q"),
        "'Q' is not a parameter, species or compartment",
        id="unknown-condition-column",
    ),
    pytest.param(
        "conditions.tsv",
        2,
        "c1\tfirst\tA_zero",
        (2, "A"),
        "'A_zero' is neither a number nor a parameter",
        id="unknown-condition-value",
    ),
    pytest.param(
        "parameters.tsv",
        3,
        "A0\tlog\t\t100\t10\t1",
        (3, "lowerBound"),
        "needs bounds",
        id="missing-bound",
    ),
    pytest.param(
        "conditions.tsv",
        3,
        "c1\tagain\t5",
        (3, "conditionId"),
        "'c1' is defined twice",
        id="duplicate-condition",
    ),
    pytest.param(
        "parameters.tsv",
        3,
        "k\tlog\t0.1\t100\t10\t1",
        (3, "parameterId"),
        "'k' is defined twice",
        id="duplicate-parameter",
    ),
    pytest.param(
        "parameters.tsv",
        2,
        "k\tlog10\t0.001\t10\t0.3\tyes",
        (2, "estimate"),
        "expected 0 or 1",
        id="bad-estimate-flag",
    ),
]


@pytest.mark.parametrize(("name", "row", "text", "where", "message"), BAD)
def test_bad_input_names_file_line_and_column(
    write_decay: Callable[[dict[str, list[str]]], Path],
    decay_tables: dict[str, list[str]],
    name: str,
    row: int,
    text: str,
    where: tuple[int | None, str],
    message: str,
) -> None:
    path = write_decay(_edit(decay_tables, name, row, text))
    with pytest.raises(ProblemError) as caught:
        read_petab(path)
    error = caught.value
    assert error.file is not None and Path(error.file).name == name
    assert (error.row, error.column) == where
    assert message in str(error)
    assert isinstance(error, InvalidInputError) and isinstance(error, ValueError)


def test_a_broken_yaml_is_a_problem_error(decay_yaml: Path) -> None:
    decay_yaml.write_text("format_version: 1\nproblems: 3\n", encoding="utf-8")
    with pytest.raises(ProblemError, match="not a valid PEtab v1 problem file"):
        read_petab(decay_yaml)
    with pytest.raises(ProblemError, match="no such file"):
        read_petab(decay_yaml.parent / "missing.yaml")


def test_libpetab_lint_accepts_a_good_problem(decay_yaml: Path) -> None:
    assert read_petab(decay_yaml, lint=True).estimated_ids[0] == "k"
