"""The Hancioglu et al. 2007 modules, assembled, are BIOMD0000000711 (aE corrected to 0.4)."""

from __future__ import annotations

import numpy as np
import pytest

from immunetwin.catalog.seed import model_file
from immunetwin.compose import assemble
from immunetwin.compose.library import hancioglu
from immunetwin.compose.module import Role
from immunetwin.engine import CVODES, simulate
from immunetwin.formats import read_model
from immunetwin.ir import Model

CORRECTED = "BIOMD0000000711_corrected"
TIGHT = CVODES(rtol=1e-10, atol=1e-12)
TIMES = np.linspace(0, 20, 101)  # days: infection, immune response and recovery
PAIRS = (  # BioModels id -> composed id
    ("Viral_Load__V", "virus_V"),
    ("Healthy_Epithelial_cells__H", "epithelium_H"),
    ("Infected_Epithelial_cells__I", "epithelium_I"),
    ("Resistant_cells__R", "epithelium_R"),
    ("APC_cells__M", "apcs_M"),
    ("Interferons__F", "interferon_F"),
    ("Effector_cells__E", "ctl_E"),
    ("Plasma_cells__P", "antibody_P"),
    ("Antibodies__A", "antibody_A"),
    ("Antigenic_compatibility__S", "antibody_S"),
)


def _composed() -> Model:
    return assemble(hancioglu.modules(), name="hancioglu_composed").model


@pytest.mark.parametrize("v0", [0.01, 0.02], ids=["file-inoculum", "double-inoculum"])
def test_hancioglu_modules_reproduce_biomodels_711_corrected(v0: float) -> None:
    original = read_model(model_file(CORRECTED))
    a = simulate(original, TIMES, parameters={"Viral_Load__V": v0}, solver=TIGHT)
    b = simulate(_composed(), TIMES, parameters={"virus_V": v0}, solver=TIGHT)
    assert a.ok and b.ok
    for theirs, ours in PAIRS:
        reference = a[theirs]
        scale = np.abs(reference).max() + 1e-12
        np.testing.assert_allclose(b[ours], reference, rtol=1e-6, atol=1e-6 * scale)
    # dead cells D = 1 - H - R - I (an assignment rule, so not a result column)
    dead = 1 - b["epithelium_H"] - b["epithelium_R"] - b["epithelium_I"]
    h, r, i = (
        a[x]
        for x in (
            "Healthy_Epithelial_cells__H",
            "Resistant_cells__R",
            "Infected_Epithelial_cells__I",
        )
    )
    expected = 1 - h - r - i
    np.testing.assert_allclose(dead, expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())
    assert a["Viral_Load__V"].max() > 10 * v0  # the infection takes hold before it is cleared


def test_modules_connect_automatically_by_term() -> None:
    connections = {(c.source, c.target) for c in assemble(hancioglu.modules()).connections}
    assert connections == {
        ("epithelium.I", "virus.I"),
        ("epithelium.H", "virus.H"),
        ("virus.V", "epithelium.V"),
        ("interferon.F", "epithelium.F"),
        ("epithelium.D", "apcs.D"),
        ("virus.V", "apcs.V"),
        ("apcs.M", "interferon.M"),
        ("epithelium.I", "interferon.I"),
        ("epithelium.H", "interferon.H"),
        ("epithelium.I", "ctl.I"),
        ("apcs.M", "ctl.M"),
        ("virus.V", "antibody.V"),
        ("apcs.M", "antibody.M"),
    }
    assert all(c.automatic and c.factor == 1.0 for c in assemble(hancioglu.modules()).connections)
    assert set(hancioglu.MODULES) == {
        "hancioglu.virus",
        "hancioglu.epithelium",
        "hancioglu.apcs",
        "hancioglu.interferon",
        "hancioglu.ctl",
        "hancioglu.antibody",
    }


def test_parameters_are_the_corrected_files() -> None:
    """Every module parameter has the corrected file's value (aE = 0.4, the paper's Table 2)."""
    original = read_model(model_file(CORRECTED))
    flat = {p.id: p.value for p in original.parameters}
    decay = next(r for r in original.reactions if r.id == "Degradation_of_Effector_cells__E")
    assert [(p.id, p.value) for p in decay.local_parameters] == [("aE", 0.4)]  # the one it uses
    seen = set()
    for m in hancioglu.modules():
        inputs = {p.target for p in m.ports if p.role is Role.INPUT}
        inputs |= {rule.variable for rule in m.model.assignment_rules}  # D, not a parameter
        for p in m.model.parameters:
            if p.id in inputs:
                continue
            assert p.value == flat[p.id], (m.name, p.id)
            seen.add(p.id)
    assert seen == set(flat)
