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
from immunetwin.compose.diseases import influenza_pneumonia, viral_pneumonia
from immunetwin.compose.library import reynolds
from immunetwin.engine import (
    CVODES,
    AbstractSolver,
    CompiledModel,
    DormandPrince,
    compile_model,
    simulate,
)
from immunetwin.formats import read_model, read_sbml_string, to_sbml_string


def main() -> None:
    solver = DormandPrince(rtol=1e-8, atol=1e-10)
    start = time.perf_counter()
    composed = compile_model(assemble(reynolds.modules(), name="reynolds_composed").model)
    build = time.perf_counter() - start
    flat = compile_model(read_model(model_file("reynolds2006")))
    compare(
        "Reynolds 2006: four modules vs BIOMD0000000714 (flat)",
        composed,
        flat,
        build,
        np.linspace(0.0, 300.0, 301),
        solver,
    )

    # influenza pneumonia: six Hancioglu 2007 modules + antiviral PK/PD, against the same
    # model written flat (its assembled SBML read back as one plain model)
    start = time.perf_counter()
    model = influenza_pneumonia().model
    composed = compile_model(model)
    build = time.perf_counter() - start
    flat = compile_model(read_sbml_string(to_sbml_string(model)))
    compare(  # stiff: CVODES, as the model's users would run it
        "influenza pneumonia: composed vs written flat (CVODES)",
        composed,
        flat,
        build,
        np.linspace(0.0, 20.0, 201),
        CVODES(rtol=1e-8, atol=1e-10),
    )

    # the SARS-CoV-2-like viral pneumonia: fourteen library modules + three drugs' PK/PD
    start = time.perf_counter()
    model = viral_pneumonia().model
    composed = compile_model(model)
    build = time.perf_counter() - start
    flat = compile_model(read_sbml_string(to_sbml_string(model)))
    compare(
        "viral pneumonia (SARS-CoV-2-like): composed vs written flat (CVODES)",
        composed,
        flat,
        build,
        np.linspace(0.0, 30.0, 301),
        CVODES(rtol=1e-8, atol=1e-10),
    )


def compare(
    title: str,
    composed: CompiledModel,
    flat: CompiledModel,
    build: float,
    times: np.ndarray,
    solver: AbstractSolver,
) -> None:
    for compiled in (composed, flat):
        simulate(compiled, times, solver=solver)  # C compilation, once (cached on disk)
    ours = median_time(lambda: simulate(composed, times, solver=solver), 100)
    theirs = median_time(lambda: simulate(flat, times, solver=solver), 100)
    print(f"== {title}")
    print(f"  assemble + compile      {build * 1e3:8.1f} ms   (goal < 1 s)")
    print(
        f"  one simulation composed {ours * 1e3:8.3f} ms   flat {theirs * 1e3:.3f} ms   "
        f"ratio {ours / theirs:.2f}x (goal <= 1.2)"
    )


if __name__ == "__main__":
    main()
