"""Multistart optimisation: starts spread over the bounds, a gradient-based local optimiser
with the objective's exact gradient, the starts run in parallel over the machine's cores.

The default local optimiser is :class:`FidesTrustRegion` - the interior trust-region
reflective method of the ``fides`` package (Fröhlich & Sorger 2022, the pyPESTO default for
ODE models) fed our exact gradient and the expected Fisher information as its Hessian
(Gauss-Newton for least squares). :class:`LBFGSB` (scipy) needs only gradients. The local
optimisers live in ``_local``; ``optimizer=ScatterSearch(...)``
(:mod:`immunetwin.calibrate.scatter`) makes each start a global search around one of them.

A trial point where the objective fails (a simulation that cannot be integrated, e.g. a
finite-time blow-up) is rejected and shrinks the trust region; a start point where it fails is
redrawn. ``optimize(..., hierarchical=True)`` solves plain noise parameters in closed form
inside each evaluation (:mod:`immunetwin.calibrate.hierarchical`).

What is minimised is ``nllh(x) - log prior(x)`` (``nllh_objective``); ``llh`` of a start is
PEtab's log-likelihood at its end point, priors excluded. The starts come back sorted best
first; :meth:`OptimizationResult.reached_best` counts the starts within a tolerance of the
best value (the waterfall summary).
"""

from __future__ import annotations

import abc
import dataclasses
import math
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import qmc

from immunetwin.calibrate._local import (
    LBFGSB,
    LOCAL_SEARCH_FAILURES,
    AbstractLocalOptimizer,
    FidesTrustRegion,
    LocalResult,
    Subspace,
)
from immunetwin.calibrate._objective import Objective
from immunetwin.calibrate._problem import CalibrationProblem
from immunetwin.calibrate.hierarchical import HierarchicalObjective
from immunetwin.calibrate.priors import minus_log_prior, sample_prior
from immunetwin.calibrate.scatter import ScatterSearch
from immunetwin.errors import InvalidInputError

FunctionAndGradient = Callable[[np.ndarray], tuple[float, np.ndarray]]
WithHessian = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]


