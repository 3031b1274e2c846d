"""Write the demo's synthetic patient: a SARS-CoV-2-like pneumonia simulated by the viral
pneumonia twin model from known parameters, measured daily with realistic noise.

Usage: python scripts/make_demo_patient.py  (writes src/immunetwin/twin/data/demo_patient.csv)
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from immunetwin.twin.ensemble import at_reference, propagate
from immunetwin.twin.model import viral_pneumonia_twin
from immunetwin.twin.patient import Observation, PatientTimeline

OUT = Path(__file__).resolve().parents[1] / "src/immunetwin/twin/data/demo_patient.csv"
# A patient with a stronger-than-median infection and inflammatory response.
TRUTH = {
    "virus_beta": 3.2e-08,
    "virus_delta": 0.75,
    "macrophages_a_I": 1.3,
    "il6_s_M": 1500.0,
    "damage_k_N": 0.06,
    "cd8_r_E": 1.8,
}
INFECTION_DAY = 4.5  # days from infection to symptom onset (the reference)
SCHEDULE = {  # quantity: sampling interval (days)
    "sars_cov_2_rna": 1.0,
    "il6": 1.0,
    "crp": 1.0,
    "lymphocytes": 1.0,
    "neutrophils": 2.0,
}


def main() -> None:
    twin = viral_pneumonia_twin()
    parameters = np.array([[TRUTH[id] for id in twin.parameter_ids]])
    tau = np.array([INFECTION_DAY])
    truth = at_reference(twin, parameters, tau)
    # morning samples, 0.3 days after each day's start
    trajectory = propagate(twin, truth, np.arange(0.0, 10.01, 1.0) + 0.3)
    rng = np.random.default_rng(2026)
    observations = []
    for key, every in SCHEDULE.items():
        q = twin.quantity(key)
        for i, time in enumerate(trajectory.time):
            if time < 0.3 or round(time - 0.3) % every:
                continue
            value = max(float(q.canonical(trajectory.of(q.model_id)[0, i])), q.floor)
            noisy = value * float(np.exp(rng.normal(0.0, q.log_sd)))
            observations.append(Observation(round(float(time), 6), key, float(f"{noisy:.4g}")))
    timeline = PatientTimeline(
        "DEMO-0001",
        datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
        tuple(sorted(observations, key=lambda o: (o.time, o.quantity))),
    )
    comments = [
        "SYNTHETIC DATA: simulated by immunetwin's viral pneumonia twin model from known",
        f"parameters {TRUTH}, infection {INFECTION_DAY} days before symptom onset;",
        "log-normal measurement noise as the model declares. Not a real person.",
        "Written by scripts/make_demo_patient.py.",
    ]
    timeline.to_csv(OUT, comments=comments)
    print(f"wrote {OUT} ({len(observations)} observations)")


if __name__ == "__main__":
    main()
