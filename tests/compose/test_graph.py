"""The composition graph: its nodes and edges are the modules and connections, and the SVG
drawing is valid XML that names every module and labels every wire."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pytest

from immunetwin.compose import Composition, Port, Role, assemble, module
from immunetwin.compose.graph import composition_graph, render_svg, wire_label, write_svg
from immunetwin.compose.spec import read_spec
from immunetwin.formats import read_antimony

ROOT = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"
OWNER = """
model owner
  compartment c = 1;
  species X in c = 2;
  J: X => ; k*X
  k = 0.5;
end
"""
READER = """
model reader
  compartment c = 1;
  species Y in c = 0;
  X = 0;
  J: => Y; a*X
  a = 1;
end
"""


@pytest.fixture(scope="module")
def reynolds() -> Composition:
    return read_spec(ROOT / "examples" / "reynolds2006.yaml").assemble()


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return ["".join(element.itertext()) for element in root.iter(f"{SVG}text")]


def test_nodes_and_edges_are_the_modules_and_connections(reynolds: Composition) -> None:
    graph = composition_graph(reynolds)
    assert isinstance(graph, nx.DiGraph)
    assert list(graph.nodes) == ["pathogen", "phagocytes", "damage", "mediator"]
    for m in reynolds.modules:
        assert graph.nodes[m.name]["ports"] == m.ports
        assert graph.nodes[m.name]["model"] == m.model.id
    edges = {(data["source"], data["target"]) for _, _, data in graph.edges(data=True)}
    assert edges == {(c.source, c.target) for c in reynolds.connections}
    assert graph.number_of_edges() == len(reynolds.connections) == 6
    flux = graph.edges["pathogen", "phagocytes", "pathogen.P → phagocytes.P"]
    assert (flux["source_port"], flux["target_port"], flux["role"]) == ("P", "P", Role.FLUX)
    assert flux["factor"] == 1.0 and flux["automatic"]
    roles = {data["target"]: data["role"] for _, _, data in graph.edges(data=True)}
    assert roles["damage.f_Nstar"] is Role.INPUT and roles["mediator.D"] is Role.INPUT


def test_shared_parameters_and_unit_conversions_are_labelled() -> None:
    owner = module(
        "owner",
        read_antimony(OWNER),
        [Port("X", "X", Role.STATE, "1e6 / mL", "CL:0000235"), Port("k", "k", Role.PARAMETER)],
    )
    reader = module(
        "reader",
        read_antimony(READER),
        [Port("X", "X", Role.INPUT, "1 / mL", "CL:0000235"), Port("a", "a", Role.PARAMETER)],
    )
    composition = assemble([owner, reader], [("owner.k", "reader.a")])
    graph = composition_graph(composition)
    [converted] = [c for c in composition.connections if c.target == "reader.X"]
    assert wire_label(converted) == "owner.X → reader.X (×1e+06)"
    edge = graph.edges["owner", "reader", wire_label(converted)]
    assert edge["factor"] == pytest.approx(1e6)
    assert (edge["source_unit"], edge["target_unit"]) == ("1e6 / mL", "1 / mL")
    assert graph.edges["owner", "reader", "owner.k → reader.a"]["role"] is Role.PARAMETER
    texts = _texts(render_svg(composition))
    assert {"owner.X → reader.X (×1e+06)", "owner.k → reader.a"} <= set(texts)
    assert any("shared parameter" in t for t in texts) and any("(×f)" in t for t in texts)


def test_the_svg_names_every_module_and_labels_every_wire(
    reynolds: Composition, tmp_path: Path
) -> None:
    path = write_svg(reynolds, tmp_path / "reynolds.svg")
    svg = path.read_text(encoding="utf-8")
    texts = _texts(svg)
    assert {m.name for m in reynolds.modules} <= set(texts)
    assert {wire_label(c) for c in reynolds.connections} <= set(texts)
    assert "pathogen.P → phagocytes.P" in texts
    assert any(t.startswith("flux:") for t in texts) and any(t.startswith("input:") for t in texts)
    # flux wires are solid red, inputs dashed blue (the legend shows both)
    assert "#c0392b" in svg and "#2471a3" in svg and "stroke-dasharray" in svg
    assert [p.name for p in tmp_path.iterdir()] == ["reynolds.svg"]  # no temporary left
    assert render_svg(reynolds) == svg  # deterministic: no date, fixed ids


def test_an_unwritable_path_leaves_nothing(reynolds: Composition, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_svg(reynolds, tmp_path / "missing" / "graph.svg")
    assert list(tmp_path.iterdir()) == []
