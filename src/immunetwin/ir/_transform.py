"""Pure transforms: each returns a new Model and leaves its input untouched."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from immunetwin.errors import UnknownIdentifierError
from immunetwin.ir._expr import Expr, rename
from immunetwin.ir._model import FunctionDefinition, Model, Reaction, UnitDefinition


def with_values(model: Model, values: Mapping[str, float]) -> Model:
    """Set parameter values, species initial values or compartment sizes by id.

    A species value is taken in the unit its math uses: a concentration unless the species has
    only substance units. An initial assignment to the same id is dropped (the explicit value
    wins); initial assignments and rules that *depend* on the id are kept, so they are
    re-evaluated from the new value.
    """
    remaining = dict(values)
    parameters = []
    for p in model.parameters:
        if p.id in remaining:
            p = dataclasses.replace(p, value=float(remaining.pop(p.id)))
        parameters.append(p)
    compartments = []
    for c in model.compartments:
        if c.id in remaining:
            c = dataclasses.replace(c, size=float(remaining.pop(c.id)))
        compartments.append(c)
    species = []
    for s in model.species:
        if s.id in remaining:
            value = float(remaining.pop(s.id))
            if s.has_only_substance_units:
                s = dataclasses.replace(s, initial_amount=value, initial_concentration=None)
            else:
                s = dataclasses.replace(s, initial_amount=None, initial_concentration=value)
        species.append(s)
    if remaining:
        known = sorted(p.id for p in model.parameters) + sorted(s.id for s in model.species)
        known += sorted(c.id for c in model.compartments)
        raise UnknownIdentifierError(
            f"cannot set {', '.join(sorted(remaining))}: expected the id of a parameter, species "
            f"or compartment of model '{model.id}' (known ids include: {', '.join(known[:15])})"
        )
    dropped = set(values)
    return model.replace(
        parameters=tuple(parameters),
        compartments=tuple(compartments),
        species=tuple(species),
        initial_assignments=tuple(a for a in model.initial_assignments if a.symbol not in dropped),
    )


def with_parameters(model: Model, values: Mapping[str, float]) -> Model:
    """Alias of :func:`with_values` kept for readability where only parameters change."""
    return with_values(model, values)


def rename_ids(model: Model, mapping: Mapping[str, str]) -> Model:
    """Rename identifiers everywhere (definitions, references and math).

    Scoping follows SBML: a reaction's local parameters shadow global ids in its kinetic law
    and a function's arguments shadow them in its body, so neither is renamed there. Unit
    definitions live in their own namespace and are left alone. The model id is kept.
    """

    def new(id: str) -> str:
        return mapping.get(id, id)

    def walk(value: object, scope: Mapping[str, str]) -> object:
        if isinstance(value, Expr):
            return rename(value, scope)
        if isinstance(value, tuple):
            return tuple(walk(v, scope) for v in value)
        if isinstance(value, UnitDefinition):
            return value
        if isinstance(value, Reaction):
            scope = _without(scope, {p.id for p in value.local_parameters})
        elif isinstance(value, FunctionDefinition):
            scope = _without(scope, set(value.arguments))
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes: dict[str, object] = {}
            for f in dataclasses.fields(value):
                item = getattr(value, f.name)
                if f.name in _ID_FIELDS and isinstance(item, str):
                    changes[f.name] = new(item)
                elif f.name == "modifiers":
                    changes[f.name] = tuple(new(m) for m in item)
                elif f.name in ("local_parameters", "arguments"):
                    changes[f.name] = item  # local scope: not renamed by global maps
                elif isinstance(item, (Expr, tuple)) or (
                    dataclasses.is_dataclass(item) and not isinstance(item, type)
                ):
                    changes[f.name] = walk(item, scope)
            return dataclasses.replace(value, **changes)
        return value

    result = walk(model, mapping)
    assert isinstance(result, Model)
    return result.replace(id=model.id)


_ID_FIELDS = frozenset({"id", "compartment", "species", "variable", "symbol"})


def _without(mapping: Mapping[str, str], shadowed: set[str]) -> Mapping[str, str]:
    if not shadowed & mapping.keys():
        return mapping
    return {k: v for k, v in mapping.items() if k not in shadowed}


def namespace(model: Model, prefix: str, keep: frozenset[str] = frozenset()) -> Model:
    """Prefix every global id with ``prefix + '_'`` except those in ``keep``."""
    ids = set(model.ids()) | {f.id for f in model.function_definitions}
    ids |= {e.id for e in model.events if e.id}
    return rename_ids(model, {i: f"{prefix}_{i}" for i in ids if i not in keep})
