"""Hierarchical SBML export (SBML Level 3 ``comp``): one model definition per module, one
submodel each, and the wires as replacements.

For every owned quantity that another module reads or changes, the top model holds a proxy
that the owner replaces (``replacedBy``):

- a flux placeholder (a species) is replaced by the proxy species, so the module's reactions
  act on the owner's state after flattening;
- an input placeholder (a parameter) is replaced by a top-level parameter with the assignment
  rule ``placeholder := factor * proxy``, which carries the unit conversion of the port
  exactly (no reliance on ``conversionFactor`` semantics).

Values the composition set at assembly (``parameters={"module.id": value}``: a parameter
value, a species' initial amount or concentration, a compartment size) go the other way: a
top-level element carrying the new value replaces the module's element (``replacedElement``),
and a ``deletion`` removes the module's initial assignment to it, as the flat model drops it.
A wired owner whose value was changed is such an element, and still stands in for the wires.

libsbml's flattening converter turns the document back into one model; the tests check that
it simulates like the flat model :func:`immunetwin.compose.assemble` builds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import libsbml

from immunetwin.compose.assemble import Composition
from immunetwin.compose.module import Module
from immunetwin.errors import InvalidModelError
from immunetwin.formats import to_sbml_string
from immunetwin.ir import Compartment, Model, Parameter, Species


def to_sbml_comp(composition: Composition) -> str:
    """The composition as an SBML L3V2 document with the ``comp`` package (required)."""
    document = libsbml.SBMLDocument(libsbml.SBMLNamespaces(3, 2, "comp", 1))
    document.setPackageRequired("comp", True)
    package = document.getPlugin("comp")
    changed = _changed(composition)
    for module in composition.modules:
        source = libsbml.readSBMLFromString(to_sbml_string(module.model))
        _mark_dropped_initial_assignments(source.getModel(), module, changed)
        definition = libsbml.ModelDefinition(source.getModel())
        definition.setId(f"{module.name}_definition")
        _check(package.addModelDefinition(definition), f"model definition of {module.name}")
    top = document.createModel()
    top.setId(composition.model.id)
    top_plugin = top.getPlugin("comp")
    for module in composition.modules:
        submodel = top_plugin.createSubmodel()
        submodel.setId(module.name)
        submodel.setModelRef(f"{module.name}_definition")
    modules = {m.name: m for m in composition.modules}
    for connection in composition.connections:
        source_name, source_port = connection.source.split(".", 1)
        target_name, target_port = connection.target.split(".", 1)
        owner_module, reader = modules[source_name], modules[target_name]
        owner = owner_module.port(source_port).target
        placeholder = reader.port(target_port).target
        proxy = _stand_in(top, owner_module, owner, changed)
        if _is_species(reader, placeholder):
            element = top.getSpecies(proxy)
            if element is None or abs(connection.factor - 1.0) > 1e-15:
                raise InvalidModelError(
                    f"{connection.target} is a species placeholder wired to "
                    f"{connection.source}, which is not a species in the same unit; "
                    "hierarchical export needs a flux port on a species state"
                )
            _replaces(element, target_name, placeholder)
        else:
            reading = top.createParameter()
            reading.setId(f"{target_name}__{placeholder}")
            reading.setConstant(False)
            _replaces(reading, target_name, placeholder)
            rule = top.createAssignmentRule()
            rule.setVariable(reading.getId())
            rule.setMath(libsbml.parseL3Formula(f"{connection.factor!r} * {proxy}"))
    for module_name, id in changed:  # values changed on quantities no wire shares
        _stand_in(top, modules[module_name], id, changed)
    text: str = libsbml.writeSBMLToString(document)
    return text


Quantity = Parameter | Species | Compartment


def _changed(composition: Composition) -> dict[tuple[str, str], Quantity]:
    """The quantities whose value the composition changed (``parameters={"module.id": value}``
    at assembly: a parameter value, a species' initial amount or concentration, a compartment
    size), keyed by (module, id in the module), as the flat model holds them.

    A value set at assembly also drops the module's initial assignment to that id, so a module
    quantity whose initial assignment the flat model lacks counts as changed, too. Connected
    placeholders are not the composition's to set: their owners' values stand in for them."""
    modules = {m.name: m for m in composition.modules}
    placeholders = {
        (target, modules[target].port(port).target)
        for target, port in (c.target.split(".", 1) for c in composition.connections)
    }
    model = composition.model
    flat: dict[str, Quantity] = {q.id: q for q in _quantities(model)}
    assigned = {a.symbol for a in model.initial_assignments}
    changed: dict[tuple[str, str], Quantity] = {}
    for module in composition.modules:
        own = module.model
        dropped = {
            a.symbol for a in own.initial_assignments if f"{module.name}_{a.symbol}" not in assigned
        }
        for quantity in _quantities(own):
            chosen = flat.get(f"{module.name}_{quantity.id}")
            if (module.name, quantity.id) in placeholders or chosen is None:
                continue
            if _value(chosen) != _value(quantity) or quantity.id in dropped:
                changed[(module.name, quantity.id)] = chosen
    return changed


def _quantities(model: Model) -> list[Quantity]:
    return [*model.parameters, *model.species, *model.compartments]


def _value(quantity: Quantity) -> tuple[float | None, ...]:
    if isinstance(quantity, Species):
        return (quantity.initial_amount, quantity.initial_concentration)
    if isinstance(quantity, Parameter):
        return (quantity.value,)
    return (quantity.size,)


def _mark_dropped_initial_assignments(
    model: Any, module: Module, changed: Mapping[tuple[str, str], Quantity]
) -> None:
    """Give the module's initial assignments to changed quantities a metaid, so that the top
    model can delete them (the value the composition set wins, as in the flat model)."""
    for (module_name, id), _ in changed.items():
        if module_name != module.name:
            continue
        for i in range(model.getNumInitialAssignments()):
            assignment = model.getInitialAssignment(i)
            if assignment.getSymbol() == id:
                _check(assignment.setMetaId(_initial_metaid(module.name, id)), "metaid")


def _initial_metaid(module_name: str, id: str) -> str:
    return f"{module_name}__{id}__initial_assignment"


def flatten(text: str) -> str:
    """The comp document flattened by libsbml into plain SBML (for other tools, and tests)."""
    document = libsbml.readSBMLFromString(text)
    properties = libsbml.ConversionProperties()
    properties.addOption("flatten comp", True)
    properties.addOption("leave_ports", False)
    if document.convert(properties) != libsbml.LIBSBML_OPERATION_SUCCESS:
        errors = document.getErrorLog().toString()
        raise InvalidModelError(f"libsbml could not flatten the comp document: {errors[:400]}")
    flat: str = libsbml.writeSBMLToString(document)
    return flat


def _stand_in(
    top: Any, module: Module, id: str, changed: Mapping[tuple[str, str], Quantity]
) -> str:
    """The top-level element ``module__id`` for a module's quantity (created once).

    Where the composition changed the quantity's value, the top-level element carries that
    value and replaces the module's element (deleting the module's initial assignment to it);
    otherwise the module's element replaces the top-level one, which is only a handle for the
    wires. A species brings its compartment's stand-in along."""
    proxy = f"{module.name}__{id}"
    existing = top.getElementBySId(proxy)
    if existing is not None:
        return proxy
    chosen = changed.get((module.name, id))
    if _is_species(module, id):
        species = module.model.get_species(id)
        element = top.createSpecies()
        element.setCompartment(_stand_in(top, module, species.compartment, changed))
        element.setHasOnlySubstanceUnits(species.has_only_substance_units)
        element.setBoundaryCondition(species.boundary_condition)
        element.setConstant(species.constant)
        if isinstance(chosen, Species):
            if chosen.initial_amount is not None:
                element.setInitialAmount(float(chosen.initial_amount))
            elif chosen.initial_concentration is not None:
                element.setInitialConcentration(float(chosen.initial_concentration))
    elif any(c.id == id for c in module.model.compartments):
        compartment = next(c for c in module.model.compartments if c.id == id)
        element = top.createCompartment()
        element.setConstant(compartment.constant)
        if isinstance(chosen, Compartment):
            if chosen.size is not None:
                element.setSize(float(chosen.size))
            if chosen.spatial_dimensions is not None:
                element.setSpatialDimensions(float(chosen.spatial_dimensions))
    else:
        element = top.createParameter()
        if isinstance(chosen, Parameter):
            element.setConstant(chosen.constant)
            if chosen.value is not None:
                element.setValue(float(chosen.value))
        else:
            element.setConstant(False)
    element.setId(proxy)
    if chosen is None:
        _replaced_by(element, module.name, id)
        return proxy
    if chosen.name:
        element.setName(chosen.name)
    _replaces(element, module.name, id)
    if any(a.symbol == id for a in module.model.initial_assignments):
        deletion = top.getPlugin("comp").getSubmodel(module.name).createDeletion()
        deletion.setMetaIdRef(_initial_metaid(module.name, id))
    return proxy


def _is_species(module: Module, id: str) -> bool:
    return any(s.id == id for s in module.model.species)


def _replaced_by(element: Any, submodel: str, id: str) -> None:
    replaced_by = element.getPlugin("comp").createReplacedBy()
    replaced_by.setSubmodelRef(submodel)
    replaced_by.setIdRef(id)


def _replaces(element: Any, submodel: str, id: str) -> None:
    replaced = element.getPlugin("comp").createReplacedElement()
    replaced.setSubmodelRef(submodel)
    replaced.setIdRef(id)


def _check(status: int, what: str) -> None:
    if status != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise InvalidModelError(f"libsbml refused the {what} (status {status})")
