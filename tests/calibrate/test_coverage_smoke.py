"""The coverage study (benchmarks/coverage.py) runs end to end: two seeds, short chains.

Checks the machinery and the shape of what it returns, not the coverage number (that is the
benchmark's job, with 50 seeds and long chains).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "coverage.py"


@pytest.fixture(scope="module")
def study() -> ModuleType:
    # a unique module name: "coverage" is also the coverage.py package
    spec = importlib.util.spec_from_file_location("immunetwin_coverage_study", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


# Far from the optimum a multistart fit can overflow the Fisher information (numpy warns);
# that is the optimiser's business, not what this test is about.
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_two_seeds_run_and_report(study: ModuleType, tmp_path: Path) -> None:
    settings = study.Settings(starts=2, walkers=14, burn_in=10, draws=14 * 20)
    results = study.study([0, 1], settings)
    d = len(study.ESTIMATED)
    assert [r.seed for r in results] == [0, 1]
    for r in results:
        assert r.truth.shape == r.fit.shape == (d,)
        for intervals in (r.mcmc, r.laplace):
            assert intervals.shape == (d, 2)
            assert np.all(intervals[:, 0] <= intervals[:, 1])
        assert r.mcmc_covers.dtype == bool and r.mcmc_covers.shape == (d,)
        assert r.laplace_covers.shape == (d,)
        assert np.isfinite(r.nllh_fit) and np.isfinite(r.nllh_truth)
        assert 0.0 < r.acceptance < 1.0
        assert r.steps == 20
        # the true log10 values sit in the middle of the box
        lower, upper = np.log10(study.FACTOR) * np.array([-1, 1])
        assert np.all(r.fit - r.truth > lower) and np.all(r.fit - r.truth < upper)
    rows = study.coverage_rows(results)
    assert [row.name for row in rows] == [*study.ESTIMATED, "all"]
    assert rows[-1].n == 2 * d and all(0 <= row.k_mcmc <= row.n for row in rows)
    text = study.report(results, None, settings, 1.0, 1)
    assert "| all | 12 |" in text
    study.plot(results, tmp_path / "coverage.png")
    assert (tmp_path / "coverage.png").stat().st_size > 0


def test_noise_is_seeded_and_log_normal(study: ModuleType) -> None:
    m = study.model()
    clean = study.noise_free(m)
    a = study.noisy(clean, np.random.default_rng(3))
    b = study.noisy(clean, np.random.default_rng(3))
    for s in study.SCHEDULE:
        np.testing.assert_array_equal(a[s], b[s])
        ratio = np.log10(a[s] / clean[s])
        assert np.all(np.abs(ratio) < 6 * study.SIGMA)
    problem = study.build_problem(m, clean)
    assert problem.estimated_ids == study.ESTIMATED
    assert len(problem.measurements) == sum(len(t) for t in study.SCHEDULE.values())
