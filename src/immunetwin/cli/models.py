"""``immunetwin models ...``: the catalogue from the command line (thin over ``Catalog``).

JSON output is a contract (documented in docs/catalogue-json.md): scripts and the web service
read it, so keys are only ever added, never renamed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from immunetwin.cli._common import fail, run_action

models_app = typer.Typer(
    help="The catalogue of published immune models: list, search, show, import, export, check.",
    no_args_is_help=True,
)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Catalogue database: SQLAlchemy URL or SQLite file (default: IMMUNETWIN_DB, "
        "else catalog.sqlite in the user data folder).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (a stable contract).")]
CategoryOption = Annotated[
    str | None, typer.Option("--category", help="Only this category, e.g. inflammation-sepsis.")
]


def _open(db: str | None):  # type: ignore[no-untyped-def]
    from immunetwin.catalog import Catalog

    return Catalog.open(db)


def _summary(entry: Any) -> dict[str, Any]:
    return {
        "id": entry.id,
        "alias": entry.alias,
        "title": entry.title,
        "year": entry.citation.year,
        "category": entry.category.value,
        "curation_status": entry.curation_status.value,
        "version": entry.version,
    }


def _echo_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=None, sort_keys=False))


@models_app.command("list")
def list_models(
    category: CategoryOption = None, as_json: JsonOption = False, db: DbOption = None
) -> None:
    """List the current version of every entry."""

    def action() -> None:
        with _open(db) as catalog:
            entries = catalog.list(category=category)
        if as_json:
            _echo_json([_summary(e) for e in entries])
            return
        for e in entries:
            typer.echo(f"{e.id:<28} {e.alias:<26} {e.citation.year or '':<5} {e.title[:70]}")
        typer.echo(f"{len(entries)} model(s)")

    run_action(action)


@models_app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words, names or ontology ids (e.g. CL:0000625).")],
    category: CategoryOption = None,
    cell_type: Annotated[str | None, typer.Option("--cell-type", help="Cell type term.")] = None,
    molecule: Annotated[str | None, typer.Option("--molecule", help="Molecule term.")] = None,
    organism: Annotated[str | None, typer.Option("--organism", help="Organism term.")] = None,
    disease: Annotated[str | None, typer.Option("--disease", help="Disease term.")] = None,
    formalism: Annotated[str | None, typer.Option("--formalism", help="ode, boolean...")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="Curation status, e.g. reproduced, agrees.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Most hits to show.")] = 10,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Ranked full-text search with facet filters; tolerant of common typos."""
    if limit < 1:
        fail(f"--limit must be at least 1, got {limit}")

    def action() -> None:
        with _open(db) as catalog:
            hits = catalog.search(
                query,
                limit=limit,
                category=category,
                cell_type=cell_type,
                molecule=molecule,
                organism=organism,
                disease=disease,
                formalism=formalism,
                curation_status=status,
            )
        if as_json:
            _echo_json([hit.to_dict() for hit in hits])
            return
        for hit in hits:
            typer.echo(
                f"{hit.score:6.2f}  {hit.id:<28} {hit.alias:<26} {hit.year or '':<5} "
                f"{hit.title[:60]}"
            )
        if not hits:
            typer.echo("no matches")

    run_action(action)


@models_app.command()
def show(
    model: Annotated[str, typer.Argument(help="Catalogue id or alias.")],
    version: Annotated[int | None, typer.Option("--version", help="An older version.")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Everything about one entry: citation, terms, units, simulatability, curation."""

    def action() -> None:
        with _open(db) as catalog:
            entry = catalog.get(model, version)
            versions = [e.version for e in catalog.versions(entry.id)]
        if as_json:
            _echo_json({**entry.to_dict(), "versions": versions})
            return
        from immunetwin.cli._show import describe

        typer.echo(describe(entry, versions))

    run_action(action)


@models_app.command("import")
def import_models(
    path: Annotated[Path, typer.Argument(help="SBML, Antimony, OMEX file or a folder.")],
    alias: Annotated[str | None, typer.Option("--alias", help="Short readable name.")] = None,
    id: Annotated[str | None, typer.Option("--id", help="Entry id (default: from model).")] = None,
    no_check: Annotated[
        bool, typer.Option("--no-check", help="Skip the simulatability check.")
    ] = False,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Import user models (all or nothing); a changed model becomes a new version."""

    def action() -> None:
        with _open(db) as catalog:
            outcomes = catalog.import_path(path, alias=alias, id=id, check=not no_check)
        if as_json:
            _echo_json([o.to_dict() for o in outcomes])
            return
        for o in outcomes:
            typer.echo(
                f"{o.action}: {o.entry.id} (alias {o.entry.alias}, version {o.entry.version}, "
                f"{o.entry.curation_status.value}) from {o.source}"
            )

    run_action(action)


@models_app.command()
def export(
    model: Annotated[str, typer.Argument(help="Catalogue id or alias.")],
    fmt: Annotated[str, typer.Option("--format", help="sbml, antimony or omex.")],
    out: Annotated[Path, typer.Option("--out", help="Output file.")],
    db: DbOption = None,
) -> None:
    """Write an entry as SBML, Antimony, or an OMEX archive with a SED-ML time course."""
    from immunetwin.catalog.catalog import ExportFormat

    choices = [f.value for f in ExportFormat]
    if fmt not in choices:
        fail(f"--format expects one of {', '.join(choices)}, got '{fmt}'")

    def action() -> None:
        with _open(db) as catalog:
            target = catalog.export(model, ExportFormat(fmt), out)
        typer.echo(f"wrote {target}")

    run_action(action)


@models_app.command()
def check(
    models: Annotated[list[str] | None, typer.Argument(help="Ids or aliases.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Check every entry.")] = False,
    no_reference: Annotated[
        bool, typer.Option("--no-reference", help="Skip the libroadrunner comparison.")
    ] = False,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Re-run simulatability and reproduction checks; exit 1 if a reproduction fails."""
    if not models and not all_:
        fail("give model ids/aliases or --all")
    if models and all_:
        fail("give model ids/aliases or --all, not both")

    def action() -> None:
        with _open(db) as catalog:
            reports = catalog.check(None if all_ else models, with_reference=not no_reference)
        payload = [r.to_dict() for r in reports]
        if as_json:
            _echo_json(payload)
        else:
            for item in payload:
                verdict = "yes" if item["simulates"] else f"no ({item['reason']})"
                repro = ", ".join(f"{r['claim']}: {r['status']}" for r in item["reproductions"])
                typer.echo(
                    f"{item['id']:<28} simulates: {verdict}; agreement: {item['agreement']}"
                    + (f"; {repro}" if repro else "")
                )
            simulating = sum(1 for item in payload if item["simulates"])
            typer.echo(f"{simulating}/{len(payload)} simulate")
        failed = [
            r
            for item in payload
            for r in item["reproductions"]
            if r["status"] == "failed" and not r.get("documented_failure", False)
        ]
        if failed:
            raise typer.Exit(1)

    run_action(action)
