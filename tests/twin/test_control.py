"""Gradient-based dosing: dose slots are differentiable parameters (exact sensitivities through
the dosing events), and optimisation respects bounds and the cumulative limit."""

from __future__ import annotations

import numpy as np
import pytest

from immunetwin.compose.dosing import dose_slots
from immunetwin.engine import CVODES, compile_model, sensitivities, simulate
from immunetwin.errors import InvalidInputError
from immunetwin.twin.assimilate import Measured, calibrate_ensemble
from immunetwin.twin.control import dosing_problem, optimise_dosing
from immunetwin.twin.model import viral_pneumonia_twin

TIGHT = CVODES(rtol=1e-10, atol=1e-12)


def test_dose_slot_sensitivities_match_finite_differences() -> None:
    twin = viral_pneumonia_twin()
    model, ids = dose_slots(twin.build(()), (5.0, 6.0), "corticosteroid_A", "steroid")
    compiled = compile_model(model)
    times = np.linspace(0.0, 12.0, 25)
    values = {ids[0]: 6.0, ids[1]: 6.0}
    result = sensitivities(compiled, times, wrt=list(ids), parameters=values, solver=TIGHT)
    k = result.ids.index("il6_IL6")
    for j, id in enumerate(ids):
        h = 1e-3
        up = simulate(compiled, times, parameters={**values, id: 6.0 + h}, solver=TIGHT)
        down = simulate(compiled, times, parameters={**values, id: 6.0 - h}, solver=TIGHT)
        fd = (up["il6_IL6"] - down["il6_IL6"]) / (2 * h)
        assert np.max(np.abs(result.jacobian[:, k, j] - fd)) <= 1e-4 * np.max(np.abs(fd))
        assert np.max(np.abs(fd)) > 0  # the dose does act


def test_optimal_dosing_respects_limits_and_beats_no_treatment() -> None:
    twin = viral_pneumonia_twin()
    data = [Measured(0.0, "il6", 60.0), Measured(1.0, "il6", 95.0), Measured(1.0, "crp", 120.0)]
    ensemble = calibrate_ensemble(twin, data, size=40, rng=np.random.default_rng(2))
    problem = dosing_problem(
        "corticosteroid",
        ensemble.time,
        max_dose=10.0,
        max_cumulative=30.0,
        horizon=8.0,
        exposure_weight=0.0,
    )
    result = optimise_dosing(twin, ensemble, problem, members=4, seed=1)
    assert result.objective < result.objective_untreated
    assert np.all(result.amounts <= 10.0 + 1e-6) and result.amounts.sum() <= 30.0 + 1e-6
    assert result.regimen is not None and result.regimen.drug == "corticosteroid"
    assert min(result.regimen.times) >= ensemble.time
    with pytest.raises(InvalidInputError, match="hold no dose slot"):
        dosing_problem("corticosteroid", 5.0, first_day=6.0, last_day=5.5)
