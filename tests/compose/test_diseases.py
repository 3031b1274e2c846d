"""The composed sepsis model shows what its documentation claims."""

from __future__ import annotations

import numpy as np
import pytest

from immunetwin.compose.diseases import sepsis
from immunetwin.compose.dosing import Regimen
from immunetwin.engine import simulate

TIMES = np.linspace(0.0, 3000.0, 301)  # hours


def _final(parameters: dict[str, float], start: float | None = None) -> tuple[float, float]:
    regimen = None
    if start is not None:
        regimen = Regimen("drug", 500.0, tuple(start + 8.0 * i for i in range(21)), "iv_bolus")
    result = simulate(sepsis(parameters, regimen).model, TIMES)
    assert result.ok, result.message
    return float(result["pathogen_P"][-1]), float(result["damage_D"][-1])


def test_untreated_fast_growth_is_septic_death() -> None:
    pathogen, damage = _final({"pathogen.k_pg": 0.6})
    assert pathogen == pytest.approx(4.94, abs=0.01) and damage > 17


def test_a_higher_inoculum_crosses_from_health_to_death() -> None:
    assert _final({"pathogen.P": 1.0})[1] < 1e-3  # health: no lasting damage
    pathogen, damage = _final({"pathogen.P": 1.5})
    assert pathogen < 1e-6 and damage > 17  # aseptic death


def test_early_antibacterial_restores_health_late_does_not() -> None:
    early = _final({"pathogen.k_pg": 0.6}, start=2.0)
    late = _final({"pathogen.k_pg": 0.6}, start=6.0)
    assert early[0] < 1e-6 and early[1] < 1e-3  # health
    assert late[0] < 1e-6 and late[1] > 17  # pathogen cleared, inflammation persists


def test_early_antiviral_controls_the_influenza_pneumonia() -> None:
    from immunetwin.compose.diseases import influenza_pneumonia

    times = np.linspace(0.0, 20.0, 401)  # days
    untreated = simulate(influenza_pneumonia().model, times)
    regimen = Regimen("antiviral", 1.0, tuple(1.0 + 0.5 * i for i in range(10)), "oral")
    treated = simulate(influenza_pneumonia(regimen=regimen).model, times)
    assert untreated.ok and treated.ok
    assert untreated["virus_V"].max() > 100 * treated["virus_V"].max()
    assert untreated["interferon_F"].max() > 100 * treated["interferon_F"].max()
    assert untreated["epithelium_H"].min() < 0.05 < 0.9 < treated["epithelium_H"].min()
