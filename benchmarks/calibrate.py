"""Calibration benchmark on PEtab benchmark problems, with finite-difference baselines run in
the same session so the ratios are comparable.

Usage: cd benchmarks && ../.venv/bin/python calibrate.py [NAME ...] [--starts 20] [--seed 1]
       [--baseline-starts 3] [--scipy-budget 120] [--scatter-runs 20] [--scatter-budget S]
       [--plain] [--solver cvodes|dormand-prince] [--shared ../../shared] [--json FILE]

For each problem (default: Crauste_CellSystems2017, Boehm_JProteomeRes2014,
Fiedler_BMCSystBiol2016, Bruno_JExpBot2016) it runs ``optimize`` (fides trust region with the
exact gradient and the Fisher information; hierarchical noise parameters unless ``--plain``)
from ``--starts`` Latin-hypercube starts over the PEtab bounds, and prints:

- the starts whose log-likelihood reaches the reference (reference_llh.yaml) within 0.1;
- the best log-likelihood against the reference;
- the median wall time per start and per objective + gradient (+ Fisher) evaluation in the runs;
- the time of one objective + gradient (+ Fisher) evaluation at the start points (median);
- finite differences on our engine: scipy L-BFGS-B with its default 2-point finite differences
  (``jac=None``) from the first ``--baseline-starts`` of the same start points, on the same
  objective (same integrator and tolerances): its wall time per gradient (= n + 1 objective
  evaluations, from the runs, and measured directly at the start points), the llh it reached,
  and the ratio to ours per gradient. This isolates the gradient method: our forward
  sensitivities against n + 1 simulations by the same compiled CVODES;
- the scipy stack (the issue's floor): the same PEtab objective code with every simulation
  done by ``scipy.integrate.solve_ivp`` (LSODA, the same tolerances, the model's right-hand
  side and Jacobian as CasADi callables), finite-difference gradients and scipy L-BFGS-B: its
  time per gradient at the start points, and one start run for at most ``--scipy-budget`` s;
- ``--scatter-runs`` scatter searches (``ScatterSearch``, the problem's budget in
  ``SCATTER_BUDGET_S`` or ``--scatter-budget``), each from its own random start and stream:
  how many reach the reference.

No published AMICI per-gradient time for these four problems was found (see the report with
this benchmark); the PEtab.jl documentation states it is ~2x faster than AMICI for gradients
without per-problem figures here, so no peer figure is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import casadi as ca
import numpy as np
import yaml
from scipy import optimize as scipy_optimize
from scipy.integrate import solve_ivp

import immunetwin.calibrate._objective as objective_module
from immunetwin.calibrate import Objective, read_petab
from immunetwin.calibrate._objective import CALIBRATION_SOLVER
from immunetwin.calibrate.hierarchical import HierarchicalObjective
from immunetwin.calibrate.optimize import objective_with_prior_and_fisher, optimize
from immunetwin.calibrate.priors import minus_log_prior
from immunetwin.calibrate.scatter import ScatterSearch
from immunetwin.engine import AbstractSolver, DormandPrince, SimulationResult, Status
from immunetwin.engine._compile import CompiledModel

PROBLEMS = (
    "Crauste_CellSystems2017",
    "Boehm_JProteomeRes2014",
    "Fiedler_BMCSystBiol2016",
    "Bruno_JExpBot2016",
)
SCIPY_METHOD = "LSODA"  # the scipy baseline's integrator (stiff/non-stiff switching, as CVODES)
# seconds per scatter search: Boehm's searches reach it within ~3 s; on Fiedler a local search
# (3-6 s) from a fresh set's best child reaches its 58.6 optimum about two times in five; on
# Crauste about one Latin-hypercube start in 40 reaches it (6 of 240), and a search of 300 s
# runs 50-80 local searches, half of them from fresh random points
SCATTER_BUDGET_S = {
    "Crauste_CellSystems2017": 300.0,
    "Boehm_JProteomeRes2014": 20.0,
    "Fiedler_BMCSystBiol2016": 60.0,
    "Bruno_JExpBot2016": 20.0,
}
TOLERANCE = 0.1  # llh units: a start "reaches" the reference within this
SOLVERS: dict[str, AbstractSolver] = {
    "cvodes": CALIBRATION_SOLVER,  # the objective's default (rtol 1e-8, atol 1e-10, 10^4 steps)
    "dormand-prince": DormandPrince(),  # C-compiled explicit RK; non-stiff problems only
}


def time_per_call(
    action: Callable[[np.ndarray], object], points: list[np.ndarray], nudges: int = 3
) -> float:
    """Median wall time of ``action`` at (``nudges`` nudges of) each point: a nudge of 1e-11
    keeps the objective from reusing its last simulation."""
    samples = []
    for point in points:
        for k in range(nudges):
            x = point + 1e-11 * (k + 1)
            start = time.perf_counter()
            action(x)
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


class _OutOfTime(Exception):
    pass


def finite_difference_baseline(
    objective: Objective, x0: np.ndarray, budget_s: float = math.inf
) -> dict[str, Any]:
    """scipy L-BFGS-B with its default 2-point finite-difference gradient from ``x0``,
    stopped after ``budget_s`` seconds (then ``finished`` is false)."""
    problem = objective.problem
    lower, upper = problem.bounds_x()
    start = time.perf_counter()
    best: list[Any] = [math.inf, x0]
    calls = [0]

    def fun(x: np.ndarray) -> float:
        if time.perf_counter() - start > budget_s:
            raise _OutOfTime
        calls[0] += 1
        value = objective.nllh(x) + float(minus_log_prior(problem, x)[0])
        if value < best[0]:
            best[:] = [value, x.copy()]
        return value

    try:
        result = scipy_optimize.minimize(
            fun, x0, method="L-BFGS-B", bounds=list(zip(lower, upper, strict=True))
        )
        x, finished = result.x, True
    except _OutOfTime:
        x, finished = best[1], False
    wall = time.perf_counter() - start
    gradients = calls[0] / (len(x0) + 1)  # L-BFGS-B's FD gradient: n + 1 objective values
    return {
        "wall_s": wall,
        "finished": finished,
        "objective_evaluations": calls[0],
        "s_per_gradient": wall / max(gradients, 1.0),
        "llh": objective.llh(x),
    }


class _ScipyModel:
    """A compiled model's right-hand side and Jacobian as the Python callables that
    ``scipy.integrate.solve_ivp`` takes (CasADi functions: the fastest a scipy user gets
    without writing C)."""

    def __init__(self, model: CompiledModel) -> None:
        if model.events or model.discontinuities:
            raise NotImplementedError(f"the scipy baseline has no events ('{model.model.id}')")
        t, x, q = model.symbols
        self.model = model
        self.jacobian = ca.Function(
            "state_jacobian", [t, x, q], [ca.densify(ca.jacobian(model.ode, x))]
        )

    def simulate(
        self, grid: np.ndarray, p: np.ndarray, rtol: float, atol: float
    ) -> tuple[np.ndarray, bool]:
        model = self.model
        x0, q = (np.asarray(v, dtype=float).ravel() for v in model.init(grid[0], p))
        rhs, jacobian = model.rhs, self.jacobian
        solution = solve_ivp(
            lambda t, x: np.asarray(rhs(t, x, q)).ravel(),
            (grid[0], grid[-1]), x0, method=SCIPY_METHOD, t_eval=grid, rtol=rtol, atol=atol,
            jac=lambda t, x: np.asarray(jacobian(t, x, q)),
        )  # fmt: skip
        if not solution.success:
            return np.full((len(grid), len(model.output_ids)), np.nan), False
        outputs = model.outputs
        values = np.array(
            [
                np.asarray(outputs(t, xi, q)).ravel()
                for t, xi in zip(grid, solution.y.T, strict=True)
            ]
        )
        return values, True


@contextlib.contextmanager
def scipy_integrator(solver: AbstractSolver) -> Iterator[None]:
    """Within: the objective's simulations are ``solve_ivp`` runs (``SCIPY_METHOD``, the
    solver's tolerances) instead of the engine's; the objective's code is otherwise the same."""
    models: dict[int, _ScipyModel] = {}

    def simulate(
        model: CompiledModel, times: np.ndarray, *, parameters: dict[str, float],
        variables: tuple[str, ...], solver: object,
    ) -> SimulationResult:  # fmt: skip
        found = models.setdefault(id(model), _ScipyModel(model))
        grid = np.asarray(times, dtype=float)
        values, ok = found.simulate(
            grid, model.parameter_vector(parameters), original.rtol, original.atol
        )
        return SimulationResult(
            grid, model.output_ids, values, Status.SUCCESS if ok else Status.INTEGRATION_FAILED
        )

    original = solver
    saved = objective_module.run_simulation
    objective_module.run_simulation = simulate  # type: ignore[assignment]
    try:
        yield
    finally:
        objective_module.run_simulation = saved


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

    # the scipy stack: solve_ivp simulations, finite differences, L-BFGS-B
    scipy_objective = Objective(problem)
    with scipy_integrator(scipy_objective.solver):
        scipy_plain = time_per_call(scipy_objective.nllh, points, nudges=1)
        scipy_run = finite_difference_baseline(scipy_objective, points[0], args.scipy_budget)
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
        "scipy_method": SCIPY_METHOD,
        "scipy_s_per_objective_at_starts": scipy_plain,
        "scipy_fd_s_per_gradient_at_starts": (n + 1) * scipy_plain,
        "ratio_scipy_fd_over_ours_at_starts": (n + 1) * scipy_plain / ours,
        "scipy_run": scipy_run,
        "ratio_scipy_start_over_ours": scipy_run["wall_s"] / per_start,
        "waterfall_llh": [float(v) for v in llhs],
        "scatter": scatter_runs(objective, name, reference, args),
    }


