"""Enhanced scatter search (eSS): a global search for problems whose local optima trap most
multistart runs.

The method is Egea, Martí & Banga's (Comput. Oper. Res. 2010), as in MEIGO and pyPESTO:

- a *reference set* of a few points, half the best and half random picks from ``10 n``
  random points over the box, is recombined pair by pair: each pair spans a hyper-rectangle
  biased towards the better member, and each member keeps its best child;
- a child better than its parent is pushed further in the same direction (*go beyond*);
- every ``local_every`` iterations the local optimiser refines one child, chosen by balancing
  its quality against its distance to the local optima found so far; its optimum competes for
  the overall best (it does not enter the reference set, which keeps exploring);
- members too close to a better one, and members that stop improving, are replaced by fresh
  random points;
- after each local search from a child, ``fresh_locals`` more start from fresh random points
  (with a finite objective). eSS's choice of start fails on some problems: on
  Crauste_CellSystems2017 about 8 in 1000 local searches from a fresh set's best child reached
  the optimum, against 6 in 240 from random points, where on Boehm's the best child is by far
  the better start
  (about 1 in 3 against 1 in 20); running both keeps what each is good at, for one more local
  search per cycle (searches of 300 s reached Crauste's optimum in 13/20 runs instead of 4/20;
  Boehm's, Fiedler's and Bruno's rates stayed the same or rose);
- once ``restart_after`` local searches in a row have not improved the best point, the set has
  settled in basins already explored and is rebuilt from a fresh random sample (the best point
  is kept). On Fiedler's problem a local search from the best child of a fresh set reaches
  the global optimum about two times in five, far more often than later ones from a settled
  set: searches of 60 s reached it in 7/8 runs with a restart after every fruitless local
  search; without restarts 5/20 searches of 90 s did.

It runs until its time budget (a local search that has begun is finished) or its evaluation
budget is spent. Recombination and go-beyond need objective values only, so most evaluations
cost one simulation; the local searches use the exact gradient.

:func:`immunetwin.calibrate.optimize.optimize` runs one search per start with
``optimizer=ScatterSearch(...)``: each start is then an independent global search seeded with
its start point.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from immunetwin.calibrate._local import (
    LOCAL_SEARCH_FAILURES,
    AbstractLocalOptimizer,
    FidesTrustRegion,
    LocalResult,
)
from immunetwin.errors import InvalidInputError

Value = Callable[[np.ndarray], float]
Sampler = Callable[[int, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class ScatterSearch:
    """Enhanced scatter search around ``local``. The stagnation and proximity defaults are
    Egea et al.'s; a set of 15 with a local search every 5 iterations did better than 10 / 10
    on the Fiedler benchmark problem.

    ``budget_s`` and ``max_evaluations`` bound one search; ``refset_size`` is the number of
    points recombined (each iteration costs about its square in objective values);
    ``diverse_points`` the random points the first reference set is picked from (default
    ``10 n``); ``first_local`` / ``local_every`` when local searches run (in iterations);
    ``balance`` how a local search's start is chosen (0: the best child, 1: the child farthest
    from the local optima found so far); ``fresh_locals`` how many local searches from fresh
    random points follow each one from a child (0: eSS as published); ``stuck_limit`` how
    many iterations a member may go without improving before it is replaced; ``proximity`` the
    distance (relative to the box) under which two members count as the same point;
    ``restart_after`` how many fruitless local searches trigger a fresh set (0: never);
    ``screening_max_steps`` caps the integration steps of the objective values that only rank
    points (the local searches keep the objective's own limit).
    """

    local: AbstractLocalOptimizer = field(default_factory=FidesTrustRegion)
    budget_s: float = 60.0
    max_evaluations: int = 10**7
    refset_size: int = 15
    diverse_points: int | None = None
    first_local: int = 1
    local_every: int = 5
    balance: float = 0.5
    fresh_locals: int = 1
    stuck_limit: int = 20
    proximity: float = 1e-3
    restart_after: int = 1  # local searches without a better best before a fresh set (0: never)
    redraws: int = 100  # random draws per point before giving up on a finite value
    # objective values outside the local searches: at most this many integration steps per
    # output interval (None: the objective's own limit); a point that needs more counts as
    # failed there. On Crauste_CellSystems2017 such failures (finite-time blow-ups) took 59% of
    # a search at 10^4 steps; at 2000 they cost 13 ms instead of 61 ms and a search runs about
    # twice as many local searches
    screening_max_steps: int | None = 2000

    def __post_init__(self) -> None:
        if not (self.budget_s > 0 and self.max_evaluations > 0):
            raise InvalidInputError("a scatter search needs a positive budget_s and evaluations")
        if self.refset_size < 3:
            raise InvalidInputError(f"refset_size must be at least 3; got {self.refset_size}")
        if not 0.0 <= self.balance <= 1.0:
            raise InvalidInputError(f"balance must lie in [0, 1]; got {self.balance}")
        if self.fresh_locals < 0:
            raise InvalidInputError(f"fresh_locals must be at least 0; got {self.fresh_locals}")
        if self.screening_max_steps is not None and self.screening_max_steps < 1:
            raise InvalidInputError(
                f"screening_max_steps must be at least 1 (or None); got {self.screening_max_steps}"
            )

    def minimize(
        self,
        value: Value,
        with_derivatives: Callable[[np.ndarray], Any],
        x0: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
        rng: np.random.Generator,
        sample: Sampler | None = None,
    ) -> ScatterOutcome:
        """Search the box from ``x0`` (one of the first random points); ``value`` gives the
        objective alone, ``with_derivatives`` what ``local`` needs. ``sample(n, rng)`` draws
        random points (default: uniform over the box)."""
        search = _Search(self, value, with_derivatives, lower, upper, rng, sample)
        return search.run(np.asarray(x0, dtype=float))


@dataclass(frozen=True)
class ScatterOutcome:
    """The best point of one search, in the local optimisers' terms, and what it cost."""

    result: LocalResult
    evaluations: int  # objective values, plus the local searches' evaluations
    local_searches: int  # all of them, those from fresh random points included
    fresh_local_searches: int = 0


class _Search:
    def __init__(
        self,
        options: ScatterSearch,
        value: Value,
        with_derivatives: Callable[[np.ndarray], Any],
        lower: np.ndarray,
        upper: np.ndarray,
        rng: np.random.Generator,
        sample: Sampler | None,
    ) -> None:
        self.options = options
        self.value = value
        self.with_derivatives = with_derivatives
        self.lower, self.upper = np.asarray(lower, float), np.asarray(upper, float)
        self.rng = rng
        self.sample = sample or (
            lambda n, r: r.uniform(self.lower, self.upper, size=(n, len(self.lower)))
        )
        self.deadline = time.perf_counter() + options.budget_s
        self.evaluations = 0
        self.best_x = np.full(len(self.lower), np.nan)
        self.best_f = math.inf
        self.local_optima: list[np.ndarray] = []
        self.last_local = 0
        self.iterations = 0

    # -- budget and bookkeeping

    def spent(self) -> bool:
        return (
            time.perf_counter() >= self.deadline or self.evaluations >= self.options.max_evaluations
        )

    def evaluate(self, x: np.ndarray) -> float:
        self.evaluations += 1
        f = float(self.value(x))
        f = f if math.isfinite(f) else math.inf
        if f < self.best_f:
            self.best_x, self.best_f = x.copy(), f
        return f

    def counted(self, x: np.ndarray) -> Any:
        self.evaluations += 1
        return self.with_derivatives(x)

    def random_point(self) -> tuple[np.ndarray, float]:
        """A random point with a finite objective (the last draw if none is found)."""
        x, f = self.lower.copy(), math.inf
        for _ in range(self.options.redraws):
            x = np.clip(self.sample(1, self.rng)[0], self.lower, self.upper)
            f = self.evaluate(x)
            if math.isfinite(f) or self.spent():
                break
        return x, f

    # -- the method

    def run(self, x0: np.ndarray) -> ScatterOutcome:
        o = self.options
        start = np.clip(x0, self.lower, self.upper)
        self.best_x = start.copy()  # what comes back if nothing is finite
        self.fill_refset(start)
        local_searches = restarts = fresh = 0
        unimproved = 0  # local searches since the best last improved
        while not self.spent():
            self.sort()
            self.prune_too_close()
            children, child_f = self.combine()
            self.go_beyond(children, child_f)
            if not self.spent() and self.local_due():
                before = self.best_f
                runs = self.local_search(children, child_f)
                local_searches += runs
                unimproved = 0 if self.best_f < before - 1e-6 else unimproved + runs
                # fresh starts do not count towards a restart: they say nothing about the set
                for _ in range(o.fresh_locals if runs else 0):
                    if self.spent():
                        break
                    x, f = self.random_point()
                    if math.isfinite(f) and not self.spent():
                        self.refine(x)
                        fresh += 1
            better = child_f < self.f
            self.x[better], self.f[better] = children[better], child_f[better]
            self.stuck[better] = 0
            self.stuck[~better] += 1
            for i in np.flatnonzero(self.stuck > o.stuck_limit):
                self.x[i], self.f[i] = self.random_point()
                self.stuck[i] = 0
            self.iterations += 1
            if o.restart_after and unimproved >= o.restart_after and not self.spent():
                # the set has settled in basins already explored: start over from fresh points
                self.fill_refset(None)
                self.iterations, self.last_local, unimproved = 0, 0, 0
                restarts += 1
        converged = math.isfinite(self.best_f)
        total = local_searches + fresh
        message = (
            f"budget spent after {total} local searches ({fresh} from fresh random points), "
            f"{restarts} restarts of the set"
        )
        result = LocalResult(self.best_x, self.best_f, converged, message, total)
        return ScatterOutcome(result, self.evaluations, total, fresh)

    def fill_refset(self, start: np.ndarray | None) -> None:
        """A new reference set from a diverse random sample (with ``start``, if given): the
        best half, then random picks among the finite rest."""
        o, n, b = self.options, len(self.lower), self.options.refset_size
        diverse: list[np.ndarray] = [] if start is None else [start]
        values = [self.evaluate(x) for x in diverse]
        for x in self.sample(max(o.diverse_points or 10 * n, b) - len(diverse), self.rng):
            if self.spent() and len(diverse) >= b:
                break
            x = np.clip(x, self.lower, self.upper)
            diverse.append(x)
            values.append(self.evaluate(x))
        order = np.argsort(values)
        finite = [i for i in order if math.isfinite(values[i])]
        keep = finite[: b // 2]
        others = finite[b // 2 :]
        picks: list[int] = list(self.rng.permutation(others)[: b - len(keep)]) if others else []
        chosen = [*keep, *picks]
        self.x = np.array([diverse[i] for i in chosen]).reshape(len(chosen), n)
        self.f = np.array([values[i] for i in chosen], dtype=float)
        while len(self.f) < b:  # too few finite points: draw more
            x, f = self.random_point()
            self.x, self.f = np.vstack([self.x, x]), np.append(self.f, f)
        self.stuck = np.zeros(b, dtype=int)

    def sort(self) -> None:
        order = np.argsort(self.f, kind="stable")
        self.x, self.f, self.stuck = self.x[order], self.f[order], self.stuck[order]

    def prune_too_close(self) -> None:
        """Replace a member within ``proximity`` (box-relative, max norm) of a better one."""
        width = np.where(self.upper > self.lower, self.upper - self.lower, 1.0)
        for i in range(len(self.f)):
            for j in range(i + 1, len(self.f)):
                for _ in range(self.options.redraws):
                    gap = np.max(np.abs(self.x[i] - self.x[j]) / width)
                    if gap > self.options.proximity or self.spent():
                        break
                    self.x[j], self.f[j] = self.random_point()
                    self.stuck[j] = 0
        self.sort()

    def combine(self) -> tuple[np.ndarray, np.ndarray]:
        """Each member's best child over its pairings (the set is sorted best first)."""
        b = len(self.f)
        children = self.x.copy()
        child_f = np.full(b, math.inf)
        for i in range(b):
            for j in range(b):
                if i == j:
                    continue
                half = (self.x[j] - self.x[i]) / 2
                towards = 1.0 if i < j else -1.0  # i < j: x_i is the better one
                spread = (abs(j - i) - 1) / (b - 2)
                c1 = np.clip(self.x[i] - half * (1 + towards * spread), self.lower, self.upper)
                c2 = np.clip(self.x[i] + half * (1 - towards * spread), self.lower, self.upper)
                child = self.rng.uniform(np.minimum(c1, c2), np.maximum(c1, c2))
                f = self.evaluate(child)
                if f < child_f[i]:
                    children[i], child_f[i] = child, f
            if self.spent():
                break
        return children, child_f

    def go_beyond(self, children: np.ndarray, child_f: np.ndarray) -> None:
        """Push each child that beat its parent further along the improving direction,
        doubling the step after every two successes."""
        for i in range(len(self.f)):
            parent, parent_f = self.x[i].copy(), self.f[i]
            child, f = children[i].copy(), child_f[i]
            successes, factor = 1, 1.0
            while f < parent_f and not self.spent():
                children[i], child_f[i] = child, f
                low = np.clip(child - (parent - child) * factor, self.lower, self.upper)
                high = np.clip(child, self.lower, self.upper)
                parent, parent_f = child, f
                child = self.rng.uniform(np.minimum(low, high), np.maximum(low, high))
                f = self.evaluate(child)
                successes += 1
                if successes == 2:
                    factor, successes = 2 * factor, 0

    def local_due(self) -> bool:
        o = self.options
        if self.iterations == o.first_local:
            return True
        return self.iterations > o.first_local and (
            self.iterations - self.last_local >= o.local_every
        )

    def local_search(self, children: np.ndarray, child_f: np.ndarray) -> int:
        """Refine one child (the best at the first search; later by quality and diversity),
        trying the next candidate where a search fails. Returns the number of searches run."""
        o = self.options
        if self.iterations == o.first_local or not self.local_optima:
            candidates = [int(np.argmin(child_f))]
        else:
            quality = np.argsort(np.argsort(child_f))
            distance = np.array(
                [min(np.linalg.norm(c - y) for y in self.local_optima) for c in children]
            )
            diversity = np.argsort(np.argsort(-distance))
            priority = (1 - o.balance) * quality + o.balance * diversity
            candidates = [int(i) for i in np.argsort(priority, kind="stable")]
        runs = 0
        for k in candidates:
            if not math.isfinite(child_f[k]) or self.spent():
                continue
            runs += 1
            if self.refine(children[k]):
                self.last_local = self.iterations
                break
        return runs

    def refine(self, x: np.ndarray) -> bool:
        """One local search from ``x``; whether it ended at a finite value."""
        o = self.options
        try:
            local = o.local.minimize(self.counted, x, self.lower, self.upper)
        except LOCAL_SEARCH_FAILURES:
            # e.g. fides refusing a start whose gradient fails where its value did not (the
            # sensitivities need more steps): this search is lost, not the whole search
            return False
        if not math.isfinite(local.fval):
            return False
        # the refined point is not put back into the set (as pyPESTO's eSS): the set keeps
        # exploring instead of collapsing into the first deep basin
        self.local_optima.append(local.x.copy())
        if local.fval < self.best_f:
            self.best_x, self.best_f = local.x.copy(), local.fval
        return True


__all__ = ["ScatterOutcome", "ScatterSearch"]
