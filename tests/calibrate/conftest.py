"""Tiny hand-made PEtab problems, written into a temporary folder, with closed-form solutions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from immunetwin.formats import read_antimony, write_sbml

DECAY = """
model decay
  compartment c = 1
  species A in c, B in c
  A = 10; B = 0
  J1: A -> B; k * A
  k = 0.3
end
"""

# X is made at rate p and degraded at rate d; Y <-> Z conserve Y + Z.
TURNOVER = """
model turnover
  compartment c = 1
  species X in c, Y in c, Z in c
  X = 0; Y = 1; Z = 0
  J0: -> X; p
  J1: X -> ; d * X
  J2: Y -> Z; kf * Y
  J3: Z -> Y; kr * Z
  p = 1; d = 0.5; kf = 2; kr = 1
end
"""

# X = a + b t: a straight line, so fits have a closed-form answer.
LINE = """
model line
  compartment c = 1
  species X in c
  X = a
  J0: -> X; b
  a = 1; b = 0.5
end
"""

DECAY_TABLES = {
    "observables.tsv": [
        "observableId\tobservableFormula\tnoiseFormula\tobservableTransformation\tnoiseDistribution",
        "obs_a\tobservableParameter1_obs_a * A\tnoiseParameter1_obs_a\tlin\tnormal",
        "obs_b\tB + offset_b\tnoiseParameter1_obs_b\tlog10\tlaplace",
        "obs_c\tA\t0.2\tlog\tnormal",
    ],
    "conditions.tsv": [
        "conditionId\tconditionName\tA",
        "c1\tfirst\tA0",
        "c2\tsecond\t5",
    ],
    "measurements.tsv": [
        "observableId\tsimulationConditionId\tmeasurement\ttime\tobservableParameters\tnoiseParameters",
        "obs_a\tc1\t14.1\t0.5\tscale\tsd_a",
        "obs_a\tc1\t11.0\t1\tscale\tsd_a",
        "obs_a\tc1\t7.1\t2\tscale\tsd_a",
        "obs_a\tc1\t3.3\t4\tscale\tsd_a",
        "obs_a\tc2\t5.9\t1\t1.5\t0.3",
        "obs_b\tc1\t2.8\t1\t\tsd_b",
        "obs_b\tc1\t4.6\t2\t\tsd_b",
        "obs_b\tc1\t7.3\t4\t\tsd_b",
        "obs_c\tc2\t3.6\t1\t\t",
        "obs_c\tc2\t2.1\t3\t\t",
    ],
    "parameters.tsv": [
        "parameterId\tparameterScale\tlowerBound\tupperBound\tnominalValue\testimate",
        "k\tlog10\t0.001\t10\t0.3\t1",
        "A0\tlog\t0.1\t100\t10\t1",
        "scale\tlin\t0\t10\t2\t1",
        "sd_a\tlog10\t0.01\t10\t0.5\t1",
        "offset_b\tlin\t0\t1\t0.1\t0",
        "sd_b\tlin\t0.01\t1\t0.2\t1",
    ],
}

TURNOVER_TABLES = {
    "observables.tsv": [
        "observableId\tobservableFormula\tnoiseFormula",
        "obs_x\tX\tsd_x",
        "obs_z\tZ\tsd_x",
    ],
    "conditions.tsv": [
        "conditionId\tp\tY\tX",
        "pre\tp_pre\tY0\t",
        "sim\t2\t\t",
        "restart\t2\t\t0",
    ],
    "measurements.tsv": [
        "observableId\tpreequilibrationConditionId\tsimulationConditionId\tmeasurement\ttime",
        "obs_x\tpre\tsim\t1.1\t0",
        "obs_x\tpre\tsim\t2.4\t1",
        "obs_x\tpre\tsim\t3.3\t3",
        "obs_z\tpre\tsim\t1.8\t2",
        "obs_x\tpre\trestart\t1.5\t1",
        "obs_x\tpre\trestart\t3.1\t3",
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

YAML = """format_version: 1
parameter_file: parameters.tsv
problems:
- condition_files: [conditions.tsv]
  measurement_files: [measurements.tsv]
  observable_files: [observables.tsv]
  sbml_files: [model.xml]
"""


def write_problem(directory: Path, antimony: str, tables: dict[str, list[str]]) -> Path:
    """Write a PEtab problem (model + tables + YAML) and return the YAML path."""
    directory.mkdir(parents=True, exist_ok=True)
    write_sbml(read_antimony(antimony), directory / "model.xml")
    for name, lines in tables.items():
        (directory / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = directory / "problem.yaml"
    path.write_text(YAML, encoding="utf-8")
    return path


@pytest.fixture
def write_decay(tmp_path: Path) -> Callable[[dict[str, list[str]]], Path]:
    """Writes the decay model with the given tables (see ``DECAY_TABLES``)."""
    return lambda tables: write_problem(tmp_path / "edited", DECAY, tables)


@pytest.fixture
def decay_tables() -> dict[str, list[str]]:
    return {name: list(lines) for name, lines in DECAY_TABLES.items()}


@pytest.fixture
def decay_yaml(tmp_path: Path) -> Path:
    return write_problem(tmp_path / "decay", DECAY, DECAY_TABLES)


@pytest.fixture
def turnover_yaml(tmp_path: Path) -> Path:
    return write_problem(tmp_path / "turnover", TURNOVER, TURNOVER_TABLES)


@pytest.fixture
def write_petab(tmp_path: Path) -> Callable[[str, str, dict[str, list[str]]], Path]:
    """Writes a named problem: ``write_petab(name, antimony, tables)`` -> YAML path."""
    return lambda name, antimony, tables: write_problem(tmp_path / name, antimony, tables)


@pytest.fixture
def write_line(tmp_path: Path) -> Callable[[str, dict[str, list[str]]], Path]:
    """Writes the straight-line model ``LINE`` with the given tables -> YAML path."""
    return lambda name, tables: write_problem(tmp_path / name, LINE, tables)


@pytest.fixture
def decay_model() -> str:
    return DECAY


@pytest.fixture
def turnover_model() -> str:
    return TURNOVER


def _libpetab_llh(path: Path, simulations: pd.DataFrame) -> float:
    import petab.v1 as petab
    from petab.v1.calculate import calculate_llh

    reference = petab.Problem.from_yaml(path)
    return float(
        calculate_llh(
            reference.measurement_df,
            simulations,
            reference.observable_df,
            reference.parameter_df,
        )
    )


@pytest.fixture
def libpetab_llh() -> Callable[[Path, pd.DataFrame], float]:
    """libpetab's log-likelihood of a problem (its YAML) given a simulation table."""
    return _libpetab_llh
