"""PK/PD library modules and dosing regimens against closed-form pharmacokinetics
(Gabrielsson & Weiner, 5th ed.): superposed IV boluses, the infusion formula, the Bateman
function, a two-compartment model against scipy, Emax values, and a PK -> PD -> consumer
composition wired by hand whose outcome has a closed form too."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import yaml
from scipy.integrate import solve_ivp

from immunetwin.compose import Port, Role, Wire, assemble, module
from immunetwin.compose.dosing import (
    RECORD_KEY,
    Regimen,
    doses_as_events,
    regimen_from_dict,
)
from immunetwin.compose.library import pkpd
from immunetwin.engine import CVODES, simulate
from immunetwin.errors import CompositionError, InvalidInputError
from immunetwin.formats import read_antimony

TIGHT = CVODES(rtol=1e-10, atol=1e-12)
CL, V = 5.0, 50.0
K = CL / V


def _close(actual: np.ndarray, expected: np.ndarray) -> None:
    scale = float(np.abs(expected).max())
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-9 * scale)


def _run(model: Any, times: np.ndarray, variables: tuple[str, ...] = ("C",), **p: float) -> Any:
    result = simulate(model, times, parameters=p, variables=variables, solver=TIGHT)
    assert result.ok, result.message
    return result


def test_one_compartment_iv_boluses_superpose() -> None:
    pk = pkpd.one_compartment("drug", "iv")
    regimen = Regimen("drug", (100.0, 50.0, 200.0), (0.0, 12.0, 30.0), "iv_bolus")
    model = doses_as_events(pk.model, regimen, pk.port("dose").target)
    times = np.linspace(0, 72, 145)  # includes the dose times: outputs come after the dose
    expected = np.sum(
        [
            np.where(times >= t0, d / V * np.exp(-K * (times - t0)), 0.0)
            for d, t0 in zip(regimen.amounts, regimen.times, strict=True)
        ],
        axis=0,
    )
    _close(_run(model, times)["C"], expected)
    assert [e.id for e in model.events] == ["dose_drug_0", "dose_drug_1", "dose_drug_2"]
    assert RECORD_KEY in dict(model.metadata)


def test_one_compartment_infusion_formula_during_after_and_plateau() -> None:
    pk = pkpd.one_compartment()
    start, duration, amount = 2.0, 3.0, 150.0
    rate = amount / duration
    model = doses_as_events(pk.model, Regimen("drug", amount, (start,), "infusion", duration), "A")
    times = np.linspace(0, 24, 97)
    end = start + duration
    during = rate / CL * (1 - np.exp(-K * (times - start)))
    after = rate / CL * (1 - np.exp(-K * duration)) * np.exp(-K * (times - end))
    expected = np.where(times < start, 0.0, np.where(times <= end, during, after))
    result = _run(model, times, variables=("C", "R_in"))
    _close(result["C"], expected)
    assert result["R_in"][times == 3.0][0] == pytest.approx(rate)
    assert result["R_in"][-1] == 0.0
    # a long infusion approaches the plateau R/CL
    long = doses_as_events(pk.model, Regimen("drug", 10.0 * 200, (0.0,), "infusion", 200.0), "A")
    plateau = _run(long, np.array([0.0, 100.0, 199.0]))["C"]
    assert plateau[-1] == pytest.approx(10.0 / CL, rel=1e-6)


def test_contiguous_infusions_merge_into_one_rate_change_each() -> None:
    pk = pkpd.one_compartment()
    # 0-2 h at 50 mg/h then 2-4 h at 100 mg/h; touching infusions are not overlaps
    regimen = Regimen("drug", (100.0, 200.0), (0.0, 2.0), "infusion", 2.0)
    model = doses_as_events(pk.model, regimen, "A")
    assert len(model.events) == 3  # on at 0, +50 at 2, off at 4 (not 4 events)
    times = np.linspace(0, 12, 49)

    def infusion(rate: float, t0: float, t1: float) -> np.ndarray:
        on = np.clip(times, t0, t1)
        return rate / CL * (np.exp(-K * (times - on)) - np.exp(-K * (times - t0))) * (times > t0)

    _close(_run(model, times)["C"], infusion(50.0, 0.0, 2.0) + infusion(100.0, 2.0, 4.0))


def test_oral_doses_follow_the_bateman_function() -> None:
    pk = pkpd.one_compartment("tab", "oral")
    assert pk.port("dose").target == "A_gut"
    ka, f = 1.2, 0.7
    regimen = Regimen("tab", 100.0, (0.0, 8.0), "oral")
    model = doses_as_events(pk.model, regimen, "A_gut")
    times = np.linspace(0, 48, 193)

    def bateman(t0: float, d: float) -> np.ndarray:
        s = np.maximum(times - t0, 0.0)
        return f * d * ka / (V * (ka - K)) * (np.exp(-K * s) - np.exp(-ka * s))

    expected = bateman(0.0, 100.0) + bateman(8.0, 100.0)
    _close(_run(model, times, ka=ka, F=f)["C"], expected)


def test_two_compartment_boluses_match_scipy() -> None:
    pk = pkpd.two_compartment("mab")
    cl, v1, q, v2 = 2.0, 10.0, 4.0, 30.0
    doses = ((0.0, 100.0), (24.0, 60.0))
    model = doses_as_events(
        pk.model, Regimen("mab", tuple(d for _, d in doses), (0.0, 24.0), "iv_bolus"), "A1"
    )
    times = np.linspace(0, 96, 193)
    result = _run(model, times, CL=cl, V1=v1, Q=q, V2=v2)

    def rhs(_t: float, a: np.ndarray) -> list[float]:
        a1, a2 = a
        return [-cl / v1 * a1 - q / v1 * a1 + q / v2 * a2, q / v1 * a1 - q / v2 * a2]

    state = np.zeros(2)
    expected = np.zeros((2, len(times)))
    edges = [0.0, 24.0, 96.0]
    for (t0, dose), t1 in zip(doses, edges[1:], strict=True):
        state = state + np.array([dose, 0.0])
        inside = (times >= t0) & (times <= t1) if t1 == 96.0 else (times >= t0) & (times < t1)
        sol = solve_ivp(
            rhs, (t0, t1), state, method="Radau", t_eval=times[inside], rtol=1e-12, atol=1e-14
        )
        expected[:, inside] = sol.y
        state = solve_ivp(rhs, (t0, t1), state, method="Radau", rtol=1e-12, atol=1e-14).y[:, -1]
    _close(result["A1"], expected[0])
    _close(result["A2"], expected[1])
    _close(result["C"], expected[0] / v1)


@pytest.mark.parametrize("hill", [True, False])
@pytest.mark.parametrize("mode", ["inhibition", "stimulation"])
def test_emax_values(mode: str, hill: bool) -> None:
    pd = pkpd.emax_effect("kill", mode, hill)  # type: ignore[arg-type]
    top, half = ("Imax", "IC50") if mode == "inhibition" else ("Emax", "EC50")
    n = 2.5 if hill else 1.0
    values = {top: 0.8, half: 3.0, **({"n": n} if hill else {})}
    for c in (0.0, 0.5, 3.0, 40.0):
        e = _run(pd.model, np.array([0.0, 1.0]), ("E",), C=c, **values)["E"][0]
        change = 0.8 * c**n / (3.0**n + c**n)
        assert e == pytest.approx(1 - change if mode == "inhibition" else 1 + change, rel=1e-12)
    assert ("n" in {p.name for p in pd.ports}) is hill


CONSUMER = """
model bugs
  compartment tissue = 1;
  species B in tissue = 1;
  E = 1;                       // input: the drug's effect on growth
  growth: => B; r*E*B
  death: B => ; d*B
  r = 0.5; d = 0.1;
