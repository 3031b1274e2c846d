"""Population priors: fitted from several individuals, they recover the spread that generated
them and shrink a sparse new individual's estimate toward the population."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from immunetwin.calibrate import Objective, PriorType, read_petab
from immunetwin.calibrate.optimize import optimize
from immunetwin.calibrate.population import fit_population
from immunetwin.errors import InvalidInputError

Writer = Callable[[str, str, dict[str, list[str]]], Path]
LOG_K_MEAN, LOG_K_SD = math.log10(0.3), 0.15


def _individual(write: Writer, model: str, name: str, k: float, times, rng) -> Path:  # type: ignore[no-untyped-def]
    data = 10 * np.exp(-k * np.asarray(times)) * np.exp(rng.normal(0, 0.05, len(times)))
    return write(
        name,
        model,
        {
            "observables.tsv": [
                "observableId\tobservableFormula\tnoiseFormula\tobservableTransformation",
                "a\tA\t0.05\tlog",
            ],
            "conditions.tsv": ["conditionId", "c"],
            "measurements.tsv": [
                "observableId\tsimulationConditionId\tmeasurement\ttime",
                *(f"a\tc\t{float(v)!r}\t{t}" for t, v in zip(times, data, strict=True)),
            ],
            "parameters.tsv": [
                "parameterId\tparameterScale\tlowerBound\tupperBound\tnominalValue\testimate",
                "k\tlog10\t0.001\t10\t0.3\t1",
            ],
        },
    )


def test_population_recovers_the_spread_and_becomes_a_prior(
    write_petab: Writer, decay_model: str
) -> None:
    rng = np.random.default_rng(11)
    log_k = rng.normal(LOG_K_MEAN, LOG_K_SD, 12)
    problems = [
        read_petab(_individual(write_petab, decay_model, f"i{n}", 10**lk, [0.5, 1, 2, 4, 6], rng))
        for n, lk in enumerate(log_k)
    ]
    population = fit_population(problems, starts=2)
    assert population.converged
    assert population.mean[0] == pytest.approx(log_k.mean(), abs=0.02)
    assert population.sd[0] == pytest.approx(log_k.std(), abs=0.03)
    # a new individual with one late, noisy point: the prior pulls the estimate to the
    # population instead of wherever the single point alone would put it
    sparse = read_petab(_individual(write_petab, decay_model, "new", 0.3, [6.0], rng))
    with_prior = population.apply(sparse)
    prior = with_prior.parameter("k").objective_prior
    assert prior is not None and prior.type is PriorType.PARAMETER_SCALE_NORMAL
    fit = optimize(Objective(with_prior), starts=3, workers=1).best
    assert abs(fit.x[0] - population.mean[0]) < 2 * population.sd[0]
    assert population.to_json()["parameters"]["k"]["scale"] == "log10"


def test_population_needs_matching_individuals(write_petab: Writer, decay_model: str) -> None:
    rng = np.random.default_rng(0)
    one = read_petab(_individual(write_petab, decay_model, "one", 0.3, [1.0, 2.0], rng))
    with pytest.raises(InvalidInputError, match="at least 2"):
        fit_population([one])
