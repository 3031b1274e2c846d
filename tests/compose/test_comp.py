"""Hierarchical SBML (comp) export: libsbml validates it, flattens it, and the flattened
model simulates exactly like the flat model assembly builds."""

from __future__ import annotations

import libsbml
import numpy as np
import pytest

from immunetwin.compose import Composition, assemble
from immunetwin.compose.comp import flatten, to_sbml_comp
from immunetwin.compose.diseases import sepsis
from immunetwin.compose.library import kirschner, reynolds
from immunetwin.engine import CVODES, simulate
from immunetwin.errors import InvalidModelError
from immunetwin.formats import read_sbml_string

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
    composition: Composition = build()  # type: ignore[operator]
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


def test_initial_value_overrides_need_the_flat_export() -> None:
    with pytest.raises(InvalidModelError, match="initial value of pathogen.P"):
        to_sbml_comp(assemble(reynolds.modules(), parameters={"pathogen.P": 1.5}))