end
"""


def _consumer() -> Any:
    return module(
        "bugs",
        read_antimony(CONSUMER),
        [
            Port("B", "B", Role.STATE, "1e6 / mL"),
            Port("E", "E", Role.INPUT, "dimensionless", description="growth multiplier"),
        ],
    )


def test_pk_pd_consumer_composition_has_the_closed_form_outcome() -> None:
    pk, pd = pkpd.one_compartment("abx"), pkpd.emax_effect("kill", "inhibition", hill=False)
    composed = assemble(
        [pk, pd, _consumer()],
        [Wire("abx.C", "kill.C"), Wire("kill.E", "bugs.E")],
        parameters={"kill.Imax": 0.9, "kill.IC50": 0.5},
    ).model
    dose = 100.0
    model = doses_as_events(composed, Regimen("abx", dose, (0.0,), "iv_bolus"), "abx_A")
    times = np.linspace(0, 48, 97)
    result = _run(model, times, ("abx_C", "kill_E"))
    c = dose / V * np.exp(-K * times)
    _close(result["abx_C"], c)
    _close(result["kill_E"], 1 - 0.9 * c / (0.5 + c))
    # B' = (r E(t) - d) B, and the integral of C/(IC50 + C) for C = C0 exp(-k t) is
    # ln((IC50 + C0)/(IC50 + C(t)))/k
    log_b = (0.5 - 0.1) * times - 0.5 * 0.9 / K * np.log((0.5 + c[0]) / (0.5 + c))
    _close(result["bugs_B"], np.exp(log_b))


def test_pd_input_must_be_wired() -> None:
    with pytest.raises(CompositionError, match=r"kill\.C"):
        assemble([pkpd.one_compartment("abx"), pkpd.emax_effect("kill"), _consumer()])


def test_library_dict_builds_every_module() -> None:
    assert set(pkpd.MODULES) >= {
        "pk.one_compartment_iv",
        "pk.one_compartment_oral",
        "pk.two_compartment_iv",
        "pd.emax_inhibition",
        "pd.emax_stimulation",
    }
    for name, factory in pkpd.MODULES.items():
        built = factory()
        assert built.citation, name
        if name.startswith("pk."):
            assert {"C", "dose", "R_in", "CL"} <= {p.name for p in built.ports}
            assert built.port("C").unit == "mg/L" and built.port("dose").unit == "mg"
    with pytest.raises(InvalidInputError, match="route"):
        pkpd.one_compartment(route="im")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="mode"):
        pkpd.emax_effect(mode="agonism")  # type: ignore[arg-type]


def test_regimen_from_yaml_spec() -> None:
    spec = yaml.safe_load(
        """
        drug: vanco
        amount: 1000
        route: infusion
        duration: 1.5
        interval: 12
        count: 4
        start: 6
        """
    )
    regimen = regimen_from_dict(spec)
    assert regimen.times == (6.0, 18.0, 30.0, 42.0)
    assert regimen.amounts == (1000.0,) * 4 and regimen.duration == 1.5
    assert regimen_from_dict(regimen.to_dict()) == regimen
    listed = regimen_from_dict({"drug": "x", "amount": [1, 2], "times": [0, 1], "route": "oral"})
    assert listed.amounts == (1.0, 2.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"times": (12.0, 0.0)}, "strictly increasing"),
        ({"times": (0.0, 0.0)}, "strictly increasing"),
        ({"times": (-1.0, 2.0)}, "negative"),
        ({"times": (0.0, math.nan)}, "not finite"),
        ({"times": (0.0, math.inf)}, "not finite"),
        ({"times": ()}, "empty"),
        ({"amount": 0.0}, "positive"),
        ({"amount": -5.0}, "positive"),
        ({"amount": (1.0, 2.0, 3.0)}, "one amount per dose"),
        ({"route": "infusion"}, "needs a duration"),
        ({"route": "infusion", "duration": 0.0}, "positive"),
        ({"route": "infusion", "duration": 13.0}, "must not overlap"),
        ({"duration": 1.0}, "only for infusions"),
        ({"route": "subcutaneous"}, "route must be one of"),
        ({"unit": "L"}, "not a mass"),
        ({"drug": ""}, "non-empty"),
    ],
)
def test_bad_regimens_are_refused(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {
        "drug": "drug",
        "amount": 100.0,
        "times": (0.0, 12.0),
        "route": "iv_bolus",
    }
    with pytest.raises(InvalidInputError, match=message):
        Regimen(**(args | kwargs))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"drug": "d", "amount": 1, "route": "oral", "times": [0], "dose": 3}, "unknown"),
        ({"drug": "d", "route": "oral", "times": [0]}, "missing amount"),
        ({"drug": "d", "amount": 1, "route": "oral"}, "no dose times"),
        ({"drug": "d", "amount": 1, "route": "oral", "times": [0], "count": 2}, "either"),
        ({"drug": "d", "amount": 1, "route": "oral", "interval": 0, "count": 2}, "interval"),
        ({"drug": "d", "amount": 1, "route": "oral", "interval": 1, "count": 1.5}, "count"),
        (["not", "a", "mapping"], "mapping"),
    ],
)
def test_bad_regimen_specs_are_refused(data: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        regimen_from_dict(data)


def test_bad_event_targets_are_refused() -> None:
    pk = pkpd.one_compartment()
    bolus = Regimen("drug", 1.0, (0.0,), "iv_bolus")
    infusion = Regimen("drug", 1.0, (0.0,), "infusion", 1.0)
    with pytest.raises(InvalidInputError, match="not in model"):
        doses_as_events(pk.model, bolus, "drug_A")
    with pytest.raises(InvalidInputError, match="must be a species"):
        doses_as_events(pk.model, bolus, "CL")
    with pytest.raises(InvalidInputError, match="for infusions"):
        doses_as_events(pk.model, bolus, "A", rate_parameter="R_in")
    with pytest.raises(InvalidInputError, match="not a parameter"):
        doses_as_events(pk.model, infusion, "A", rate_parameter="R_x")
    with pytest.raises(InvalidInputError, match="set by a rule"):
        doses_as_events(pk.model, infusion, "A", rate_parameter="C")
    composed = assemble([pk]).model  # namespaced: R_in is drug_R_in
    with pytest.raises(InvalidInputError, match="drug_R_in"):
        doses_as_events(composed, infusion, "drug_A")
    assert doses_as_events(composed, infusion, "drug_A", rate_parameter="drug_R_in").events


def test_two_regimens_get_distinct_event_ids_and_add_up() -> None:
    pk = pkpd.one_compartment("d", "oral")
    model = doses_as_events(pk.model, Regimen("d", 100.0, (0.0,), "oral"), "A_gut")
    model = doses_as_events(model, Regimen("d", 30.0, (5.0,), "infusion", 2.0), "A")
    model = doses_as_events(model, Regimen("d", 50.0, (10.0,), "oral"), "A_gut")
    ids = [e.id for e in model.events]
    assert len(set(ids)) == len(ids) == 4
    times = np.linspace(0, 30, 61)
    ka = 1.0
    oral = sum(
        d * ka / (V * (ka - K)) * (np.exp(-K * s) - np.exp(-ka * s))
        for d, s in ((100.0, times), (50.0, np.maximum(times - 10.0, 0.0)))
    )
    on = np.clip(times, 5.0, 7.0)
    drip = 15.0 / CL * (np.exp(-K * (times - on)) - np.exp(-K * (times - 5.0))) * (times > 5.0)
    _close(_run(model, times)["C"], oral + drip)
