"""Plots of results (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from immunetwin.engine import SimulationResult


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the headless Agg backend (imported on first use: importing
    matplotlib costs a noticeable part of a second, which the CLI's start-up must not pay)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_result(
    result: SimulationResult, path: Path, log_scale: bool = True, title: str = ""
) -> None:
    """Write a PNG with one line per output; log scale when values span decades."""
    import numpy as np

    plt = pyplot()
    figure, axis = plt.subplots(figsize=(9, 5.5), dpi=110)
    positive = result.values[np.isfinite(result.values) & (result.values > 0)]
    use_log = log_scale and positive.size > 0 and positive.max() / positive.min() > 1e3
    for j, id in enumerate(result.ids):
        column = result.values[:, j]
        if use_log:
            column = np.where(column > 0, column, np.nan)
        axis.plot(result.time, column, label=id, linewidth=1.6)
    if use_log:
        axis.set_yscale("log")
        # values far below the largest are solver noise around zero; keep them off the plot
        axis.set_ylim(bottom=max(float(positive.min()), float(positive.max()) * 1e-12))
    axis.set_xlabel("time")
    axis.set_ylabel("value")
    axis.grid(True, alpha=0.3)
    axis.legend(loc="best", fontsize=8, ncol=2)
    status = "" if result.ok else f" [{result.status.value}]"
    axis.set_title(f"{title or 'simulation'} ({result.solver}){status}")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
