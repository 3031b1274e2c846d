"""Exact SSA: a birth-death process has Poisson statistics with the ODE's mean; runs are
reproducible for a seed; constructs SSA cannot honour are refused."""

from __future__ import annotations

import numpy as np
import pytest

from immunetwin.compose.stochastic import simulate_ssa
from immunetwin.errors import InvalidInputError, UnsupportedFeatureError
from immunetwin.formats import read_antimony

BIRTH_DEATH = """
model bd
  compartment c = 1;
  species X in c;
  X = 0;
  birth: => X; k
  death: X => ; g*X
  k = 10; g = 0.5;
end
"""


def test_birth_death_matches_the_analytic_distribution() -> None:
    times = np.array([0.0, 2.0, 20.0])
    result = simulate_ssa(read_antimony(BIRTH_DEATH), times, trajectories=400, seed=1)
    n = 400
    for i, t in enumerate(times[1:], start=1):
        mean = 20.0 * (1 - np.exp(-0.5 * t))  # the ODE solution; X(t) is Poisson with it
        sample = result["X"][:, i]
        assert abs(sample.mean() - mean) < 4 * np.sqrt(mean / n)
        assert sample.var(ddof=1) == pytest.approx(mean, rel=0.25)
    assert np.all(result["X"][:, 0] == 0) and np.all(result.events > 0)


def test_a_seed_reproduces_a_run_and_another_seed_does_not() -> None:
    model = read_antimony(BIRTH_DEATH)
    times = np.linspace(0, 5, 6)
    a = simulate_ssa(model, times, trajectories=3, seed=7)
    b = simulate_ssa(model, times, trajectories=3, seed=7)
    c = simulate_ssa(model, times, trajectories=3, seed=8)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)


def test_unsupported_models_and_inputs_are_refused() -> None:
    with pytest.raises(UnsupportedFeatureError, match="events"):
        simulate_ssa(
            read_antimony(BIRTH_DEATH.replace("end", "E: at time > 1: k = 0;\nend")), [0, 1, 2]
        )
    with pytest.raises(InvalidInputError, match="whole-number"):
        simulate_ssa(read_antimony(BIRTH_DEATH.replace("X = 0;", "X = 0.5;")), [0, 1])
    with pytest.raises(InvalidInputError, match="trajectories"):
        simulate_ssa(read_antimony(BIRTH_DEATH), [0, 1], trajectories=0)
