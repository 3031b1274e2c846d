"""Ensembles agree with single simulations member by member and report failures."""

from __future__ import annotations

import numpy as np

from immunetwin.engine import (
    CVODES,
    DormandPrince,
    Status,
    read_parameter_table,
    simulate,
    simulate_ensemble,
)
from immunetwin.formats import read_antimony

MODEL = """
model growth
  species X = 1;
  J: -> X; r*X*(1 - X/K)
  r = 1; K = 10;
end
"""


def test_members_match_single_runs() -> None:
    model = read_antimony(MODEL)
    times = np.linspace(0, 5, 11)
    table = np.array([[0.5, 10], [1.0, 20], [2.0, 5]])
    result = simulate_ensemble(model, times, ["r", "K"], table, solver=DormandPrince(jit=False))
    assert result.n_failed == 0
    for n, (r, K) in enumerate(table):
        single = simulate(model, times, parameters={"r": r, "K": K})
        np.testing.assert_allclose(result.values[n, :, 0], single["X"], rtol=1e-6)


def test_compiled_path_matches_cvodes() -> None:
    model = read_antimony(MODEL)
    times = np.linspace(0, 5, 6)
    table = np.column_stack([np.linspace(0.1, 2, 40), np.full(40, 10.0)])  # forks workers
    compiled = simulate_ensemble(model, times, ["r", "K"], table, solver=DormandPrince())
    reference = simulate_ensemble(model, times, ["r", "K"], table, solver=CVODES())
    np.testing.assert_allclose(compiled.values, reference.values, rtol=1e-6)


def test_event_models_run_member_by_member() -> None:
    model = read_antimony(
        """
        model dosed
          species D = 0;
          J: D -> ; kel*D
          kel = 1; dose = 1;
          E1: at time >= 1: D = D + dose;
        end
        """
    )
    times = np.linspace(0, 2, 5)
    result = simulate_ensemble(model, times, ["dose"], np.array([[1.0], [3.0]]))
    assert result.values[1, -1, 0] == np.float64(3 * result.values[0, -1, 0]) or np.isclose(
        result.values[1, -1, 0], 3 * result.values[0, -1, 0]
    )


def test_failed_member_has_its_own_status() -> None:
    model = read_antimony("model blow\n species x = 1;\n J: -> x; a*x^2\n a = 1;\nend")
    table = np.array([[0.0], [1.0], [0.5]])
    result = simulate_ensemble(model, np.linspace(0, 3, 4), ["a"], table, solver=CVODES())
    assert result.status[0] is Status.SUCCESS
    assert result.status[1] is not Status.SUCCESS
    assert result.messages[1]
    assert result.n_failed >= 1


def test_parameter_table_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "table.csv"
    path.write_text("r,K\n1,10\n2,20\n")
    ids, table = read_parameter_table(path)
    assert ids == ["r", "K"]
    assert table.shape == (2, 2)
    result = simulate_ensemble(read_antimony(MODEL), [0, 1], ids, table)
    out = tmp_path / "out.npz"
    result.save(out)
    saved = np.load(out)
    assert saved["values"].shape == (2, 2, 1)
    assert list(saved["status"]) == ["success", "success"]


def test_timed_event_members_replay_the_shared_schedule_or_fall_back() -> None:
    model = read_antimony(
        """
        model dosed
          species D = 0, X = 1;
          J1: D -> ; kel*D
          J2: X -> ; k*D*X
          kel = 1; k = 0.5; dose = 1; tdose = 1;
          E1: at time >= tdose: D = D + dose;
          E2: at time >= 2: D = D + dose / 2;
        end
        """
    )
    times = np.linspace(0, 3, 13)
    # rows 0-2 share the event times (replayed); row 3 moves the first dose (full event loop)
    table = np.array([[1.0, 1.0], [2.0, 1.0], [0.5, 1.0], [1.0, 1.5]])
    result = simulate_ensemble(model, times, ["dose", "tdose"], table, solver=CVODES())
    assert result.n_failed == 0
    for n, (dose, tdose) in enumerate(table):
        single = simulate(model, times, parameters={"dose": dose, "tdose": tdose})
        np.testing.assert_allclose(result.values[n], single.values, rtol=1e-9, atol=1e-12)
