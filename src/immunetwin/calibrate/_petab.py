"""PEtab v1 in: ``read_petab`` (libpetab checks the YAML; every table cell is checked here so
that an error names its file, line and column)."""

from __future__ import annotations

import enum
import logging
import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from immunetwin.calibrate._formulas import count_placeholders, parse, placeholder, symbol_names
from immunetwin.calibrate._problem import (
    CalibrationProblem,
    Condition,
    Measurement,
    NoiseDistribution,
    Observable,
    Override,
    Prior,
    PriorType,
    ProblemParameter,
    Scale,
    SourceFiles,
)
from immunetwin.errors import ImmuneTwinError, ProblemError
from immunetwin.formats import read_sbml
from immunetwin.ir import Model

_EMPTY = ("", "nan", "NaN", "NAN")
_E = TypeVar("_E", bound=enum.Enum)


class _Table:
    """One TSV file read as text, with located parsing of its cells."""

    def __init__(self, path: Path, required: Sequence[str]) -> None:
        self.path = path
        self.name = str(path)
        try:
            frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_filter=False)
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise ProblemError(f"cannot read the table: {exc}", file=self.name) from None
        frame.columns = [str(c).strip() for c in frame.columns]
        self.frame = frame
        for column in required:
            if column not in frame.columns:
                raise ProblemError(
                    f"the required column '{column}' is missing (columns found: "
                    f"{', '.join(frame.columns)}); add it as a tab-separated header field",
                    file=self.name,
                    column=column,
                )

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """(line number, cells) per data row; the header is line 1."""
        for i, record in enumerate(self.frame.to_dict("records")):
            yield i + 2, {k: str(v).strip() for k, v in record.items()}

    def error(self, message: str, line: int | None = None, column: str | None = None) -> Any:
        return ProblemError(message, file=self.name, row=line, column=column)

    def text(self, cells: dict[str, str], column: str) -> str:
        value = cells.get(column, "")
        return "" if value in _EMPTY else value

    def required_text(self, cells: dict[str, str], line: int, column: str) -> str:
        value = cells.get(column, "")
        if value in _EMPTY:
            raise self.error("expected a value, found an empty cell", line, column)
        return value

    def number(
        self, cells: dict[str, str], line: int, column: str, *, empty: float | None = None
    ) -> float:
        value = cells.get(column, "")
        if value in _EMPTY and empty is not None:
            return empty
        try:
            return float(value)
        except ValueError:
            raise self.error(f"expected a number, found '{value}'", line, column) from None

    def enum(
        self, cells: dict[str, str], line: int, column: str, kind: type[_E], default: _E
    ) -> _E:
        value = cells.get(column, "")
        if value in _EMPTY:
            return default
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(str(e.value) for e in kind)
            raise self.error(f"expected one of {allowed}, found '{value}'", line, column) from None


def _overrides(
    table: _Table, cells: dict[str, str], line: int, column: str
) -> tuple[Override, ...]:
    raw = cells.get(column, "")
    if raw in _EMPTY:
        return ()
    out: list[Override] = []
    for part in raw.split(";"):
        part = part.strip()
        if not part:
            raise table.error(f"empty entry in the ';'-separated list '{raw}'", line, column)
        try:
            out.append(float(part))
        except ValueError:
            out.append(part)
    return tuple(out)


def _model_ids(model: Model) -> set[str]:
    ids = {c.id for c in model.compartments} | {s.id for s in model.species}
    return ids | {p.id for p in model.parameters} | {r.id for r in model.reactions}


def _unique(table: _Table, line: int, column: str, id: str, seen: set[str]) -> str:
    if id in seen:
        raise table.error(f"'{id}' is defined twice; ids must be unique", line, column)
    seen.add(id)
    return id


def _read_observables(path: Path, seen: set[str]) -> list[tuple[Observable, int, _Table]]:
    table = _Table(path, ["observableId", "observableFormula", "noiseFormula"])
    out = []
    for line, cells in table.rows():
        id = _unique(
            table, line, "observableId", table.required_text(cells, line, "observableId"), seen
        )
        formula = table.required_text(cells, line, "observableFormula")
        noise = table.required_text(cells, line, "noiseFormula")
        for column, text in (("observableFormula", formula), ("noiseFormula", noise)):
            try:
                parse(text)
            except ValueError as exc:
                raise table.error(str(exc), line, column) from None
        observable = Observable(
            id=id,
            formula=formula,
            noise_formula=noise,
            transformation=table.enum(cells, line, "observableTransformation", Scale, Scale.LIN),
            noise_distribution=table.enum(
                cells, line, "noiseDistribution", NoiseDistribution, NoiseDistribution.NORMAL
            ),
            name=table.text(cells, "observableName"),
        )
        out.append((observable, line, table))
    return out


