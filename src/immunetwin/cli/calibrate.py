"""``immunetwin calibrate``, ``profile`` and ``sample``: PEtab problems from the command line."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from immunetwin.cli._common import fail, run_action

if TYPE_CHECKING:
    from immunetwin.calibrate import Objective
    from immunetwin.calibrate.optimize import OptimizationResult, StartResult

ProblemArgument = Annotated[Path, typer.Argument(help="PEtab v1 problem (YAML).")]
StartsOption = Annotated[int, typer.Option("--starts", min=1, help="Multistart starts.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed of the start points / sampler.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
FromOption = Annotated[
    Path | None,
    typer.Option("--from", help="A calibrate --out directory: start from its best fit."),
]


def _objective(problem_path: Path) -> Objective:
    from immunetwin.calibrate import Objective, read_petab

    return Objective(read_petab(problem_path))


def _progress(done: int, total: int, start: StartResult) -> None:
    value = f"{start.fval:.4f}" if math.isfinite(start.fval) else "failed"
    typer.echo(f"start {done}/{total}: {value} ({start.wall_s:.1f} s)", err=True)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def calibrate(
    problem: ProblemArgument,
    starts: StartsOption = 20,
    seed: SeedOption = 0,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write result.json (and waterfall.png) here.")
    ] = None,
    evaluate_nominal: Annotated[
        bool,
        typer.Option("--evaluate-nominal", help="Only evaluate llh at the nominal parameters."),
    ] = False,
    hierarchical: Annotated[
        bool,
        typer.Option(
            "--hierarchical", help="Set noise (sigma) parameters in closed form at each step."
        ),
    ] = False,
    scatter: Annotated[
        float | None,
        typer.Option(
            "--scatter",
            min=0.1,
            help="Run each start as a scatter search (global) of this many seconds; for "
            "problems whose local optima trap most multistart runs.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Fit a PEtab problem: multistart with exact gradients (or scatter searches), both
    cores."""

    def action() -> None:
        import numpy as np

        from immunetwin.calibrate.optimize import optimize

        objective = _objective(problem)
        if evaluate_nominal:
            x = objective.problem.nominal_x()
            evaluation = objective.evaluate(x, gradient=True)
            gradient = evaluation.gradient if evaluation.gradient is not None else np.nan
            data = {
                "llh": evaluation.llh,
                "gradient_norm": float(np.linalg.norm(gradient)),
                "status": evaluation.status.value,
                "message": evaluation.message,
                "parameters": dict(zip(objective.parameter_ids, map(float, x), strict=True)),
            }
            if as_json:
                typer.echo(json.dumps(data))
            else:
                typer.echo(f"llh {data['llh']:.6f}  |gradient| {data['gradient_norm']:.3g}")
            return
        from immunetwin.calibrate.scatter import ScatterSearch

        result = optimize(
            objective,
            starts=starts,
            seed=seed,
            progress=_progress,
            hierarchical=hierarchical,
            optimizer=ScatterSearch(budget_s=scatter) if scatter else None,
        )
        data = result.to_json(objective.problem)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            _write_json(out / "result.json", data)
            _waterfall(result, out / "waterfall.png")
        if as_json:
            typer.echo(json.dumps(data))
            return
        _print_fit(data)

    run_action(action)


def _print_fit(data: dict[str, Any]) -> None:
    runs = "scatter searches" if data["method"] == "scatter search" else "starts"
    typer.echo(
        f"llh {data['llh']:.6f}  (objective {data['nllh_objective']:.6f}; "
        f"{data['reached_best']}/{data['starts']} {runs} within 0.1 of the best; "
        f"{data['wall_s']:.1f} s)"
    )
    for id, value in data["parameters"].items():
        typer.echo(f"  {id:<30} {value['linear']:.6g}  ({value['scale']} {value['value']:.4f})")


def _waterfall(result: OptimizationResult, path: Path) -> None:
    from immunetwin.plotting import pyplot

    plt = pyplot()
    import numpy as np

    values = np.array([s.fval for s in result.starts])
    finite = np.isfinite(values)
    fig, axis = plt.subplots(figsize=(5, 3.2))
    axis.plot(np.flatnonzero(finite) + 1, values[finite] - values[finite].min() + 1, "o-")
    axis.set_yscale("log")
    axis.set_xlabel("start (sorted)")
    axis.set_ylabel("objective - best + 1")
    axis.set_title(f"{result.reached_best()}/{len(values)} starts reach the best")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _optimum(objective: Objective, source: Path | None, seed: int) -> Any:
    import numpy as np

    from immunetwin.calibrate.optimize import optimize
    from immunetwin.errors import InvalidInputError

    if source is None:
        return optimize(objective, starts=10, seed=seed, progress=_progress).best.x
    path = source / "result.json" if source.is_dir() else source
    data = json.loads(path.read_text(encoding="utf-8"))
    try:
        return np.array([data["parameters"][id]["value"] for id in objective.parameter_ids])
    except KeyError as missing:
        raise InvalidInputError(
            f"{path} has no value for estimated parameter {missing}; use the result.json "
            "that 'immunetwin calibrate --out' wrote for this problem"
        ) from None


