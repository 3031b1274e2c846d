"""Agreement of our engine with libroadrunner on the curated immune BioModels set.

Used by ``tests/engine/test_agreement.py`` (and by ``make agreement``) over the 140 SBML files
of ``shared/biomodels-immune`` (index in ``INDEX.tsv``).

Horizon rule
    Simulate from 0 to the model's *natural horizon*, with 101 evenly spaced output points.
    The upstream SED-ML files are not in the shared data set (and the BioModels ``*_url.sedml``
    ones are mostly auto-generated ten-time-unit runs), so the horizon is:

    1. ``HORIZONS[model id]`` when listed: a hand-written table for models whose interesting
       dynamics (events, doses, treatment switches, slow or fast time scales) are clearly
       outside ``[0, 100]``; each entry says why;
    2. otherwise ``DEFAULT_HORIZON`` = 100 model time units.

Solvers
    Ours: ``CVODES(rtol=1e-10, atol=1e-12)``. libroadrunner: CVODE with
    ``relative_tolerance=1e-10``, ``absolute_tolerance=1e-12``, ``maximum_num_steps=10**6``.

What is compared
    Every species, in the unit our result uses: the concentration, except for species with
    ``hasOnlySubstanceUnits`` or in a 0-D compartment, which are amounts (roadrunner's ``[S]``
    column is a concentration, ``S`` an amount). Every parameter and compartment that is not
    constant (the target of a rule or an event) is compared too, so that the species-less models
    (state held in parameters under rate rules) are not compared vacuously.

Agreement criterion (per column ``c``, over all output times, t = 0 included)::

    |ours - rr| <= RTOL * |rr| + RTOL * scale_c,   scale_c = max(max_t |rr_c(t)|, ABS_FLOOR)

with ``RTOL = 1e-6`` and ``ABS_FLOOR = 1e-6``. The ``scale_c`` term is an absolute tolerance
that follows the size of the column, so that values passing near zero do not fail on noise;
``ABS_FLOOR`` keeps columns that stay at (or near) zero from demanding more than the integrator
``atol`` of 1e-12. Equivalently ``max |ours - rr| / (|rr| + scale_c) <= RTOL``; that ratio is
``AgreementResult.max_rel_error``. NaN in the same place on both sides counts as equal.

Outcomes (``AgreementResult.status``)
    ``agree``/``disagree``: both ran; the criterion holds or fails. ``unsupported``: our reader
    or compiler raised ``UnsupportedFeatureError`` (``feature`` names the construct).
    ``error``: our side raised any other error or returned a failed result.
    ``roadrunner_failed``: libroadrunner could not load or simulate the model (no reference).
"""

from __future__ import annotations

import csv
import math
import time as clock
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RTOL = 1e-6
ABS_FLOOR = 1e-6
N_POINTS = 101
DEFAULT_HORIZON = 100.0
SOLVER_RTOL = 1e-10
SOLVER_ATOL = 1e-12
RR_MAX_STEPS = 1_000_000

# Hand-written horizons (model time units) where 100 would miss the dynamics; see the docstring.
HORIZONS: dict[str, tuple[float, str]] = {}

STATUSES = ("agree", "disagree", "unsupported", "error", "roadrunner_failed")


@dataclass(frozen=True)
class AgreementResult:
    model_id: str
    status: str
    detail: str = ""
    max_rel_error: float = math.nan
    horizon: float = DEFAULT_HORIZON
    feature: str = ""  # for "unsupported": the construct named by UnsupportedFeatureError
    worst: str = ""  # the column with the largest error
    seconds: float = 0.0

    def row(self) -> str:
        err = "" if math.isnan(self.max_rel_error) else f"{self.max_rel_error:.2e}"
        return "\t".join(
            [self.model_id, self.status, f"{self.horizon:g}", err, self.worst, self.detail]
        )


def horizon_of(model_id: str) -> float:
    """The natural horizon of a model (see the module docstring)."""
    return HORIZONS.get(model_id, (DEFAULT_HORIZON, ""))[0]


def index_rows(folder: Path) -> list[dict[str, str]]:
    """The rows of ``INDEX.tsv`` in a biomodels-immune folder."""
    with (folder / "INDEX.tsv").open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def model_paths(folder: Path) -> Iterator[tuple[str, Path]]:
    for row in index_rows(folder):
        yield row["id"], folder / row["sbml_file"]


def _compared_columns(path: Path) -> list[tuple[str, str]]:
    """(our id, roadrunner selection) for every compared variable, read with libsbml."""
    import libsbml

    document = libsbml.readSBMLFromFile(str(path))
    m = document.getModel()
    zero_d = {
        c.getId()
        for c in m.getListOfCompartments()
        if (m.getLevel() < 3 or c.isSetSpatialDimensions())
        and c.getSpatialDimensionsAsDouble() == 0
    }
    columns = []
    for s in m.getListOfSpecies():
        amount = s.getHasOnlySubstanceUnits() or s.getCompartment() in zero_d
        columns.append((s.getId(), s.getId() if amount else f"[{s.getId()}]"))
    variable = {m.getRule(i).getVariable() for i in range(m.getNumRules())}
    variable |= {
        a.getVariable() for e in m.getListOfEvents() for a in e.getListOfEventAssignments()
    }
    for item in (*m.getListOfCompartments(), *m.getListOfParameters()):
        if item.getId() in variable:
            columns.append((item.getId(), item.getId()))
    return columns


