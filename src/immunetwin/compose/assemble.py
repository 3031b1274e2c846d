"""Wiring and assembly: modules + wires -> one flat IR model the engine compiles.

Every problem (unknown ports, unit or ontology mismatches, missing inputs, two owners of one
state, ambiguous automatic matches) is collected first and reported together in one
:class:`CompositionError` before anything is built. Assembly then namespaces each module's ids
with its name, replaces each connected placeholder by its owner's quantity (a rename when the
units agree, an assignment rule ``placeholder := factor * owner`` when they differ by a
factor) and concatenates the modules. Nothing is approximated: a composition of modules that
together hold a model's equations reproduces that model exactly.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from immunetwin.compose.module import Module, Port, Role
from immunetwin.compose.units import conversion_factor
from immunetwin.errors import CompositionError
from immunetwin.ir import (
    AssignmentRule,
    Model,
    Num,
    Op,
    Sym,
    namespace,
    rename_ids,
    with_values,
)
from immunetwin.ir._expr import Apply

RECORD_KEY = "immunetwin:composition"


@dataclass(frozen=True, slots=True)
class Wire:
    """``source`` ("module.port", a STATE or PARAMETER port) feeds ``target`` ("module.port",
    an INPUT, FLUX or PARAMETER port)."""

    source: str
    target: str


@dataclass(frozen=True, slots=True)
class Connection:
    """A resolved wire: values flow from the source port to the target port times ``factor``."""

    source: str
    target: str
    factor: float
    automatic: bool  # matched by ontology term, not wired by hand


@dataclass(frozen=True, slots=True)
class Composition:
    """The flat model plus the record of what built it."""

    model: Model
    modules: tuple[Module, ...]
    connections: tuple[Connection, ...]

    def record(self) -> dict[str, Any]:
        return {
            "model": self.model.id,
            "modules": [
                {"name": m.name, "version": m.version, "model": m.model.id, "citation": m.citation}
                for m in self.modules
            ],
            "connections": [dataclasses.asdict(c) for c in self.connections],
        }


def assemble(
    modules: Sequence[Module],
    wires: Sequence[Wire | tuple[str, str]] = (),
    *,
    name: str = "composed",
    parameters: Mapping[str, float] | None = None,
    automatic: bool = True,
) -> Composition:
    """Assemble ``modules`` joined by ``wires`` (plus, with ``automatic``, every unconnected
    input whose ontology term has exactly one owner). ``parameters`` sets values by
    "module.id". Raises :class:`CompositionError` listing every problem."""
    problems: list[str] = []
    by_name: dict[str, Module] = {}
    for m in modules:
        if m.name in by_name:
            problems.append(f"two modules are named '{m.name}'; module names must be unique")
        by_name[m.name] = m
    connections: dict[str, Connection] = {}
    wired: set[str] = set()  # targets of explicit wires, failed ones included
    for item in wires:
        wire = item if isinstance(item, Wire) else Wire(*item)
        wired.add(wire.target)
        found = _connect(by_name, wire.source, wire.target, problems, automatic=False)
        if found is None:
            continue
        if found.target in connections:
            problems.append(
                f"{found.target} is wired twice (from {connections[found.target].source} and "
                f"{found.source}); an input has one source"
            )
            continue
        connections[found.target] = found
    for m in modules:
        for port in m.ports_with(Role.INPUT, Role.FLUX):
            here = f"{m.name}.{port.name}"
            if here in connections or here in wired:
                continue
            owners = _owners(modules, m, port) if automatic and port.term else []
            if len(owners) == 1:
                found = _connect(by_name, owners[0], here, problems, automatic=True)
                if found is not None:
                    connections[here] = found
            elif len(owners) > 1:
                problems.append(
                    f"{here} ({port.term}) could come from {', '.join(owners)}: several modules "
                    "own that term; wire it explicitly"
                )
            elif port.required:
                term = f", {port.term}" if port.term else ""
                problems.append(
                    f"{here} ({port.role.value}, {port.unit}{term}) is not connected and no "
                    "module owns its term; wire it or make it optional"
                )
    problems += _time_unit_problems(modules)
    if problems:
        raise CompositionError(problems)
    model = _build(list(modules), list(connections.values()), name)
    if parameters:
        model = with_values(
            model, {key.replace(".", "_", 1): value for key, value in parameters.items()}
        )
    composition = Composition(model, tuple(modules), tuple(connections.values()))
    record = json.dumps(composition.record(), sort_keys=True)
    model = dataclasses.replace(model, metadata=(*model.metadata, (RECORD_KEY, record)))
    return dataclasses.replace(composition, model=model)


def _split(reference: str, by_name: Mapping[str, Module], problems: list[str]) -> Any:
    module_name, dot, port_name = reference.partition(".")
    if not dot:
        problems.append(f"'{reference}' is not 'module.port'")
        return None
    found = by_name.get(module_name)
    if found is None:
        problems.append(
            f"'{reference}': no module '{module_name}' (modules: {', '.join(sorted(by_name))})"
        )
        return None
    port = next((p for p in found.ports if p.name == port_name), None)
    if port is None:
        names = ", ".join(p.name for p in found.ports)
        problems.append(
            f"'{reference}': module '{module_name}' has no port '{port_name}' ({names})"
        )
        return None
    return found, port


def _connect(
    by_name: Mapping[str, Module],
    source: str,
    target: str,
    problems: list[str],
    *,
    automatic: bool,
) -> Connection | None:
    """Check one wire; append its problems and return None, or return the connection."""
    count = len(problems)
    ends = [_split(source, by_name, problems), _split(target, by_name, problems)]
    if ends[0] is None or ends[1] is None:
        return None
    (source_module, source_port), (target_module, target_port) = ends
    s: Port = source_port
    t: Port = target_port
    if s.role is Role.STATE and t.role is Role.STATE:
        problems.append(
            f"{source} and {target} both own their quantity (state ports): a state has one "
            "owner; make one of them an input or a flux port"
        )
    elif s.role not in (Role.STATE, Role.PARAMETER):
        problems.append(f"{source} is a {s.role.value} port; a wire starts at a state or parameter")
    elif t.role not in (Role.INPUT, Role.FLUX, Role.PARAMETER):
        problems.append(
            f"{target} is a {t.role.value} port; a wire ends at an input, flux or parameter"
        )
    if source_module is target_module:
        problems.append(f"{source} -> {target} wires a module to itself")
    if s.term and t.term and s.term != t.term:
        problems.append(f"ontology mismatch: {source} is {s.term} but {target} expects {t.term}")
    factor = conversion_factor(s.unit, t.unit)
    if isinstance(factor, str):
        problems.append(f"unit mismatch: {source} -> {target}: {factor}")
    elif t.role is Role.FLUX and abs(factor - 1.0) > 1e-12:
        problems.append(
            f"unit mismatch: {target} adds fluxes to {source} in '{t.unit}' but the state is in "
            f"'{s.unit}'; a flux port must use its state's unit"
        )
    elif t.role is Role.FLUX and target_port.target not in {
        sp.id for sp in target_module.model.species
    }:
        problems.append(f"{target} is a flux port, so its target must be a species placeholder")
    elif t.role is Role.FLUX and source_port.target not in {
        sp.id for sp in source_module.model.species
    }:
        problems.append(f"{source} receives fluxes from {target}, so it must be a species")
    if len(problems) > count or isinstance(factor, str):
        return None
    return Connection(source, target, float(factor), automatic)


def _owners(modules: Sequence[Module], reader: Module, port: Port) -> list[str]:
    return [
        f"{m.name}.{p.name}"
        for m in modules
        if m is not reader
        for p in m.ports_with(Role.STATE)
        if p.term == port.term
    ]


def _time_unit_problems(modules: Sequence[Module]) -> list[str]:
    seen: dict[tuple[object, ...], list[str]] = {}
    for m in modules:
        unit = m.model.time_units
        definition = next((u for u in m.model.unit_definitions if u.id == unit), None)
        key = (unit,) if definition is None else tuple(definition.units)
        seen.setdefault(key, []).append(m.name)
    if len(seen) <= 1:
        return []
    groups = "; ".join(f"{', '.join(names)}: {key}" for key, names in seen.items())
    return [f"modules use different time units ({groups}); convert them to one time unit"]


def _build(modules: list[Module], connections: list[Connection], name: str) -> Model:
    """Namespace, connect and concatenate (the wiring has been checked)."""
    incoming: dict[str, list[Connection]] = {}
    for c in connections:
        incoming.setdefault(c.target.split(".", 1)[0], []).append(c)
    parts = []
    owners = {m.name: m for m in modules}
    for m in modules:
        model = namespace(m.model, m.name)
        renames: dict[str, str] = {}
        rules: list[AssignmentRule] = []
        placeholders: set[str] = set()
        for c in incoming.get(m.name, []):
            source_module, source_port = c.source.split(".", 1)
            owner = f"{source_module}_{owners[source_module].port(source_port).target}"
            placeholder = f"{m.name}_{m.port(c.target.split('.', 1)[1]).target}"
            if c.factor == 1.0:
                renames[placeholder] = owner
                placeholders.add(owner)
            else:
                rules.append(
                    AssignmentRule(placeholder, Apply(Op.TIMES, (Num(c.factor), Sym(owner))))
                )
        model = rename_ids(model, renames)
        model = dataclasses.replace(
            model,
            species=tuple(s for s in model.species if s.id not in placeholders),
            parameters=tuple(
                dataclasses.replace(p, constant=False) if p.id in {r.variable for r in rules} else p
                for p in model.parameters
                if p.id not in placeholders
            ),
            compartments=tuple(c for c in model.compartments if c.id not in placeholders),
            assignment_rules=(*model.assignment_rules, *rules),
        )
        parts.append(model)
    first = parts[0]
    units = {u.id: u for part in parts for u in part.unit_definitions}
    return dataclasses.replace(
        first,
        id=name,
        name=name,
        compartments=tuple(c for part in parts for c in part.compartments),
        species=tuple(s for part in parts for s in part.species),
        parameters=tuple(p for part in parts for p in part.parameters),
        reactions=tuple(r for part in parts for r in part.reactions),
        function_definitions=tuple(f for part in parts for f in part.function_definitions),
        assignment_rules=tuple(r for part in parts for r in part.assignment_rules),
        rate_rules=tuple(r for part in parts for r in part.rate_rules),
        initial_assignments=tuple(i for part in parts for i in part.initial_assignments),
        events=tuple(e for part in parts for e in part.events),
        unit_definitions=tuple(units.values()),
        annotations=(),
        notes="",
        metadata=(),
    )
