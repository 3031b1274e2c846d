"""Read SBML Level 1-3 into the IR (python-libsbml)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from xml.parsers import expat

import libsbml

from immunetwin.errors import (
    InvalidModelError,
    ModelReadError,
    UnknownIdentifierError,
    UnsupportedFeatureError,
)
from immunetwin.formats._mathml import from_ast, lambda_parts
from immunetwin.ir import (
    Annotation,
    AssignmentRule,
    Compartment,
    Event,
    EventAssignment,
    Expr,
    FunctionDefinition,
    InitialAssignment,
    Model,
    Num,
    Parameter,
    RateRule,
    Reaction,
    Severity,
    Species,
    SpeciesReference,
    Unit,
    UnitDefinition,
    substitute,
    validate,
)

_MAX_BYTES = 200 * 1024 * 1024  # refuse files that cannot be a sensible model


def read_sbml(source: str | os.PathLike[str]) -> Model:
    """Read an SBML file (any level/version) into the IR.

    Raises ``ModelReadError`` for unreadable XML, ``InvalidModelError`` for a model that
    libsbml or our validation rejects, and ``UnsupportedFeatureError`` for constructs the
    engine does not support (naming the construct and the element).
    """
    path = Path(source)
    if not path.is_file():
        raise ModelReadError(f"no SBML file at '{path}': expected an existing .xml/.sbml file")
    size = path.stat().st_size
    if size > _MAX_BYTES:
        raise ModelReadError(
            f"'{path}' is {size} bytes; SBML models above {_MAX_BYTES} are refused"
        )
    data = path.read_bytes()
    return read_sbml_string(data, origin=str(path))


def read_sbml_string(data: str | bytes, origin: str = "<string>") -> Model:
    """Read SBML from a string or bytes."""
    if isinstance(data, bytes):
        if b"\x00" in data[:4096]:
            raise ModelReadError(
                f"{origin} is binary data, not SBML: expected an XML document starting with "
                "'<?xml' or '<sbml'"
            )
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ModelReadError(
                f"{origin} is not UTF-8 text ({exc}); SBML must be an XML document"
            ) from None
    else:
        text = data
    if not text.strip():
        raise ModelReadError(f"{origin} is empty: expected an SBML document (<sbml ...>)")
    if "<sbml" not in text[:100_000]:
        raise ModelReadError(
            f"{origin} has no <sbml> element: expected an SBML document, found "
            f"{text.lstrip()[:60]!r}"
        )
    _check_nesting(text, origin)
    document = libsbml.readSBMLFromString(text)
    _check_unknown_packages(document)
    errors = _errors(document, libsbml.LIBSBML_SEV_ERROR)
    # Errors inside a Level 3 package that is not required (layout, render) do not touch the
    # model's math: a reader that does not support the package may ignore it.
    optional = [
        document.getPlugin(i).getPrefix()
        for i in range(document.getNumPlugins() if document.getLevel() >= 3 else 0)
        if not document.getPkgRequired(document.getPlugin(i).getPrefix())
    ]
    errors = [e for e in errors if not any(f"Package {p} " in e for p in optional)]
    if errors:
        if _has_xml_errors(document):
            raise ModelReadError(
                f"{origin} is not well-formed XML, so not readable SBML:\n  "
                + "\n  ".join(errors[:10])
                + "\nexpected a complete XML document; is the file truncated or corrupted?"
            )
        raise InvalidModelError(f"{origin} is not valid SBML:\n  " + "\n  ".join(errors[:10]))
    sbml_model = document.getModel()
    if sbml_model is None:
        raise InvalidModelError(f"{origin} holds an SBML document without a <model>")
    # Level 1/2 files carry no package declarations (libsbml marks the layout/render plugins
    # it attaches to them as required), so only Level 3 packages are checked.
    for i in range(document.getNumPlugins() if document.getLevel() >= 3 else 0):
        plugin = document.getPlugin(i)
        prefix = plugin.getPrefix()
        if document.getPkgRequired(prefix):
            raise UnsupportedFeatureError(
                f"SBML package '{prefix}' (required)",
                sbml_model.getId(),
                "only SBML core is simulated"
                + (
                    "; flatten the model first (libsbml CompFlatteningConverter)"
                    if prefix == "comp"
                    else ""
                ),
            )
    _check_units(sbml_model, text, origin)
    try:
        model = _convert(sbml_model)
        problems = [i for i in validate(model) if i.severity >= Severity.ERROR]
    except RecursionError:
        # math nested a few hundred levels deep exceeds Python's recursion limit
        raise ModelReadError(
            f"{origin}: a math expression is nested too deeply to convert (more than a few "
            "hundred levels); flatten it, e.g. write long sums as one n-ary <plus/>"
        ) from None
    if problems:
        # Only unknown ids (typos, missing definitions): say so with the more specific class.
        unknown = all(p.code.startswith("unknown-") for p in problems)
        kind = UnknownIdentifierError if unknown else InvalidModelError
        raise kind(
            f"{origin}: the model is inconsistent:\n  " + "\n  ".join(str(p) for p in problems[:20])
        )
    return model


# libsbml overflows the C stack (segfault) on MathML nested some thousands of levels deep,
# including nesting built through XML entities, so the depth is measured before it parses.
_MAX_XML_DEPTH = 1000


def _check_nesting(text: str, origin: str) -> None:
    def too_deep(name: str, line: int) -> ModelReadError:
        return ModelReadError(
            f"{origin}: XML elements are nested more than {_MAX_XML_DEPTH} levels deep "
            f"(at <{name}>, line {line}); SBML never needs this, so the file is refused: "
            "is it corrupted, or is its math nested instead of written with n-ary operators?"
        )

    parser = expat.ParserCreate()
    depth = 0

    def start(name: str, attributes: object) -> None:
        nonlocal depth
        depth += 1
        if depth > _MAX_XML_DEPTH:
            raise too_deep(name, parser.CurrentLineNumber)

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(text, True)
    except expat.ExpatError as exc:
        # Malformed XML: libsbml reports it below, with its own message. Entities could hide
        # the nesting from the fallback scan, so a malformed document declaring them is refused.
        if "<!ENTITY" in text:
            raise ModelReadError(
                f"{origin} is not well-formed XML ({exc}) and declares XML entities; "
                "expected a plain SBML document without entity declarations"
            ) from None
        depth = 0
        for match in _TAG.finditer(text):
            if match.group(1):
                depth -= 1
            elif not match.group(2):
                depth += 1
                if depth > _MAX_XML_DEPTH:
                    name = match.group(0)[1:-1].split()[0].rstrip("/")
                    raise too_deep(name, text.count("\n", 0, match.start()) + 1) from None


_TAG = re.compile(r"<(/?)[A-Za-z_][^<>]*?(/?)>")


def _check_unknown_packages(document: libsbml.SBMLDocument) -> None:
    """A required package libsbml does not know (it reports a bare error 99107 otherwise)."""
    for i in range(document.getNumUnknownPackages()):
        uri = document.getUnknownPackageURI(i)
        if document.getPackageRequired(uri):
            prefix = document.getUnknownPackagePrefix(i)
            model = document.getModel()
            raise UnsupportedFeatureError(
                f"SBML package '{prefix}' (required, {uri})",
                model.getId() if model is not None else "sbml",
                "neither immunetwin nor libsbml implements it; a model that requires a "
                "package cannot be simulated without it",
            )


# Predefined unit names of SBML Level 1/2 besides the base units.
_PREDEFINED_UNITS = {"substance", "volume", "area", "length", "time"}
_KIND = re.compile(r"<(?:\w+:)?unit\b[^>]*?\bkind\s*=\s*[\"']([^\"']*)[\"']")


def _is_unit_kind(name: str) -> bool:
    return bool(libsbml.UnitKind_forName(name) != libsbml.UNIT_KIND_INVALID)


def _check_units(m: libsbml.Model, text: str, origin: str) -> None:
    """Reject true unit errors (libsbml only finds them in a full consistency check).

    Only an invalid base-unit kind and a reference to a unit id that does not exist are fatal;
    unit inconsistencies in math stay warnings, as they are in many published models.
    """
    defined = {u.getId() for u in m.getListOfUnitDefinitions()}
    for u in m.getListOfUnitDefinitions():
        for x in u.getListOfUnits():
            if x.getKind() == libsbml.UNIT_KIND_INVALID:
                # libsbml forgets the kind it could not parse; find it in the text to name it
                kinds = [k for k in _KIND.findall(text) if not _is_unit_kind(k)]
                found = f"'{kinds[0]}'" if kinds else "a kind"
                raise InvalidModelError(
                    f"{origin}: unitDefinition '{u.getId()}' holds a <unit> of {found}, which is "
                    "not an SBML base unit (such as mole, litre, second, metre, dimensionless); "
                    "express it as a base unit with multiplier, scale and exponent"
                )
    references: list[tuple[str, str]] = []
    for c in m.getListOfCompartments():
        references.append((f"compartment '{c.getId()}'", c.getUnits()))
    for sp in m.getListOfSpecies():
        references.append((f"species '{sp.getId()}'", sp.getSubstanceUnits()))
    for p in m.getListOfParameters():
        references.append((f"parameter '{p.getId()}'", p.getUnits()))
    for r in m.getListOfReactions():
        law = r.getKineticLaw()
        if law is not None:
            for p in law.getListOfParameters():
                references.append((f"local parameter '{p.getId()}' of '{r.getId()}'", p.getUnits()))
    if m.getLevel() >= 3:
        for what in ("substance", "time", "volume", "area", "length", "extent"):
            unit = getattr(m, f"get{what.capitalize()}Units")()
            references.append((f"the model's {what}Units", unit))
    for owner, unit in references:
        if not unit or unit in defined or unit in _PREDEFINED_UNITS:
            continue
        if _is_unit_kind(unit):
            continue
        raise UnknownIdentifierError(
            f"{origin}: {owner} uses unit '{unit}', which is neither a unitDefinition of the "
            'model nor an SBML base unit; add <unitDefinition id="' + unit + '"> or fix the '
            "spelling"
        )


def _errors(document: libsbml.SBMLDocument, minimum: int) -> list[str]:
    out = []
    for i in range(document.getNumErrors()):
        error = document.getError(i)
        if error.getSeverity() >= minimum:
            out.append(f"line {error.getLine()}: {error.getMessage().strip()}")
    return out


def _has_xml_errors(document: libsbml.SBMLDocument) -> bool:
    return any(
        document.getError(i).getCategory() == libsbml.LIBSBML_CAT_XML
        for i in range(document.getNumErrors())
    )


# ------------------------------------------------------------------------------- conversion


def _annotations(element: libsbml.SBase) -> tuple[Annotation, ...]:
    out = []
    for i in range(element.getNumCVTerms()):
        term = element.getCVTerm(i)
        if term.getQualifierType() == libsbml.MODEL_QUALIFIER:
            qualifier = "bqmodel:" + libsbml.ModelQualifierType_toString(
                term.getModelQualifierType()
            )
        else:
            qualifier = "bqbiol:" + libsbml.BiolQualifierType_toString(
                term.getBiologicalQualifierType()
            )
        resources = term.getResources()
        for j in range(resources.getLength()):
            out.append(Annotation(qualifier, resources.getValue(j)))
    return tuple(out)


def _notes(element: libsbml.SBase) -> str:
    return element.getNotesString() if element.isSetNotes() else ""


def _optional(element: libsbml.SBase, is_set: str, getter: str) -> float | None:
    return float(getattr(element, getter)()) if getattr(element, is_set)() else None


def _without(expr: Expr, shadowed: set[str]) -> Expr:
    """Math with locally shadowed ids removed from view (they are local parameters)."""
    return substitute(expr, {name: Num(0.0) for name in shadowed})


def _convert(m: libsbml.Model) -> Model:
    level = m.getLevel()
    if m.getNumRules() and any(m.getRule(i).isAlgebraic() for i in range(m.getNumRules())):
        rule = next(m.getRule(i) for i in range(m.getNumRules()) if m.getRule(i).isAlgebraic())
        raise UnsupportedFeatureError(
            "algebraicRule",
            rule.getMetaId() or rule.getId() or "algebraic rule",
            "DAEs are not simulated; solve the rule for one variable and write an assignmentRule",
        )
    if level >= 3 and m.isSetConversionFactor():
        raise UnsupportedFeatureError("conversionFactor", m.getId())

    compartments = tuple(
        Compartment(
            id=c.getId(),
            size=_optional(c, "isSetSize", "getSize")
            if level > 1
            else _optional(c, "isSetVolume", "getVolume"),
            constant=bool(c.getConstant()),
            spatial_dimensions=float(c.getSpatialDimensionsAsDouble())
            if (level < 3 or c.isSetSpatialDimensions())
            else None,
            units=c.getUnits(),
            name=c.getName(),
            annotations=_annotations(c),
            notes=_notes(c),
        )
        for c in m.getListOfCompartments()
    )
    species = []
    for s in m.getListOfSpecies():
        if level >= 3 and s.isSetConversionFactor():
            raise UnsupportedFeatureError("conversionFactor", s.getId())
        species.append(
            Species(
                id=s.getId(),
                compartment=s.getCompartment(),
                initial_amount=_optional(s, "isSetInitialAmount", "getInitialAmount"),
                initial_concentration=_optional(
                    s, "isSetInitialConcentration", "getInitialConcentration"
                ),
                has_only_substance_units=bool(s.getHasOnlySubstanceUnits()),
                boundary_condition=bool(s.getBoundaryCondition()),
                constant=bool(s.getConstant()),
                units=s.getSubstanceUnits(),
                name=s.getName(),
                annotations=_annotations(s),
                notes=_notes(s),
            )
        )
    parameters = tuple(
        Parameter(
            id=p.getId(),
            value=_optional(p, "isSetValue", "getValue"),
            constant=bool(p.getConstant()),
            units=p.getUnits(),
            name=p.getName(),
            annotations=_annotations(p),
            notes=_notes(p),
        )
        for p in m.getListOfParameters()
    )
    reference_ids: set[str] = set()
    reactions = []
    for r in m.getListOfReactions():
        if r.isSetFast() and r.getFast():
            raise UnsupportedFeatureError(
                "fast reaction",
                r.getId(),
                'rapid-equilibrium reactions need an algebraic solve; set fast="false" to '
                "simulate it as an ordinary (fast) reaction",
            )
        law = r.getKineticLaw()
        has_math = law is not None and law.isSetMath()
        kinetic = from_ast(law.getMath(), r.getId()) if has_math else None
        local: list[Parameter] = []
        if law is not None:
            items = law.getListOfLocalParameters() if level >= 3 else law.getListOfParameters()
            for p in items:
                local.append(
                    Parameter(
                        id=p.getId(),
                        value=_optional(p, "isSetValue", "getValue"),
                        units=p.getUnits(),
                        name=p.getName(),
                    )
                )

        def refs(items: libsbml.ListOf, rid: str = r.getId()) -> tuple[SpeciesReference, ...]:
            out = []
            for ref in items:
                if ref.isSetStoichiometryMath():
                    math = from_ast(ref.getStoichiometryMath().getMath(), rid)
                    if math.symbols() or math.functions():
                        raise UnsupportedFeatureError(
                            "stoichiometryMath (variable stoichiometry)", rid
                        )
                    from immunetwin.formats._constant import constant_value

                    stoich = constant_value(math, rid)
                elif level >= 3 and not ref.isSetStoichiometry():
                    stoich = 1.0
                else:
                    stoich = float(ref.getStoichiometry())
                    if level < 3 and ref.getDenominator() != 1:
                        stoich /= ref.getDenominator()
                if level >= 3 and ref.isSetId():
                    reference_ids.add(ref.getId())
                out.append(SpeciesReference(ref.getSpecies(), stoich))
            return tuple(out)

        reactions.append(
            Reaction(
                id=r.getId(),
                reactants=refs(r.getListOfReactants()),
                products=refs(r.getListOfProducts()),
                modifiers=tuple(x.getSpecies() for x in r.getListOfModifiers()),
                kinetic_law=kinetic,
                local_parameters=tuple(local),
                reversible=bool(r.getReversible()),
                name=r.getName(),
                annotations=_annotations(r),
                notes=_notes(r),
            )
        )
    functions = []
    for f in m.getListOfFunctionDefinitions():
        if not f.isSetMath():
            continue  # L3V2: a function without math is allowed; calling it is an error
        arguments, body = lambda_parts(f.getMath(), f.getId())
        functions.append(FunctionDefinition(f.getId(), arguments, body, f.getName()))

    assignment_rules, rate_rules = [], []
    for rule in m.getListOfRules():
        if not rule.isSetMath():
            continue  # L3V2: a rule without math has no effect
        variable = rule.getVariable()
        math = from_ast(rule.getMath(), variable)
        if rule.isAssignment() or rule.isScalar():
            assignment_rules.append(AssignmentRule(variable, math))
        elif rule.isRate():
            rate_rules.append(RateRule(variable, math))
    initial_assignments = tuple(
        InitialAssignment(a.getSymbol(), from_ast(a.getMath(), a.getSymbol()))
        for a in m.getListOfInitialAssignments()
        if a.isSetMath()
    )
    events = []
    for index, e in enumerate(m.getListOfEvents()):
        event_id = e.getId() or f"event_{index}"
        trigger = e.getTrigger()
        if trigger is None or not trigger.isSetMath():
            continue  # L3V2: an event without a trigger never fires
        delay = e.getDelay() if e.isSetDelay() else None
        priority = e.getPriority() if level >= 3 and e.isSetPriority() else None
        events.append(
            Event(
                id=event_id,
                trigger=from_ast(trigger.getMath(), event_id),
                assignments=tuple(
                    EventAssignment(a.getVariable(), from_ast(a.getMath(), event_id))
                    for a in e.getListOfEventAssignments()
                    if a.isSetMath()
                ),
                delay=from_ast(delay.getMath(), event_id)
                if delay is not None and delay.isSetMath()
                else None,
                priority=from_ast(priority.getMath(), event_id)
                if priority is not None and priority.isSetMath()
                else None,
                initial_value=bool(trigger.getInitialValue()) if level >= 3 else True,
                persistent=bool(trigger.getPersistent()) if level >= 3 else True,
                use_values_from_trigger_time=bool(e.getUseValuesFromTriggerTime())
                if (level >= 3 or (level == 2 and m.getVersion() >= 4))
                else True,
                name=e.getName(),
            )
        )

    if reference_ids:
        used: set[str] = set()
        for item in (
            *(a.math for a in assignment_rules),
            *(a.math for a in rate_rules),
            *(a.math for a in initial_assignments),
            *(
                _without(r.kinetic_law, {p.id for p in r.local_parameters})
                for r in reactions
                if r.kinetic_law is not None
            ),
            *(e.trigger for e in events),
            *(a.math for e in events for a in e.assignments),
        ):
            used |= item.symbols() & reference_ids
        targets = {a.variable for a in assignment_rules} | {a.variable for a in rate_rules}
        targets |= {a.symbol for a in initial_assignments}
        targets |= {a.variable for e in events for a in e.assignments}
        used |= targets & reference_ids
        if used:
            raise UnsupportedFeatureError(
                "speciesReference id used in math or rules (variable stoichiometry)",
                sorted(used)[0],
            )

    unit_definitions = tuple(
        UnitDefinition(
            id=u.getId(),
            units=tuple(
                Unit(
                    kind=libsbml.UnitKind_toString(x.getKind()),
                    exponent=float(x.getExponentAsDouble()),
                    scale=int(x.getScale()),
                    multiplier=float(x.getMultiplier()),
                )
                for x in u.getListOfUnits()
            ),
            name=u.getName(),
        )
        for u in m.getListOfUnitDefinitions()
    )
    return Model(
        id=m.getId() or "model",
        name=m.getName(),
        compartments=compartments,
        species=tuple(species),
        parameters=parameters,
        reactions=tuple(reactions),
        function_definitions=tuple(functions),
        assignment_rules=tuple(assignment_rules),
        rate_rules=tuple(rate_rules),
        initial_assignments=initial_assignments,
        events=tuple(events),
        unit_definitions=unit_definitions,
        time_units=m.getTimeUnits() if level >= 3 else "",
        substance_units=m.getSubstanceUnits() if level >= 3 else "",
        volume_units=m.getVolumeUnits() if level >= 3 else "",
        annotations=_annotations(m),
        notes=_notes(m),
    )
