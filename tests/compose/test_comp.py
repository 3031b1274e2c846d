"""Hierarchical SBML (comp) export: libsbml validates it, flattens it, and the flattened
model simulates exactly like the flat model assembly builds."""

from __future__ import annotations

import libsbml
import numpy as np
import pytest

from immunetwin.compose import Composition, Module, Port, Role, assemble, module
from immunetwin.compose.comp import flatten, to_sbml_comp
from immunetwin.compose.diseases import sepsis
from immunetwin.compose.library import kirschner, reynolds
from immunetwin.engine import CVODES, simulate
from immunetwin.formats import read_antimony, read_sbml_string
from immunetwin.ir import Model

TIGHT = CVODES(rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "build",
    [
        lambda: assemble(reynolds.modules(), name="r", parameters={"pathogen.k_pg": 0.6}),
        lambda: assemble(kirschner.modules(), name="k", parameters={"effectors.s1": 550.0}),
        lambda: sepsis({"pathogen.k_pg": 0.6}),
    ],
    ids=["reynolds", "kirschner", "sepsis"],
)
def test_flattened_comp_export_equals_the_flat_assembly(build: object) -> None:
    _assert_flattens_to_the_flat_assembly(build())  # type: ignore[operator]


OWNER = """
model owner
  compartment c = 1;
  species X in c;
  X = 2*k;
  J: X => ; k*X
  k = 0.5;
  g = 3*k;
  G: X => ; 0.01*g*X
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


def _owner_and_eater() -> list[Module]:
    term = "CL:0000235"
    return [
        module(
            "owner",
            read_antimony(OWNER),
            [Port("X", "X", Role.STATE, "1e6 / mL", term), Port("k", "k", Role.PARAMETER)],
        ),
        module(
            "eater",
            read_antimony(EATER),
            [Port("X", "X", Role.FLUX, "1e6 / mL", term), Port("e", "e", Role.PARAMETER)],
        ),
    ]


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (  # the inoculum of a state that another module's fluxes act on
            lambda: assemble(reynolds.modules(), parameters={"pathogen.P": 2.0}),
            {"pathogen__P": 2.0},
        ),
        (
            lambda: sepsis({"pathogen.P": 1.5, "pathogen.k_pg": 0.6}),
            {"pathogen__P": 1.5, "pathogen__k_pg": 0.6},
        ),
        (  # set values win over the module's initial assignments (X = 2*k, g = 3*k); a
            # shared parameter (owner.k feeds eater.e) and a compartment size are carried, too
            lambda: assemble(
                _owner_and_eater(),
                [("owner.k", "eater.e")],
                parameters={"owner.X": 3.0, "owner.k": 0.7, "owner.g": 0.2, "owner.c": 2.0},
            ),
            {"owner__X": 3.0, "owner__k": 0.7, "owner__g": 0.2, "owner__c": 2.0},
        ),
    ],
    ids=["reynolds-inoculum", "sepsis", "initial-assignments"],
)
def test_initial_value_overrides_survive_the_comp_round_trip(
    build: object, expected: dict[str, float]
) -> None:
    flat = _assert_flattens_to_the_flat_assembly(build())  # type: ignore[operator]
    values = {s.id: s.initial_concentration for s in flat.species}
    values |= {p.id: p.value for p in flat.parameters}
    values |= {c.id: c.size for c in flat.compartments}
    assert {id: values[id] for id in expected} == expected
    assert flat.initial_assignments == ()


def test_initial_assignments_the_composition_keeps_stay() -> None:
    flat = _assert_flattens_to_the_flat_assembly(
        assemble(_owner_and_eater(), [("owner.k", "eater.e")], parameters={"owner.k": 0.7})
    )
    assert sorted(a.symbol.split("__")[-1] for a in flat.initial_assignments) == ["X", "g"]


def _assert_flattens_to_the_flat_assembly(composition: Composition) -> Model:
    """libsbml validates the comp document, and its flattening simulates like the flat model
    (which the flattened model is returned)."""
    text = to_sbml_comp(composition)
    document = libsbml.readSBMLFromString(text)
    assert document.getPlugin("comp").getNumModelDefinitions() == len(composition.modules)
    document.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, False)
    document.checkConsistency()  # the SBML and comp validation rules
    errors = [
        document.getError(i).getMessage()
        for i in range(document.getNumErrors())
        if document.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR
    ]
    assert errors == []
    flat = read_sbml_string(flatten(text))
    times = np.linspace(0, 300, 31)
    ours = simulate(composition.model, times, solver=TIGHT)
    theirs = simulate(flat, times, solver=TIGHT)
    # libsbml names flattened ids <submodel>__<id> (renumbering a submodel prefix on clashes)
    assert [i.split("__")[-1] for i in theirs.ids] == [i.split("_", 1)[1] for i in ours.ids]
    np.testing.assert_allclose(theirs.values, ours.values, rtol=1e-9, atol=1e-12)
    return flat
