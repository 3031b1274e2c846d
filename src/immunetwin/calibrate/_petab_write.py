"""PEtab v1 out: ``write_petab`` writes a problem so that ``read_petab`` reads it back equal."""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

from immunetwin.calibrate._problem import CalibrationProblem, Override, Prior
from immunetwin.formats import write_sbml


def _cell(value: Override | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return "" if math.isnan(value) else repr(float(value))


def _join(values: tuple[Override, ...]) -> str:
    return ";".join(_cell(v) for v in values)


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    lines = ["\t".join(header), *("\t".join(row) for row in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_petab(problem: CalibrationProblem, directory: str | os.PathLike[str]) -> Path:
    """Write the problem as PEtab v1 (``problem.yaml`` plus one TSV per table and the SBML
    model) into ``directory``; returns the YAML path. Numbers are written to round-trip."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    source = problem.sources.model
    if source is not None and source.is_file():
        shutil.copyfile(source, target / "model.xml")
    else:
        write_sbml(problem.model, target / "model.xml")
    _write(
        target / "observables.tsv",
        [
            "observableId",
            "observableName",
            "observableFormula",
            "noiseFormula",
            "observableTransformation",
            "noiseDistribution",
        ],
        [
            [o.id, o.name, o.formula, o.noise_formula, o.transformation.value]
            + [o.noise_distribution.value]
            for o in problem.observables
        ],
    )
    columns = list(dict.fromkeys(k for c in problem.conditions for k, _ in c.values))
    _write(
        target / "conditions.tsv",
        ["conditionId", "conditionName", *columns],
        [
            [c.id, c.name, *(_cell(c.as_dict().get(k, math.nan)) for k in columns)]
            for c in problem.conditions
        ],
    )
    _write(
        target / "measurements.tsv",
        [
            "observableId",
            "preequilibrationConditionId",
            "simulationConditionId",
            "measurement",
            "time",
            "observableParameters",
            "noiseParameters",
            "datasetId",
            "replicateId",
        ],
        [
            [m.observable_id, m.preequilibration_condition_id or "", m.simulation_condition_id]
            + [_cell(m.value), _cell(m.time), _join(m.observable_parameters)]
            + [_join(m.noise_parameters), m.dataset_id or "", m.replicate_id or ""]
            for m in problem.measurements
        ],
    )

    def prior(p: Prior | None) -> list[str]:
        return ["", ""] if p is None else [p.type.value, _join(p.parameters)]

    _write(
        target / "parameters.tsv",
        ["parameterId", "parameterName", "parameterScale", "lowerBound", "upperBound"]
        + ["nominalValue", "estimate", "initializationPriorType"]
        + ["initializationPriorParameters", "objectivePriorType", "objectivePriorParameters"],
        [
            [p.id, p.name, p.scale.value, _cell(p.lower), _cell(p.upper), _cell(p.nominal)]
            + ["1" if p.estimate else "0"]
            + prior(p.initialization_prior)
            + prior(p.objective_prior)
            for p in problem.parameters
        ],
    )
    yaml_path = target / "problem.yaml"
    yaml_path.write_text(
        "format_version: 1\n"
        "parameter_file: parameters.tsv\n"
        "problems:\n"
        "- condition_files: [conditions.tsv]\n"
        "  measurement_files: [measurements.tsv]\n"
        "  observable_files: [observables.tsv]\n"
        "  sbml_files: [model.xml]\n",
        encoding="utf-8",
    )
    return yaml_path
