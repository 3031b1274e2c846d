"""Agreement of our engine with libroadrunner, the independent reference simulator.

``compare_with_roadrunner`` runs one model (an SBML or Antimony file, SBML text, or an IR
``Model``) in both simulators and applies the criterion below. It backs the catalogue's
simulatability reports (``immunetwin.catalog.simulatability``) and ``make agreement``
(``tests/engine/test_agreement.py``, the 140 SBML files of ``shared/biomodels-immune``, index in
``INDEX.tsv``). libroadrunner is a development dependency: it is imported only when a comparison
runs, and without it the result says so (``status`` "not_checked").

Horizon rule
    Every model runs from 0 to its *natural horizon*, with ``N_POINTS`` = 101 evenly spaced
    output times. The upstream SED-ML files are not in the shared data (and BioModels'
    ``*_url.sedml`` files are mostly auto-generated ten-time-unit runs), so the horizon is

    1. ``HORIZONS[model id]`` where listed (a derived entry such as ``BIOMD0000000711_corrected``
       uses its BioModels id's row): a hand-written table for the models whose scheduled
       events (doses, immunisations, treatment windows) fall outside ``[0, 100]`` or whose
       dynamics stop being well posed inside it; each entry says why;
    2. otherwise ``DEFAULT_HORIZON`` = 100 model time units.

Solvers
    Ours: ``CVODES(rtol=1e-10, atol=1e-12)``. libroadrunner: CVODE with
    ``relative_tolerance=1e-10``, ``absolute_tolerance=1e-12``, ``maximum_num_steps=10**6``.
    (libroadrunner applies its absolute tolerance to concentrations, i.e. ``atol * volume`` on
    amounts; ours applies it to the amounts themselves.)

What is compared
    Every species, in the unit our result uses: the concentration, except for species with
    ``hasOnlySubstanceUnits`` or in a 0-D compartment, which are amounts (roadrunner's ``[S]``
    column is a concentration, ``S`` an amount); plus every parameter and compartment that is a
    state variable (the target of a rate rule or of an event assignment), so that the
    species-less models (state held in parameters under rate rules) are not compared vacuously.
    Values derived by assignment rules are not compared.

Agreement criterion (per column ``c``, at every output time, t = 0 included)::

    |ours - rr| <= RTOL * (|rr| + scale_c),   scale_c = max(max_t |rr_c(t)|, ABS_FLOOR)

with ``RTOL = 1e-6`` and ``ABS_FLOOR = 1e-6``: a relative tolerance of 1e-6 plus an absolute
one of 1e-6 times the column's largest value, so that values passing near zero do not fail on
noise; ``ABS_FLOOR`` keeps a column that stays at (or near) zero to an absolute 1e-12, the
integrators' ``atol``. The largest ``|ours - rr| / (|rr| + scale_c)`` over the run is
``AgreementResult.max_rel_error``; NaN in the same place on both sides counts as equal.

Discontinuities: the value *at* the instant an event fires is a convention (we report the
state after the event, as the SBML Test Suite does; roadrunner reports the state before it for
a strict ``time > c`` trigger). An output time where the values differ is re-checked against
roadrunner just before and just after it (``t -/+ EPS_T``): if roadrunner jumps there, ours
matches one side and roadrunner's own output the other, the row counts as agreeing and
``detail`` says so.

A disagreement is re-run with both solvers at ``TIGHT_RTOL``/``TIGHT_ATOL``
(``AgreementResult.tight_error``): a difference that vanishes there is tolerance-limited; one that
stays is semantic (or an ill-posed model).

Outcomes (``AgreementResult.status``)
    ``agree`` / ``disagree``: both ran; the criterion holds or fails. ``unsupported``: our
    reader or compiler raised ``UnsupportedFeatureError`` (``feature`` names the construct).
    ``error``: our side raised any other error or returned a failed result.
    ``roadrunner_failed``: libroadrunner could not load or simulate the model (no reference).
    ``not_checked``: libroadrunner is not installed.
    ``immunetwin.catalog.simulatability`` maps these onto the catalogue's verdicts; a disagreement
    is ``TOLERANCE_LIMITED`` when ``KNOWN`` diagnoses it so or ``tight_error`` < ``TIGHT_AGREE``.

``KNOWN`` lists the current disagreements with their diagnosis; the tests mark them xfail.

Caveat: BIOMD0000000620/0621 (Palmer2014) dose anakinra with the trigger
``time == Anakinra_dose_counter && Anakinra_dose_counter < 91`` (doses at t = 0.5, 1.5, ...).
Neither simulator fires it on this grid (roadrunner fires an equality trigger only when an output
time hits it exactly), so those two agree on an undosed run.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import re
import sys
import time as clock
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from immunetwin.engine import CVODES, SimulationResult, simulate
from immunetwin.errors import UnsupportedFeatureError
from immunetwin.ir import Model

__all__ = [
    "DEFAULT_HORIZON",
    "HORIZONS",
    "KNOWN",
    "MISSING_ROADRUNNER",
    "RTOL",
    "AgreementResult",
    "Prepared",
    "against_reference",
    "compare_with_roadrunner",
    "horizon_of",
    "model_id_of",
    "prepare",
    "roadrunner_version",
    "simulate_ours",
]

RTOL = 1e-6
ABS_FLOOR = 1e-6
N_POINTS = 101
DEFAULT_HORIZON = 100.0
SOLVER_RTOL = 1e-10
SOLVER_ATOL = 1e-12
RR_MAX_STEPS = 1_000_000
EPS_T = 1e-9  # times the horizon (at least 1): how far either side of a discontinuity we look
TIGHT_RTOL = 1e-12  # the re-check of a disagreement: both solvers at these tolerances
TIGHT_ATOL = 1e-20

# model id -> (horizon in model time units, why). Everything else runs to DEFAULT_HORIZON.
HORIZONS: dict[str, tuple[float, str]] = {
    "BIOMD0000000488": (
        864_000.0,
        "seconds; immunisation event at 345600 s (day 4), run to day 10",
    ),
    "BIOMD0000000534": (2688.0, "hours; IL-6 doses at 0.1, 672, 1344, 2016 h, run 4 weeks past"),
    "BIOMD0000000535": (2688.0, "hours; doses at 0.1, 672, 1344 h (same 16-week protocol)"),
    "BIOMD0000000536": (2688.0, "hours; weekly doses 0.1..2016 h (same 16-week protocol)"),
    "BIOMD0000000537": (2688.0, "hours; doses 0.1..2016 h every 2 weeks (same protocol)"),
    "BIOMD0000000650": (500.0, "treatment window 10..400 (events on treatment_start/end)"),
    "BIOMD0000000711": (
        20.0,
        "days; the infection course. Once the viral load has decayed below ~1e-30 (t ~ 47) the "
        "'keep V >= 0' event V < 0 -> V = 0 re-fires every ~1e-12 time units (Zeno)",
    ),
}

# model id -> diagnosis of a current disagreement or error; the tests mark these xfail(strict),
# so drop an entry when its fix lands. "tolerance-limited": ours and roadrunner converge to each
# other (``tight_error`` < 1e-7) when both integrate at TIGHT_RTOL/TIGHT_ATOL.
KNOWN: dict[str, str] = {
    "BIOMD0000000778": (
        "tolerance-limited: roadrunner's own error at rtol 1e-10 is 2e-6 (ours 8e-8 against the "
        "converged solution); both agree to 5e-12 at tight tolerances"
    ),
    "BIOMD0000000810": (
        "tolerance-limited: ill-conditioned (both are 2-4e-6 from the converged solution at "
        "rtol 1e-10); agree to 1e-8 at tight tolerances"
    ),
    "BIOMD0000000876": (
        "tolerance-limited: strongly error-amplifying dynamics (rtol 1e-8 -> 50% error); "
        "agree to 6e-9 at tight tolerances"
    ),
    "BIOMD0000001033": (
        "tolerance-limited: species fall to ~1e-12 (near extinction) and regrow, so atol 1e-12 "
        "errors are amplified; agree to 1e-9 at tight tolerances"
    ),
}

TIGHT_AGREE = 1e-7  # tight_error below this: the difference is the tolerances' (see KNOWN)
MISSING_ROADRUNNER = "libroadrunner is not installed; pip install libroadrunner"

STATUSES = ("agree", "disagree", "unsupported", "error", "roadrunner_failed", "not_checked")

_BIOMODELS_ID = re.compile(r"BIOMD\d{10}")
_SBML_SUFFIXES = (".xml", ".sbml")


@dataclass(frozen=True)
class AgreementResult:
    model_id: str
    status: str  # one of STATUSES
    detail: str = ""
    max_rel_error: float = math.nan
    horizon: float = DEFAULT_HORIZON
    feature: str = ""  # for "unsupported": the construct that UnsupportedFeatureError names
    worst: str = ""  # the column with the largest error
    tight_error: float = math.nan  # for "disagree": max_rel_error with both at TIGHT_* tolerances
    seconds: float = 0.0

    @property
    def tolerance_limited(self) -> bool:
        """A disagreement that KNOWN diagnoses as, or the tight re-run shows to be, tolerances."""
        diagnosed = KNOWN.get(self.model_id, "").startswith("tolerance-limited")
        return self.status == "disagree" and (diagnosed or self.tight_error < TIGHT_AGREE)

    def row(self) -> str:
        """One tab-separated line for a results table."""
        error = "" if math.isnan(self.max_rel_error) else f"{self.max_rel_error:.2e}"
        fields = [self.model_id, self.status, f"{self.horizon:g}", error, self.worst]
        return "\t".join([*fields, self.detail.replace("\n", " ")])


@dataclass(frozen=True, eq=False)
class Prepared:
    """One model ready for both simulators: our IR, the SBML roadrunner reads, the grid."""

    model_id: str
    model: Model
    sbml: str | None  # None: written from ``model`` when roadrunner needs it (Antimony, IR)
    times: np.ndarray
    columns: tuple[tuple[str, str], ...]  # (our id, roadrunner selection) per compared value

    @property
    def horizon(self) -> float:
        return float(self.times[-1])


def horizon_of(model_id: str) -> float:
    """The natural horizon of a model (see the module docstring)."""
    row = HORIZONS.get(model_id)
    match = _BIOMODELS_ID.match(model_id)
    if row is None and match is not None:
        row = HORIZONS.get(match.group())
    return DEFAULT_HORIZON if row is None else row[0]


def model_id_of(model: Model) -> str:
    """The BioModels id the model declares (``bqmodel:is`` or derived from), else its SBML id."""
    for annotation in model.annotations:
        match = _BIOMODELS_ID.search(annotation.uri)
        if match is not None and annotation.qualifier.startswith("bqmodel:"):
            return match.group()
    return model.id


def roadrunner_version() -> str | None:
    """libroadrunner's version, or None when it is not installed (it is optional)."""
    try:
        import roadrunner
    except ImportError:
        return None
    return str(getattr(roadrunner, "__version__", "unknown"))


