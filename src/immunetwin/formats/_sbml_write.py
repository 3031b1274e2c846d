"""Write the IR as SBML Level 3 Version 2 (python-libsbml)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import quoteattr

import libsbml

from immunetwin.errors import InvalidModelError
from immunetwin.formats._mathml import lambda_ast, to_ast
from immunetwin.ir import Annotation, Event, Expr, Model, Parameter, Reaction, Species, Unit

_LEVEL, _VERSION = 3, 2
_RDF_NAMESPACES = (
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns:bqbiol="http://biomodels.net/biology-qualifiers/" '
    'xmlns:bqmodel="http://biomodels.net/model-qualifiers/"'
)


def write_sbml(model: Model, path: str | os.PathLike[str]) -> None:
    """Write ``model`` to ``path`` as an SBML L3V2 document (UTF-8)."""
    Path(path).write_text(to_sbml_string(model), encoding="utf-8")


def to_sbml_string(model: Model) -> str:
    """The SBML L3V2 document for ``model``, as a string.

    Raises ``InvalidModelError`` when an element cannot be represented (e.g. an id that is
    not a valid SBML SId, an unknown unit kind or annotation qualifier).
    """
    document = _Writer(model).document
    text = libsbml.writeSBMLToString(document)
    if not text:
        raise InvalidModelError(f"libsbml could not serialize model '{model.id}'")
    return str(text)


class _Writer:
    """Builds one SBMLDocument from one Model; used once, then discarded."""

    def __init__(self, model: Model) -> None:
        self.document = libsbml.SBMLDocument(_LEVEL, _VERSION)
        self._metaids: set[str] = set()
        m = self.document.createModel()
        self._model(m, model)

    # ---------------------------------------------------------------------------- helpers
    def _ok(self, code: int, element: str, what: str) -> None:
        if code != libsbml.LIBSBML_OPERATION_SUCCESS:
            reason = libsbml.OperationReturnValue_toString(code)
            raise InvalidModelError(f"cannot write {what} of '{element}' as SBML: {reason}")

    def _set(self, element: libsbml.SBase, owner: str, **attributes: object) -> None:
        """Call ``element.setX(value)`` for each ``X=value`` given, checking the result."""
        for name, value in attributes.items():
            setter: Callable[[object], int] = getattr(element, "set" + name)
            self._ok(setter(value), owner, f"the attribute '{name}' ({value!r})")

    def _common(
        self,
        element: libsbml.SBase,
        id: str,
        name: str = "",
        annotations: tuple[Annotation, ...] = (),
        notes: str = "",
    ) -> None:
        if name:
            self._set(element, id, Name=name)
        if annotations:
            self._annotate(element, id, annotations)
        if notes:
            self._notes(element, id, notes)

    def _metaid(self, element: libsbml.SBase, id: str) -> None:
        base = f"meta_{id}" if id else "meta"
        metaid, n = base, 1
        while metaid in self._metaids:
            metaid, n = f"{base}_{n}", n + 1
        self._metaids.add(metaid)
        self._set(element, id, MetaId=metaid)

    def _annotate(
        self, element: libsbml.SBase, id: str, annotations: tuple[Annotation, ...]
    ) -> None:
        """Write MIRIAM CVTerms as RDF; consecutive annotations with one qualifier share a bag.

        The RDF is written as text because ``SBase.addCVTerm`` silently drops a resource that
        another term already holds, even under a different qualifier.
        """
        if not element.isSetMetaId():
            self._metaid(element, id)
        groups: list[tuple[str, list[str]]] = []
        for a in annotations:
            _check_qualifier(a.qualifier, id)
            if groups and groups[-1][0] == a.qualifier:
                groups[-1][1].append(a.uri)
            else:
                groups.append((a.qualifier, [a.uri]))
        terms = "".join(
            f"<{qualifier}><rdf:Bag>"
            + "".join(f"<rdf:li rdf:resource={quoteattr(uri)}/>" for uri in uris)
            + f"</rdf:Bag></{qualifier}>"
            for qualifier, uris in groups
        )
        about = quoteattr("#" + element.getMetaId())
        rdf = (
            f"<annotation><rdf:RDF {_RDF_NAMESPACES}>"
            f"<rdf:Description rdf:about={about}>{terms}</rdf:Description>"
            "</rdf:RDF></annotation>"
        )
        self._ok(element.setAnnotation(rdf), id, "the annotations")

    def _notes(self, element: libsbml.SBase, id: str, notes: str) -> None:
        code = element.setNotes(notes)
        if code != libsbml.LIBSBML_OPERATION_SUCCESS:
            # not XHTML (possible in Level 1/2 files): wrap it so that L3 accepts it
            code = element.setNotes(notes, True)
        self._ok(code, id, "the notes")

    def _math(self, element: libsbml.SBase, expr: Expr, owner: str) -> None:
        self._ok(element.setMath(to_ast(expr, owner)), owner, "the math")

    # ---------------------------------------------------------------------------- model
    def _model(self, m: libsbml.Model, model: Model) -> None:
        self._set(m, model.id, Id=model.id)
        self._common(m, model.id, model.name, model.annotations, model.notes)
        for attribute, value in (
            ("TimeUnits", model.time_units),
            ("SubstanceUnits", model.substance_units),
            ("VolumeUnits", model.volume_units),
        ):
            if value:
                self._set(m, model.id, **{attribute: value})
        for f in model.function_definitions:
            fd = m.createFunctionDefinition()
            self._set(fd, f.id, Id=f.id)
            self._common(fd, f.id, f.name)
            self._ok(fd.setMath(lambda_ast(f.arguments, f.body, f.id)), f.id, "the lambda")
        for u in model.unit_definitions:
            self._unit_definition(m, u.id, u.name, u.units)
        for c in model.compartments:
            comp = m.createCompartment()
            self._set(comp, c.id, Id=c.id, Constant=c.constant)
            if c.size is not None:
                self._set(comp, c.id, Size=c.size)
            if c.spatial_dimensions is not None:
                self._set(comp, c.id, SpatialDimensions=float(c.spatial_dimensions))
            if c.units:
                self._set(comp, c.id, Units=c.units)
            self._common(comp, c.id, c.name, c.annotations, c.notes)
        for s in model.species:
            self._species(m, s)
        for p in model.parameters:
            self._parameter(m.createParameter(), p, local=False)
        for ia in model.initial_assignments:
            item = m.createInitialAssignment()
            self._set(item, ia.symbol, Symbol=ia.symbol)
            self._math(item, ia.math, ia.symbol)
        for ar in model.assignment_rules:
            rule = m.createAssignmentRule()
            self._set(rule, ar.variable, Variable=ar.variable)
            self._math(rule, ar.math, ar.variable)
        for rr in model.rate_rules:
            rule = m.createRateRule()
            self._set(rule, rr.variable, Variable=rr.variable)
            self._math(rule, rr.math, rr.variable)
        for r in model.reactions:
            self._reaction(m, r)
        for e in model.events:
            self._event(m, e)

    def _unit_definition(
        self, m: libsbml.Model, id: str, name: str, units: tuple[Unit, ...]
    ) -> None:
        ud = m.createUnitDefinition()
        self._set(ud, id, Id=id)
        self._common(ud, id, name)
        for u in units:
            kind = libsbml.UnitKind_forName(u.kind)
            if kind == libsbml.UNIT_KIND_INVALID or not libsbml.UnitKind_isValidUnitKindString(
                u.kind, _LEVEL, _VERSION
            ):
                raise InvalidModelError(
                    f"unit definition '{id}' uses unit kind '{u.kind}', which SBML L3V2 does "
                    "not define; use an SBML base unit such as 'mole', 'litre' or 'second'"
                )
            unit = ud.createUnit()
            self._set(
                unit,
                id,
                Kind=kind,
                Exponent=float(u.exponent),
                Scale=int(u.scale),
                Multiplier=float(u.multiplier),
            )

    def _species(self, m: libsbml.Model, s: Species) -> None:
        if s.initial_amount is not None and s.initial_concentration is not None:
            raise InvalidModelError(
                f"species '{s.id}' has both an initial amount and an initial concentration; "
                "SBML allows one of them: set the other to None"
            )
        sp = m.createSpecies()
        self._set(
            sp,
            s.id,
            Id=s.id,
            Compartment=s.compartment,
            HasOnlySubstanceUnits=s.has_only_substance_units,
            BoundaryCondition=s.boundary_condition,
            Constant=s.constant,
        )
        if s.initial_amount is not None:
            self._set(sp, s.id, InitialAmount=s.initial_amount)
        if s.initial_concentration is not None:
            self._set(sp, s.id, InitialConcentration=s.initial_concentration)
        if s.units:
            self._set(sp, s.id, SubstanceUnits=s.units)
        self._common(sp, s.id, s.name, s.annotations, s.notes)

    def _parameter(self, item: libsbml.SBase, p: Parameter, local: bool) -> None:
        self._set(item, p.id, Id=p.id)
        if not local:
            self._set(item, p.id, Constant=p.constant)
        if p.value is not None:
            self._set(item, p.id, Value=p.value)
        if p.units:
            self._set(item, p.id, Units=p.units)
        self._common(item, p.id, p.name, p.annotations, p.notes)

    def _reaction(self, m: libsbml.Model, r: Reaction) -> None:
        reaction = m.createReaction()
        self._set(reaction, r.id, Id=r.id, Reversible=r.reversible)
        for refs, create in (
            (r.reactants, reaction.createReactant),
            (r.products, reaction.createProduct),
        ):
            for ref in refs:
                sr = create()
                self._set(
                    sr, r.id, Species=ref.species, Stoichiometry=ref.stoichiometry, Constant=True
                )
        for modifier in r.modifiers:
            self._set(reaction.createModifier(), r.id, Species=modifier)
        if r.kinetic_law is not None or r.local_parameters:
            law = reaction.createKineticLaw()
            if r.kinetic_law is not None:
                self._math(law, r.kinetic_law, r.id)
            for p in r.local_parameters:
                self._parameter(law.createLocalParameter(), p, local=True)
        self._common(reaction, r.id, r.name, r.annotations, r.notes)

    def _event(self, m: libsbml.Model, e: Event) -> None:
        event = m.createEvent()
        self._set(event, e.id, Id=e.id, UseValuesFromTriggerTime=e.use_values_from_trigger_time)
        self._common(event, e.id, e.name)
        trigger = event.createTrigger()
        self._set(trigger, e.id, InitialValue=e.initial_value, Persistent=e.persistent)
        self._math(trigger, e.trigger, e.id)
        if e.delay is not None:
            self._math(event.createDelay(), e.delay, e.id)
        if e.priority is not None:
            self._math(event.createPriority(), e.priority, e.id)
        for a in e.assignments:
            ea = event.createEventAssignment()
            self._set(ea, e.id, Variable=a.variable)
            self._math(ea, a.math, e.id)


def _check_qualifier(qualifier: str, element: str) -> None:
    prefix, _, name = qualifier.partition(":")
    if prefix == "bqbiol" and libsbml.BiolQualifierType_fromString(name) != libsbml.BQB_UNKNOWN:
        return
    if prefix == "bqmodel" and libsbml.ModelQualifierType_fromString(name) != libsbml.BQM_UNKNOWN:
        return
    raise InvalidModelError(
        f"element '{element}' has annotation qualifier '{qualifier}'; expected a MIRIAM "
        "qualifier such as 'bqbiol:is' or 'bqmodel:isDescribedBy'"
    )
