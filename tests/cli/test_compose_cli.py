"""``immunetwin compose`` and ``immunetwin modules`` through the real console script."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from test_cli import immunetwin, read_csv

ROOT = Path(__file__).resolve().parents[2]

READER = """
model reader
  compartment c = 1;
  species Y in c = 0;
  X = 0;
  J: => Y; a*X
  a = 1;
end
"""


def test_modules_list_and_show() -> None:
    listed = json.loads(immunetwin("modules", "list", "--json").stdout)
    names = {m["library"] for m in listed}
    assert {"reynolds.pathogen", "reynolds.phagocytes"} <= names
    shown = json.loads(immunetwin("modules", "show", "reynolds.damage", "--json").stdout)
    assert {p["role"] for p in shown["ports"]} == {"state", "input"}
    assert "Reynolds" in shown["citation"]
    il6 = json.loads(immunetwin("modules", "show", "cytokine.il6", "--json").stdout)
    sources = {s["parameter"]: s["source"] for s in il6["parameter_sources"]}
    assert "Del Valle" in sources["IL6_0"]
    missing = immunetwin("modules", "show", "nope", check=False)
    assert missing.returncode == 1 and "reynolds.pathogen" in missing.stderr


def test_compose_writes_a_model_that_simulates(tmp_path: Path) -> None:
    out = tmp_path / "reynolds.xml"
    immunetwin("compose", ROOT / "examples" / "reynolds2006.yaml", "--out", out)
    header, values = read_csv(immunetwin("simulate", out, "--end", "3000", "--points", "2").stdout)
    assert header[:2] == ["time", "pathogen_P"]
    assert abs(values[-1, 1] - 4.94) < 0.005  # septic death, as the spec's k_pg = 0.6 says
    comp = tmp_path / "reynolds-comp.xml"
    immunetwin("compose", ROOT / "examples" / "reynolds2006.yaml", "--comp", comp)
    assert 'comp:required="true"' in comp.read_text()
    record = json.loads(
        immunetwin("compose", ROOT / "examples" / "reynolds2006.yaml", "--json").stdout
    )
    assert len(record["connections"]) == 6


def test_compose_draws_the_graph_with_check_and_json(tmp_path: Path) -> None:
    spec = ROOT / "examples" / "reynolds2006.yaml"
    graph = tmp_path / "reynolds.svg"
    checked = immunetwin("compose", spec, "--check", "--graph", graph)
    assert "ok: 4 modules, 6 connections" in checked.stdout
    assert f"wrote {graph}" in checked.stdout
    texts = {
        "".join(t.itertext())
        for t in ET.parse(graph).getroot().iter("{http://www.w3.org/2000/svg}text")
    }
    assert {"pathogen", "phagocytes", "damage", "mediator", "pathogen.P → phagocytes.P"} <= texts
    graph.unlink()
    out = tmp_path / "reynolds.ant"
    record = json.loads(
        immunetwin("compose", spec, "--json", "--graph", graph, "--out", out).stdout
    )
    assert len(record["connections"]) == 6 and graph.is_file() and out.is_file()
    wrong = immunetwin("compose", spec, "--graph", tmp_path / "g.png", check=False)
    assert wrong.returncode == 2 and "ending in .svg" in wrong.stderr


def test_check_reports_every_problem_with_module_and_port(tmp_path: Path) -> None:
    (tmp_path / "reader.ant").write_text(READER)
    spec = tmp_path / "bad.yaml"
    spec.write_text(
        """
modules:
  - library: reynolds.pathogen
  - library: reynolds.damage
  - file: reader.ant
    name: reader
    ports:
      - {name: X, target: X, role: input, unit: pg/mL, term: immunetwin:pathogen-load}
wires:
  - [pathogen.P, reader.X]
"""
    )
    graph = tmp_path / "bad.svg"
    result = immunetwin("compose", spec, "--check", "--graph", graph, check=False)
    assert result.returncode == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "reader.ant"]  # no graph
    problems = [line for line in result.stderr.splitlines() if line.startswith("problem:")]
    text = "\n".join(problems)
    assert "unit mismatch: pathogen.P -> reader.X" in text
    assert "damage.f_Nstar" in text and "not connected" in text
    assert "CompositionError: 2 problem(s)" in result.stderr