def _prior(table: _Table, cells: dict[str, str], line: int, kind: str) -> Prior | None:
    type_column, parameters_column = f"{kind}PriorType", f"{kind}PriorParameters"
    if cells.get(type_column, "") in _EMPTY:
        return None
    prior_type = table.enum(cells, line, type_column, PriorType, PriorType.UNIFORM)
    raw = table.required_text(cells, line, parameters_column)
    try:
        values = tuple(float(v) for v in raw.split(";"))
    except ValueError:
        raise table.error(
            f"expected ';'-separated numbers, found '{raw}'", line, parameters_column
        ) from None
    if len(values) != 2:
        raise table.error(
            f"a {prior_type.value} prior takes 2 parameters, found {len(values)}",
            line,
            parameters_column,
        )
    return Prior(prior_type, values)


def _read_parameters(path: Path) -> list[tuple[ProblemParameter, int, _Table]]:
    table = _Table(path, ["parameterId", "parameterScale", "lowerBound", "upperBound", "estimate"])
    out = []
    for line, cells in table.rows():
        id = table.required_text(cells, line, "parameterId")
        estimate_text = table.required_text(cells, line, "estimate")
        if estimate_text not in ("0", "1"):
            raise table.error(f"expected 0 or 1, found '{estimate_text}'", line, "estimate")
        estimate = estimate_text == "1"
        scale = table.enum(cells, line, "parameterScale", Scale, Scale.LIN)
        nan = math.nan
        lower = table.number(cells, line, "lowerBound", empty=nan)
        upper = table.number(cells, line, "upperBound", empty=nan)
        nominal = table.number(cells, line, "nominalValue", empty=nan)
        if estimate:
            for column, value in (("lowerBound", lower), ("upperBound", upper)):
                if math.isnan(value):
                    raise table.error("an estimated parameter needs bounds", line, column)
            if lower > upper:
                raise table.error(f"lower bound {lower} exceeds upper bound {upper}", line)
            if scale is not Scale.LIN and lower < 0:
                raise table.error(
                    f"a parameter on {scale.value} scale needs lowerBound >= 0, found {lower}",
                    line,
                    "lowerBound",
                )
        elif math.isnan(nominal):
            raise table.error(
                "a parameter that is not estimated needs a nominalValue", line, "nominalValue"
            )
        parameter = ProblemParameter(
            id=id,
            scale=scale,
            lower=lower,
            upper=upper,
            nominal=nominal,
            estimate=estimate,
            name=table.text(cells, "parameterName"),
            initialization_prior=_prior(table, cells, line, "initialization"),
            objective_prior=_prior(table, cells, line, "objective"),
        )
        out.append((parameter, line, table))
    return out


def _read_conditions(
    path: Path, model: Model, formula_symbols: set[str], parameters: set[str], seen: set[str]
) -> list[Condition]:
    table = _Table(path, ["conditionId"])
    species = {s.id for s in model.species}
    targets = {c.id for c in model.compartments} | species | {p.id for p in model.parameters}
    allowed = targets | (formula_symbols - _model_ids(model))
    for column in table.frame.columns:
        if column not in ("conditionId", "conditionName") and column not in allowed:
            raise table.error(
                f"'{column}' is not a parameter, species or compartment of the model, nor a "
                "parameter of an observable or noise formula; remove the column or fix its id",
                column=column,
            )
    columns = [c for c in table.frame.columns if c not in ("conditionId", "conditionName")]
    out = []
    for line, cells in table.rows():
        values: list[tuple[str, Override]] = []
        for column in columns:
            raw = cells[column]
            if raw in _EMPTY:
                if column not in species:
                    raise table.error(
                        "an empty (NaN) value is allowed only for species (keep the "
                        "pre-equilibrated value); give a number or a parameter id",
                        line,
                        column,
                    )
                values.append((column, math.nan))
                continue
            try:
                values.append((column, float(raw)))
            except ValueError:
                if raw not in parameters:
                    raise table.error(
                        f"'{raw}' is neither a number nor a parameter of the parameter table",
                        line,
                        column,
                    ) from None
                values.append((column, raw))
        id = _unique(
            table, line, "conditionId", table.required_text(cells, line, "conditionId"), seen
        )
        out.append(Condition(id, tuple(values), table.text(cells, "conditionName")))
    return out


