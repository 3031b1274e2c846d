"""Composition specs (YAML): which modules, which wires, which parameter values.

::

    name: reynolds_composed
    modules:
      - library: reynolds.pathogen          # a reviewed library module
      - library: reynolds.phagocytes
      - catalog: BIOMD0000000714            # any catalogue model, with the ports declared
        name: full
        ports:
          - {name: P, target: P, role: state, unit: 1e6 / mL, term: immunetwin:pathogen-load}
      - file: my_module.ant                 # a model file (relative to the spec)
        name: mine
        ports: [...]
    wires:
      - [pathogen.P, phagocytes.P]          # source -> target
    parameters:
      pathogen.k_pg: 0.6

Wires may be omitted where ports match by ontology term.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from immunetwin.compose.assemble import Composition, Wire, assemble
from immunetwin.compose.module import Module, Port, Role, module
from immunetwin.errors import ImmuneTwinError, InvalidInputError


@dataclass(frozen=True, slots=True)
class Spec:
    name: str
    modules: tuple[Module, ...]
    wires: tuple[Wire, ...]
    parameters: Mapping[str, float]

    def assemble(self) -> Composition:
        return assemble(self.modules, self.wires, name=self.name, parameters=self.parameters)


def read_spec(path: str | os.PathLike[str]) -> Spec:
    """Read and resolve a YAML spec; every problem names the spec entry it is in."""
    import yaml

    source = Path(path)
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"'{source}' is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInputError(
            f"'{source}': expected a mapping with 'modules' (and optionally 'name', 'wires', "
            f"'parameters'), found {type(data).__name__}"
        )
    unknown = sorted(set(data) - {"name", "modules", "wires", "parameters"})
    if unknown:
        raise InvalidInputError(
            f"'{source}': unknown keys {unknown}; expected name, modules, wires, parameters"
        )
    entries = data.get("modules")
    if not isinstance(entries, list) or not entries:
        raise InvalidInputError(f"'{source}': 'modules' must be a non-empty list")
    modules = tuple(
        _module(entry, f"{source}: modules[{i}]", source.parent) for i, entry in enumerate(entries)
    )
    wires = tuple(_wire(w, f"{source}: wires[{i}]") for i, w in enumerate(data.get("wires") or []))
    parameters = data.get("parameters") or {}
    if not isinstance(parameters, dict) or not all(
        isinstance(k, str) and isinstance(v, int | float) for k, v in parameters.items()
    ):
        raise InvalidInputError(
            f"'{source}': 'parameters' must map 'module.id' to numbers, found {parameters!r}"
        )
    name = str(data.get("name") or source.stem)
    return Spec(name, modules, wires, {k: float(v) for k, v in parameters.items()})


def _module(entry: Any, where: str, base: Path) -> Module:
    if not isinstance(entry, dict):
        raise InvalidInputError(f"{where}: expected a mapping, found {entry!r}")
    kinds = [k for k in ("library", "catalog", "file") if k in entry]
    if len(kinds) != 1:
        raise InvalidInputError(
            f"{where}: give exactly one of 'library', 'catalog' or 'file', found {kinds or 'none'}"
        )
    kind = kinds[0]
    try:
        if kind == "library":
            from immunetwin.compose.library import library_module

            found = library_module(str(entry["library"]))
            if "ports" in entry:
                raise InvalidInputError(f"{where}: library modules declare their own ports")
            return dataclasses.replace(found, name=str(entry.get("name", found.name)))
        if "name" not in entry or "ports" not in entry:
            raise InvalidInputError(f"{where}: a {kind} module needs 'name' and 'ports'")
        ports = [_port(p, f"{where}.ports[{i}]") for i, p in enumerate(entry["ports"])]
        if kind == "catalog":
            from immunetwin.catalog import Catalog

            with Catalog.open() as catalog:
                model = catalog.model(str(entry["catalog"]))
            origin = f"catalogue entry {entry['catalog']}"
        else:
            from immunetwin.formats import read_model

            model = read_model(base / str(entry["file"]))
            origin = str(entry["file"])
        return module(str(entry["name"]), model, ports, citation=origin)
    except InvalidInputError:
        raise
    except ImmuneTwinError as exc:
        raise InvalidInputError(f"{where}: {exc}") from None


def _port(entry: Any, where: str) -> Port:
    if not isinstance(entry, dict) or not {"name", "target", "role"} <= set(entry):
        raise InvalidInputError(
            f"{where}: a port needs name, target and role (and optionally unit, term, "
            f"required), found {entry!r}"
        )
    roles = [r.value for r in Role]
    if entry["role"] not in roles:
        raise InvalidInputError(f"{where}: role must be one of {roles}, found {entry['role']!r}")
    return Port(
        name=str(entry["name"]),
        target=str(entry["target"]),
        role=Role(entry["role"]),
        unit=str(entry.get("unit", "dimensionless")),
        term=str(entry.get("term", "")),
        required=bool(entry.get("required", True)),
    )


def _wire(entry: Any, where: str) -> Wire:
    if isinstance(entry, Sequence) and not isinstance(entry, str) and len(entry) == 2:
        return Wire(str(entry[0]), str(entry[1]))
    if isinstance(entry, dict) and {"from", "to"} <= set(entry):
        return Wire(str(entry["from"]), str(entry["to"]))
    raise InvalidInputError(
        f"{where}: a wire is [source, target] or {{from: source, to: target}}, found {entry!r}"
    )
