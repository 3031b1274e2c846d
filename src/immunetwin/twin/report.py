"""Pictures of a twin: forecast fan charts (median, 50% and 90% bands, the measurements)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from immunetwin.twin.forecast import Forecast

LABELS = {
    "sars_cov_2_rna": "SARS-CoV-2 RNA (copies/mL)",
    "il6": "IL-6 (pg/mL)",
    "tnf": "TNF (pg/mL)",
    "crp": "CRP (mg/L)",
    "neutrophils": "neutrophils (1e9/L)",
    "lymphocytes": "lymphocytes (1e9/L)",
}
LOG_SCALE = {"sars_cov_2_rna", "il6", "crp"}


def fan_chart(
    forecast: Forecast,
    path: Path,
    *,
    title: str = "",
    observations: Sequence[object] = (),
    keys: Sequence[str] = ("sars_cov_2_rna", "il6", "crp", "lymphocytes"),
) -> Path:
    """One panel per quantity: the forecast's bands and median, and the measurements."""
    from immunetwin.plotting import pyplot

    plt = pyplot()

    keys = [k for k in keys if k in forecast.quantities]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.6 * len(keys), 3.2), squeeze=False)
    for axis, key in zip(axes[0], keys, strict=True):
        q = forecast.quantities[key]
        low90, high90 = forecast.band(key, 0.9)
        low50, high50 = forecast.band(key, 0.5)
        axis.fill_between(forecast.time, low90, high90, alpha=0.2, color="C0", label="90%")
        axis.fill_between(forecast.time, low50, high50, alpha=0.35, color="C0", label="50%")
        axis.plot(forecast.time, q.median, color="C0", label="median")
        seen = [o for o in observations if getattr(o, "quantity", None) == key]
        if seen:
            axis.plot([o.time for o in seen], [o.value for o in seen], "k.", label="measured")  # type: ignore[attr-defined]
        if key in LOG_SCALE:
            axis.set_yscale("log")
            floor = max(float(np.min(low90[low90 > 0])) if np.any(low90 > 0) else 1e-3, 1e-3)
            axis.set_ylim(bottom=floor)
        axis.axvline(forecast.start, color="grey", linewidth=0.8, linestyle=":")
        axis.set_title(LABELS.get(key, key), fontsize=9)
        axis.set_xlabel("days since reference")
    axes[0][0].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