class AbstractStarts(abc.ABC):
    """How start points are spread over the box (on the parameters' scales)."""

    @abc.abstractmethod
    def sample(
        self, n: int, lower: np.ndarray, upper: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray: ...


@dataclass(frozen=True)
class LatinHypercube(AbstractStarts):
    def sample(
        self, n: int, lower: np.ndarray, upper: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        unit = qmc.LatinHypercube(d=len(lower), seed=rng).random(n)
        return np.asarray(qmc.scale(unit, lower, upper))


@dataclass(frozen=True)
class Sobol(AbstractStarts):
    def sample(
        self, n: int, lower: np.ndarray, upper: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        unit = qmc.Sobol(d=len(lower), scramble=True, seed=rng).random(n)
        return np.asarray(qmc.scale(unit, lower, upper))


@dataclass(frozen=True)
class StartResult:
    """One local optimisation: where it started and ended, and what it cost."""

    index: int
    x0: np.ndarray
    x: np.ndarray
    fval: float  # nllh - log prior at x (what was minimised)
    llh: float  # PEtab log-likelihood at x
    converged: bool
    message: str
    iterations: int
    evaluations: int  # objective + gradient evaluations
    wall_s: float

    @property
    def seconds_per_evaluation(self) -> float:
        return self.wall_s / max(self.evaluations, 1)


@dataclass(frozen=True)
class OptimizationResult:
    """Every start, best first; ``inner_ids``: the parameters solved in closed form inside
    each evaluation (hierarchical optimisation)."""

    parameter_ids: tuple[str, ...]
    starts: tuple[StartResult, ...]
    wall_s: float
    workers: int
    seed: int
    scales: tuple[str, ...] = field(default=())
    inner_ids: tuple[str, ...] = field(default=())
    method: str = "multistart"  # or "scatter search": each start a whole global search

    @property
    def best(self) -> StartResult:
        return self.starts[0]

    def reached_best(self, tolerance: float = 0.1) -> int:
        """How many starts ended within ``tolerance`` of the best objective value."""
        best = self.best.fval
        return sum(1 for s in self.starts if math.isfinite(s.fval) and s.fval - best <= tolerance)

    def to_json(self, problem: CalibrationProblem) -> dict[str, Any]:
        best = self.best
        linear = problem.to_linear(best.x)
        per_eval = [s.seconds_per_evaluation for s in self.starts if s.evaluations]
        return {
            "llh": best.llh,
            "nllh_objective": best.fval,
            "parameters": {
                id: {"scale": scale, "value": float(v), "linear": linear[id]}
                for id, scale, v in zip(self.parameter_ids, self.scales, best.x, strict=True)
            },
            "starts": len(self.starts),
            "reached_best": self.reached_best(),
            "converged": sum(1 for s in self.starts if s.converged),
            "wall_s": self.wall_s,
            "wall_s_per_start": float(np.median([s.wall_s for s in self.starts])),
            "wall_s_per_evaluation": float(np.median(per_eval)) if per_eval else None,
            "method": self.method,
            "hierarchical": list(self.inner_ids),
            "workers": self.workers,
            "seed": self.seed,
            "waterfall": [s.fval for s in self.starts],
        }


def objective_with_prior(objective: Objective | HierarchicalObjective) -> FunctionAndGradient:
    """x -> (nllh - log prior, gradient); ``inf`` (and a zero gradient) where it fails."""
    with_hessian = objective_with_prior_and_fisher(objective, fisher=False)

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        f, g, _ = with_hessian(x)
        return f, g

    return fun


def value_with_prior(objective: Objective | HierarchicalObjective) -> Callable[[np.ndarray], float]:
    """x -> nllh - log prior without derivatives (one simulation per condition); ``inf``
    where it fails."""
    problem = objective.problem

    def fun(x: np.ndarray) -> float:
        evaluation = objective.evaluate(x)
        if not evaluation.ok:
            return math.inf
        return evaluation.nllh + float(minus_log_prior(problem, evaluation.x)[0])

    return fun


def objective_with_prior_and_fisher(
    objective: Objective | HierarchicalObjective, *, fisher: bool = True
) -> WithHessian:
    """x -> (nllh - log prior, gradient, Fisher information + the priors' curvature).

    For a :class:`HierarchicalObjective`, ``x`` holds its outer parameters and the values are
    those of the profiled objective (the inner parameters at their optimum).
    """
    problem = objective.problem

    def fun(x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        n = len(x)
        evaluation = objective.evaluate(x, gradient=True, fisher=fisher)
        if not evaluation.ok or evaluation.gradient is None:
            return math.inf, np.zeros(n), np.zeros((n, n))
        full = evaluation.x
        prior, prior_gradient, prior_curvature = minus_log_prior(problem, full, curvature=True)
        if isinstance(objective, HierarchicalObjective):
            gradient, information = objective.profiled(evaluation)
            outer = objective.outer_index
            prior_gradient, prior_curvature = prior_gradient[outer], prior_curvature[outer]
        else:
            gradient, information = evaluation.gradient, evaluation.fisher
        hessian = information if information is not None else np.zeros((n, n))
        hessian = hessian + np.diag(prior_curvature)
        return evaluation.nllh + prior, gradient + prior_gradient, hessian

    return fun


# Set in the parent before forking; read by the workers (CasADi objects do not pickle).
_RUN: dict[str, Any] = {}


def _run_start(index: int) -> StartResult:
    objective: Objective = _RUN["objective"]
    optimizer: AbstractLocalOptimizer | ScatterSearch = _RUN["optimizer"]
    profiled: HierarchicalObjective | None = _RUN["hierarchical"]
    x0: np.ndarray = _RUN["starts"][index]
    screened: Objective | HierarchicalObjective = _RUN["screening"]  # a scatter search's ranking
    searched: Objective | HierarchicalObjective = objective
    lower, upper = objective.problem.bounds_x()
    if profiled is not None:
        searched = profiled
        lower, upper = profiled.bounds_x()
    local_optimizer = optimizer.local if isinstance(optimizer, ScatterSearch) else optimizer
    base: Callable[[np.ndarray], Any] = (
        objective_with_prior_and_fisher(searched)
        if local_optimizer.uses_hessian
        else objective_with_prior(searched)
    )
    count = [0]

    def counted(x: np.ndarray) -> Any:
        count[0] += 1
        return base(x)

    begin = time.perf_counter()
    start = x0 if profiled is None else profiled.outer(x0)
    try:
        if isinstance(optimizer, ScatterSearch):
            rng = np.random.default_rng([_RUN["seed"], index])
            outcome = optimizer.minimize(value_with_prior(screened), base, start, lower, upper, rng)
            local = outcome.result
            count[0] = outcome.evaluations
        else:
            local = optimizer.minimize(counted, start, lower, upper)
    except LOCAL_SEARCH_FAILURES as error:  # a diverging start
        local = LocalResult(start, math.inf, False, f"{type(error).__name__}: {error}", 0)
    x = local.x
    if profiled is not None:  # the inner parameters at their optimum (or as drawn)
        x = profiled.full_x(x) if math.isfinite(local.fval) else x0.copy()
        x[profiled.outer_index] = local.x
    wall = time.perf_counter() - begin
    llh = objective.llh(x) if math.isfinite(local.fval) else -math.inf
    return StartResult(
        index, x0, x, local.fval, llh, local.converged, local.message,
        local.iterations, count[0], wall,
    )  # fmt: skip


def optimize(
    problem: CalibrationProblem | Objective,
    *,
    starts: int = 20,
    seed: int = 0,
    optimizer: AbstractLocalOptimizer | ScatterSearch | None = None,
    start_points: AbstractStarts | np.ndarray | None = None,
    workers: int | None = None,
    progress: Callable[[int, int, StartResult], None] | None = None,
    resample_failed: int = 100,
    hierarchical: bool = False,
) -> OptimizationResult:
    """Run ``starts`` local optimisations (``FidesTrustRegion()`` by default) from points
    spread over the bounds (Latin hypercube by default; the initialization priors where every
    parameter has one) and return them best first. ``workers`` processes run the starts
    (default: every core).

    A drawn start point where the objective cannot be evaluated (its simulation fails) is
    redrawn from the same distribution, at most ``resample_failed`` times (pyPESTO's
    ``check_fval``); an array of ``start_points`` is used as given. With ``hierarchical``, the
    noise parameters that have a closed-form optimum (:class:`HierarchicalObjective`) are not
    searched: every evaluation sets them to their optimum, each start's ``x`` holds them
    filled in, and :attr:`OptimizationResult.inner_ids` names them.

    With ``optimizer=ScatterSearch(...)`` each start is a whole scatter search
    (:mod:`immunetwin.calibrate.scatter`) seeded with its start point and its own random
    stream, so the starts stay independent runs.
    """
    objective = problem if isinstance(problem, Objective) else Objective(problem)
    problem = objective.problem
    if not problem.estimated:
        raise InvalidInputError("the problem estimates no parameter (estimate = 1 in none)")
    if starts < 1:
        raise InvalidInputError(f"starts must be at least 1; got {starts}")
    lower, upper = problem.bounds_x()
    rng = np.random.default_rng(seed)
    points: np.ndarray | None
    if isinstance(start_points, np.ndarray):
        points = np.atleast_2d(np.asarray(start_points, dtype=float))
    else:
        points = sample_prior(problem, starts, rng) if start_points is None else None
        if points is None:
            points = (start_points or LatinHypercube()).sample(starts, lower, upper, rng)
    if resample_failed and not isinstance(start_points, np.ndarray):
        points = _resample_failed(objective, points, start_points, rng, resample_failed)
    workers = max(1, min(workers or os.cpu_count() or 1, len(points)))
    profiled = HierarchicalObjective(objective) if hierarchical else None
    _RUN.update(
        objective=objective,
        screening=_screening(objective, optimizer, profiled),
        optimizer=optimizer or FidesTrustRegion(),
        starts=points,
        hierarchical=profiled,
        seed=seed,
    )
    begin = time.perf_counter()
    results: list[StartResult] = []
    try:
        if workers == 1 or "fork" not in multiprocessing.get_all_start_methods():
            iterator: Any = map(_run_start, range(len(points)))
            pool = None
        else:
            pool = multiprocessing.get_context("fork").Pool(workers)
            iterator = pool.imap_unordered(_run_start, range(len(points)))
        for result in iterator:
            results.append(result)
            if progress is not None:
                progress(len(results), len(points), result)
        if pool is not None:
            pool.close()
            pool.join()
    finally:
        _RUN.clear()
    wall = time.perf_counter() - begin
    ordered = sorted(results, key=lambda s: (not math.isfinite(s.fval), s.fval))
    scales = tuple(p.scale.value for p in problem.estimated)
    inner = profiled.inner_ids if profiled is not None else ()
    method = "scatter search" if isinstance(optimizer, ScatterSearch) else "multistart"
    return OptimizationResult(
        problem.estimated_ids, tuple(ordered), wall, workers, seed, scales, inner, method
    )


def _screening(
    objective: Objective,
    optimizer: AbstractLocalOptimizer | ScatterSearch | None,
    profiled: HierarchicalObjective | None = None,
) -> Objective | HierarchicalObjective:
    """The objective a scatter search ranks its points with: what it searches (``profiled``
    where the noise parameters are solved in closed form), integrated with at most
    ``screening_max_steps`` steps per output interval."""
    searched = objective if profiled is None else profiled
    if not isinstance(optimizer, ScatterSearch) or optimizer.screening_max_steps is None:
        return searched
    solver, limit = objective.solver, optimizer.screening_max_steps
    if solver.max_steps <= limit:
        return searched
    cheaper = dataclasses.replace(solver, max_steps=limit)  # type: ignore[type-var]
    ranking = Objective(
        objective.problem, solver=cheaper, steady_tolerance=objective.steady_tolerance
    )
    return ranking if profiled is None else HierarchicalObjective(ranking)


def _resample_failed(
    objective: Objective,
    points: np.ndarray,
    sampler: AbstractStarts | None,
    rng: np.random.Generator,
    draws: int,
) -> np.ndarray:
    """Redraw (from the same distribution) the start points where the objective cannot be
    evaluated (a failed simulation), at most ``draws`` times each; pyPESTO's ``check_fval``."""
    problem = objective.problem
    lower, upper = problem.bounds_x()
    points = points.copy()
    bad = [i for i, x in enumerate(points) if not _finite(objective, x)]
    for _ in range(draws):
        if not bad:
            break
        fresh = sample_prior(problem, len(bad), rng) if sampler is None else None
        if fresh is None:
            fresh = (sampler or LatinHypercube()).sample(len(bad), lower, upper, rng)
        for i, x in zip(bad, fresh, strict=True):
            points[i] = x
        bad = [i for i in bad if not _finite(objective, points[i])]
    return points


def _finite(objective: Objective, x: np.ndarray) -> bool:
    # with the gradient: its forward sensitivities can fail where the simulation alone does not
    evaluation = objective.evaluate(x, gradient=True)
    return evaluation.ok and math.isfinite(minus_log_prior(objective.problem, x)[0])


def fixed_parameters(result: OptimizationResult) -> dict[str, float]:
    """The best start's estimated parameters on their scales, by id."""
    return dict(zip(result.parameter_ids, map(float, result.best.x), strict=True))


__all__: Sequence[str] = (
    "LBFGSB",
    "AbstractLocalOptimizer",
    "FidesTrustRegion",
    "AbstractStarts",
    "LatinHypercube",
    "OptimizationResult",
    "Sobol",
    "StartResult",
    "Subspace",
    "objective_with_prior",
    "optimize",
)
