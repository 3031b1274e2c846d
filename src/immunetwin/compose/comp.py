"""Hierarchical SBML export (SBML Level 3 ``comp``): one model definition per module, one
submodel each, and the wires as replacements.

For every owned quantity that another module reads or changes, the top model holds a proxy
that the owner replaces (``replacedBy``):

- a flux placeholder (a species) is replaced by the proxy species, so the module's reactions
  act on the owner's state after flattening;
- an input placeholder (a parameter) is replaced by a top-level parameter with the assignment
  rule ``placeholder := factor * proxy``, which carries the unit conversion of the port
  exactly (no reliance on ``conversionFactor`` semantics).

libsbml's flattening converter turns the document back into one model; the tests check that
it simulates like the flat model :func:`immunetwin.compose.assemble` builds.
"""

from __future__ import annotations

from typing import Any

import libsbml

from immunetwin.compose.assemble import Composition
from immunetwin.compose.module import Module
from immunetwin.errors import InvalidModelError
from immunetwin.formats import to_sbml_string


def to_sbml_comp(composition: Composition) -> str:
    """The composition as an SBML L3V2 document with the ``comp`` package (required)."""
    document = libsbml.SBMLDocument(libsbml.SBMLNamespaces(3, 2, "comp", 1))
    document.setPackageRequired("comp", True)
    package = document.getPlugin("comp")
    for module in composition.modules:
        source = libsbml.readSBMLFromString(to_sbml_string(module.model))
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
    proxies: dict[str, str] = {}
    for connection in composition.connections:
        source_name, source_port = connection.source.split(".", 1)
        target_name, target_port = connection.target.split(".", 1)
        owner_module, reader = modules[source_name], modules[target_name]
        owner = owner_module.port(source_port).target
        placeholder = reader.port(target_port).target
        proxy = proxies.get(connection.source)
        if proxy is None:
            proxy = proxies[connection.source] = _proxy(top, owner_module, owner)
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
    _overrides(top, composition)
    text: str = libsbml.writeSBMLToString(document)
    return text


def _overrides(top: Any, composition: Composition) -> None:
    """Values the composition set (``parameters={"module.id": value}``) replace the module
    definitions' values through top-level parameters."""
    flat = {p.id: p for p in composition.model.parameters}
    flat_species = {s.id: s for s in composition.model.species}
    for module in composition.modules:
        for parameter in module.model.parameters:
            chosen = flat.get(f"{module.name}_{parameter.id}")
            if chosen is None or chosen.value == parameter.value or not chosen.constant:
                continue
            if top.getParameter(f"{module.name}__{parameter.id}") is not None:
                continue
            element = top.createParameter()
            element.setId(f"{module.name}__{parameter.id}")
            element.setConstant(True)
            element.setValue(float(chosen.value if chosen.value is not None else 0.0))
            _replaces(element, module.name, parameter.id)
        for species in module.model.species:
            chosen_species = flat_species.get(f"{module.name}_{species.id}")
            if chosen_species is not None and (
                chosen_species.initial_amount,
                chosen_species.initial_concentration,
            ) != (species.initial_amount, species.initial_concentration):
                raise InvalidModelError(
                    f"the composition changes the initial value of {module.name}.{species.id}; "
                    "hierarchical export carries parameter values only: set the value in the "
                    "module, or export the flat model"
                )


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


def _proxy(top: Any, owner_module: Module, owner: str) -> str:
    """A top-level element the owner replaces (species need a compartment proxy, too)."""
    proxy = f"{owner_module.name}__{owner}"
    if _is_species(owner_module, owner):
        species = owner_module.model.get_species(owner)
        compartment = top.getCompartment(f"{owner_module.name}__{species.compartment}")
        if compartment is None:
            compartment = top.createCompartment()
            compartment.setId(f"{owner_module.name}__{species.compartment}")
            compartment.setConstant(True)
            _replaced_by(compartment, owner_module.name, species.compartment)
        element = top.createSpecies()
        element.setId(proxy)
        element.setCompartment(compartment.getId())
        element.setHasOnlySubstanceUnits(species.has_only_substance_units)
        element.setBoundaryCondition(species.boundary_condition)
        element.setConstant(species.constant)
    else:
        element = top.createParameter()
        element.setId(proxy)
        element.setConstant(False)
    _replaced_by(element, owner_module.name, owner)
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
