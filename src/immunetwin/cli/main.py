"""The ``immunetwin`` command line: a thin layer over the library.

Heavy imports (CasADi, libsbml) happen inside the commands so that ``--help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from immunetwin.cli._common import fail, run_action
from immunetwin.cli.calibrate import calibrate, profile, sample
from immunetwin.cli.compose import compose, modules_app
from immunetwin.cli.models import models_app
from immunetwin.cli.twin import trial, twin_app

app = typer.Typer(
    name="immunetwin",
    help="Immune digital twins: simulate, analyse and convert SBML/Antimony models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
check_app = typer.Typer(
    help="Conformance checks against external references.", no_args_is_help=True
)
app.add_typer(check_app, name="check")
app.add_typer(models_app, name="models")
app.add_typer(modules_app, name="modules")
app.add_typer(twin_app, name="twin")
app.command("trial")(trial)
app.command("compose")(compose)
app.command("calibrate")(calibrate)
app.command("profile")(profile)
app.command("sample")(sample)

SolverOption = Annotated[
    str,
    typer.Option(
        "--solver",
        help="cvodes (BDF, stiff-safe) or dopri (Runge-Kutta 5(4) compiled to C; non-stiff, fast).",
    ),
]
EnsembleSolverOption = Annotated[
    str,
    typer.Option(
        "--solver",
        help=(
            "dopri (Runge-Kutta 5(4) compiled to C; non-stiff, fast), rodas (stiff Rosenbrock "
            "4(3) stepping all members at once; fast for stiff models) or cvodes (BDF)."
        ),
    ),
]
SOLVER_NAMES = ("cvodes", "dopri")
MODEL_HELP = "SBML (.xml/.sbml) or Antimony (.ant) file, or a catalogue id or alias."


def _solver(  # type: ignore[no-untyped-def]
    name: str, rtol: float, atol: float, names: tuple[str, ...] = SOLVER_NAMES
):
    """The one place where a solver name from the command line becomes a solver object."""
    from immunetwin.engine import CVODES, DormandPrince, Rodas4

    if name not in names:
        fail(f"--solver expects one of {', '.join(names)}, got '{name}'")
    if name == "cvodes":
        return CVODES(rtol=rtol, atol=atol)
    if name == "rodas":
        return Rodas4(rtol=rtol, atol=atol)
    return DormandPrince(rtol=rtol, atol=atol)


SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="Override ID=VALUE (parameter, species initial value or compartment)."
    ),
]


def _pairs(items: list[str] | None, option: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items or []:
        if "=" not in item:
            fail(f"{option} expects ID=VALUE, got '{item}'")
        key, _, value = item.partition("=")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            fail(f"{option} {key}: expected a number, got '{value}'")
    return out


def _load(reference: str):  # type: ignore[no-untyped-def]
    """A model file, or else a catalogue id or alias."""
    from immunetwin.catalog.catalog import resolve_model

    return resolve_model(reference)


@app.command()
def simulate(
    model: Annotated[str, typer.Argument(help=MODEL_HELP)],
    end: Annotated[float, typer.Option("--end", help="End time.")],
    points: Annotated[int, typer.Option("--points", help="Number of output points.")] = 101,
    start: Annotated[float, typer.Option("--start", help="Start time.")] = 0.0,
    set_: SetOption = None,
    variables: Annotated[
        list[str] | None,
        typer.Option("--variable", "-v", help="Also output this id (parameter, reaction, ...)."),
    ] = None,
    rtol: Annotated[float, typer.Option(help="Relative tolerance.")] = 1e-8,
    atol: Annotated[float, typer.Option(help="Absolute tolerance.")] = 1e-10,
    solver: SolverOption = "cvodes",
    out: Annotated[Path | None, typer.Option("--out", help="CSV file (default: stdout).")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write a PNG plot.")] = None,
) -> None:
    """Simulate a time course and write CSV with header time,<species>,<variables>."""
    if points < 2:
        fail(f"--points must be at least 2, got {points}")
    if not end > start:
        fail(f"--end ({end}) must be greater than --start ({start})")

    def action() -> None:
        import numpy as np

        from immunetwin.engine import simulate as run

        overrides = _pairs(set_, "--set")
        result = run(
            _load(model),
            np.linspace(start, end, points),
            parameters=overrides,
            variables=variables or (),
            solver=_solver(solver, rtol, atol),
        )
        text = result.to_csv()
        if out is None:
            sys.stdout.write(text)
        else:
            out.write_text(text)
        if plot is not None:
            from immunetwin.plotting import plot_result

            plot_result(result, plot)
        if not result.ok:
            fail(f"{result.status.value}: {result.message}", 1)

    run_action(action)


@app.command("steady-state")
def steady_state(
    model: Annotated[str, typer.Argument(help=MODEL_HELP)],
    set_: SetOption = None,
    guess: Annotated[
        list[str] | None, typer.Option("--guess", help="Initial guess ID=VALUE for a state.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Find a steady state, its eigenvalues and whether it is stable."""

    def action() -> None:
        from immunetwin.engine import steady_state as find

        result = find(
            _load(model), parameters=_pairs(set_, "--set"), guess=_pairs(guess, "--guess")
        )
        payload = result.to_json()
        if as_json:
            typer.echo(json.dumps(payload))
        else:
            typer.echo(f"status: {payload['status']}  stable: {payload['stable']}")
            for id, value in result.state.items():
                typer.echo(f"  {id} = {value:.10g}")
            eig = ", ".join(f"{v.real:.4g}{v.imag:+.4g}j" for v in result.eigenvalues)
            typer.echo(f"eigenvalues: {eig}")
            if result.message:
                typer.echo(result.message)
        if result.status.value != "found":
            raise typer.Exit(1)

    run_action(action)


