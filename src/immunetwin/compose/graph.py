"""The wiring of a composition as a graph: modules are nodes, connections are edges.

:func:`composition_graph` gives a :class:`networkx.MultiDiGraph` (a ``DiGraph`` with parallel
edges, as two modules may share several quantities) for analysis; :func:`write_svg` draws it
with matplotlib (no Graphviz needed): one box per module with its ports, one labelled arrow per
wire ("pathogen.P → phagocytes.P"), styled by what the wire does: a flux into a state, an input
read from a state, or a shared parameter.
"""

from __future__ import annotations

import errno
import io
import math
import os
from pathlib import Path
from typing import Any, Literal

import networkx as nx

from immunetwin.compose.assemble import Composition, Connection
from immunetwin.compose.module import Module, Role

ARROW = "→"

# how each kind of wire (the role of its target port) is drawn: colour, line style, legend text
_STYLES: dict[Role, tuple[str, Literal["solid", "dashed", "dotted"], str]] = {
    Role.FLUX: ("#c0392b", "solid", "flux: the target's reactions change the source's state"),
    Role.INPUT: ("#2471a3", "dashed", "input: the target reads the source's value"),
    Role.PARAMETER: ("#1e8449", "dotted", "shared parameter: the source sets the target"),
}


def wire_label(connection: Connection) -> str:
    """``"source.port → target.port"``, with the unit conversion factor when it is not 1."""
    label = f"{connection.source} {ARROW} {connection.target}"
    if connection.factor != 1.0:
        label += f" (×{connection.factor:g})"
    return label


def composition_graph(composition: Composition) -> nx.MultiDiGraph:
    """The composition's modules (nodes) and connections (edges, keyed by their label).

    Node attributes: ``module`` (the :class:`Module`), ``ports`` (its ports), ``model``,
    ``citation``, ``version``. Edge attributes: ``source`` and ``target`` ("module.port"),
    ``source_port`` and ``target_port``, ``role`` (the target port's :class:`Role`: ``FLUX``,
    ``INPUT`` or ``PARAMETER`` for a shared parameter), ``factor`` (the unit conversion),
    ``source_unit``, ``target_unit``, ``automatic`` (matched by ontology term) and ``label``.
    """
    graph = nx.MultiDiGraph(name=composition.model.id)
    modules = {m.name: m for m in composition.modules}
    for m in composition.modules:
        graph.add_node(
            m.name,
            module=m,
            ports=m.ports,
            model=m.model.id,
            citation=m.citation,
            version=m.version,
        )
    for c in composition.connections:
        source_module, source_port = c.source.split(".", 1)
        target_module, target_port = c.target.split(".", 1)
        source = modules[source_module].port(source_port)
        target = modules[target_module].port(target_port)
        label = wire_label(c)
        graph.add_edge(
            source_module,
            target_module,
            key=label,
            source=c.source,
            target=c.target,
            source_port=source_port,
            target_port=target_port,
            role=target.role,
            factor=c.factor,
            source_unit=source.unit,
            target_unit=target.unit,
            automatic=c.automatic,
            label=label,
        )
    return graph


def write_svg(composition: Composition, path: str | os.PathLike[str]) -> Path:
    """Draw the composition graph as an SVG file at ``path`` (returned).

    Text stays text (``<text>`` elements, searchable), and the file is replaced in one step:
    a failure leaves no half-written file behind."""
    target = Path(path)
    if not target.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "no such directory", str(target.parent))
    svg = render_svg(composition)
    # a sibling temporary (created with the usual permissions), then one rename
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(svg, encoding="utf-8")
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


