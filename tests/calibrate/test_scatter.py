"""Scatter search: a global search that escapes the local optima which trap multistart."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from immunetwin.calibrate import Objective, read_petab
from immunetwin.calibrate.optimize import LBFGSB, _screening, optimize, value_with_prior
from immunetwin.calibrate.scatter import ScatterSearch
from immunetwin.errors import InvalidInputError

# y = a sin(w t): the likelihood in w has a local optimum near every alias of the frequency
OSCILLATOR = """
model oscillator
  X' = V
  V' = -w^2 * X
  X = 0; V = 1
  w = 1; a = 1
end
"""
TRUE_W, TRUE_A = 2.2, 2.0
TIMES = np.linspace(0.0, 12.0, 49)


def _tables() -> dict[str, list[str]]:
    rng = np.random.default_rng(5)
    data = TRUE_A * np.sin(TRUE_W * TIMES) / TRUE_W + rng.normal(0.0, 0.05, len(TIMES))
    return {
        "observables.tsv": [
            "observableId\tobservableFormula\tnoiseFormula",
            "y\ta * X\t0.05",
        ],
        "conditions.tsv": ["conditionId", "c"],
        "measurements.tsv": [
            "observableId\tsimulationConditionId\tmeasurement\ttime",
            *(f"y\tc\t{float(v)!r}\t{float(t)!r}" for t, v in zip(TIMES, data, strict=True)),
        ],
        "parameters.tsv": [
            "parameterId\tparameterScale\tlowerBound\tupperBound\tnominalValue\testimate",
            "w\tlin\t0.2\t6\t1\t1",
            "a\tlin\t0.1\t10\t1\t1",
        ],
    }


@pytest.fixture
def oscillator(write_petab: Callable[[str, str, dict[str, list[str]]], Path]) -> Objective:
    return Objective(read_petab(write_petab("oscillator", OSCILLATOR, _tables())))


# start points far from the true frequency, where local searches end in aliases
FAR = np.array([[0.5, 1.0], [4.8, 5.0], [5.6, 0.5]])


def test_local_searches_from_far_starts_end_in_local_optima(oscillator: Objective) -> None:
    result = optimize(oscillator, start_points=FAR, optimizer=LBFGSB(), workers=1)
    assert all(abs(s.x[0] - TRUE_W) > 0.2 for s in result.starts)


def test_scatter_search_from_the_same_starts_finds_the_true_frequency(
    oscillator: Objective,
) -> None:
    search = ScatterSearch(local=LBFGSB(), budget_s=600.0, max_evaluations=1500)
    result = optimize(oscillator, start_points=FAR, optimizer=search, workers=1, seed=2)
    for start in result.starts:
        assert start.x[0] == pytest.approx(TRUE_W, abs=0.02)
        assert start.x[1] == pytest.approx(TRUE_A, abs=0.1)
        assert start.evaluations >= 1500  # the budget is spent, then the search stops
        assert start.converged and "local" in start.message
    # each start is its own search: its own random stream, so different evaluations
    assert len({tuple(s.x) for s in result.starts}) == len(FAR)


def test_the_same_seed_repeats_a_search(oscillator: Objective) -> None:
    search = ScatterSearch(local=LBFGSB(), budget_s=600.0, max_evaluations=400)
    first = optimize(oscillator, start_points=FAR[:1], optimizer=search, workers=1, seed=7)
    again = optimize(oscillator, start_points=FAR[:1], optimizer=search, workers=1, seed=7)
    np.testing.assert_array_equal(first.best.x, again.best.x)


def ripples(x: np.ndarray) -> float:
    """sum(sin(5x) + 0.1 x^2): many local minima, the global one at each coordinate ~-0.31."""
    return float(np.sum(np.sin(5 * x) + 0.1 * x**2))


def ripples_gradient(x: np.ndarray) -> np.ndarray:
    return np.asarray(5 * np.cos(5 * x) + 0.2 * x)


def test_a_search_stops_at_its_time_budget() -> None:
    calls = [0]

    def value(x: np.ndarray) -> float:
        calls[0] += 1
        return ripples(x)

    def with_gradient(x: np.ndarray) -> tuple[float, np.ndarray]:
        return value(x), ripples_gradient(x)

    lower, upper = np.full(3, -4.0), np.full(3, 4.0)
    begin = time.perf_counter()
    outcome = ScatterSearch(local=LBFGSB(), budget_s=0.3).minimize(
        value, with_gradient, np.zeros(3), lower, upper, np.random.default_rng(0)
    )
    assert time.perf_counter() - begin < 2.0
    assert math.isfinite(outcome.result.fval) and calls[0] > 0
    # what that budget buys on an idle machine, as a count of evaluations (not timed): the
    # global minimum of ripples, each coordinate near -0.31, in most searches
    # (19 of 20 seeds, with or without fresh local starts)
    search = ScatterSearch(local=LBFGSB(), budget_s=600.0, max_evaluations=20_000)
    found = 0
    for seed in range(5):
        counted = search.minimize(
            value, with_gradient, np.zeros(3), lower, upper, np.random.default_rng(seed)
        )
        assert counted.local_searches >= 2
        found += np.allclose(counted.result.x, -0.3117, atol=0.01)
    assert found >= 4


def test_a_search_where_nothing_is_finite_says_so_and_returns_its_start() -> None:
    def failing(x: np.ndarray) -> float:
        return math.inf

    x0 = np.array([0.5, -0.5])
    outcome = ScatterSearch(local=LBFGSB(), budget_s=0.2, redraws=3).minimize(
        failing, lambda x: (math.inf, np.zeros(2)), x0, -np.ones(2), np.ones(2),
        np.random.default_rng(1),
    )  # fmt: skip
    assert not outcome.result.converged and outcome.result.fval == math.inf
    np.testing.assert_array_equal(outcome.result.x, x0)
    assert outcome.local_searches == 0


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"budget_s": 0.0}, "budget"),
        ({"refset_size": 2}, "refset_size"),
        ({"balance": 1.5}, "balance"),
        ({"fresh_locals": -1}, "fresh_locals"),
        ({"screening_max_steps": 0}, "screening_max_steps"),
    ],
)
def test_bad_options_are_refused(options: dict[str, float], named: str) -> None:
    with pytest.raises(InvalidInputError, match=named):
        ScatterSearch(**options)  # type: ignore[arg-type]


def test_ranking_values_use_a_step_limit_that_local_searches_do_not(oscillator: Objective) -> None:
    x = np.array([TRUE_W, TRUE_A])
    screening = _screening(oscillator, ScatterSearch(screening_max_steps=3))
    assert isinstance(screening, Objective) and screening.solver.max_steps == 3
    assert value_with_prior(screening)(x) == math.inf  # a quarter period needs more steps
    assert math.isfinite(value_with_prior(oscillator)(x))
    # no cap, or one above the objective's own: the objective itself
    assert _screening(oscillator, ScatterSearch(screening_max_steps=None)) is oscillator
    limit = oscillator.solver.max_steps
    assert _screening(oscillator, ScatterSearch(screening_max_steps=limit + 1)) is oscillator
    assert _screening(oscillator, LBFGSB()) is oscillator


def test_a_local_search_that_raises_costs_that_search_only() -> None:
    # fides raises at a start whose gradient fails although its value is finite
    def value(x: np.ndarray) -> float:
        return float(np.sum((x - 0.5) ** 2))

    calls = [0]

    def with_gradient(x: np.ndarray) -> tuple[float, np.ndarray]:
        calls[0] += 1
        if calls[0] == 1:  # the first local search's start
            raise RuntimeError("Encountered non-finite function inf value at initial point.")
        return value(x), 2 * (x - 0.5)

    outcome = ScatterSearch(local=LBFGSB(), budget_s=600.0, max_evaluations=5000).minimize(
        value, with_gradient, np.array([-0.9, 0.0]), -np.ones(2), np.ones(2),
        np.random.default_rng(2),
    )  # fmt: skip
    assert outcome.local_searches >= 2
    np.testing.assert_allclose(outcome.result.x, [0.5, 0.5], atol=1e-3)


@pytest.mark.parametrize("fresh", [0, 2])
def test_fresh_local_searches_follow_each_one_from_a_child(fresh: int) -> None:
    starts: list[np.ndarray] = []

    class Recording(LBFGSB):
        def minimize(self, fun, x0, lower, upper):  # type: ignore[no-untyped-def]
            starts.append(np.array(x0))
            return super().minimize(fun, x0, lower, upper)

    outcome = ScatterSearch(
        local=Recording(), budget_s=600.0, max_evaluations=3000, fresh_locals=fresh
    ).minimize(
        ripples, lambda x: (ripples(x), ripples_gradient(x)), np.zeros(2),
        np.full(2, -4.0), np.full(2, 4.0), np.random.default_rng(3),
    )  # fmt: skip
    assert outcome.local_searches == len(starts) >= 3
    fresh_runs = outcome.fresh_local_searches
    from_children = len(starts) - fresh_runs
    assert f"({fresh_runs} from fresh random points)" in outcome.result.message
    # each search from a child is followed by `fresh` ones (the budget may cut the last cycle)
    assert fresh * (from_children - 1) <= fresh_runs <= fresh * from_children
