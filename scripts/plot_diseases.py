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
from immunetwin.compose.diseases import (  # noqa: E402
    influenza_pneumonia,
    sepsis,
    viral_pneumonia,
)
from immunetwin.compose.dosing import Regimen  # noqa: E402
from immunetwin.compose.library import kirschner  # noqa: E402
from immunetwin.engine import simulate  # noqa: E402
from immunetwin.ir import Model  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs"


def main() -> None:
    def sepsis_model(start: float | None) -> Model:
        regimen = None
        if start is not None:
            doses = tuple(start + 8.0 * i for i in range(25))
            regimen = Regimen("drug", 500.0, doses, "iv_bolus")
        return sepsis({"pathogen.k_pg": 0.6}, regimen).model

    def influenza_model(start: float | None) -> Model:
        regimen = None
        if start is not None:
            regimen = Regimen("antiviral", 1.0, tuple(start + 0.5 * i for i in range(10)), "oral")
        return influenza_pneumonia(regimen=regimen).model

    def pneumonia_model(*regimens: Regimen) -> Model:
        return viral_pneumonia(regimens=regimens).model

    def antiviral(start: float) -> Regimen:
        return Regimen("antiviral", 300.0, tuple(start + 0.5 * i for i in range(10)), "oral")

    def tumour_model(s1: float) -> Model:
        return assemble(kirschner.modules(), parameters={"effectors.s1": s1}).model

    DOCS.mkdir(exist_ok=True)
    figure(
        "sepsis.png",
        "Composed sepsis model (Reynolds 2006 modules + antibacterial PK/PD)",
        np.linspace(0.0, 200.0, 401),
        "hours",
        {
            "untreated": sepsis_model(None),
            "antibacterial from 2 h": sepsis_model(2.0),
            "antibacterial from 6 h": sepsis_model(6.0),
        },
        (
            ("pathogen_P", "pathogen P"),
            ("phagocytes_Nstar", "activated phagocytes N*"),
            ("damage_D", "tissue damage D"),
        ),
    )
    figure(  # values below 1e-3 are drawn at 1e-3 on the log axes
        "tumour.png",
        "Composed tumour immunotherapy (Kirschner & Panetta 1998 modules)",
        np.linspace(0.0, 1000.0, 1001),
        "days",
        {
            "untreated": tumour_model(0.0),
            "adoptive cells s1 = 550": tumour_model(550.0),
            "adoptive cells s1 = 1000": tumour_model(1000.0),
        },
        (("tumour_T", "tumour cells T"), ("effectors_E", "effector cells E"), ("il2_IL", "IL-2")),
        log=True,
    )
    figure(
        "influenza.png",
        "Composed influenza pneumonia (Hancioglu 2007 modules + antiviral PK/PD)",
        np.linspace(0.0, 20.0, 401),
        "days",
        {
            "untreated": influenza_model(None),
            "antiviral from day 1": influenza_model(1.0),
            "antiviral from day 3": influenza_model(3.0),
        },
        (
            ("virus_V", "virus V"),
            ("interferon_F", "interferon F"),
            ("epithelium_H", "healthy epithelium H"),
        ),
    )

    figure(
        "viral-pneumonia.png",
        "SARS-CoV-2-like pneumonia with cytokine storm (14 library modules + 3 drugs)",
        np.linspace(0.0, 30.0, 601),
        "days after infection",
        {
            "untreated": pneumonia_model(),
            "antiviral from day 3": pneumonia_model(antiviral(3.0)),
            "antiviral from day 6": pneumonia_model(antiviral(6.0)),
            "corticosteroid from day 6": pneumonia_model(
                Regimen("corticosteroid", 6.0, tuple(6.0 + i for i in range(10)), "iv_bolus")
            ),
            "anti-IL-6R on day 7": pneumonia_model(Regimen("anti_il6", 560.0, (7.0,), "iv_bolus")),
        },
        (
            ("virus_V", "viral load (copies/mL)"),
            ("il6_IL6", "IL-6 (pg/mL)"),
            ("crp_CRP", "CRP (mg/L)"),
            ("damage_D", "lung damage (fraction)"),
        ),
        log=("virus_V",),
    )


def figure(
    name: str,
    title: str,
    times: np.ndarray,
    time_unit: str,
    scenarios: dict[str, Model],
    panels: tuple[tuple[str, str], ...],
    *,
    log: bool | tuple[str, ...] = False,
) -> None:
    """One row of panels (one per output id), one line per scenario, written to docs/;
    ``log``: every panel, or the ids whose panels are logarithmic."""
    fig, axes = plt.subplots(1, len(panels), figsize=(12, 3.4))
    for label, model in scenarios.items():
        result = simulate(model, times)
        for axis, (id, panel_title) in zip(axes, panels, strict=True):
            if log is True or (isinstance(log, tuple) and id in log):
                axis.semilogy(times, np.maximum(result[id], 1e-3), label=label)
            else:
                axis.plot(times, result[id], label=label)
            axis.set_title(panel_title)
            axis.set_xlabel(time_unit)
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(DOCS / name, dpi=90)
    print(f"wrote {DOCS / name}")


if __name__ == "__main__":
    main()
