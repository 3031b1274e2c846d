"""Run SBML Test Suite semantic cases with the suite's own rules."""

from __future__ import annotations

import csv
import time as clock
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from immunetwin.engine import CVODES, Status, compile_model, simulate
from immunetwin.errors import ImmuneTwinError, InvalidInputError
from immunetwin.formats import read_sbml


@dataclass(frozen=True)
class CaseSettings:
    start: float
    duration: float
    steps: int
    variables: tuple[str, ...]
    absolute: float
    relative: float
    amount: frozenset[str]
    concentration: frozenset[str]


@dataclass(frozen=True)
class CaseResult:
    case: str
    passed: bool
    reason: str
    seconds: float


def read_settings(path: Path) -> CaseSettings:
    fields: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.strip()

    def names(key: str) -> tuple[str, ...]:
        return tuple(v.strip() for v in fields.get(key, "").split(",") if v.strip())

    return CaseSettings(
        start=float(fields.get("start", 0)),
        duration=float(fields["duration"]),
        steps=int(float(fields["steps"])),
        variables=names("variables"),
        absolute=float(fields.get("absolute", 0)),
        relative=float(fields.get("relative", 0)),
        amount=frozenset(names("amount")),
        concentration=frozenset(names("concentration")),
    )


def model_file(folder: Path, case: str) -> Path:
    for suffix in ("l3v2", "l3v1", "l2v5", "l2v4", "l2v3", "l2v2", "l2v1", "l1v2"):
        candidate = folder / f"{case}-sbml-{suffix}.xml"
        if candidate.is_file():
            return candidate
    raise InvalidInputError(f"case folder {folder} holds no {case}-sbml-*.xml model")


def run_case(folder: Path, rtol: float = 1e-10, atol: float = 1e-14) -> CaseResult:
    """Run one case folder; pass means every value is within the suite's tolerance."""
    case = folder.name
    started = clock.perf_counter()
    try:
        settings = read_settings(folder / f"{case}-settings.txt")
        model = read_sbml(model_file(folder, case))
        compiled = compile_model(model)
        times = np.linspace(settings.start, settings.start + settings.duration, settings.steps + 1)
        wanted = [v for v in settings.variables if v in compiled.output_ids]
        missing = [v for v in settings.variables if v not in compiled.output_ids]
        if missing:
            return CaseResult(case, False, f"variables not in model: {missing}", 0.0)
        extra = [c.id for c in model.compartments]
        result = simulate(compiled, times, variables=[*wanted, *extra], solver=CVODES(rtol, atol))
        # A NaN/INF output is flagged by its status but may be exactly what the case expects.
        if not result.ok and result.status is not Status.NONFINITE:
            return CaseResult(case, False, result.message, clock.perf_counter() - started)
        expected = _read_expected(folder / f"{case}-results.csv")
        species = {s.id: s for s in model.species}
        compartments = {c.id: c for c in model.compartments}
        for name in settings.variables:
            column = result[name]
            if name in species:
                s = species[name]
                zero_d = compartments[s.compartment].spatial_dimensions == 0
                size = np.ones_like(column) if zero_d else result[s.compartment]
                if name in settings.amount and not s.has_only_substance_units:
                    column = column * size
                elif name in settings.concentration and s.has_only_substance_units:
                    column = column / size
            reference = expected[name]
            if len(reference) != len(column):
                return CaseResult(case, False, f"{len(reference)} expected rows", 0.0)
            reason = _compare(name, times, column, reference, settings)
            if reason:
                return CaseResult(case, False, reason, clock.perf_counter() - started)
        return CaseResult(case, True, "", clock.perf_counter() - started)
    except ImmuneTwinError as exc:
        return CaseResult(
            case, False, f"{type(exc).__name__}: {exc}", clock.perf_counter() - started
        )


def _read_expected(path: Path) -> dict[str, np.ndarray]:
    with path.open() as handle:
        rows = list(csv.reader(handle))
    header = [h.strip() for h in rows[0]]
    table = np.array([[float(v) for v in row] for row in rows[1:] if row], dtype=float)
    return {name: table[:, i] for i, name in enumerate(header)}


def _compare(
    name: str, times: np.ndarray, got: np.ndarray, want: np.ndarray, s: CaseSettings
) -> str:
    for t, v, e in zip(times, got, want, strict=True):
        if np.isnan(e) and np.isnan(v):
            continue
        if np.isinf(e) and v == e:
            continue
        if not abs(v - e) <= s.absolute + s.relative * abs(e):
            return f"{name} at t={t:g}: got {v:.10g}, expected {e:.10g}"
    return ""


def run_suite(directory: Path, cases: list[str] | None = None) -> list[CaseResult]:
    if not directory.is_dir():
        raise InvalidInputError(f"'{directory}' is not a directory of SBML Test Suite cases")
    names = (
        cases if cases is not None else sorted(p.name for p in directory.iterdir() if p.is_dir())
    )
    return [run_case(directory / name) for name in names]


def read_case_list(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]
