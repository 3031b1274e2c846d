"""Simulation against analytic solutions, event semantics and failure statuses."""

from __future__ import annotations

import numpy as np
import pytest

from immunetwin.engine import (
    CVODES,
    DormandPrince,
    Status,
    compile_model,
    sensitivities,
    simulate,
)
from immunetwin.errors import InvalidInputError, SimulationError, UnknownIdentifierError
from immunetwin.formats import read_antimony
from immunetwin.ir import Model

DECAY = """
model decay
  compartment c = 2;
  species S in c;
  S = 3;
  k = 0.5;
  J: S -> ; k*S*c
end
"""


def test_exponential_decay_matches_analytic() -> None:
    model = read_antimony(DECAY)
    times = np.linspace(0, 10, 51)
    result = simulate(model, times, solver=CVODES(rtol=1e-10, atol=1e-12))
    assert result.status is Status.SUCCESS
    np.testing.assert_allclose(result["S"], 3 * np.exp(-0.5 * times), rtol=1e-8)


@pytest.mark.parametrize("solver", [CVODES(), DormandPrince(jit=False)])
def test_solvers_agree(solver: object) -> None:
    model = read_antimony(DECAY)
    times = np.linspace(0, 5, 11)
    result = simulate(model, times, solver=solver)  # type: ignore[arg-type]
    np.testing.assert_allclose(result["S"], 3 * np.exp(-0.5 * times), rtol=1e-6)


def test_parameter_override_and_species_override() -> None:
    model = read_antimony(DECAY)
    times = np.linspace(0, 2, 5)
    result = simulate(model, times, parameters={"k": 1.0, "S": 5.0})
    np.testing.assert_allclose(result["S"], 5 * np.exp(-times), rtol=1e-7)


def test_initial_assignment_is_reevaluated_after_override() -> None:
    model = read_antimony(
        """
        model m
          species A, B;
          a0 = 2;
          A = a0 * 3;
          B = 0;
          J: A -> B; k*A
          k = 1;
        end
        """
    )
    result = simulate(model, [0, 1], parameters={"a0": 5})
    assert result["A"][0] == pytest.approx(15)


def test_time_event_fires_at_breakpoint_and_output_is_post_event() -> None:
    model = read_antimony(
        """
        model dose
          species D;
          D = 0;
          kel = 1;
          J: D -> ; kel*D
          E1: at time >= 1: D = D + 2;
        end
        """
    )
    times = np.linspace(0, 3, 31)
    result = simulate(model, times)
    assert result.n_events == 1
    expected = np.where(times >= 1, 2 * np.exp(-(times - 1)), 0.0)
    np.testing.assert_allclose(result["D"], expected, atol=1e-8)


@pytest.mark.parametrize("initial_value", ["true", "false"])
def test_a_strict_time_trigger_at_the_start_fires_at_the_start(initial_value: str) -> None:
    # `time > 0` is false at t = 0 and true just after: it rises, whatever t0 says it was
    # before the start (Swameye_PNAS2003's input is switched on this way). `time >= 0` with
    # t0 = true is true throughout and never fires.
    model = read_antimony(
        f"""
        model start
          species X = 1, Y = 1;
          J: X -> ; 0 * X
          E: at (time > 0), t0={initial_value}: X = X + 1;
          F: at (time >= 0), t0={initial_value}: Y = Y + 1;
        end
        """
    )
    result = simulate(model, [0.0, 1.0])
    np.testing.assert_allclose(result["X"], [2.0, 2.0])
    np.testing.assert_allclose(result["Y"], [1.0, 1.0] if initial_value == "true" else [2.0, 2.0])


def test_state_event_is_located_precisely() -> None:
    model = read_antimony(
        """
        model threshold
          species X;
          X = 1;
          hit = 0;
          J: X -> ; X
          E1: at X < 0.5: hit = time;
        end
        """
    )
    result = simulate(
        model, np.linspace(0, 2, 5), variables=["hit"], solver=CVODES(rtol=1e-11, atol=1e-13)
    )
    assert result["hit"][-1] == pytest.approx(np.log(2), rel=1e-9)