def run_roadrunner(path: Path, times: np.ndarray, selections: list[str]) -> np.ndarray:
    """libroadrunner values (rows: times) of ``selections``."""
    import roadrunner

    roadrunner.Logger.setLevel(roadrunner.Logger.LOG_FATAL)
    rr = roadrunner.RoadRunner(str(path))
    rr.integrator.relative_tolerance = SOLVER_RTOL
    rr.integrator.absolute_tolerance = SOLVER_ATOL
    rr.integrator.maximum_num_steps = RR_MAX_STEPS
    rr.timeCourseSelections = ["time", *selections]
    table = np.asarray(rr.simulate(float(times[0]), float(times[-1]), len(times)), dtype=float)
    if table.shape != (len(times), len(selections) + 1):
        raise RuntimeError(f"roadrunner returned a table of shape {table.shape}")
    if np.max(np.abs(table[:, 0] - times)) > 1e-9 * max(1.0, abs(times[-1])):
        raise RuntimeError("roadrunner returned other output times")
    return table[:, 1:]


def errors(ours: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per column, ``max |ours - rr| / (|rr| + scale)`` (NaN on both sides counts as equal)."""
    finite = np.isfinite(reference)
    scale = np.max(np.where(finite, np.abs(reference), 0.0), axis=0, initial=0.0)
    scale = np.maximum(scale, ABS_FLOOR)
    with np.errstate(invalid="ignore"):
        ratio = np.abs(ours - reference) / (np.abs(reference) + scale)
    both_nan = np.isnan(ours) & np.isnan(reference)
    ratio = np.where(both_nan, 0.0, ratio)
    ratio = np.where(np.isnan(ratio), np.inf, ratio)  # NaN on one side only
    return np.max(ratio, axis=0, initial=0.0)


def compare_with_roadrunner(path: str | Path, horizon: float | None = None) -> AgreementResult:
    """Simulate one SBML file with our engine and with libroadrunner and compare."""
    from immunetwin.engine import CVODES, simulate
    from immunetwin.errors import UnsupportedFeatureError
    from immunetwin.formats import read_sbml

    path = Path(path)
    model_id = path.stem
    end = horizon_of(model_id) if horizon is None else float(horizon)
    times = np.linspace(0.0, end, N_POINTS)
    started = clock.perf_counter()

    def done(status: str, detail: str = "", **kw: object) -> AgreementResult:
        elapsed = clock.perf_counter() - started
        return AgreementResult(
            model_id,
            status,
            detail,
            horizon=end,
            seconds=elapsed,
            **kw,  # type: ignore[arg-type]
        )

    columns = _compared_columns(path)
    ours_ids = [c[0] for c in columns]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = read_sbml(path)
            result = simulate(
                model,
                times,
                variables=[i for i in ours_ids if i not in {s.id for s in model.species}],
                solver=CVODES(SOLVER_RTOL, SOLVER_ATOL),
            )
        except UnsupportedFeatureError as exc:
            return done("unsupported", str(exc), feature=exc.feature)
        except Exception as exc:  # noqa: BLE001 - every other failure is an outcome here
            return done("error", f"{type(exc).__name__}: {exc}")
    notes = "; ".join(sorted({str(w.message).splitlines()[0] for w in caught}))
    if not result.ok:
        return done("error", f"{result.status.value}: {result.message}")
    ours = np.column_stack([result[i] for i in ours_ids]) if ours_ids else np.zeros((N_POINTS, 0))

    try:
        reference = run_roadrunner(path, times, [c[1] for c in columns])
    except Exception as exc:  # noqa: BLE001
        text = str(exc).strip().splitlines()
        return done("roadrunner_failed", f"{type(exc).__name__}: {text[0] if text else ''}")

    per_column = errors(ours, reference)
    if per_column.size == 0:
        return done("agree", "no variables to compare", max_rel_error=0.0)
    worst = int(np.argmax(per_column))
    max_error = float(per_column[worst])
    worst_id = ours_ids[worst]
    if max_error <= RTOL:
        return done("agree", notes, max_rel_error=max_error, worst=worst_id)
    bad = [ours_ids[i] for i in np.flatnonzero(per_column > RTOL)]
    row = int(np.argmax(np.abs(ours[:, worst] - reference[:, worst])))
    detail = (
        f"{len(bad)}/{len(ours_ids)} columns differ ({', '.join(bad[:6])}"
        f"{', ...' if len(bad) > 6 else ''}); worst {worst_id} at t={times[row]:g}: "
        f"ours {ours[row, worst]:.10g}, roadrunner {reference[row, worst]:.10g}"
    )
    if notes:
        detail += f"; warnings: {notes}"
    return done("disagree", detail, max_rel_error=max_error, worst=worst_id)