def _read_measurements(
    path: Path,
    observables: dict[str, tuple[Observable, set[str]]],
    conditions: set[str],
    parameters: set[str],
) -> list[Measurement]:
    table = _Table(path, ["observableId", "simulationConditionId", "measurement", "time"])
    out = []
    for line, cells in table.rows():
        observable_id = table.required_text(cells, line, "observableId")
        if observable_id not in observables:
            raise table.error(f"unknown observable '{observable_id}'", line, "observableId")
        observable, names = observables[observable_id]
        ids = []
        for column in ("simulationConditionId", "preequilibrationConditionId"):
            id = table.text(cells, column)
            if id and id not in conditions:
                raise table.error(f"unknown condition '{id}'", line, column)
            ids.append(id or None)
        if ids[0] is None:
            raise table.error("expected a condition id", line, "simulationConditionId")
        value = table.number(cells, line, "measurement")
        if not math.isfinite(value):
            raise table.error(f"expected a finite measurement, found {value}", line, "measurement")
        if observable.transformation is not Scale.LIN and value <= 0:
            raise table.error(
                f"observable '{observable_id}' is {observable.transformation.value}-transformed, "
                f"so its measurements must be positive; found {value}",
                line,
                "measurement",
            )
        # inf: at the condition's steady state. Negative times are allowed (the benchmark
        # collection's Hass_PONE2017 starts at -30): a simulation starts at its earliest time.
        time = table.number(cells, line, "time")
        if math.isnan(time) or time == -math.inf:
            raise table.error(f"expected a finite time or inf, found {time}", line, "time")
        lists = {}
        for kind, column in (("observable", "observableParameters"), ("noise", "noiseParameters")):
            entries = _overrides(table, cells, line, column)
            expected = count_placeholders(names, kind, observable_id)
            if len(entries) != expected:
                raise table.error(
                    f"observable '{observable_id}' has {expected} {kind} parameter "
                    f"placeholder(s), but {len(entries)} value(s) are given",
                    line,
                    column,
                )
            for entry in entries:
                if isinstance(entry, str) and entry not in parameters:
                    raise table.error(
                        f"'{entry}' is neither a number nor a parameter of the parameter table",
                        line,
                        column,
                    )
            lists[kind] = entries
        out.append(
            Measurement(
                observable_id=observable_id,
                simulation_condition_id=ids[0],
                preequilibration_condition_id=ids[1],
                time=time,
                value=value,
                observable_parameters=lists["observable"],
                noise_parameters=lists["noise"],
                dataset_id=table.text(cells, "datasetId") or None,
                replicate_id=table.text(cells, "replicateId") or None,
            )
        )
    return out


def _check_formula_symbols(
    observables: list[tuple[Observable, int, _Table]], model: Model, parameters: set[str]
) -> dict[str, tuple[Observable, set[str]]]:
    known = _model_ids(model) | parameters
    out = {}
    for observable, line, table in observables:
        names: set[str] = set()
        for column, text in (
            ("observableFormula", observable.formula),
            ("noiseFormula", observable.noise_formula),
        ):
            found = symbol_names(parse(text))
            names |= found
            for name in found:
                held = placeholder(name)
                if held is not None and held[2] == observable.id:
                    if column == "observableFormula" and held[0] == "noise":
                        raise table.error(
                            f"'{name}' is a noise parameter, not allowed in the observable formula",
                            line,
                            column,
                        )
                    continue
                if name in known or name == "time":
                    continue
                if column == "noiseFormula" and name == observable.id:
                    continue
                raise table.error(
                    f"'{name}' is not a model id, a parameter of the parameter table nor a "
                    f"placeholder of observable '{observable.id}'",
                    line,
                    column,
                )
        out[observable.id] = (observable, names)
    return out


def _files(config: dict[str, Any], key: str) -> list[str]:
    value = config.get(key, [])
    return [value] if isinstance(value, str) else list(value)


