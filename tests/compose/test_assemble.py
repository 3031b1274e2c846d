"""Assembly of modules: lossless (Reynolds 2006 from four modules equals BIOMD0000000714),
unit conversion at ports, fluxes adding up, and every miswiring reported together."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from immunetwin.catalog.seed import model_file
from immunetwin.compose import Module, Port, Role, Wire, assemble, module
from immunetwin.compose.assemble import RECORD_KEY
from immunetwin.compose.library import reynolds
from immunetwin.engine import CVODES, simulate
from immunetwin.errors import CompositionError
from immunetwin.formats import read_antimony, read_model, write_model

TIGHT = CVODES(rtol=1e-10, atol=1e-12)
PAIRS = (
    ("P", "pathogen_P"),
    ("Nstar", "phagocytes_Nstar"),
    ("D", "damage_D"),
    ("C_A", "mediator_C_A"),
)


@pytest.mark.parametrize(
    ("kpg", "p0", "outcome"),
    [(0.3, 1.0, "health"), (0.3, 1.5, "aseptic death"), (0.6, 1.0, "septic death")],
)
def test_reynolds_modules_reproduce_biomodels_714(kpg: float, p0: float, outcome: str) -> None:
    composed = assemble(reynolds.modules(), name="reynolds_composed").model
    original = read_model(model_file("reynolds2006"))
    times = np.concatenate([np.linspace(0, 300, 301), [1000, 3000]])
    a = simulate(original, times, parameters={"k_pg": kpg, "P": p0}, solver=TIGHT)
    b = simulate(composed, times, parameters={"pathogen_k_pg": kpg, "pathogen_P": p0}, solver=TIGHT)
    assert a.ok and b.ok
    for ours, theirs in PAIRS:
        reference = a[ours]
        scale = np.abs(reference).max() + 1e-12
        np.testing.assert_allclose(b[theirs], reference, rtol=1e-6, atol=1e-6 * scale)
    final_p, final_d = b["pathogen_P"][-1], b["damage_D"][-1]
    if outcome == "health":
        assert final_p < 1e-6 and final_d < 1e-3
    elif outcome == "aseptic death":
        assert final_p < 1e-6 and final_d == pytest.approx(17.4, abs=0.05)
    else:
        assert final_p == pytest.approx(4.94, abs=0.005)


def test_the_record_names_modules_and_automatic_wires(tmp_path: Path) -> None:
    composition = assemble(reynolds.modules(), parameters={"pathogen.k_pg": 0.6})
    record = json.loads(dict(composition.model.metadata)[RECORD_KEY])
    assert [m["name"] for m in record["modules"]] == [
        "pathogen",
        "phagocytes",
        "damage",
        "mediator",
    ]
    assert {
        "source": "pathogen.P",
        "target": "phagocytes.P",
        "factor": 1.0,
        "automatic": True,
    } in record["connections"]
    assert composition.model.parameter("pathogen_k_pg").value == 0.6
    flat = tmp_path / "flat.xml"  # flat SBML export runs the same
    write_model(composition.model, flat)
    times = np.linspace(0, 100, 11)
    np.testing.assert_allclose(
        simulate(read_model(flat), times, solver=TIGHT).values,
        simulate(composition.model, times, solver=TIGHT).values,
        rtol=1e-9,
    )


OWNER = """
model owner
  compartment c = 1;
  species X in c = 2;
  J: X => ; k*X
  k = 0.5;
end
"""
READER = """
model reader
  compartment c = 1;
  species Y in c = 0;
  X = 0;
  J: => Y; a*X
  a = 1;
end
"""
EATER = """
model eater
  compartment c = 1;
  species X in c = 0;
  J: X => ; e*X
  e = 0.25;
end
"""


def _owner(unit: str = "1e6 / mL", term: str = "CL:0000235") -> Module:
    return module("owner", read_antimony(OWNER), [Port("X", "X", Role.STATE, unit, term)])


def _reader(name: str = "reader", unit: str = "1 / mL", term: str = "CL:0000235") -> Module:
    return module(name, read_antimony(READER), [Port("X", "X", Role.INPUT, unit, term)])


def test_units_are_converted_at_ports() -> None:
    composition = assemble([_owner(), _reader()])  # 1e6/mL read as 1/mL: factor 1e6
    [connection] = composition.connections
    assert connection.factor == pytest.approx(1e6)
    times = np.linspace(0, 2, 5)
    y = simulate(composition.model, times, solver=TIGHT)["reader_Y"]
    expected = 1e6 * 2 * (1 - np.exp(-0.5 * times)) / 0.5  # integral of 1e6 * 2 e^{-kt}
    np.testing.assert_allclose(y, expected, rtol=1e-7)


def test_fluxes_from_several_modules_add_up() -> None:
    eaters = [
        module(name, read_antimony(EATER), [Port("X", "X", Role.FLUX, "1e6 / mL", "CL:0000235")])
        for name in ("first", "second")
    ]
    composition = assemble([_owner(), *eaters])
    times = np.linspace(0, 2, 5)
    x = simulate(composition.model, times, solver=TIGHT)["owner_X"]
    np.testing.assert_allclose(x, 2 * np.exp(-(0.5 + 0.25 + 0.25) * times), rtol=1e-8)


def test_every_miswiring_is_reported_together_before_anything_runs() -> None:
    second_owner = module(
        "rival", read_antimony(OWNER), [Port("X", "X", Role.STATE, "1e6 / mL", "CL:0000236")]
    )
    unwired = module(
        "lonely", read_antimony(READER), [Port("X", "X", Role.INPUT, "1 / mL", "CL:0000999")]
    )
    with pytest.raises(CompositionError) as caught:
        assemble(
            [
                _owner(),
                second_owner,
                _reader("wrong_unit", unit="pg"),
                _reader("wrong_term"),
                unwired,
            ],
            [
                Wire("owner.X", "wrong_unit.X"),  # cells per volume into a mass
                Wire("rival.X", "wrong_term.X"),  # CL:0000236 into a CL:0000235 input
                Wire("owner.X", "rival.X"),  # two owners of one state
            ],
        )
    problems = caught.value.problems
    text = "\n".join(problems)
    assert "unit mismatch: owner.X -> wrong_unit.X" in text
    assert "ontology mismatch: rival.X is CL:0000236 but wrong_term.X expects CL:0000235" in text
    assert "owner.X and rival.X both own" in text
    assert "lonely.X" in text and "not connected" in text
    assert len(problems) >= 4


def test_an_ambiguous_automatic_match_asks_for_a_wire() -> None:
    twin = module(
        "twin", read_antimony(OWNER), [Port("X", "X", Role.STATE, "1e6 / mL", "CL:0000235")]
    )
    with pytest.raises(CompositionError, match="several modules own that term"):
        assemble([_owner(), twin, _reader()])
    explicit = assemble([_owner(), twin, _reader()], [Wire("twin.X", "reader.X")])
    assert [c.source for c in explicit.connections] == ["twin.X"]
