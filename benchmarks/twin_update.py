"""Speed of one sequential update (issue 6 acceptance: a 1,000-member update of the viral
pneumonia twin with one new measurement takes under 1 s on this machine).

Usage: python benchmarks/twin_update.py
"""

from __future__ import annotations

import time

import numpy as np

from immunetwin.compose.dosing import Regimen
from immunetwin.twin.assimilate import (
    EnsembleKalmanFilter,
    Measured,
    ParticleFilter,
    assimilate,
    calibrate_ensemble,
)
from immunetwin.twin.model import viral_pneumonia_twin


def main() -> None:
    twin = viral_pneumonia_twin()
    first = [
        Measured(0.0, "sars_cov_2_rna", 2e5),
        Measured(1.0, "sars_cov_2_rna", 3e6),
        Measured(1.0, "il6", 20.0),
        Measured(2.0, "sars_cov_2_rna", 8e6),
        Measured(2.0, "il6", 60.0),
    ]
    begin = time.perf_counter()
    ensemble = calibrate_ensemble(twin, first, size=1000, rng=np.random.default_rng(0))
    print(
        f"create a 1000-member twin from 5 measurements (ES-MDA, 4 iterations): "
        f"{time.perf_counter() - begin:.2f} s"
    )
    new = [Measured(3.0, "il6", 85.0)]
    dosed = [Regimen("corticosteroid", 6.0, (2.5, 3.5), "iv_bolus")]
    for label, regimens in (("no doses", []), ("with corticosteroid doses", dosed)):
        for method in (EnsembleKalmanFilter(), ParticleFilter()):
            assimilate(twin, ensemble, new, method=method, regimens=regimens)  # compile, cache
            runs = []
            for seed in range(5):
                begin = time.perf_counter()
                assimilate(
                    twin,
                    ensemble,
                    new,
                    method=method,
                    regimens=regimens,
                    rng=np.random.default_rng(seed),
                )
                runs.append(time.perf_counter() - begin)
            print(
                f"1000-member {type(method).__name__} update, one measurement, {label}: "
                f"median {np.median(runs):.3f} s (goal < 1 s)"
            )


if __name__ == "__main__":
    main()
