"""The batched RODAS ensemble solver: accurate on stiff models, through dosing schedules, with
per-member output times and per-member failures."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from immunetwin.check._sbml_suite import model_file, read_settings
from immunetwin.engine import (
    CVODES,
    Rodas4,
    Status,
    compile_model,
    simulate,
    simulate_ensemble,
)
from immunetwin.errors import ImmuneTwinError, InvalidInputError
from immunetwin.formats import read_antimony, read_sbml
from immunetwin.ir import Model

# Robertson's chemical kinetics: the classic stiff test (rates span nine orders of magnitude).
ROBERTSON = """
model robertson
  species A = 1, B = 0, C = 0;
  R1: A -> B; k1*A
  R2: B + B -> C + B; k2*B*B
  R3: B + C -> A + C; k3*B*C
  k1 = 0.04; k2 = 3e7; k3 = 1e4;
end
"""

DOSED = """
model dosed
  species D = 0, X = 1;
  J1: D -> ; kel*D
  J2: X -> ; k*D*X
  J3: -> X; g*X
  kel = 30; k = 0.5; g = 0.2; dose = 1; tdose = 1;
  E1: at time >= tdose: D = D + dose;
  E2: at time >= 2: D = D + dose / 2;
end
"""


def test_stiff_robertson_matches_a_tight_cvodes_reference() -> None:
    model = read_antimony(ROBERTSON)
    times = np.array([0.0, 0.4, 4.0, 40.0, 400.0])
    # 80 members: two forked workers share them
    table = np.column_stack([np.linspace(0.02, 0.08, 80), np.full(80, 3e7), np.full(80, 1e4)])
    ids = ["k1", "k2", "k3"]
    ours = simulate_ensemble(model, times, ids, table, solver=Rodas4(rtol=1e-7, atol=1e-12))
    reference = simulate_ensemble(model, times, ids, table, solver=CVODES(1e-11, 1e-16))
    assert ours.n_failed == 0
    np.testing.assert_allclose(ours.values, reference.values, rtol=1e-5, atol=1e-10)
    # mass is conserved to round-off (a Rosenbrock step is linear in the slopes)
    np.testing.assert_allclose(ours.values.sum(axis=2), 1.0, rtol=1e-9)


def test_error_falls_with_the_tolerance() -> None:
    model = read_antimony(ROBERTSON)
    times = np.array([0.0, 1.0, 10.0])
    table = np.array([[0.04, 3e7, 1e4]] * 3)
    ids = ["k1", "k2", "k3"]
    reference = simulate_ensemble(model, times, ids, table, solver=CVODES(1e-12, 1e-18)).values
    errors = []
    for rtol in (1e-4, 1e-6, 1e-8):
        result = simulate_ensemble(model, times, ids, table, solver=Rodas4(rtol, rtol * 1e-6))
        errors.append(np.max(np.abs(result.values - reference) / (np.abs(reference) + 1e-12)))
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-6


def test_dosing_schedule_is_replayed_for_all_members() -> None:
    model = read_antimony(DOSED)
    times = np.linspace(0, 3, 13)
    # rows 0-3 share the event times (replayed in one batch); row 4 moves the first dose
    table = np.array([[1.0, 1.0], [2.0, 1.0], [0.5, 1.0], [3.0, 1.0], [1.0, 1.5]])
    result = simulate_ensemble(model, times, ["dose", "tdose"], table, solver=Rodas4(1e-8, 1e-12))
    assert result.n_failed == 0
    for n, (dose, tdose) in enumerate(table):
        single = simulate(
            model, times, parameters={"dose": dose, "tdose": tdose}, solver=CVODES(1e-10, 1e-14)
        )
        np.testing.assert_allclose(result.values[n], single.values, rtol=1e-6, atol=1e-10)


def test_output_times_per_member() -> None:
    model = read_antimony(ROBERTSON)
    ends = np.array([0.5, 3.0, 20.0, 1.0])
    grids = np.column_stack([np.zeros(4), ends / 2, ends])
    table = np.tile([0.04, 3e7, 1e4], (4, 1))
    ids = ["k1", "k2", "k3"]
    result = simulate_ensemble(model, grids, ids, table, solver=Rodas4(1e-8, 1e-14))
    assert result.n_failed == 0
    for n, grid in enumerate(grids):
        single = simulate(model, grid, solver=CVODES(1e-11, 1e-16))
        np.testing.assert_allclose(result.values[n], single.values, rtol=1e-6, atol=1e-12)


def test_output_times_per_member_with_any_solver_and_events() -> None:
    grids = np.array([[0.0, 1.0, 2.5], [0.0, 0.5, 3.0]])
    table = np.array([[1.0], [2.0]])
    for solver in (Rodas4(1e-9, 1e-13), CVODES(1e-9, 1e-13)):
        result = simulate_ensemble(read_antimony(DOSED), grids, ["dose"], table, solver=solver)
        for n, grid in enumerate(grids):
            single = simulate(read_antimony(DOSED), grid, parameters={"dose": table[n, 0]})
            np.testing.assert_allclose(result.values[n], single.values, rtol=1e-6, atol=1e-10)


def test_bad_output_times_per_member() -> None:
    with pytest.raises(InvalidInputError, match="same count in every row"):
        simulate_ensemble(read_antimony(ROBERTSON), [[0, 1], [0, 1, 2]], ["k1"], [[0.04], [0.05]])
    grids = np.array([[0.0, 1.0], [0.0, 2.0]])
    with pytest.raises(InvalidInputError, match="one row of output times per member"):
        simulate_ensemble(read_antimony(ROBERTSON), grids, ["k1"], [[0.04]], solver=Rodas4())
    with pytest.raises(InvalidInputError, match="increasing"):
        simulate_ensemble(
            read_antimony(ROBERTSON),
            [[0.0, 1.0], [1.0, 1.0]],
            ["k1"],
            [[0.04], [0.05]],
            solver=Rodas4(),
        )


def test_a_member_that_blows_up_fails_alone() -> None:
    model = read_antimony("model blow\n species x = 1;\n J: -> x; a*x^2\n a = 1;\nend")
    table = np.array([[0.0], [1.0], [0.5]])
    result = simulate_ensemble(model, np.linspace(0, 3, 4), ["a"], table, solver=Rodas4())
    assert result.status[0] is Status.SUCCESS
    assert result.status[1] is not Status.SUCCESS
    assert "RODAS" in result.messages[1] or "infinite" in result.messages[1]
    np.testing.assert_allclose(result.values[2, :2, 0], [1.0, 2.0], rtol=1e-5)  # x = 1/(1 - t/2)
    assert result.status[2] is not Status.SUCCESS  # blows up at t = 2


def test_max_steps_is_a_member_failure_with_a_fix() -> None:
    model = read_antimony(ROBERTSON)
    result = simulate_ensemble(
        model, [0.0, 100.0], ["k1"], [[0.04]], solver=Rodas4(1e-10, 1e-16, max_steps=5)
    )
    assert result.status[0] is Status.INTEGRATION_FAILED
    assert "max_steps" in result.messages[0]


def test_sbml_suite_species_agree_with_cvodes(shared: Path) -> None:
    """Every SBML Test Suite core case with species (events, delays and rules included: what
    RODAS cannot batch falls back to CVODES): RODAS ensembles match a tight CVODES run."""
    folder = shared / "sbml-test-suite"
    if not (folder / "core_cases.txt").is_file():
        pytest.skip(f"{folder} is not present")
    compared, disagreements = 0, []
    for case in (folder / "core_cases.txt").read_text().split():
        case_folder = folder / "cases" / case
        settings = read_settings(case_folder / f"{case}-settings.txt")
        try:
            compiled = compile_model(read_sbml(model_file(case_folder, case)))
        except ImmuneTwinError:
            continue  # the conformance tests cover what the reader refuses
        times = np.linspace(settings.start, settings.start + settings.duration, settings.steps + 1)
        reference = simulate(compiled, times, solver=CVODES(1e-10, 1e-14))
        if not reference.ok or not compiled.species_ids:
            continue
        want = reference.values[:, [reference.ids.index(s) for s in compiled.species_ids]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = simulate_ensemble(
                compiled, times, [], np.zeros((2, 0)), solver=Rodas4(1e-9, 1e-13, jit=False)
            )
        compared += 1
        error = np.abs(got.values - want) / (1e-8 + 1e-5 * np.abs(want))
        if got.n_failed or not np.all(error <= 1):
            disagreements.append(case)
    assert compared > 500
    assert disagreements == []


@pytest.mark.parametrize("solver", [Rodas4(1e-9, 1e-12), CVODES(1e-10, 1e-12)])
def test_ensembles_restart_at_a_jump_in_time(switch_model: Model, solver: Rodas4 | CVODES) -> None:
    model = switch_model
    times = np.array([0.0, 4.0, 6.0, 10.0])  # the jump at 5 is not an output time
    ks = np.array([[1.0], [2.0], [4.0]])
    result = simulate_ensemble(model, times, ["k"], ks, solver=solver)
    d = 0.3
    for n, (k,) in enumerate(ks):
        after = np.exp(-d * times) + k / d * (1 - np.exp(-d * (times - 5)))
        expected = np.where(times <= 5, np.exp(-d * times), after)
        np.testing.assert_allclose(result.values[n, :, 0], expected, rtol=1e-7)
