"""The SARS-CoV-2-like viral pneumonia shows what docs/viral-pneumonia.md claims."""

from __future__ import annotations

import numpy as np
import pytest

from immunetwin.compose.diseases import PNEUMONIA_DRUGS, viral_pneumonia, viral_pneumonia_modules
from immunetwin.compose.dosing import Regimen
from immunetwin.compose.library import library_module, names
from immunetwin.engine import SimulationResult, compile_model, simulate, steady_state
from immunetwin.errors import InvalidInputError

TIMES = np.linspace(0.0, 30.0, 601)  # days after infection


def _antiviral(start: float) -> Regimen:  # 300 mg every 12 h for 5 days
    return Regimen("antiviral", 300.0, tuple(start + 0.5 * i for i in range(10)), "oral")


def _run(*regimens: Regimen) -> SimulationResult:
    result = simulate(viral_pneumonia(regimens=regimens).model, TIMES)
    assert result.ok, result.message
    return result


@pytest.fixture(scope="module")
def untreated() -> SimulationResult:
    return _run()


def _after(result: SimulationResult, id: str, day: float) -> np.ndarray:
    return result[id][TIMES >= day]


def test_without_virus_the_healthy_state_does_not_move() -> None:
    model = viral_pneumonia({"virus.V": 0.0}).model
    result = simulate(model, [0.0, 10.0, 100.0])
    assert np.allclose(result.values[-1], result.values[0], rtol=1e-5, atol=1e-9)
    found = steady_state(model)
    for id, value in found.state.items():
        assert value == pytest.approx(result[id][0], rel=1e-5, abs=1e-9), id


def test_untreated_course_is_a_severe_pneumonia_with_cytokine_storm(
    untreated: SimulationResult,
) -> None:
    v, il6 = untreated["virus_V"], untreated["il6_IL6"]
    assert 1e6 < v.max() < 1e8 and 5.0 < TIMES[v.argmax()] < 9.0  # peak about a week in
    assert v[-1] < 1.0  # cleared by adaptive immunity within a month
    assert il6.max() > 70.0  # above the Del Valle 2020 mortality-associated level
    assert untreated["crp_CRP"].max() > 100.0 and untreated["lymphocytes_L"].min() < 1.0
    assert untreated["neutrophils_N"].max() > 1.8 * untreated["neutrophils_N"][0]
    assert untreated["damage_D"].max() > 0.1
    assert il6[-1] < 10.0 and untreated["crp_CRP"][-1] < 20.0  # the storm resolves


def test_early_antiviral_lowers_peak_viral_load_and_peak_il6(untreated: SimulationResult) -> None:
    early, late = _run(_antiviral(3.0)), _run(_antiviral(6.0))
    assert early["virus_V"].max() < untreated["virus_V"].max() / 100
    assert early["il6_IL6"].max() < untreated["il6_IL6"].max() / 5
    assert early["damage_D"].max() < untreated["damage_D"].max() / 5
    # started after the viral peak is near, it helps much less
    assert early["il6_IL6"].max() < late["il6_IL6"].max() < untreated["il6_IL6"].max()
    assert late["virus_V"].max() > untreated["virus_V"].max() / 10


def test_corticosteroid_damps_the_storm_it_is_given_into(untreated: SimulationResult) -> None:
    treated = _run(Regimen("corticosteroid", 6.0, tuple(6.0 + i for i in range(10)), "iv_bolus"))
    for id in ("il6_IL6", "tnf_TNF", "crp_CRP"):
        auc_untreated = np.trapezoid(_after(untreated, id, 6.0), TIMES[TIMES >= 6.0])
        auc_treated = np.trapezoid(_after(treated, id, 6.0), TIMES[TIMES >= 6.0])
        assert auc_treated < 0.9 * auc_untreated, id
    assert np.trapezoid(treated["damage_D"], TIMES) < np.trapezoid(untreated["damage_D"], TIMES)
    before = TIMES < 6.0
    assert treated["virus_V"][before] == pytest.approx(untreated["virus_V"][before], rel=1e-5)


def test_anti_il6_blocks_signalling_not_the_cytokine(untreated: SimulationResult) -> None:
    treated = _run(Regimen("anti_il6", 560.0, (7.0,), "iv_bolus"))
    # the antibody does not remove IL-6: right after the dose its level is unchanged (later it
    # falls a little, through less damage and so less macrophage activation)
    soon = TIMES <= 7.5
    assert treated["il6_IL6"][soon] == pytest.approx(untreated["il6_IL6"][soon], rel=1e-3)
    assert _after(treated, "crp_CRP", 9.0).max() < 0.5 * _after(untreated, "crp_CRP", 9.0).max()
    assert treated["lymphocytes_L"].min() > untreated["lymphocytes_L"].min()
    assert np.trapezoid(treated["damage_D"], TIMES) < np.trapezoid(untreated["damage_D"], TIMES)


def test_unknown_drug_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="antiviral, corticosteroid, anti_il6"):
        viral_pneumonia(regimens=[Regimen("remdesivir", 200.0, (1.0,), "iv_bolus")])
    assert PNEUMONIA_DRUGS == ("antiviral", "corticosteroid", "anti_il6")


NEW_MODULES = (
    "virus.tcl_eclipse",
    "bacteria.logistic",
    "innate.interferon",
    "innate.macrophages",
    "innate.neutrophils",
    "innate.nk",
    "cytokine.il6",
    "cytokine.tnf",
    "cytokine.il10",
    "adaptive.cd4",
    "adaptive.cd8",
    "adaptive.b_cells",
    "tissue.damage",
    "marker.crp",
    "marker.lymphocytes",
)


@pytest.mark.parametrize("name", NEW_MODULES)
def test_library_module_is_documented_and_compiles_alone(name: str) -> None:
    assert name in names()
    module = library_module(name)
    assert module.citation and module.description
    assert module.parameter_sources, "every parameter choice says where it comes from"
    assert all(port.unit for port in module.ports)
    result = simulate(compile_model(module.model), [0.0, 1.0])
    assert result.ok, result.message


def test_every_port_of_the_disease_is_connected_or_optional() -> None:
    composition = viral_pneumonia()
    targets = {c.target for c in composition.connections}
    for module in viral_pneumonia_modules():
        for port in module.ports:
            if port.role.value in ("input", "flux") and port.required:
                assert f"{module.name}.{port.name}" in targets, (module.name, port.name)