def index_rows(folder: Path) -> list[dict[str, str]]:
    """The rows of ``INDEX.tsv`` in a biomodels-immune folder."""
    with (folder / "INDEX.tsv").open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def compared_columns(model: Model) -> tuple[tuple[str, str], ...]:
    """(our id, roadrunner selection) of every compared variable (see the module docstring)."""
    zero_d = {c.id for c in model.compartments if c.spatial_dimensions == 0}
    columns = []
    for s in model.species:
        amount = s.has_only_substance_units or s.compartment in zero_d
        columns.append((s.id, s.id if amount else f"[{s.id}]"))
    states = {r.variable for r in model.rate_rules}
    states |= {a.variable for e in model.events for a in e.assignments}
    ids = [c.id for c in model.compartments] + [p.id for p in model.parameters]
    columns += [(i, i) for i in ids if i in states]
    return tuple(columns)


def prepare(
    source: str | os.PathLike[str] | Model,
    *,
    horizon: float | None = None,
    model_id: str | None = None,
) -> Prepared:
    """Read ``source`` (SBML/Antimony file, SBML text or a Model) and lay out the run.

    Raises what the readers raise (``UnsupportedFeatureError``, ``ModelReadError``, ...).
    """
    from immunetwin.formats import read_model, read_sbml_string

    sbml: str | None = None
    if isinstance(source, Model):
        model, found = source, model_id_of(source)
    elif isinstance(source, str) and source.lstrip().startswith("<"):
        model = read_sbml_string(source)
        sbml, found = source, model_id_of(model)
    else:
        path = Path(source)
        model, found = read_model(path), path.stem
        if path.suffix.lower() in _SBML_SUFFIXES:
            sbml = path.read_text(encoding="utf-8", errors="replace")
    model_id = model_id or found
    end = horizon_of(model_id) if horizon is None else float(horizon)
    times = np.linspace(0.0, end, N_POINTS)
    return Prepared(model_id, model, sbml, times, compared_columns(model))


