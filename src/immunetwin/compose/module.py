"""Modules and ports: a model fragment (our IR) plus the quantities it shares.

A port names one id of the module's model and says what the module does with it:

- ``STATE``: the module owns the quantity (a species, a rate-rule or assignment-rule variable);
  other modules may read it or add fluxes to it;
- ``INPUT``: the module reads a quantity another module owns; ``target`` is a placeholder
  parameter (or species) in the module, replaced by the owner's quantity on assembly;
- ``FLUX``: the module's reactions change a quantity another module owns; ``target`` is a
  placeholder species whose reactions become reactions on the owner's species, so fluxes from
  several modules into one state add up;
- ``PARAMETER``: a parameter the module exposes to be set, or shared, by the composition.

Every port has a unit (a pint expression such as ``"1e6 / mL"``, ``"pg/mL"``,
``"dimensionless"``) and, where one fits, an ontology term (``CL:0000234``, ``CHEBI:...``,
``NCBITaxon:...``); ``immunetwin:`` terms are our own vocabulary where no ontology term fits.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

from immunetwin.errors import UnknownIdentifierError
from immunetwin.ir import Model


class Role(enum.StrEnum):
    STATE = "state"
    INPUT = "input"
    FLUX = "flux"
    PARAMETER = "parameter"


@dataclass(frozen=True, slots=True)
class Port:
    """One shared quantity of a module."""

    name: str
    target: str  # the id in the module's model
    role: Role
    unit: str = "dimensionless"
    term: str = ""  # ontology accession; "" when none is declared
    required: bool = True  # an INPUT/FLUX port that must be connected
    description: str = ""


@dataclass(frozen=True, slots=True)
class Module:
    """A model fragment plus its ports, with where it comes from."""

    name: str  # also the namespace of its ids in an assembled model
    model: Model
    ports: tuple[Port, ...]
    citation: str = ""
    version: str = "1"
    description: str = ""
    parameter_sources: tuple[tuple[str, str], ...] = field(default=())  # (parameter, source)

    def port(self, name: str) -> Port:
        for port in self.ports:
            if port.name == name:
                return port
        known = ", ".join(p.name for p in self.ports)
        raise UnknownIdentifierError(
            f"module '{self.name}' has no port '{name}'; its ports are: {known}"
        )

    def ports_with(self, *roles: Role) -> tuple[Port, ...]:
        return tuple(p for p in self.ports if p.role in roles)


def module(
    name: str,
    model: Model,
    ports: Sequence[Port],
    *,
    citation: str = "",
    version: str = "1",
    description: str = "",
    parameter_sources: Sequence[tuple[str, str]] = (),
) -> Module:
    """A module, after checking that every port names an id of the model and that port names
    are unique (mistakes here are the module author's, so they fail at once)."""
    ids = set(model.ids()) | {r.variable for r in model.assignment_rules}
    problems = [
        f"port '{p.name}' targets '{p.target}', which model '{model.id}' does not define"
        for p in ports
        if p.target not in ids
    ]
    names = [p.name for p in ports]
    problems += [f"port name '{n}' is used twice" for n in sorted(set(names)) if names.count(n) > 1]
    problems += [
        f"parameter source names '{p}', which model '{model.id}' does not define"
        for p, _ in parameter_sources
        if p not in ids
    ]
    if not name.isidentifier():
        problems.append(f"module name '{name}' must be an identifier (it prefixes the ids)")
    if problems:
        raise UnknownIdentifierError(f"module '{name}': " + "; ".join(problems))
    return Module(
        name, model, tuple(ports), citation, version, description, tuple(parameter_sources)
    )
