"""The Kirschner & Panetta 1998 modules, assembled, are BioModels BIOMD0000000732."""

from __future__ import annotations

import numpy as np
import pytest

from immunetwin.catalog.seed import model_file
from immunetwin.compose import assemble
from immunetwin.compose.library import kirschner
from immunetwin.engine import CVODES, simulate
from immunetwin.formats import read_model
from immunetwin.ir import Model

TIGHT = CVODES(rtol=1e-10, atol=1e-12)
TIMES = np.linspace(0, 1000, 1001)  # days; the file's parameters keep every state bounded here
PAIRS = (  # BioModels id -> composed id
    ("Tumor", "tumour_T"),
    ("Immune_cells", "effectors_E"),
    ("IL2", "il2_IL"),
)
TREATMENTS = {  # BioModels parameter -> composed parameter
    "s1": "effectors_s1",
    "s2": "il2_s2",
}


def _composed() -> Model:
    return assemble(kirschner.modules(), name="kirschner_composed").model


@pytest.mark.parametrize(
    "treatment",
    [{}, {"s1": 550.0}, {"s2": 1e5}, {"s1": 550.0, "s2": 1e5}],
    ids=["untreated", "adoptive-cells", "il2-infusion", "both"],
)
def test_kirschner_modules_reproduce_biomodels_732(treatment: dict[str, float]) -> None:
    original = read_model(model_file("kirschner1998"))
    a = simulate(original, TIMES, parameters=treatment, solver=TIGHT)
    b = simulate(
        _composed(),
        TIMES,
        parameters={TREATMENTS[k]: v for k, v in treatment.items()},
        solver=TIGHT,
    )
    assert a.ok and b.ok
    for theirs, ours in PAIRS:
        reference = a[theirs]
        scale = np.abs(reference).max() + 1e-12
        np.testing.assert_allclose(b[ours], reference, rtol=1e-6, atol=1e-6 * scale)


def test_modules_connect_automatically_by_term() -> None:
    connections = {(c.source, c.target) for c in assemble(kirschner.modules()).connections}
    assert connections == {
        ("tumour.T", "effectors.T"),
        ("il2.IL", "effectors.IL"),
        ("effectors.E", "il2.E"),
        ("tumour.T", "il2.T"),
    }
    assert set(kirschner.MODULES) == {"kirschner.effectors", "kirschner.tumour", "kirschner.il2"}


def test_enough_adoptive_cell_therapy_clears_the_tumour() -> None:
    """Kirschner & Panetta 1998, adoptive cellular immunotherapy alone (s1 > 0, s2 = 0): a
    large enough constant source s1 of effectors drives the tumour to the tumour-free state,
    where E -> s1/mu2, whereas the untreated tumour (c = 0.035, the file's value) persists at a
    large size. s1 = 1000 is our choice; with the file's parameters s1 = 550 shrinks the tumour
    but has not cleared it by day 1000."""
    model = _composed()
    s1 = 1000.0
    untreated = simulate(model, TIMES, solver=TIGHT)
    treated = simulate(model, TIMES, parameters={"effectors_s1": s1}, solver=TIGHT)
    assert untreated.ok and treated.ok
    late = TIMES >= 800
    assert untreated["tumour_T"][late].min() > 1e3  # persists (cells per tumour-site volume)
    assert np.abs(treated["tumour_T"][late]).max() < 1e-6  # cleared: far below one cell
    mu2 = model.parameter("effectors_mu2").value
    assert mu2 is not None
    assert treated["effectors_E"][-1] == pytest.approx(s1 / mu2, rel=1e-6)