def simulate_ours(
    case: Prepared,
    tolerances: tuple[float, float] = (SOLVER_RTOL, SOLVER_ATOL),
    max_steps: int | None = None,
) -> SimulationResult:
    """Our engine on the compared columns (raises what compile and simulate raise)."""
    solver = CVODES(*tolerances) if max_steps is None else CVODES(*tolerances, max_steps)
    species = {s.id for s in case.model.species}
    return simulate(
        case.model,
        case.times,
        variables=[i for i, _ in case.columns if i not in species],
        solver=solver,
    )


def run_roadrunner(
    sbml: str,
    times: np.ndarray,
    selections: Sequence[str],
    uniform: bool = True,
    tolerances: tuple[float, float] = (SOLVER_RTOL, SOLVER_ATOL),
) -> np.ndarray:
    """libroadrunner values (rows: ``times``, which start at 0) of ``selections``.

    ``sbml`` is SBML text or a file path (roadrunner accepts either).
    """
    import roadrunner

    roadrunner.Logger.setLevel(roadrunner.Logger.LOG_FATAL)
    rr = roadrunner.RoadRunner(sbml)
    rr.integrator.relative_tolerance = tolerances[0]
    rr.integrator.absolute_tolerance = tolerances[1]
    rr.integrator.maximum_num_steps = RR_MAX_STEPS
    rr.timeCourseSelections = ["time", *selections]
    with _stdout_to_stderr():  # SUNDIALS prints warnings on stdout, which carries our JSON
        if uniform:
            raw = rr.simulate(float(times[0]), float(times[-1]), len(times))
        else:
            raw = rr.simulate(times=[float(t) for t in times])
    table = np.asarray(raw, dtype=float)
    if table.shape != (len(times), len(selections) + 1):
        raise RuntimeError(f"roadrunner returned a table of shape {table.shape}")
    if np.max(np.abs(table[:, 0] - times)) > 1e-9 * max(1.0, abs(float(times[-1]))):
        raise RuntimeError("roadrunner returned other output times")
    return table[:, 1:]


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send what C code writes to file descriptor 1 to descriptor 2 for the duration."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no real stdout (embedded interpreter): nothing to protect
        yield
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def column_scales(reference: np.ndarray) -> np.ndarray:
    """``scale_c`` of the criterion: the column's largest finite magnitude, at least ABS_FLOOR."""
    finite = np.where(np.isfinite(reference), np.abs(reference), 0.0)
    return np.maximum(np.max(finite, axis=0, initial=0.0), ABS_FLOOR)


