"""Calibration benchmark on PEtab benchmark problems, with a finite-difference baseline run in
the same session so the ratio is comparable.

Usage: cd benchmarks && ../.venv/bin/python calibrate.py [NAME ...] [--starts 20] [--seed 1]
       [--baseline-starts 3] [--plain] [--solver cvodes|dormand-prince] [--shared ../../shared]
       [--json FILE]

For each problem (default: Crauste_CellSystems2017, Boehm_JProteomeRes2014,
Fiedler_BMCSystBiol2016, Bruno_JExpBot2016) it runs ``optimize`` (fides trust region with the
exact gradient and the Fisher information; hierarchical noise parameters unless ``--plain``)
from ``--starts`` Latin-hypercube starts over the PEtab bounds, and prints:

- the starts whose log-likelihood reaches the reference (reference_llh.yaml) within 0.1;
- the best log-likelihood against the reference;
- the median wall time per start and per objective + gradient (+ Fisher) evaluation in the runs;
- the time of one objective + gradient (+ Fisher) evaluation at the start points (median);
- the baseline: scipy L-BFGS-B with its default 2-point finite differences (``jac=None``) from
  the first ``--baseline-starts`` of the same start points, on the same objective (same
  integrator and tolerances): its wall time per gradient (= n + 1 objective evaluations, from
  the runs, and measured directly at the start points), the llh it reached, and the ratio
  baseline / ours per gradient (the goal: >= 5).

No published AMICI per-gradient time for these four problems was found (see the report with
this benchmark); the PEtab.jl documentation states it is ~2x faster than AMICI for gradients
without per-problem figures here, so no peer figure is printed.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy import optimize as scipy_optimize

from immunetwin.calibrate import Objective, read_petab
from immunetwin.calibrate.hierarchical import HierarchicalObjective
from immunetwin.calibrate.optimize import objective_with_prior_and_fisher, optimize
from immunetwin.calibrate.priors import minus_log_prior
from immunetwin.engine import CVODES, AbstractSolver, DormandPrince

PROBLEMS = (
    "Crauste_CellSystems2017",
    "Boehm_JProteomeRes2014",
    "Fiedler_BMCSystBiol2016",
    "Bruno_JExpBot2016",
)
TOLERANCE = 0.1  # llh units: a start "reaches" the reference within this
SOLVERS: dict[str, AbstractSolver] = {
    "cvodes": CVODES(),  # the objective's default (rtol 1e-8, atol 1e-10)
    "dormand-prince": DormandPrince(),  # C-compiled explicit RK; non-stiff problems only
}


def time_per_call(action: Callable[[np.ndarray], object], points: list[np.ndarray]) -> float:
    """Median wall time of ``action`` at (3 nudges of) each point: a nudge of 1e-11 keeps the
    objective from reusing its last simulation."""
    samples = []
    for point in points:
        for k in range(3):
            x = point + 1e-11 * (k + 1)
            start = time.perf_counter()
            action(x)
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def finite_difference_baseline(objective: Objective, x0: np.ndarray) -> dict[str, float]:
    """scipy L-BFGS-B with its default 2-point finite-difference gradient from ``x0``."""
    problem = objective.problem
    lower, upper = problem.bounds_x()

    def fun(x: np.ndarray) -> float:
        return objective.nllh(x) + float(minus_log_prior(problem, x)[0])

    start = time.perf_counter()
    result = scipy_optimize.minimize(
        fun, x0, method="L-BFGS-B", bounds=list(zip(lower, upper, strict=True))
    )
    wall = time.perf_counter() - start
    return {
        "wall_s": wall,
        "gradients": int(result.njev),
        "objective_evaluations": int(result.nfev),
        "s_per_gradient": wall / max(int(result.njev), 1),
        "llh": objective.llh(result.x),
    }


def bench_problem(
    folder: Path, name: str, reference: float, args: argparse.Namespace
) -> dict[str, Any]:
    problem = read_petab(folder / name / f"{name}.yaml")
    objective = Objective(problem, solver=SOLVERS[args.solver])
    result = optimize(objective, starts=args.starts, seed=args.seed, hierarchical=not args.plain)
    llhs = np.array([s.llh for s in result.starts])
    reached = int(np.sum(llhs >= reference - TOLERANCE))
    per_start = float(np.median([s.wall_s for s in result.starts]))
    per_evaluation = float(np.median([s.seconds_per_evaluation for s in result.starts]))

    # one evaluation of what the optimiser calls, and n + 1 objective values, at the same points
    by_index = sorted(result.starts, key=lambda s: s.index)
    points = [s.x0 for s in by_index[: max(args.baseline_starts, 3)]]
    if result.inner_ids:
        profiled = HierarchicalObjective(objective)
        fun = objective_with_prior_and_fisher(profiled)
        ours = time_per_call(lambda x: fun(profiled.outer(x)), points)
    else:
        fun = objective_with_prior_and_fisher(objective)
        ours = time_per_call(fun, points)
    n = len(problem.estimated)
    plain = time_per_call(objective.nllh, points)
    baseline = [finite_difference_baseline(objective, x) for x in points[: args.baseline_starts]]
    baseline_per_gradient = statistics.median(b["s_per_gradient"] for b in baseline)
    return {
        "problem": name,
        "solver": args.solver,
        "parameters": n,
        "hierarchical": list(result.inner_ids),
        "starts": len(result.starts),
        "reached_reference": reached,
        "best_llh": float(llhs.max()),
        "reference_llh": reference,
        "wall_s": result.wall_s,
        "workers": result.workers,
        "median_s_per_start": per_start,
        "median_s_per_evaluation_in_runs": per_evaluation,
        "s_per_gradient_at_starts": ours,
        "s_per_objective_at_starts": plain,
        "fd_s_per_gradient_at_starts": (n + 1) * plain,
        "fd_baseline": baseline,
        "fd_s_per_gradient_in_runs": baseline_per_gradient,
        "ratio_fd_over_ours_in_runs": baseline_per_gradient / per_evaluation,
        "ratio_fd_over_ours_at_starts": (n + 1) * plain / ours,
        "waterfall_llh": [float(v) for v in llhs],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(PROBLEMS))
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--baseline-starts", type=int, default=3)
    parser.add_argument("--plain", action="store_true", help="no hierarchical noise parameters")
    parser.add_argument("--solver", choices=sorted(SOLVERS), default="cvodes")
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    folder = Path(args.shared) / "petab-benchmark"
    if not folder.is_dir():
        sys.exit(f"no PEtab benchmark folder at {folder}; pass --shared PATH")
    references = yaml.safe_load((folder / "reference_llh.yaml").read_text())
    results = []
    for name in args.names:
        r = bench_problem(folder, name, float(references[name]["llh"]), args)
        results.append(r)
        base = r["fd_baseline"]
        print(f"== {name}  ({r['parameters']} parameters; {args.solver}; hierarchical: "
              f"{', '.join(r['hierarchical']) or 'none'})")  # fmt: skip
        print(
            f"  reached reference     {r['reached_reference']:>3} / {r['starts']}"
            f"   (within {TOLERANCE} llh; goal >= {r['starts'] // 2 + 1})"
        )
        print(f"  best llh              {r['best_llh']:10.3f}   reference {r['reference_llh']:.3f}")
        print(
            f"  per start (median)    {r['median_s_per_start']:8.2f} s    all starts "
            f"{r['wall_s']:.1f} s on {r['workers']} workers"
        )
        print(
            f"  per gradient          {r['s_per_gradient_at_starts'] * 1e3:8.2f} ms at the start "
            "points, serial (objective + gradient + Fisher information); "
            f"{r['median_s_per_evaluation_in_runs'] * 1e3:.2f} ms in the runs "
            f"({r['workers']} workers)"
        )
        print(
            f"  FD baseline           {r['fd_s_per_gradient_at_starts'] * 1e3:8.2f} ms = "
            f"{r['parameters'] + 1} x {r['s_per_objective_at_starts'] * 1e3:.2f} ms at the start "
            f"points, serial; {r['fd_s_per_gradient_in_runs'] * 1e3:.2f} ms per gradient in "
            f"serial scipy L-BFGS-B runs from {len(base)} of them, reaching llh "
            f"{', '.join(format(b['llh'], '.2f') for b in base)}"
        )
        print(
            f"  ratio FD / ours       {r['ratio_fd_over_ours_at_starts']:8.2f}x at the start "
            f"points (goal >= 5); {r['ratio_fd_over_ours_in_runs']:.2f}x run against run "
            "(ours shares the cores between its workers)"
        )
        print("  AMICI per gradient    none published for this problem found")
        sys.stdout.flush()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=_plain))


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    raise TypeError(type(value))


if __name__ == "__main__":
    main()