def test_event_priority_orders_simultaneous_events() -> None:
    model = read_antimony(
        """
        model prio
          x = 0;
          E_low: at time >= 1, priority = 1: x = 10;
          E_high: at time >= 1, priority = 5: x = 20;
        end
        """
    )
    result = simulate(model, [0, 2], variables=["x"])
    assert result["x"][-1] == 10  # the higher priority fires first, the lower one last


def test_delayed_event_uses_values_from_trigger_time() -> None:
    model = read_antimony(
        """
        model delayed
          x = 0;
          y = 0;
          x' = 1;
          E1: at 1 after time >= 1: y = x;
        end
        """
    )
    result = simulate(model, np.linspace(0, 3, 7), variables=["y"])
    assert result["y"][-1] == pytest.approx(1.0)
    assert result["y"][3] == 0  # t = 1.5: not yet executed


def test_blow_up_returns_status_not_silent_nan() -> None:
    model = read_antimony("model blow\n x = 1;\n x' = x^2;\nend")
    result = simulate(model, np.linspace(0, 2, 11), variables=["x"])
    assert result.status is not Status.SUCCESS
    assert result.message
    with pytest.raises(SimulationError):
        simulate(model, np.linspace(0, 2, 11), throw=True)


def test_bad_times_and_tolerances_raise_typed_errors() -> None:
    model = read_antimony(DECAY)
    with pytest.raises(InvalidInputError, match="increasing"):
        simulate(model, [0, 2, 1])
    with pytest.raises(InvalidInputError):
        simulate(model, [0, float("nan")])
    with pytest.raises(InvalidInputError, match="rtol"):
        simulate(model, [0, 1], solver=CVODES(rtol=-1))
    with pytest.raises(InvalidInputError):
        simulate(model, [0, 1], parameters={"k": float("nan")})
    with pytest.raises(UnknownIdentifierError, match="nope"):
        simulate(model, [0, 1], parameters={"nope": 1})


def test_compiled_model_is_reusable() -> None:
    compiled = compile_model(read_antimony(DECAY))
    first = simulate(compiled, [0, 1, 2])
    second = simulate(compiled, [0, 1, 2], parameters={"k": 0.1})
    assert first["S"][-1] < second["S"][-1]


def test_csv_output_has_header() -> None:
    result = simulate(read_antimony(DECAY), [0, 1], variables=["k"])
    lines = result.to_csv().splitlines()
    assert lines[0] == "time,S,k"
    assert len(lines) == 3


def test_compiled_code_is_never_shared_between_different_models(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Same rate law text, different numbers of fixed quantities: the C-compiled integrators
    # must not collide in the disk cache.
    monkeypatch.setenv("IMMUNETWIN_CACHE", str(tmp_path))
    small = read_antimony("model a\n species A = 3;\n J: A -> ; k*A\n k = 0.5;\nend")
    large = read_antimony(
        "model b\n species A = 3;\n J: A -> ; k*A\n k = 0.5; unused = 7;\n"
        " compartment other = 2;\nend"
    )
    times = np.linspace(0, 2, 3)
    for model in (small, large):
        result = simulate(model, times, solver=DormandPrince())
        np.testing.assert_allclose(result["A"], 3 * np.exp(-0.5 * times), rtol=1e-6)


def test_integration_restarts_where_a_rule_switches_in_time(switch_model: Model) -> None:
    # the input switches on at t = 5; sensitivities across the switch stay exact
    model = switch_model
    compiled = compile_model(model)
    assert compiled.discontinuities == (5.0,)
    times = np.array([0.0, 4.0, 5.0, 6.0, 10.0])
    result = simulate(compiled, times, solver=CVODES(1e-12, 1e-14))
    k, d = 2.0, 0.3
    before = np.exp(-d * times)
    after = np.exp(-d * 5) * np.exp(-d * (times - 5)) + k / d * (1 - np.exp(-d * (times - 5)))
    np.testing.assert_allclose(result["X"], np.where(times <= 5, before, after), rtol=1e-9)
    sens = sensitivities(compiled, times, wrt=["k"], solver=CVODES(1e-12, 1e-14))
    exact = np.where(times <= 5, 0.0, (1 - np.exp(-d * (times - 5))) / d)
    np.testing.assert_allclose(sens.jacobian[:, 0, 0], exact, rtol=1e-7, atol=1e-10)
