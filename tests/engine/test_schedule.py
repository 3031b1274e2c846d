"""Chained event schedules: repeated runs and ensemble members of a dosed model take one
CasADi call; they must give what the event loop gives, and step aside when a parameter moves
an event time."""

from __future__ import annotations

import numpy as np

from immunetwin.engine import (
    DormandPrince,
    compile_model,
    sensitivities,
    simulate,
    simulate_ensemble,
)
from immunetwin.engine import _sensitivity as chains
from immunetwin.engine._schedule import cached_run
from immunetwin.formats import read_antimony

DOSED = """
model dosed
  species X = 1; species D = 0;
  J: -> X; r*X*(1 - X/K) - e*D*X
  Jd: D -> ; kel*D
  r = 1; K = 10; e = 0.5; kel = 0.7; dose = 2; tdose = 2;
  E1: at time >= tdose: D = D + dose;
  E2: at time >= tdose + 1.5: D = D + dose, X = X * 0.9;
end
"""


def test_repeated_runs_use_the_chain_and_match_the_event_loop() -> None:
    compiled = compile_model(read_antimony(DOSED))
    times = np.linspace(0, 6, 61)
    solver = DormandPrince(jit=False)
    first = simulate(compiled, times, solver=solver)
    simulate(compiled, times, solver=solver)  # the second run leaves a chained schedule
    p = compiled.parameter_vector({"r": 1.3})
    assert cached_run(compiled, times, solver, p) is not None
    chained = simulate(compiled, times, parameters={"r": 1.3}, solver=solver)
    fresh = simulate(
        compile_model(read_antimony(DOSED)), times, parameters={"r": 1.3}, solver=solver
    )
    np.testing.assert_allclose(chained.values, fresh.values, rtol=1e-10, atol=1e-12)
    assert chained.n_events == fresh.n_events == first.n_events == 2


def test_a_moved_event_time_falls_back_to_the_event_loop() -> None:
    compiled = compile_model(read_antimony(DOSED))
    times = np.linspace(0, 6, 61)
    solver = DormandPrince(jit=False)
    for _ in range(2):
        simulate(compiled, times, solver=solver)
    moved = compiled.parameter_vector({"tdose": 3.0})
    assert cached_run(compiled, times, solver, moved) is None
    result = simulate(compiled, times, parameters={"tdose": 3.0}, solver=solver)
    fresh = simulate(
        compile_model(read_antimony(DOSED)), times, parameters={"tdose": 3.0}, solver=solver
    )
    np.testing.assert_allclose(result.values, fresh.values, rtol=1e-10, atol=1e-12)
    d = result["D"]
    assert d[times < 3.0].max() == 0.0 and d[times >= 3.0].max() > 1.0


def test_ensemble_members_with_other_event_times_are_exact() -> None:
    model = read_antimony(DOSED)
    times = np.linspace(0, 6, 31)
    table = np.array([[1.0, 2.0], [1.5, 2.0], [1.0, 3.5], [0.8, 1.0]] * 5)
    result = simulate_ensemble(model, times, ["r", "tdose"], table, solver=DormandPrince())
    assert result.n_failed == 0
    for n, (r, tdose) in enumerate(table[:4]):
        single = simulate(model, times, parameters={"r": r, "tdose": tdose}, solver=DormandPrince())
        np.testing.assert_allclose(result.values[n], single.values, rtol=1e-9, atol=1e-12)


def test_chained_sensitivities_match_the_replay() -> None:
    compiled = compile_model(read_antimony(DOSED))
    times = np.linspace(0, 6, 31)
    wrt = ["r", "K", "e", "dose", "X"]
    replayed = sensitivities(compiled, times, wrt=wrt, solver=DormandPrince(jit=False))
    sensitivities(compiled, times, wrt=wrt, solver=DormandPrince(jit=False))
    assert any(slot.function is not None for slot in chains._CHAINS[compiled].values())
    chained = sensitivities(compiled, times, wrt=wrt, solver=DormandPrince(jit=False))
    np.testing.assert_allclose(chained.values, replayed.values, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(chained.jacobian, replayed.jacobian, rtol=1e-10, atol=1e-12)
    assert np.abs(chained.derivative("X", "dose")).max() > 0  # through the event map
    moved = {"r": 1.3, "e": 0.8}  # the chain serves other parameter values, too
    elsewhere = sensitivities(
        compiled, times, wrt=wrt, parameters=moved, solver=DormandPrince(jit=False)
    )
    fresh = sensitivities(
        compile_model(read_antimony(DOSED)),
        times,
        wrt=wrt,
        parameters=moved,
        solver=DormandPrince(jit=False),
    )
    np.testing.assert_allclose(elsewhere.jacobian, fresh.jacobian, rtol=1e-10, atol=1e-12)
    assert not np.allclose(elsewhere.jacobian, chained.jacobian)


def test_sensitivities_to_an_event_time_keep_the_replay() -> None:
    compiled = compile_model(read_antimony(DOSED))
    times = np.linspace(0, 6, 31)
    runs = [
        sensitivities(compiled, times, wrt=["tdose", "r"], solver=DormandPrince(jit=False))
        for _ in range(3)
    ]
    assert all(slot.unusable for slot in chains._CHAINS[compiled].values())
    np.testing.assert_array_equal(runs[0].jacobian, runs[2].jacobian)
    assert np.abs(runs[2].derivative("D", "tdose")).max() > 0
