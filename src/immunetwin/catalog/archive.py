"""Run SED-ML time courses from COMBINE archives on our engine, and build default ones.

This is where a catalogue import checks that an archive's experiment runs, and where an
export gets a time course to ship with a model that has none.
"""

from __future__ import annotations

import math

import numpy as np

from immunetwin.engine import CVODES, AbstractSolver, SimulationResult, compile_model, simulate
from immunetwin.errors import InvalidInputError, UnknownIdentifierError
from immunetwin.formats.omex import SBML_LOCATION
from immunetwin.formats.sedml import TimeCourse
from immunetwin.ir import Model, with_values

__all__ = ["default_time_course", "output_times", "run_time_course"]


def output_times(time_course: TimeCourse) -> np.ndarray:
    """The SED-ML output grid: ``points`` intervals, so ``points + 1`` times."""
    return np.linspace(time_course.output_start, time_course.end, time_course.points + 1)


def run_time_course(
    model: Model,
    time_course: TimeCourse,
    *,
    solver: AbstractSolver | None = None,
) -> SimulationResult:
    """Simulate ``time_course`` on ``model``: apply its changes, report its variables.

    The run starts at ``time_course.start``; rows are the output grid of
    :func:`output_times`, columns the time course's variables in order. The SED-ML
    algorithm is not mapped to a solver: ``solver`` is used, by default :class:`CVODES` at the
    time course's tolerances (KiSAO 209/211) where it states them.
    """
    changed = with_values(model, dict(time_course.changes)) if time_course.changes else model
    compiled = compile_model(changed)
    unknown = [v for v in time_course.variables if v not in compiled.output_ids]
    if unknown:
        valid = ", ".join(compiled.output_ids[:30])
        more = " ..." if len(compiled.output_ids) > 30 else ""
        raise UnknownIdentifierError(
            f"the time course reports {', '.join(repr(u) for u in unknown)}, which model "
            f"'{model.id}' does not define; valid ids: {valid}{more}"
        )
    grid = output_times(time_course)
    lead = time_course.start < time_course.output_start
    times = np.concatenate([[time_course.start], grid]) if lead else grid
    result = simulate(
        compiled,
        times,
        variables=time_course.variables,
        solver=solver or _stated_solver(time_course),
    )
    columns = [result.ids.index(v) for v in time_course.variables]
    rows = slice(1, None) if lead else slice(None)
    return SimulationResult(
        time=result.time[rows],
        ids=tuple(time_course.variables),
        values=result.values[rows][:, columns],
        status=result.status,
        message=result.message,
        solver=result.solver,
        n_events=result.n_events,
    )


def _stated_solver(time_course: TimeCourse) -> CVODES:
    default = CVODES()
    return CVODES(rtol=time_course.rtol or default.rtol, atol=time_course.atol or default.atol)


def default_time_course(
    model: Model,
    *,
    end: float | None = None,
    points: int = 100,
    tolerances: tuple[float, float] | None = None,
) -> TimeCourse:
    """A time course from 0 to ``end`` (default 100 model time units) of every species (or,
    in a model without species, of every rate-rule variable).

    It runs the archive's SBML file (``model.xml``), as ``write_omex`` stores it;
    ``tolerances`` (relative, absolute) are stated as KiSAO algorithm parameters.
    """
    stop = 100.0 if end is None else float(end)
    if not math.isfinite(stop) or stop <= 0:
        raise InvalidInputError(f"end must be a positive finite time, got {end!r}")
    return TimeCourse(
        model_source=SBML_LOCATION,
        start=0.0,
        output_start=0.0,
        end=stop,
        points=points,
        variables=tuple(s.id for s in model.species)
        or tuple(rule.variable for rule in model.rate_rules),  # state held in parameters
        rtol=None if tolerances is None else tolerances[0],
        atol=None if tolerances is None else tolerances[1],
    )
