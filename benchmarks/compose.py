"""Composition overhead: assembling and compiling a composed model, and its simulation speed
against the same model written flat (the BioModels file), in one session.

Usage: python benchmarks/compose.py
"""

from __future__ import annotations

import time

import numpy as np

from engine import median_time  # benchmarks/engine.py: the same timing rule
from immunetwin.catalog.seed import model_file
from immunetwin.compose import assemble
from immunetwin.compose.library import reynolds
from immunetwin.engine import DormandPrince, compile_model, simulate
from immunetwin.formats import read_model


def main() -> None:
    times = np.linspace(0.0, 300.0, 301)
    solver = DormandPrince(rtol=1e-8, atol=1e-10)
    start = time.perf_counter()
    composed = compile_model(assemble(reynolds.modules(), name="reynolds_composed").model)
    build = time.perf_counter() - start
    flat = compile_model(read_model(model_file("reynolds2006")))
    for compiled in (composed, flat):
        simulate(compiled, times, solver=solver)  # C compilation, once (cached on disk)
    ours = median_time(lambda: simulate(composed, times, solver=solver), 200)
    theirs = median_time(lambda: simulate(flat, times, solver=solver), 200)
    print("== Reynolds 2006: four modules vs BIOMD0000000714 (flat)")
    print(f"  assemble + compile      {build * 1e3:8.1f} ms   (goal < 1 s)")
    print(
        f"  one simulation composed {ours * 1e3:8.3f} ms   flat {theirs * 1e3:.3f} ms   "
        f"ratio {ours / theirs:.2f}x (goal <= 1.2)"
    )


if __name__ == "__main__":
    main()
