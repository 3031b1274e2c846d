"""``immunetwin twin ...``: patient twins from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from immunetwin.cli._common import fail, run_action

if TYPE_CHECKING:
    from immunetwin.twin.service import TwinService

twin_app = typer.Typer(
    help="Patient twins: create, assimilate, forecast, history.", no_args_is_help=True
)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Twin database: SQLAlchemy URL or SQLite file (IMMUNETWIN_TWIN_DB)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Random seed.")]


def _service(db: str | None) -> TwinService:
    from immunetwin.twin.service import TwinService
    from immunetwin.twin.store import TwinStore

    return TwinService(TwinStore.open(db))


def _echo(data: Any, as_json: bool, text: str) -> None:
    typer.echo(json.dumps(data) if as_json else text)


@twin_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="A name for the twin.")],
    model: Annotated[str, typer.Option("--model", help="Twin model (e.g. viral_pneumonia).")],
    patient: Annotated[Path, typer.Option("--patient", help="Patient data: CSV or FHIR JSON.")],
    size: Annotated[int, typer.Option("--size", min=20, help="Ensemble members.")] = 500,
    population: Annotated[
        Path | None,
        typer.Option("--population", help="Population prior (JSON of a fitted population)."),
    ] = None,
    seed: SeedOption = 0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a twin from a patient's first data (calibrated from the population prior)."""

    def action() -> None:
        from immunetwin.twin.service import read_timeline

        prior = None
        if population is not None:
            try:
                prior = json.loads(population.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                fail(f"{population} is not valid JSON: {exc}", 1)
        version = _service(db).create(
            name, model, read_timeline(patient), size=size, seed=seed, population=prior
        )
        data = {
            "twin": name,
            "version": version.version,
            "day": version.ensemble.time,
            "summary": version.summary,
            "method": version.method,
        }
        _echo(data, as_json, f"created twin '{name}' (version 1, day {version.ensemble.time:g})")

    run_action(action)


@twin_app.command("assimilate")
def assimilate(
    name: Annotated[str, typer.Argument(help="The twin.")],
    data: Annotated[Path, typer.Option("--data", help="New patient data: CSV or FHIR JSON.")],
    method: Annotated[str, typer.Option("--method", help="enkf or pf.")] = "enkf",
    seed: SeedOption = 0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Update a twin with new measurements (a new version; alerts if the data left the last
    forecast's 95% band)."""

    def action() -> None:
        from immunetwin.twin.service import read_timeline

        result = _service(db).assimilate(name, read_timeline(data), method=method, seed=seed)
        out = {
            "twin": name,
            "version": result.version.version,
            "day": result.version.ensemble.time,
            "assimilated": result.assimilated,
            "ignored": result.ignored,
            "alerts": result.alerts,
            "summary": result.version.summary,
        }
        text = (
            f"twin '{name}' version {out['version']} (day {out['day']:g}): "
            f"{result.assimilated} measurements assimilated"
        )
        for alert in result.alerts:
            text += (
                f"\nALERT: {alert['quantity']} = {alert['value']:.4g} on day {alert['day']:g} "
                f"is outside the last forecast's 95% band {alert['band95']}: {alert['advice']}"
            )
        _echo(out, as_json, text)

    run_action(action)


@twin_app.command("forecast")
def forecast(
    name: Annotated[str, typer.Argument(help="The twin.")],
    horizon: Annotated[float, typer.Option("--horizon", help="Days ahead.")],
    regimen: Annotated[
        Path | None, typer.Option("--regimen", help="Extra doses (YAML/JSON: a list of regimens).")
    ] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write a fan chart (PNG).")] = None,
    seed: SeedOption = 0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Forecast the measured quantities and outcome probabilities."""

    def action() -> None:
        regimens = _read_regimens(regimen) if regimen is not None else None
        forecast_id, result, version = _service(db).forecast(
            name, horizon, regimens=regimens, seed=seed
        )
        if plot is not None:
            from immunetwin.twin.report import fan_chart

            fan_chart(result, plot, title=f"twin '{name}' version {version.version}")
        data = {"forecast": forecast_id, "twin_version": version.version, **result.to_json()}
        lines = [f"forecast {forecast_id} from day {result.start:g} to day {result.time[-1]:g}:"]
        lines += [f"  P({key}) = {p:.2f}" for key, p in result.outcomes.items()]
        for key, q in result.quantities.items():
            low, high = result.band(key, 0.9)
            lines.append(
                f"  {key:<16} median at day {result.time[-1]:g}: {q.median[-1]:.4g} "
                f"(90% band {low[-1]:.4g}-{high[-1]:.4g})"
            )
        _echo(data, as_json, "\n".join(lines))

    run_action(action)


def _read_regimens(path: Path) -> list[Any]:
    import yaml

    from immunetwin.compose.dosing import regimen_from_dict

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        fail(f"{path} is not valid YAML/JSON: {exc}", 1)
    items = loaded.get("regimens", loaded) if isinstance(loaded, dict) else loaded
    if not isinstance(items, list):
        fail(f"{path} must hold a list of regimens (drug, amount, times, route)", 1)
    return [regimen_from_dict(item) for item in items]


@twin_app.command("optimise")
def optimise(
    name: Annotated[str, typer.Argument(help="The twin.")],
    drug: Annotated[list[str], typer.Option("--drug", help="Drug to consider (repeatable).")],
    constraints: Annotated[
        Path | None,
        typer.Option(
            "--constraints", help="YAML: per drug allowed_days, dose_scales, max_cumulative_dose."
        ),
    ] = None,
    horizon: Annotated[float, typer.Option("--horizon", help="Days ahead.")] = 14.0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Recommend a regimen: the lowest expected harm under the twin's posterior among the
    allowed options (stored, awaiting a person's approval)."""

    def action() -> None:
        import yaml

        limits: dict[str, Any] = {}
        if constraints is not None:
            limits = yaml.safe_load(constraints.read_text(encoding="utf-8")) or {}
            if not isinstance(limits, dict):
                fail(f"{constraints} must map drug ids to their constraints", 1)
        recommendation, results = _service(db).recommend(
            name, drug, constraints=limits, horizon=horizon
        )
        best = results[0]
        none = next(r for r in results if r.name == "no further treatment")
        data = {
            "recommendation": recommendation,
            "recommended": best.to_json(),
            "compared": [r.to_json() for r in results],
        }
        lines = [
            f"recommendation {recommendation} (awaiting approval: immunetwin twin approve "
            f"{name} {recommendation} --by NAME)",
            f"  best: {best.name}: expected harm {best.expected_harm:.4f} "
            f"(no further treatment {none.expected_harm:.4f}; better in "
            f"{best.beats_no_treatment:.0%} of posterior members)",
        ]
        lines += [f"  {r.name:<48} {r.expected_harm:.4f}" for r in results[:8]]
        _echo(data, as_json, "\n".join(lines))

    run_action(action)


@twin_app.command("approve")
def approve(
    name: Annotated[str, typer.Argument(help="The twin.")],
    recommendation: Annotated[int, typer.Argument(help="Recommendation id (see history).")],
    by: Annotated[str, typer.Option("--by", help="Who approves.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve a recommendation: recorded with who and when."""

    def action() -> None:
        done = _service(db).approve(name, recommendation, by)
        planned = (
            f"; its doses are in the record (version {done['version']})" if done["version"] else ""
        )
        _echo(
            done,
            as_json,
            f"recommendation {recommendation} approved by {done['approved_by']}{planned}",
        )

    run_action(action)


@twin_app.command("history")
def history(
    name: Annotated[str, typer.Argument(help="The twin.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every version, forecast, recommendation and approval of a twin."""

    def action() -> None:
        events = _service(db).store.history(name)
        lines = []
        for e in events:
            if e["event"] == "version":
                lines.append(
                    f"{e['at']}  version {e['version']}: {e['method']} "
                    f"({e['code_version']}); data {e['data']}"
                )
            elif e["event"] == "forecast":
                lines.append(
                    f"{e['at']}  forecast {e['id']} from version {e['version']}, "
                    f"{e['horizon']} days; outcomes {e['outcomes']}"
                )
            else:
                state = (
                    f"approved by {e['approved_by']} at {e['approved_at']}"
                    if e["approved_by"]
                    else "awaiting approval"
                )
                lines.append(f"{e['at']}  recommendation {e['id']}: {state}")
        _echo(events, as_json, "\n".join(lines))

    run_action(action)


@twin_app.command("list")
def list_twins(db: DbOption = None, as_json: JsonOption = False) -> None:
    """The twins in the record."""

    def action() -> None:
        rows = _service(db).store.names()
        text = "\n".join(
            f"{r['name']:<24} {r['model']:<20} patient {r['patient']:<16} "
            f"{r['versions']} version(s)"
            for r in rows
        )
        _echo(rows, as_json, text or "no twins yet")

    run_action(action)


def trial(
    spec: Annotated[Path, typer.Argument(help="Trial spec (YAML): model, patients, arms.")],
    as_json: JsonOption = False,
) -> None:
    """Run an in-silico trial: a virtual cohort from the population, every arm, outcome rates."""

    def action() -> None:
        import yaml

        from immunetwin.twin.service import twin_model
        from immunetwin.twin.trial import run_trial, spec_from_dict

        try:
            data = yaml.safe_load(spec.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            fail(f"{spec} is not valid YAML: {exc}", 1)
        parsed = spec_from_dict(data)
        result = run_trial(twin_model(parsed.model), parsed)
        lines = [
            f"{parsed.patients} virtual patients, {len(parsed.arms)} arms, {result.wall_s:.1f} s"
        ]
        for arm in result.arms:
            rates = ", ".join(
                f"{k} {v:.1%} ({arm.differences[k]:+.1%})" for k, v in arm.rates.items()
            )
            lines.append(f"  {arm.name:<36} {rates}")
        _echo(result.to_json(), as_json, "\n".join(lines))

    run_action(action)