def scatter_runs(
    objective: Objective, name: str, reference: float, args: argparse.Namespace
) -> dict[str, Any] | None:
    """``--scatter-runs`` independent scatter searches (each seeded with its own random start
    and stream) of the problem's budget: how many reach the reference."""
    if args.scatter_runs < 1:
        return None
    budget = args.scatter_budget or SCATTER_BUDGET_S[name]
    result = optimize(
        objective,
        starts=args.scatter_runs,
        seed=args.seed,
        hierarchical=not args.plain,
        optimizer=ScatterSearch(budget_s=budget),
    )
    llhs = np.array([s.llh for s in result.starts])
    return {
        "runs": len(result.starts),
        "budget_s": budget,
        "reached_reference": int(np.sum(llhs >= reference - TOLERANCE)),
        "best_llh": float(llhs.max()),
        "median_s_per_run": float(np.median([s.wall_s for s in result.starts])),
        "wall_s": result.wall_s,
        "llh": [float(v) for v in llhs],
        "messages": [s.message for s in result.starts],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(PROBLEMS))
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--baseline-starts", type=int, default=3)
    parser.add_argument(
        "--scipy-budget", type=float, default=120.0, help="seconds for the scipy-stack start"
    )
    parser.add_argument(
        "--scatter-runs", type=int, default=20, help="scatter searches per problem (0: none)"
    )
    parser.add_argument(
        "--scatter-budget",
        type=float,
        default=0.0,
        help="seconds per search (default: per problem)",
    )
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
            f"  FD on our engine      {r['fd_s_per_gradient_at_starts'] * 1e3:8.2f} ms = "
            f"{r['parameters'] + 1} x {r['s_per_objective_at_starts'] * 1e3:.2f} ms at the start "
            f"points, serial; {r['fd_s_per_gradient_in_runs'] * 1e3:.2f} ms per gradient in "
            f"serial scipy L-BFGS-B runs from {len(base)} of them, reaching llh "
            f"{', '.join(format(b['llh'], '.2f') for b in base)}"
        )
        print(
            f"  ratio FD / ours       {r['ratio_fd_over_ours_at_starts']:8.2f}x at the start "
            f"points (the gradient method alone); {r['ratio_fd_over_ours_in_runs']:.2f}x run "
            "against run (ours shares the cores between its workers)"
        )
        run = r["scipy_run"]
        print(
            f"  scipy stack           {r['scipy_fd_s_per_gradient_at_starts'] * 1e3:8.1f} ms = "
            f"{r['parameters'] + 1} x {r['scipy_s_per_objective_at_starts'] * 1e3:.1f} ms per "
            f"FD gradient (solve_ivp {r['scipy_method']}); ratio "
            f"{r['ratio_scipy_fd_over_ours_at_starts']:.1f}x (the floor: goal >= 5)"
        )
        print(
            f"  scipy stack start     {run['wall_s']:8.1f} s "
            f"({'finished' if run['finished'] else 'stopped at the budget'}, llh "
            f"{run['llh']:.2f}) against our median {r['median_s_per_start']:.2f} s: "
            f"{r['ratio_scipy_start_over_ours']:.1f}x"
        )
        print("  AMICI per gradient    none published for this problem found")
        if r["scatter"] is not None:
            sc = r["scatter"]
            print(
                f"  scatter search        {sc['reached_reference']:>3} / {sc['runs']} searches "
                f"of {sc['budget_s']:.0f} s reach the reference (best {sc['best_llh']:.3f}); "
                f"{sc['wall_s']:.0f} s in all"
            )
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