def _load_yaml(path: Path) -> dict[str, Any]:
    from petab.v1 import yaml as petab_yaml

    try:
        config = petab_yaml.load_yaml(path)
        petab_yaml.validate(config, path_prefix=path.parent)
    except FileNotFoundError as exc:
        raise ProblemError(f"no such file: {exc.filename}", file=str(path)) from None
    except Exception as exc:  # jsonschema, YAML and libpetab assertion errors
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ProblemError(
            f"not a valid PEtab v1 problem file: {message}", file=str(path)
        ) from None
    if str(config.get("format_version")) not in ("1", "1.0.0"):
        raise ProblemError(
            f"expected format_version 1, found {config.get('format_version')!r}",
            file=str(path),
            column="format_version",
        )
    return dict(config)


def read_petab(path: str | os.PathLike[str], *, lint: bool = False) -> CalibrationProblem:
    """Read a PEtab v1 problem from its YAML file.

    Every cell is checked; the first problem found raises :class:`~immunetwin.errors.ProblemError`
    naming the file, line and column. ``lint=True`` also runs libpetab's own linter (slower),
    raising ``ProblemError`` with every error it logs.
    """
    yaml_path = Path(path)
    if not yaml_path.is_file():
        raise ProblemError("no such file; expected a PEtab v1 YAML file", file=str(yaml_path))
    config = _load_yaml(yaml_path)
    problems = config.get("problems", [])
    if len(problems) != 1:
        raise ProblemError(
            f"expected exactly one entry under 'problems', found {len(problems)}",
            file=str(yaml_path),
            column="problems",
        )
    entry = problems[0]
    base = yaml_path.parent
    sbml = _files(entry, "sbml_files")
    if len(sbml) != 1:
        raise ProblemError(
            f"expected one SBML model, found {len(sbml)}", file=str(yaml_path), column="sbml_files"
        )
    model_path = base / sbml[0]
    model = read_sbml(model_path)
    parameter_paths = [base / f for f in _files(config, "parameter_file")]
    parameters = [row for p in parameter_paths for row in _read_parameters(p)]
    parameter_ids = {p.id for p, _, _ in parameters}
    seen: set[str] = set()
    for parameter, line, table in parameters:
        _unique(table, line, "parameterId", parameter.id, seen)
    observable_paths = [base / f for f in _files(entry, "observable_files")]
    seen_observables: set[str] = set()
    observables = [row for p in observable_paths for row in _read_observables(p, seen_observables)]
    checked = _check_formula_symbols(observables, model, parameter_ids)
    symbols = set().union(*(names for _, names in checked.values())) if checked else set()
    condition_paths = [base / f for f in _files(entry, "condition_files")]
    seen_conditions: set[str] = set()
    conditions = [
        c
        for p in condition_paths
        for c in _read_conditions(p, model, symbols, parameter_ids, seen_conditions)
    ]
    condition_ids = {c.id for c in conditions}
    measurement_paths = [base / f for f in _files(entry, "measurement_files")]
    measurements = [
        m
        for p in measurement_paths
        for m in _read_measurements(p, checked, condition_ids, parameter_ids)
    ]
    if lint:
        _lint(yaml_path)
    try:
        return CalibrationProblem(
            model=model,
            observables=tuple(o for o, _, _ in observables),
            conditions=tuple(conditions),
            measurements=tuple(measurements),
            parameters=tuple(p for p, _, _ in parameters),
            sources=SourceFiles(
                yaml=yaml_path,
                model=model_path,
                observables=tuple(observable_paths),
                conditions=tuple(condition_paths),
                measurements=tuple(measurement_paths),
                parameters=tuple(parameter_paths),
            ),
        )
    except ImmuneTwinError as exc:
        raise ProblemError(str(exc), file=str(yaml_path)) from None


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _lint(yaml_path: Path) -> None:
    import petab.v1 as petab

    handler = _Collect()
    logger = logging.getLogger("petab")
    logger.addHandler(handler)
    try:
        failed = petab.lint_problem(petab.Problem.from_yaml(yaml_path))
    finally:
        logger.removeHandler(handler)
    if failed:
        details = "; ".join(handler.messages) or "see libpetab's log"
        raise ProblemError(f"libpetab's linter rejects the problem: {details}", file=str(yaml_path))
