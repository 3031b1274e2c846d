"""``immunetwin compose`` and ``immunetwin modules``: composition from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from immunetwin.cli._common import fail, run_action

modules_app = typer.Typer(help="The reviewed module library.", no_args_is_help=True)


def _describe(module: Any) -> dict[str, Any]:
    return {
        "name": module.name,
        "version": module.version,
        "citation": module.citation,
        "description": module.description,
        "model": module.model.id,
        "ports": [
            {
                "name": p.name,
                "target": p.target,
                "role": p.role.value,
                "unit": p.unit,
                "term": p.term,
                "required": p.required,
                "description": p.description,
            }
            for p in module.ports
        ],
        "parameter_sources": [
            {"parameter": parameter, "source": source}
            for parameter, source in module.parameter_sources
        ],
    }


@modules_app.command("list")
def list_modules(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every library module with its ports."""

    def action() -> None:
        from immunetwin.compose.library import library_module, names

        described = [{"library": n, **_describe(library_module(n))} for n in names()]
        if as_json:
            typer.echo(json.dumps(described))
            return
        for item in described:
            ports = ", ".join(f"{p['name']}({p['role']})" for p in item["ports"])
            typer.echo(f"{item['library']:<24} {item['description'][:50]:<50} {ports}")

    run_action(action)


@modules_app.command("show")
def show_module(
    name: Annotated[str, typer.Argument(help="Library name, e.g. reynolds.pathogen.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One library module: citation, description, ports with units and terms."""

    def action() -> None:
        from immunetwin.compose.library import library_module

        item = {"library": name, **_describe(library_module(name))}
        if as_json:
            typer.echo(json.dumps(item))
            return
        typer.echo(f"{name}: {item['description']}\n  {item['citation']}")
        for p in item["ports"]:
            term = f" [{p['term']}]" if p["term"] else ""
            typer.echo(f"  {p['role']:<9} {p['name']:<10} -> {p['target']:<10} {p['unit']}{term}")
        if item["parameter_sources"]:
            typer.echo("  parameter sources:")
        for source in item["parameter_sources"]:
            typer.echo(f"    {source['parameter']:<10} {source['source']}")

    run_action(action)


def compose(
    spec: Annotated[Path, typer.Argument(help="Composition spec (YAML).")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the flat model.")] = None,
    comp: Annotated[
        Path | None,
        typer.Option("--comp", help="Also write hierarchical SBML (comp package)."),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Only validate; print every problem.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the composition record.")] = False,
    graph: Annotated[
        Path | None,
        typer.Option(
            "--graph",
            help="Also draw the modules and wires as an SVG (also with --check, if it assembles).",
        ),
    ] = None,
) -> None:
    """Assemble modules into one model; every wiring problem is reported together."""
    if not check and out is None and comp is None and graph is None and not as_json:
        fail(
            "give --out MODEL.xml (or .ant), --comp MODEL.xml, --graph GRAPH.svg, --check or --json"
        )
    if graph is not None and graph.suffix.lower() != ".svg":
        fail(f"--graph writes SVG, so give a path ending in .svg (got '{graph}')")

    def action() -> None:
        from immunetwin.compose.spec import read_spec
        from immunetwin.errors import CompositionError

        try:
            composition = read_spec(spec).assemble()
        except CompositionError as exc:
            for problem in exc.problems:
                typer.echo(f"problem: {problem}", err=True)
            fail(f"CompositionError: {len(exc.problems)} problem(s) in {spec}", 1)
        if out is not None:
            from immunetwin.formats import write_model

            write_model(composition.model, out)
        if comp is not None:
            from immunetwin.compose.comp import to_sbml_comp

            comp.write_text(to_sbml_comp(composition), encoding="utf-8")
            if not as_json:
                typer.echo(f"wrote {comp} (SBML comp)")
        if graph is not None:
            from immunetwin.compose.graph import write_svg

            write_svg(composition, graph)
            if not as_json:
                typer.echo(f"wrote {graph} (composition graph)")
        if as_json:
            typer.echo(json.dumps(composition.record()))
        elif check:
            typer.echo(
                f"ok: {len(composition.modules)} modules, {len(composition.connections)} "
                "connections, no problems"
            )
        if out is not None and not as_json:
            typer.echo(f"wrote {out}")

    run_action(action)
