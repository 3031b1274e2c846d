"""Treated-vs-untreated plots of the composed disease models, for the README (docs/*.png).

Usage: python scripts/plot_diseases.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from immunetwin.compose.diseases import sepsis  # noqa: E402
from immunetwin.compose.dosing import Regimen  # noqa: E402
from immunetwin.engine import simulate  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs"


def main() -> None:
    times = np.linspace(0.0, 200.0, 401)
    scenarios = {
        "untreated": None,
        "antibacterial from 2 h": 2.0,
        "antibacterial from 6 h": 6.0,
    }
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    for label, start in scenarios.items():
        regimen = None
        if start is not None:
            doses = tuple(start + 8.0 * i for i in range(25))
            regimen = Regimen("drug", 500.0, doses, "iv_bolus")
        result = simulate(sepsis({"pathogen.k_pg": 0.6}, regimen).model, times)
        for axis, (id, title) in zip(
            axes,
            (
                ("pathogen_P", "pathogen P"),
                ("phagocytes_Nstar", "activated phagocytes N*"),
                ("damage_D", "tissue damage D"),
            ),
            strict=True,
        ):
            axis.plot(times, result[id], label=label)
            axis.set_title(title)
            axis.set_xlabel("hours")
    axes[0].legend(fontsize=8)
    figure.suptitle("Composed sepsis model (Reynolds 2006 modules + antibacterial PK/PD)")
    figure.tight_layout()
    DOCS.mkdir(exist_ok=True)
    figure.savefig(DOCS / "sepsis.png", dpi=90)
    print(f"wrote {DOCS / 'sepsis.png'}")


if __name__ == "__main__":
    main()