@app.command()
def ensemble(
    model: Annotated[str, typer.Argument(help=MODEL_HELP)],
    parameters: Annotated[
        Path, typer.Option("--parameters", help="CSV: one row per member, columns are ids.")
    ],
    end: Annotated[float, typer.Option("--end")],
    points: Annotated[int, typer.Option("--points")] = 101,
    start: Annotated[float, typer.Option("--start")] = 0.0,
    out: Annotated[Path, typer.Option("--out", help="Output .npz file.")] = Path("ensemble.npz"),
    rtol: Annotated[float, typer.Option(help="Relative tolerance.")] = 1e-8,
    atol: Annotated[float, typer.Option(help="Absolute tolerance.")] = 1e-10,
    solver: EnsembleSolverOption = "dopri",
) -> None:
    """Simulate one model for many parameter sets; write trajectories to an .npz file.

    The .npz holds: time (T,), ids (K,), values (N, T, K), status (N,), message (N,),
    parameter_ids (P,), parameters (N, P).
    """

    def action() -> None:
        import numpy as np

        from immunetwin.engine import read_parameter_table, simulate_ensemble

        ids, table = read_parameter_table(parameters)
        result = simulate_ensemble(
            _load(model),
            np.linspace(start, end, points),
            ids,
            table,
            solver=_solver(solver, rtol, atol, (*SOLVER_NAMES, "rodas")),
        )
        result.save(out)
        failures = [i for i, s in enumerate(result.status) if not s.ok]
        for i in failures:
            typer.echo(f"member {i}: {result.status[i].value}: {result.messages[i]}", err=True)
        typer.echo(f"{len(table) - len(failures)} succeeded, {len(failures)} failed -> {out}")
        if failures:
            raise typer.Exit(1)

    run_action(action)


@app.command()
def convert(
    source: Annotated[Path, typer.Argument(help="Input model (.xml/.sbml/.ant/.txt).")],
    target: Annotated[Path, typer.Argument(help="Output model; format from the extension.")],
) -> None:
    """Convert between SBML (L3V2 out) and Antimony."""

    def action() -> None:
        from immunetwin.formats import write_model

        write_model(_load(str(source)), target)
        typer.echo(f"wrote {target}")

    run_action(action)


@app.command()
def lint(model: Annotated[Path, typer.Argument(help="SBML or Antimony file.")]) -> None:
    """Report every validation issue; exit 1 on errors."""

    def action() -> None:
        from immunetwin.ir import Severity, validate

        issues = validate(_load(str(model)))
        for issue in issues:
            typer.echo(str(issue))
        typer.echo(f"{len(issues)} issue(s)")
        if any(i.severity >= Severity.ERROR for i in issues):
            raise typer.Exit(1)

    run_action(action)


@check_app.command("sbml-suite")
def sbml_suite(
    directory: Annotated[Path, typer.Argument(help="Folder of NNNNN case folders.")],
    cases: Annotated[Path | None, typer.Option("--cases", help="File listing case ids.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON per case.")] = False,
) -> None:
    """Run SBML Test Suite cases; the last line is 'N passed, M failed'."""

    def action() -> None:
        from immunetwin.check import read_case_list, run_suite

        names = read_case_list(cases) if cases is not None else None
        results = run_suite(directory, names)
        failed = [r for r in results if not r.passed]
        if as_json:
            typer.echo(
                json.dumps(
                    [
                        {
                            "case": r.case,
                            "passed": r.passed,
                            "reason": r.reason,
                            "seconds": r.seconds,
                        }
                        for r in results
                    ]
                )
            )
        for r in failed:
            typer.echo(f"FAILED {r.case}: {r.reason}")
        typer.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
        if failed:
            raise typer.Exit(1)

    run_action(action)


if __name__ == "__main__":  # pragma: no cover
    app()


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("demo-output"),
) -> None:
    """The main job end to end on bundled data: engine, catalogue, then a patient twin followed
    day by day (writes twin-report.html)."""

    def action() -> None:
        from immunetwin.demo import main as run_demo

        run_demo(["--out", str(out)])

    run_action(action)