def render_svg(composition: Composition) -> str:
    """The drawing :func:`write_svg` writes, as SVG text."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch

    graph = composition_graph(composition)
    positions = _layout(graph)
    side = 6.0 + 1.5 * max(0, graph.number_of_nodes() - 4)  # text is fixed in points
    figure = Figure(figsize=(side * 1.25, side))
    axis = figure.add_axes((0.0, 0.0, 1.0, 0.95))
    axis.set_axis_off()
    axis.set_aspect("equal")
    xs = [x for x, _ in positions.values()]
    ys = [y for _, y in positions.values()]
    axis.set_xlim(min(xs) - 0.45, max(xs) + 0.45)
    axis.set_ylim(min(ys) - 0.3, max(ys) + 0.3)
    boxes: dict[str, Any] = {}
    for name, data in graph.nodes(data=True):
        x, y = positions[name]
        text = axis.text(
            x,
            y,
            _node_text(data["module"]),
            ha="center",
            va="center",
            fontsize=8,
            family="DejaVu Sans",
            zorder=3,
            bbox={"boxstyle": "round,pad=0.5", "facecolor": "#f4f6f7", "edgecolor": "#34495e"},
        )
        boxes[name] = text
    for (u, v), keys in _edge_groups(graph).items():
        reverse = graph.has_edge(v, u)
        for i, key in enumerate(keys):
            data = graph.edges[u, v, key]
            colour, style, _ = _STYLES[data["role"]]
            rad = (0.2 if reverse else 0.06) + 0.16 * i
            (x1, y1), (x2, y2) = positions[u], positions[v]
            arrow = FancyArrowPatch(
                (x1, y1),
                (x2, y2),
                connectionstyle=f"arc3,rad={rad}",
                arrowstyle="-|>",
                mutation_scale=14,
                linewidth=2.0 if data["role"] is Role.FLUX else 1.5,
                linestyle=style,
                color=colour,
                patchA=boxes[u].get_bbox_patch(),
                patchB=boxes[v].get_bbox_patch(),
                shrinkA=2,
                shrinkB=2,
                zorder=3.5,  # after the boxes, which are sized as they are drawn
            )
            axis.add_patch(arrow)
            # the midpoint of the arc3 Bezier curve (exact with an equal aspect ratio)
            mx = (x1 + x2) / 2 + 0.5 * rad * (y2 - y1)
            my = (y1 + y2) / 2 - 0.5 * rad * (x2 - x1)
            angle = math.degrees(math.atan2(y2 - y1, x2 - x1))
            angle = angle - 180 if angle > 90 else angle + 180 if angle <= -90 else angle
            axis.text(
                mx,
                my,
                data["label"],
                ha="center",
                va="center",
                rotation=angle,
                rotation_mode="anchor",
                fontsize=7,
                color=colour,
                zorder=4,
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"},
            )
    handles = [
        Line2D([], [], color=colour, linestyle=style, linewidth=2.0, label=text)
        for colour, style, text in _STYLES.values()
    ]
    if any(c.factor != 1.0 for c in composition.connections):
        handles.append(
            Line2D([], [], linestyle="none", label="(×f): the port converts units by factor f")
        )
    axis.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        fontsize=8,
        frameon=False,
    )
    automatic = sum(1 for c in composition.connections if c.automatic)
    figure.suptitle(
        f"{composition.model.id}: {graph.number_of_nodes()} modules, "
        f"{graph.number_of_edges()} wires ({automatic} matched by ontology term)",
        fontsize=10,
    )
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "immunetwin"}):
        figure.savefig(
            buffer, format="svg", metadata={"Date": None}, bbox_inches="tight", pad_inches=0.2
        )
    return buffer.getvalue()


def _node_text(m: Module) -> str:
    lines = [m.name]
    for role in Role:
        names = [p.name for p in m.ports_with(role)]
        if names:
            lines.append(f"{role.value}: {', '.join(names)}")
    return "\n".join(lines)


def _edge_groups(graph: nx.MultiDiGraph) -> dict[tuple[str, str], list[str]]:
    groups: dict[tuple[str, str], list[str]] = {}
    for u, v, key in graph.edges(keys=True):
        groups.setdefault((u, v), []).append(key)
    return groups


def _layout(graph: nx.MultiDiGraph) -> dict[str, tuple[float, float]]:
    """Deterministic positions in [-1, 1]^2: a circle (Kamada-Kawai from a circle for larger
    compositions, so that closely wired modules sit together)."""
    nodes = list(graph.nodes)
    if len(nodes) == 1:
        return {nodes[0]: (0.0, 0.0)}
    if len(nodes) <= 6:
        start = nx.circular_layout(nodes)
        # a quarter turn, so that two or four modules do not sit on one horizontal line
        return {
            n: _rotate(float(p[0]), float(p[1]), math.pi / len(nodes)) for n, p in start.items()
        }
    simple = nx.Graph(graph.to_undirected())
    found = nx.kamada_kawai_layout(simple, pos=nx.circular_layout(nodes), scale=1.0)
    return {n: (float(p[0]), float(p[1])) for n, p in found.items()}


def _rotate(x: float, y: float, angle: float) -> tuple[float, float]:
    return (x * math.cos(angle) - y * math.sin(angle), x * math.sin(angle) + y * math.cos(angle))
