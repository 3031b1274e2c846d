"""SED-ML time courses: the part of SED-ML our engine can run, read and written as XML.

A :class:`TimeCourse` is one SED-ML ``task`` on a ``uniformTimeCourse`` simulation: the model
it runs (by archive location), the value changes applied first, the time grid and the model
ids to report. ``write_sedml`` writes SED-ML L1V3 (the version most tools read) with a
report and a plot so that other tools show something; ``read_sedml`` accepts that and the
usual BioModels-style documents, and refuses anything else with an ``ArchiveError`` that
names the element, rather than silently running a different experiment.

The XML is built and parsed with the standard library, not python-libsedml: importing
libsedml after libsbml in one process breaks libsbml (``ASTNode.getType`` then returns an
opaque SWIG pointer), which would break every SBML read that follows. The tests check our
output with libsedml in a separate process.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from immunetwin.errors import ArchiveError, InvalidInputError, UnknownIdentifierError
from immunetwin.ir import Model, Species

__all__ = ["TimeCourse", "read_sedml", "target_xpath", "write_sedml"]

CVODE_KISAO = "KISAO:0000019"
RTOL_KISAO = "KISAO:0000209"
ATOL_KISAO = "KISAO:0000211"
_TOLERANCES = {RTOL_KISAO: "rtol", ATOL_KISAO: "atol"}
_TIME_SYMBOL = "urn:sedml:symbol:time"
SEDML_NS = "http://sed-ml.org/sed-ml/level1/version3"
SBML_L3V2_NS = "http://www.sbml.org/sbml/level3/version2/core"
_MATHML_NS = "http://www.w3.org/1998/Math/MathML"
_MAX_CHARS = 50_000_000  # no sensible experiment description is larger
_SBML_LANGUAGE = "urn:sedml:language:sbml"
# element name in SBML -> its listOf name
_LISTS = {
    "species": "listOfSpecies",
    "parameter": "listOfParameters",
    "compartment": "listOfCompartments",
    "reaction": "listOfReactions",
}
_TARGET = re.compile(
    r"""^\s*/\s*(?:\w+:)?sbml\s*/\s*(?:\w+:)?model\s*/\s*(?:\w+:)?(?P<list>listOf\w+)\s*/\s*
    (?:\w+:)?(?P<kind>\w+)\s*\[\s*@id\s*=\s*(?P<q>["'])(?P<id>[^"']+)(?P=q)\s*\]
    (?:\s*/\s*@(?P<attr>\w+))?\s*$""",
    re.VERBOSE,
)
# which attribute a changeAttribute may set, per element kind
_SETTABLE = {
    "parameter": ("value",),
    "compartment": ("size",),
    "species": ("initialConcentration", "initialAmount"),
}


@dataclass(frozen=True)
class TimeCourse:
    """One uniform time course: run ``model_source`` from ``start`` to ``end``.

    Output is on ``points + 1`` equally spaced times from ``output_start`` to ``end``
    (``points`` is SED-ML's ``numberOfSteps``/``numberOfPoints``: the number of intervals).
    ``changes`` set parameter values, species initial values (in the unit the species' math
    uses) or compartment sizes before the run; ``variables`` are the model ids reported
    besides time.
    """

    model_source: str
    start: float
    output_start: float
    end: float
    points: int
    variables: tuple[str, ...]
    changes: tuple[tuple[str, float], ...] = ()
    algorithm_kisao: str = CVODE_KISAO
    # KiSAO algorithm parameters: relative (KISAO:0000209) and absolute (KISAO:0000211)
    # tolerance; None leaves the simulator's defaults
    rtol: float | None = None
    atol: float | None = None

    def __post_init__(self) -> None:
        times = (self.start, self.output_start, self.end)
        if not all(math.isfinite(t) for t in times):
            raise InvalidInputError(f"time course times must be finite numbers, got {times}")
        if not self.start <= self.output_start <= self.end or self.start == self.end:
            raise InvalidInputError(
                f"expected start <= output_start <= end with start < end, got start="
                f"{self.start}, output_start={self.output_start}, end={self.end}"
            )
        if isinstance(self.points, bool) or not isinstance(self.points, int) or self.points < 1:
            raise InvalidInputError(
                f"points is the number of output intervals and must be an int >= 1, got "
                f"{self.points!r}"
            )
        if not self.model_source:
            raise InvalidInputError("model_source is empty: give the model's archive location")
        for id in self.variables:
            if not isinstance(id, str) or not id:
                raise InvalidInputError(f"variables must be model ids, got {id!r}")
        if len(set(self.variables)) != len(self.variables):
            raise InvalidInputError(f"variables are repeated: {self.variables}")
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise InvalidInputError(f"{name} must be a positive number or None, got {value}")
        for change in self.changes:
            if len(change) != 2 or not isinstance(change[0], str):
                raise InvalidInputError(f"a change is (id, value), got {change!r}")


def write_sedml(
    time_courses: Sequence[TimeCourse],
    models: Model | Mapping[str, Model],
    *,
    sbml_namespace: str = SBML_L3V2_NS,
) -> str:
    """SED-ML L1V3 text running every time course, with a report and a plot for each.

    ``models`` is the IR model behind the time courses (one ``Model``, or a mapping from
    ``model_source`` to ``Model``); it tells species from parameters, so the XPath targets
    are right. ``sbml_namespace`` is bound to the ``sbml:`` prefix of those XPaths and should
    be the namespace of the model file. Numbers are written exactly (``repr``), so
    ``read_sedml`` gives them back.
    """
    if not time_courses:
        raise InvalidInputError("write_sedml needs at least one TimeCourse, got none")
    # tags are built without namespaces and the declarations written as plain attributes:
    # ElementTree cannot declare a prefix it does not use (sbml:, for the XPaths)
    root = ET.Element(
        "sedML",
        {"xmlns": SEDML_NS, "xmlns:sbml": sbml_namespace, "level": "1", "version": "3"},
    )
    lists = {
        name: ET.SubElement(root, name)
        for name in (
            "listOfModels",
            "listOfSimulations",
            "listOfTasks",
            "listOfDataGenerators",
            "listOfOutputs",
        )
    }
    for n, course in enumerate(time_courses, start=1):
        model = _model_for(models, course.model_source)
        _add_course(lists, n, course, model, _kinds(model))
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def read_sedml(
    text: str | bytes,
    models: Model | Mapping[str, Model] | None = None,
    origin: str = "<SED-ML>",
) -> tuple[TimeCourse, ...]:
    """The time courses of a SED-ML document, one per ``task``, in document order.

    With ``models`` (as for ``write_sedml``) every target is checked against the model and a
    species change given in the other unit (amount vs concentration) is converted; without,
    values are taken as they are. Raises ``ArchiveError`` naming the element for anything that
    is not a plain uniform time course (repeated tasks, steady states, XML changes, ...).
    """
    root = _parse(text, origin)
    tasks = list(_children(root, "listOfTasks"))
    for task in tasks:
        if _local(task.tag) != "task":
            raise ArchiveError(
                f"{origin}: {_local(task.tag)} '{task.get('id', '?')}' is not supported: only "
                "plain tasks on a uniformTimeCourse can be run; remove it or run the "
                "document in a full SED-ML tool"
            )
    if not tasks:
        raise ArchiveError(
            f"{origin} defines no task: expected at least one <task> running a uniformTimeCourse"
        )
    return tuple(_read_task(root, task, models, origin) for task in tasks)


def target_xpath(kind: str, id: str, attribute: str = "") -> str:
    """The SBML XPath of element ``id`` of ``kind`` (and of one of its attributes)."""
    path = f"/sbml:sbml/sbml:model/sbml:{_LISTS[kind]}/sbml:{kind}[@id='{id}']"
    return f"{path}/@{attribute}" if attribute else path


def _model_for(models: Model | Mapping[str, Model], source: str) -> Model:
    if isinstance(models, Model):
        return models
    if source not in models:
        raise InvalidInputError(
            f"no model given for model_source '{source}': expected one of "
            f"{', '.join(sorted(models)) or '(none)'}"
        )
    return models[source]


def _kinds(model: Model) -> dict[str, str]:
    kinds = {c.id: "compartment" for c in model.compartments}
    kinds.update({p.id: "parameter" for p in model.parameters})
    kinds.update({s.id: "species" for s in model.species})
    kinds.update({r.id: "reaction" for r in model.reactions})
    return kinds


def _unknown(id: str, model: Model, kinds: Mapping[str, str], what: str) -> str:
    valid = sorted(kinds)
    listed = ", ".join(valid[:20]) + (" ..." if len(valid) > 20 else "")
    return f"{what} '{id}' is not an id of model '{model.id}'; valid ids: {listed}"


def _add_course(
    lists: Mapping[str, ET.Element],
    n: int,
    course: TimeCourse,
    model: Model,
    kinds: Mapping[str, str],
) -> None:
    sed_model = _sub(
        lists["listOfModels"],
        "model",
        id=f"model{n}",
        language=_SBML_LANGUAGE,
        source=course.model_source,
    )
    if course.changes:
        changes = _sub(sed_model, "listOfChanges")
        for id, value in course.changes:
            kind = kinds.get(id, "")
            if kind not in _SETTABLE:
                settable = {k: v for k, v in kinds.items() if v in _SETTABLE}
                raise UnknownIdentifierError(_unknown(id, model, settable, "cannot change"))
            attribute = _SETTABLE[kind][0]
            if kind == "species" and _species(model, id).has_only_substance_units:
                attribute = "initialAmount"
            _sub(
                changes,
                "changeAttribute",
                target=target_xpath(kind, id, attribute),
                newValue=repr(float(value)),
            )
    simulation = _sub(
        lists["listOfSimulations"],
        "uniformTimeCourse",
        id=f"sim{n}",
        initialTime=repr(float(course.start)),
        outputStartTime=repr(float(course.output_start)),
        outputEndTime=repr(float(course.end)),
        numberOfPoints=str(course.points),  # L1V3's name for the number of intervals
    )
    algorithm = _sub(simulation, "algorithm", kisaoID=course.algorithm_kisao)
    tolerances = [(k, v) for k, v in ((RTOL_KISAO, course.rtol), (ATOL_KISAO, course.atol)) if v]
    if tolerances:
        parameters = _sub(algorithm, "listOfAlgorithmParameters")
        for kisao, value in tolerances:
            _sub(parameters, "algorithmParameter", kisaoID=kisao, value=repr(float(value)))
    task = f"task{n}"
    _sub(
        lists["listOfTasks"],
        "task",
        id=task,
        modelReference=f"model{n}",
        simulationReference=f"sim{n}",
    )
    report = _sub(lists["listOfOutputs"], "report", id=f"report{n}", name=f"time course {n}")
    data_sets = _sub(report, "listOfDataSets")
    plot = _sub(lists["listOfOutputs"], "plot2D", id=f"plot{n}", name=f"time course {n}")
    curves = _sub(plot, "listOfCurves")
    time_dg = _data_generator(lists["listOfDataGenerators"], task, "time", None)
    _sub(data_sets, "dataSet", id=f"ds_{time_dg}", label="time", dataReference=time_dg)
    for id in course.variables:
        if id not in kinds:
            raise UnknownIdentifierError(_unknown(id, model, kinds, "cannot report variable"))
        target = target_xpath(kinds[id], id)
        dg = _data_generator(lists["listOfDataGenerators"], task, id, target)
        _sub(data_sets, "dataSet", id=f"ds_{dg}", label=id, dataReference=dg)
        _sub(
            curves,
            "curve",
            id=f"curve_{dg}",
            name=id,
            logX="false",
            logY="false",
            xDataReference=time_dg,
            yDataReference=dg,
        )


def _sub(parent: ET.Element, tag: str, /, **attributes: str) -> ET.Element:
    return ET.SubElement(parent, tag, attributes)


def _data_generator(parent: ET.Element, task: str, name: str, target: str | None) -> str:
    dg_id = f"dg_{task}_{name}"
    variable_id = f"v_{task}_{name}"
    generator = _sub(parent, "dataGenerator", id=dg_id, name=name)
    variables = _sub(generator, "listOfVariables")
    if target is None:
        _sub(variables, "variable", id=variable_id, taskReference=task, symbol=_TIME_SYMBOL)
    else:
        _sub(variables, "variable", id=variable_id, taskReference=task, target=target)
    math = ET.SubElement(generator, "math", {"xmlns": _MATHML_NS})
    ET.SubElement(math, "ci").text = variable_id
    return dg_id


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element, list_name: str) -> Iterator[ET.Element]:
    """The element children of ``element``'s ``list_name`` list (any SED-ML namespace)."""
    for child in element:
        if _local(child.tag) == list_name:
            yield from (c for c in child if isinstance(c.tag, str))


def _parse(text: str | bytes, origin: str) -> ET.Element:
    if len(text) > _MAX_CHARS:
        raise ArchiveError(
            f"{origin} is {len(text)} characters long; SED-ML above {_MAX_CHARS} is refused"
        )
    if not text.strip():
        raise ArchiveError(f"{origin} is empty: expected a SED-ML document")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ArchiveError(
            f"{origin} is not well-formed XML ({exc}); expected a SED-ML document"
        ) from None
    namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    if _local(root.tag) != "sedML" or not namespace.startswith("http://sed-ml.org/"):
        raise ArchiveError(
            f"{origin}: root element is '{root.tag}'; expected <sedML> in a SED-ML "
            "namespace (http://sed-ml.org/...)"
        )
    return root


def _find(root: ET.Element, list_name: str, id: str) -> ET.Element | None:
    return next((e for e in _children(root, list_name) if e.get("id") == id), None)


def _required(element: ET.Element, attribute: str, where: str) -> str:
    value = element.get(attribute)
    if value is None or not value.strip():
        raise ArchiveError(
            f"{where}: <{_local(element.tag)} id='{element.get('id', '?')}'> lacks the "
            f"required attribute '{attribute}'"
        )
    return value.strip()


def _number(element: ET.Element, attribute: str, where: str) -> float:
    text = _required(element, attribute, where)
    try:
        return float(text)
    except ValueError:
        raise ArchiveError(
            f"{where}: {_local(element.tag)} attribute {attribute}='{text}' is not a number"
        ) from None


def _species(model: Model, id: str) -> Species:
    return next(s for s in model.species if s.id == id)


def _read_task(
    root: ET.Element,
    task: ET.Element,
    models: Model | Mapping[str, Model] | None,
    origin: str,
) -> TimeCourse:
    task_id = _required(task, "id", origin)
    where = f"{origin}: task '{task_id}'"
    simulation_id = _required(task, "simulationReference", where)
    simulation = _find(root, "listOfSimulations", simulation_id)
    if simulation is None:
        raise ArchiveError(
            f"{where} refers to simulation '{simulation_id}', which the document does not define"
        )
    if _local(simulation.tag) != "uniformTimeCourse":
        raise ArchiveError(
            f"{where} runs {_local(simulation.tag)} '{simulation_id}', which is not supported: "
            "only uniformTimeCourse simulations can be run"
        )
    source, raw_changes = _model_chain(root, _required(task, "modelReference", where), where)
    model = None if models is None else _model_or_archive_error(models, source, where)
    kinds = _kinds(model) if model is not None else None
    changes = tuple(_change(model, kinds, target, value, where) for target, value in raw_changes)
    variables: list[str] = []
    for generator in _children(root, "listOfDataGenerators"):
        for variable in _children(generator, "listOfVariables"):
            if variable.get("taskReference") != task_id:
                continue
            id = _variable(variable, f"{where}, dataGenerator '{generator.get('id', '?')}'")
            if id is not None and id not in variables:
                if kinds is not None and model is not None and id not in kinds:
                    raise ArchiveError(_unknown(id, model, kinds, f"{where} reports variable"))
                variables.append(id)
    algorithm = next((c for c in simulation if _local(str(c.tag)) == "algorithm"), None)
    kisao = algorithm.get("kisaoID", "") if algorithm is not None else ""
    tolerances: dict[str, float] = {}
    if algorithm is not None:
        for parameter in _children(algorithm, "listOfAlgorithmParameters"):
            name = _TOLERANCES.get(parameter.get("kisaoID", ""))
            if name is not None:  # other algorithm parameters do not change our results
                tolerances[name] = _number(parameter, "value", f"{where}, algorithm parameter")
    steps = "numberOfSteps" if "numberOfSteps" in simulation.attrib else "numberOfPoints"
    where_sim = f"{where}, uniformTimeCourse '{simulation_id}'"
    points = _number(simulation, steps, where_sim)
    if not math.isfinite(points) or points != int(points):
        raise ArchiveError(f"{where_sim}: {steps}={points} is not a whole number")
    try:
        return TimeCourse(
            model_source=source,
            start=_number(simulation, "initialTime", where_sim),
            output_start=_number(simulation, "outputStartTime", where_sim),
            end=_number(simulation, "outputEndTime", where_sim),
            points=int(points),
            variables=tuple(variables),
            changes=changes,
            algorithm_kisao=kisao or CVODE_KISAO,
            **tolerances,
        )
    except ArchiveError:
        raise
    except InvalidInputError as exc:
        raise ArchiveError(f"{where_sim} is not usable: {exc}") from None


def _model_or_archive_error(models: Model | Mapping[str, Model], source: str, where: str) -> Model:
    try:
        return _model_for(models, source)
    except InvalidInputError as exc:
        raise ArchiveError(f"{where}: {exc}") from None


def _model_chain(root: ET.Element, reference: str, where: str) -> tuple[str, list[tuple[str, str]]]:
    """The source file behind ``reference`` (following ``#model`` links) and its changes."""
    changes: list[tuple[str, str]] = []
    seen: list[str] = []
    while True:
        sed_model = _find(root, "listOfModels", reference)
        if sed_model is None:
            raise ArchiveError(
                f"{where} refers to model '{reference}', which the document does not define"
            )
        if reference in seen:
            raise ArchiveError(f"{where}: models refer to each other in a loop: {seen}")
        seen.append(reference)
        language = sed_model.get("language", _SBML_LANGUAGE)
        if not language.startswith(_SBML_LANGUAGE):
            raise ArchiveError(
                f"{where}: model '{reference}' has language '{language}', which is not "
                f"supported: expected SBML ('{_SBML_LANGUAGE}')"
            )
        own = []
        for change in _children(sed_model, "listOfChanges"):
            if _local(change.tag) != "changeAttribute":
                raise ArchiveError(
                    f"{where}: {_local(change.tag)} on model '{reference}' is not supported: "
                    "only changeAttribute of parameter values, species initial values and "
                    "compartment sizes can be applied"
                )
            own.append((_required(change, "target", where), _required(change, "newValue", where)))
        changes[:0] = own  # a referenced model's changes apply first
        source = _required(sed_model, "source", where)
        if source.startswith("#"):
            reference = source[1:]
            continue
        return source.removeprefix("./"), changes


def _change(
    model: Model | None,
    kinds: Mapping[str, str] | None,
    target: str,
    text: str,
    where: str,
) -> tuple[str, float]:
    match = _TARGET.match(target)
    kind = match.group("kind") if match else ""
    attribute = match.group("attr") if match else None
    if match is None or kind not in _SETTABLE or attribute not in _SETTABLE[kind]:
        raise ArchiveError(
            f"{where}: changeAttribute target '{target}' is not supported: expected the "
            "value of a parameter, the initial value of a species or the size of a "
            "compartment, e.g. /sbml:sbml/sbml:model/sbml:listOfParameters/"
            "sbml:parameter[@id='k']/@value"
        )
    id = match.group("id")
    try:
        value = float(text)
    except ValueError:
        raise ArchiveError(
            f"{where}: changeAttribute of '{id}' has newValue '{text}'; expected a number"
        ) from None
    if model is None or kinds is None:
        return id, value
    if kinds.get(id) != kind:
        raise ArchiveError(_unknown(id, model, kinds, f"{where}: changeAttribute of {kind}"))
    if kind == "species":
        value = _species_value(model, id, attribute == "initialAmount", value, where)
    return id, value


def _species_value(model: Model, id: str, is_amount: bool, value: float, where: str) -> float:
    """``value`` in the unit the species' math uses (what ``with_values`` expects)."""
    species = _species(model, id)
    if is_amount == species.has_only_substance_units:
        return value
    compartment = next((c for c in model.compartments if c.id == species.compartment), None)
    size = compartment.size if compartment is not None else None
    if (
        size is None
        or size == 0
        or any(a.symbol == species.compartment for a in model.initial_assignments)
    ):
        quantity = "amount" if is_amount else "concentration"
        raise ArchiveError(
            f"{where}: changeAttribute sets the initial {quantity} "
            f"of species '{id}', whose compartment '{species.compartment}' has no fixed size "
            "to convert it; set the other attribute instead"
        )
    return value / size if is_amount else value * size


def _variable(variable: ET.Element, where: str) -> str | None:
    """The model id a data generator variable reports, or None for time."""
    name = variable.get("id", "?")
    symbol = variable.get("symbol")
    if symbol is not None:
        if symbol == _TIME_SYMBOL:
            return None
        raise ArchiveError(
            f"{where}: variable '{name}' uses symbol '{symbol}', which is not supported: "
            f"only '{_TIME_SYMBOL}' is"
        )
    target = variable.get("target", "")
    match = _TARGET.match(target)
    if match is None or match.group("kind") not in _LISTS or match.group("attr"):
        raise ArchiveError(
            f"{where}: variable '{name}' has target '{target}', which is not supported: "
            "expected the XPath of a species, parameter, compartment or reaction, e.g. "
            "/sbml:sbml/sbml:model/sbml:listOfSpecies/sbml:species[@id='X']"
        )
    return match.group("id")