def error_matrix(ours: np.ndarray, reference: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """``|ours - rr| / (|rr| + scale)`` per value (0 where both are NaN, inf where one is)."""
    with np.errstate(invalid="ignore"):
        ratio = np.abs(ours - reference) / (np.abs(reference) + scales)
    ratio = np.where(np.isnan(ours) & np.isnan(reference), 0.0, ratio)
    return np.where(np.isnan(ratio), np.inf, ratio)


def compare_with_roadrunner(
    source: str | os.PathLike[str] | Model,
    *,
    horizon: float | None = None,
    model_id: str | None = None,
) -> AgreementResult:
    """Simulate one model with our engine and with libroadrunner and compare them.

    ``source`` is an SBML or Antimony file, SBML text, or a ``Model``; ``model_id`` (default:
    the file stem, else the declared BioModels id) picks the natural horizon and the KNOWN row.
    Every failure is an outcome (``status``), never an exception: this is a survey tool.
    """
    started = clock.perf_counter()
    label = model_id or _label(source)
    end = horizon_of(label) if horizon is None else float(horizon)
    if roadrunner_version() is None:
        return AgreementResult(label, "not_checked", MISSING_ROADRUNNER, horizon=end)

    def failed(status: str, detail: str, feature: str = "") -> AgreementResult:
        seconds = clock.perf_counter() - started
        return AgreementResult(label, status, detail, horizon=end, feature=feature, seconds=seconds)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            case = prepare(source, horizon=horizon, model_id=model_id)
            label, end = case.model_id, case.horizon
            result = simulate_ours(case)
        except UnsupportedFeatureError as exc:
            return failed("unsupported", str(exc), feature=exc.feature)
        except Exception as exc:  # noqa: BLE001 - every other failure is an outcome here
            return failed("error", f"{type(exc).__name__}: {exc}")
    notes = sorted({str(w.message).splitlines()[0] for w in caught})
    if not result.ok:
        return failed("error", f"{result.status.value}: {result.message}")
    return against_reference(case, result, notes=notes, started=started)


def against_reference(
    case: Prepared,
    result: SimulationResult,
    *,
    notes: Sequence[str] = (),
    started: float | None = None,
) -> AgreementResult:
    """Compare our successful ``result`` on ``case`` with libroadrunner (the criterion above)."""
    started = clock.perf_counter() if started is None else started
    notes = list(notes)
    ids = [c[0] for c in case.columns]
    times = case.times

    def done(status: str, detail: str = "", **extra: Any) -> AgreementResult:
        seconds = clock.perf_counter() - started
        return AgreementResult(
            case.model_id, status, detail, horizon=case.horizon, seconds=seconds, **extra
        )

    if roadrunner_version() is None:
        return done("not_checked", MISSING_ROADRUNNER)
    if not ids:
        return done("agree", "no variables to compare", max_rel_error=0.0)
    ours = np.column_stack([result[i] for i in ids])
    selections = [c[1] for c in case.columns]
    try:
        sbml = case.sbml if case.sbml is not None else _write_sbml(case.model)
        reference = run_roadrunner(sbml, times, selections)
    except Exception as exc:  # noqa: BLE001 - no reference is an outcome
        text = str(exc).strip().splitlines()
        return done("roadrunner_failed", f"{type(exc).__name__}: {text[0] if text else ''}")

    scales = column_scales(reference)
    ratio = error_matrix(ours, reference, scales)
    if np.any(ratio > RTOL):
        try:
            jumps = _discontinuity_rows(sbml, times, selections, ours, reference, ratio, scales)
        except Exception:  # noqa: BLE001 - the plain comparison stands
            jumps = []
        if jumps:
            at = ", ".join(f"{times[k]:g}" for k in jumps)
            notes.append(f"at t={at} ours matches roadrunner on the other side of an event")
            ratio[jumps] = 0.0
    per_column = np.max(ratio, axis=0)
    worst = int(np.argmax(per_column))
    max_error = float(per_column[worst])
    if max_error <= RTOL:
        return done("agree", "; ".join(notes), max_rel_error=max_error, worst=ids[worst])
    tight = _tight_error(case, sbml)
    bad = [ids[i] for i in np.flatnonzero(per_column > RTOL)]
    row = int(np.argmax(ratio[:, worst]))
    detail = (
        f"{len(bad)}/{len(ids)} columns differ ({', '.join(bad[:6])}"
        f"{', ...' if len(bad) > 6 else ''}); worst {ids[worst]} at t={times[row]:g}: "
        f"ours {ours[row, worst]:.10g}, roadrunner {reference[row, worst]:.10g}"
    )
    if not math.isnan(tight):
        detail += f"; at rtol {TIGHT_RTOL:g}/atol {TIGHT_ATOL:g} the error is {tight:.2e}"
    if notes:
        detail += "; " + "; ".join(notes)
    return done("disagree", detail, max_rel_error=max_error, worst=ids[worst], tight_error=tight)


def _label(source: str | os.PathLike[str] | Model) -> str:
    """A model id before the model is read (for outcomes of a model that cannot be read)."""
    if isinstance(source, Model):
        return model_id_of(source)
    if isinstance(source, str) and source.lstrip().startswith("<"):
        return "<sbml text>"
    return Path(source).stem


def _write_sbml(model: Model) -> str:
    from immunetwin.formats import to_sbml_string

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return to_sbml_string(model)


def _discontinuity_rows(
    sbml: str,
    times: np.ndarray,
    selections: list[str],
    ours: np.ndarray,
    reference: np.ndarray,
    ratio: np.ndarray,
    scales: np.ndarray,
) -> list[int]:
    """Failing rows that sit on a jump: roadrunner just before and just after the output time
    differ, ours matches one side and roadrunner's own output there matches the other."""
    rows = [int(k) for k in np.flatnonzero(np.any(ratio > RTOL, axis=1)) if k > 0]
    if not rows:
        return []
    eps = EPS_T * max(1.0, float(times[-1]))
    probe = np.array([0.0] + [v for k in rows for v in (times[k] - eps, times[k] + eps)])
    sides = run_roadrunner(sbml, probe, selections, uniform=False)[1:]
    accepted = []
    for i, k in enumerate(rows):
        before, after = sides[2 * i], sides[2 * i + 1]

        def close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return error_matrix(a, b, scales) <= RTOL

        ours_after = close(ours[k], after) & close(reference[k], before)
        ours_before = close(ours[k], before) & close(reference[k], after)
        if np.all(ours_after | ours_before):
            accepted.append(k)
    return accepted


def _tight_error(case: Prepared, sbml: str) -> float:
    """max_rel_error with both solvers at the TIGHT_* tolerances (NaN if either fails): tells a
    tolerance-limited difference (small here) from a semantic one (as large as before)."""
    ids = [c[0] for c in case.columns]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = simulate_ours(case, (TIGHT_RTOL, TIGHT_ATOL), max_steps=RR_MAX_STEPS)
        if not result.ok:
            return math.nan
        ours = np.column_stack([result[i] for i in ids])
        reference = run_roadrunner(
            sbml, case.times, [c[1] for c in case.columns], tolerances=(TIGHT_RTOL, TIGHT_ATOL)
        )
    except Exception:  # noqa: BLE001
        return math.nan
    return float(np.max(error_matrix(ours, reference, column_scales(reference))))