def profile(
    problem: ProblemArgument,
    parameter: Annotated[
        list[str], typer.Option("--parameter", help="Estimated parameter id (repeatable).")
    ],
    start_from: FromOption = None,
    seed: SeedOption = 0,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write one PNG per profile.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Profile likelihoods (95% intervals) of estimated parameters around the best fit."""

    def action() -> None:
        import numpy as np

        from immunetwin.calibrate.uncertainty import profile as run_profile

        objective = _objective(problem)
        x = _optimum(objective, start_from, seed)
        results = [run_profile(objective, id, x) for id in parameter]
        data = []
        for result in results:
            j = objective.parameter_ids.index(result.parameter)
            scale = objective.problem.estimated[j].scale
            linear = tuple(float(scale.from_scale(np.asarray(v))) for v in result.interval)
            data.append(result.to_json((linear[0], linear[1])))
        if plot is not None:
            plot.mkdir(parents=True, exist_ok=True)
            for result in results:
                _profile_plot(result, plot / f"profile_{result.parameter}.png")
        if as_json:
            typer.echo(json.dumps(data))
            return
        for item in data:
            sides = "identifiable" if all(item["identifiable"]) else "NOT identifiable (flat)"
            low, high = item["interval_linear"]
            typer.echo(f"{item['parameter']:<30} 95% CI [{low:.6g}, {high:.6g}]  {sides}")

    run_action(action)


def _profile_plot(result: Any, path: Path) -> None:
    from immunetwin.plotting import pyplot

    plt = pyplot()

    fig, axis = plt.subplots(figsize=(4.5, 3.2))
    axis.plot(result.values, result.ratio, "o-")
    axis.axhline(math.exp(-1.92), color="grey", linestyle="--", label="95% threshold")
    axis.set_xlabel(f"{result.parameter} (parameter scale)")
    axis.set_ylabel("likelihood ratio")
    axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def sample(
    problem: ProblemArgument,
    draws: Annotated[int, typer.Option("--draws", min=10, help="Posterior draws.")] = 2000,
    start_from: FromOption = None,
    seed: SeedOption = 0,
    level: Annotated[float, typer.Option("--level", help="Credible level.")] = 0.9,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write posterior plots.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Posterior draws (ensemble MCMC) and credible intervals of the estimated parameters."""

    def action() -> None:
        from immunetwin.calibrate.uncertainty import sample as run_sample

        if not 0.0 < level < 1.0:
            fail(f"--level must lie between 0 and 1; got {level}")
        objective = _objective(problem)
        x = _optimum(objective, start_from, seed)
        result = run_sample(objective, x, draws=draws, seed=seed)
        data = result.to_json(objective, level)
        if plot is not None:
            plot.mkdir(parents=True, exist_ok=True)
            _posterior_plot(result, plot / "posterior.png")
            import numpy as np

            np.savetxt(
                plot / "draws.csv", result.draws, delimiter=",",
                header=",".join(result.parameter_ids), comments="",
            )  # fmt: skip
        if as_json:
            typer.echo(json.dumps(data))
            return
        typer.echo(
            f"{data['draws']} draws, acceptance {data['acceptance']:.2f}, {data['wall_s']:.1f} s"
        )
        for id, item in data["parameters"].items():
            low, high = item["interval_linear"]
            typer.echo(f"  {id:<30} {level:.0%} CrI [{low:.6g}, {high:.6g}]")

    run_action(action)


def _posterior_plot(result: Any, path: Path) -> None:
    from immunetwin.plotting import pyplot

    plt = pyplot()

    d = len(result.parameter_ids)
    columns = min(d, 4)
    rows = -(-d // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.6 * rows), squeeze=False)
    for j, id in enumerate(result.parameter_ids):
        axis = axes[j // columns][j % columns]
        axis.hist(result.draws[:, j], bins=40)
        axis.set_title(id, fontsize=8)
    for k in range(d, rows * columns):
        axes[k // columns][k % columns].axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
