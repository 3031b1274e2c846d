"""Treated-vs-untreated plots of the composed disease models, for the README (docs/*.png).

Usage: python scripts/plot_diseases.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from immunetwin.compose import assemble  # noqa: E402
from immunetwin.compose.diseases import influenza_pneumonia, sepsis  # noqa: E402
from immunetwin.compose.dosing import Regimen  # noqa: E402
from immunetwin.compose.library import kirschner  # noqa: E402
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
    tumour()
    influenza()


def influenza() -> None:
    """Influenza pneumonia composed: untreated vs an oral antiviral from day 1 or day 3."""
    times = np.linspace(0.0, 20.0, 401)
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    for label, start in (
        ("untreated", None),
        ("antiviral from day 1", 1.0),
        ("antiviral from day 3", 3.0),
    ):
        regimen = None
        if start is not None:
            regimen = Regimen("antiviral", 1.0, tuple(start + 0.5 * i for i in range(10)), "oral")
        result = simulate(influenza_pneumonia(regimen=regimen).model, times)
        for axis, (id, title) in zip(
            axes,
            (
                ("virus_V", "virus V"),
                ("interferon_F", "interferon F"),
                ("epithelium_H", "healthy epithelium H"),
            ),
            strict=True,
        ):
            axis.plot(times, result[id], label=label)
            axis.set_title(title)
            axis.set_xlabel("days")
    axes[0].legend(fontsize=8)
    figure.suptitle("Composed influenza pneumonia (Hancioglu 2007 modules + antiviral PK/PD)")
    figure.tight_layout()
    figure.savefig(DOCS / "influenza.png", dpi=90)
    print(f"wrote {DOCS / 'influenza.png'}")


def tumour() -> None:
    """Kirschner & Panetta 1998 composed: untreated vs adoptive cell therapy (s1)."""
    times = np.linspace(0.0, 1000.0, 1001)
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    for label, s1 in (
        ("untreated", 0.0),
        ("adoptive cells s1 = 550", 550.0),
        ("adoptive cells s1 = 1000", 1000.0),
    ):
        model = assemble(kirschner.modules(), parameters={"effectors.s1": s1}).model
        result = simulate(model, times)
        for axis, (id, title) in zip(
            axes,
            (
                ("tumour_T", "tumour cells T"),
                ("effectors_E", "effector cells E"),
                ("il2_IL", "IL-2"),
            ),
            strict=True,
        ):
            axis.semilogy(times, np.maximum(result[id], 1e-3), label=label)
            axis.set_title(title)
            axis.set_xlabel("days")
    axes[0].legend(fontsize=8)
    figure.suptitle("Composed tumour immunotherapy (Kirschner & Panetta 1998 modules)")
    figure.tight_layout()
    figure.savefig(DOCS / "tumour.png", dpi=90)
    print(f"wrote {DOCS / 'tumour.png'}")


if __name__ == "__main__":
    main()
