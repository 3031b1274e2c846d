"""FHIR R4 bundles to and from patient timelines.

Resources are validated with the ``fhir.resources`` R4B models (the 4.3 release of R4, whose
Bundle, Patient, Observation, MedicationAdministration and Encounter carry the same elements
as R4 for everything read here). The mapping (``docs/patient-data.md``):

- ``Observation`` with a LOINC coding of the catalogue -> :class:`Observation`:
  ``effectiveDateTime`` (or ``effectiveInstant``) is the time, ``valueQuantity`` the value
  in its UCUM ``code`` (or ``unit``); ``comparator`` ``<`` marks a left-censored value (the
  value is then the limit of detection); the ``iso21090-uncertainty`` extension on the
  quantity is the sd, and :data:`LOD_EXTENSION` the limit of detection.
- ``Observation`` LOINC 65222-2 (date and time of symptom onset, ``valueDateTime``) or an
  inpatient ``Encounter`` (``period.start``) -> the reference time (day 0).
- ``MedicationAdministration`` -> :class:`Intervention`: the drug from
  ``medicationCodeableConcept`` (text, coding display or code) through
  :data:`~immunetwin.twin.patient.DRUGS`; ``dosage.dose`` (mass, to mg); ``dosage.route``
  (SNOMED CT 26643006 oral, 47625008 intravenous); an intravenous ``effectivePeriod`` with an
  end after its start is an infusion of that duration, otherwise an IV bolus.

Anything else (an unknown code, another resource type, a status such as entered-in-error,
a value without a quantity) raises :class:`~immunetwin.errors.PatientDataError` naming the
file, the bundle entry, the resource and the element; pydantic's validation errors are
translated, never passed through.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from immunetwin.errors import PatientDataError
from immunetwin.twin.patient import (
    DRUGS,
    Intervention,
    Observation,
    PatientTimeline,
    ReferenceEvent,
    Route,
    days_between,
    make_intervention,
    make_observation,
)
from immunetwin.twin.quantities import CATALOGUE, LOINC_SYSTEM, UCUM_SYSTEM, QuantityCatalogue

SNOMED_SYSTEM = "http://snomed.info/sct"
ONSET_CODE = "65222-2"  # LOINC: Date and time of symptom onset
UNCERTAINTY_EXTENSION = "http://hl7.org/fhir/StructureDefinition/iso21090-uncertainty"
LOD_EXTENSION = "urn:immunetwin:fhir:limit-of-detection"  # ours: no standard element exists
_ORAL, _INTRAVENOUS = "26643006", "47625008"  # SNOMED CT route codes
_ROUTE_NAMES = {"oral": _ORAL, "po": _ORAL, "intravenous": _INTRAVENOUS, "iv": _INTRAVENOUS}
_INPATIENT = ("IMP", "ACUTE")  # v3 ActCode encounter classes read as an admission
_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_OBSERVATION_STATUS = ("final", "amended", "corrected", "preliminary")
_ADMINISTRATION_STATUS = ("completed", "in-progress")
_SUPPORTED = ("Patient", "Observation", "MedicationAdministration", "Encounter")
_OBSERVATION_FIELDS = {
    "quantity": "code.coding",
    "value": "valueQuantity.value",
    "unit": "valueQuantity.code",
    "sd": "valueQuantity.extension",
    "lod": "valueQuantity.extension",
}
_ADMINISTRATION_FIELDS = {
    "quantity": "medicationCodeableConcept",
    "value": "dosage.dose.value",
    "unit": "dosage.dose.code",
    "route": "dosage.route",
    "duration": "effectivePeriod",
}


@dataclass(frozen=True, slots=True)
class _Where:
    """Where a resource sits: file, 1-based entry, ``Type/id``."""

    source: str
    entry: int
    resource: str

    def error(self, message: str, field: str | None = None) -> PatientDataError:
        return PatientDataError(
            message,
            source=self.source or None,
            row=self.entry or None,  # entry 0: the bundle itself
            field=field,
            resource=self.resource,
        )

    def relocate(self, exc: PatientDataError, fields: Mapping[str, str]) -> PatientDataError:
        field = fields.get(exc.field or "", exc.field)
        return exc.located(source=self.source, row=self.entry, resource=self.resource, field=field)


def read_fhir(
    path: str | Path,
    *,
    catalogue: QuantityCatalogue = CATALOGUE,
    reference_event: ReferenceEvent | None = None,
) -> PatientTimeline:
    """Read a FHIR R4 Bundle (JSON) of one patient into a timeline.

    Day 0 is the symptom onset (an Observation LOINC 65222-2) or the admission (an inpatient
    Encounter); when the bundle holds both, ``reference_event`` chooses.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise PatientDataError(f"cannot read the file: {exc}", source=str(path)) from None
    except json.JSONDecodeError as exc:
        raise PatientDataError(
            f"not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); expected a FHIR "
            "R4 Bundle in JSON",
            source=str(path),
        ) from None
    return read_fhir_bundle(
        data, source=str(path), catalogue=catalogue, reference_event=reference_event
    )


def read_fhir_bundle(
    data: Mapping[str, Any],
    *,
    source: str = "bundle",
    catalogue: QuantityCatalogue = CATALOGUE,
    reference_event: ReferenceEvent | None = None,
) -> PatientTimeline:
    """Read a FHIR R4 Bundle given as parsed JSON (see :func:`read_fhir`)."""
    from fhir.resources.R4B.bundle import Bundle

    if not isinstance(data, Mapping) or data.get("resourceType") != "Bundle":
        found = data.get("resourceType") if isinstance(data, Mapping) else type(data).__name__
        raise PatientDataError(
            f"expected a FHIR Bundle, found {found!r}", source=source, field="resourceType"
        )
    entries = data.get("entry") or []
    _validated(Bundle, {k: v for k, v in data.items() if k != "entry"}, _Where(source, 0, "Bundle"))
    if not isinstance(entries, list):
        raise PatientDataError("Bundle.entry must be a list", source=source, field="entry")
    reader = _Reader(source, catalogue)
    for number, entry in enumerate(entries, start=1):
        reader.read(number, entry)
    return reader.timeline(reference_event)


def write_fhir(
    timeline: PatientTimeline,
    path: str | Path,
    *,
    catalogue: QuantityCatalogue = CATALOGUE,
    synthetic: bool = False,
) -> Path:
    """Write ``timeline`` as a FHIR R4 Bundle (JSON, type collection); :func:`read_fhir`
    gives it back. ``synthetic`` tags the bundle as test data (v3 ActReason HTEST)."""
    path = Path(path)
    bundle = fhir_bundle(timeline, catalogue=catalogue, synthetic=synthetic)
    path.write_text(json.dumps(bundle, indent=2) + "\n", encoding="utf-8")
    return path


def fhir_bundle(
    timeline: PatientTimeline,
    *,
    catalogue: QuantityCatalogue = CATALOGUE,
    synthetic: bool = False,
) -> dict[str, Any]:
    """``timeline`` as a FHIR R4 Bundle (parsed JSON), validated with fhir.resources."""
    from fhir.resources.R4B.bundle import Bundle

    subject = {"reference": f"Patient/{timeline.patient_id}"}
    resources: list[dict[str, Any]] = [{"resourceType": "Patient", "id": timeline.patient_id}]
    resources.append(_reference_resource(timeline, subject))
    for n, o in enumerate(timeline.observations, start=1):
        resources.append(_observation_resource(timeline, o, catalogue, subject, f"obs-{n}"))
    for n, i in enumerate(timeline.interventions, start=1):
        resources.append(_administration_resource(timeline, i, subject, f"med-{n}"))
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection"}
    if synthetic:
        tag = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HTEST"}
        bundle["meta"] = {"tag": [dict(tag, display="test health data")]}
    bundle["entry"] = [{"resource": r} for r in resources]
    try:
        model = _validated(Bundle, bundle, _Where("", 0, "Bundle"))
    except PatientDataError as exc:  # e.g. a patient id that is not a FHIR id
        raise PatientDataError(
            f"cannot write patient '{timeline.patient_id}' as FHIR: {exc.message}",
            field=exc.field,
        ) from None
    result: dict[str, Any] = json.loads(model.model_dump_json(exclude_none=True))
    return result


class _Reader:
    """Collects what a bundle's entries say; :meth:`timeline` puts it together."""

    def __init__(self, source: str, catalogue: QuantityCatalogue) -> None:
        self.source = source
        self.catalogue = catalogue
        self.patients: list[tuple[_Where, str, str]] = []  # where, id, fullUrl
        self.references: dict[ReferenceEvent, list[tuple[_Where, datetime | date]]] = {
            e: [] for e in ReferenceEvent
        }
        self.pending: list[tuple[_Where, Any]] = []  # Observation / MedicationAdministration
        self.subjects: list[tuple[_Where, str]] = []

    def read(self, number: int, entry: Any) -> None:
        raw = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(raw, Mapping):
            raise PatientDataError(
                "expected an entry with a resource", source=self.source, row=number, field="entry"
            )
        kind = str(raw.get("resourceType"))
        where = _Where(self.source, number, f"{kind}/{raw.get('id', '?')}")
        if kind not in _SUPPORTED:
            raise where.error(
                f"unsupported resource type '{kind}'; expected {', '.join(_SUPPORTED)} (remove "
                "other resources from the bundle)",
                "resourceType",
            )
        from fhir.resources.R4B import get_fhir_model_class

        resource = _validated(get_fhir_model_class(kind), raw, where)
        if kind == "Patient":
            self.patients.append((where, resource.id or "", str(entry.get("fullUrl") or "")))
            return
        subject = getattr(resource, "subject", None)
        if subject is not None and subject.reference:
            self.subjects.append((where, subject.reference))
        if kind == "Encounter":
            self._encounter(where, resource)
        elif kind == "Observation" and _codes(resource.code, LOINC_SYSTEM) == [ONSET_CODE]:
            self._onset(where, resource)
        else:
            self.pending.append((where, resource))

    def _onset(self, where: _Where, resource: Any) -> None:
        if resource.valueDateTime is None:
            raise where.error("symptom onset (LOINC 65222-2) needs a valueDateTime", "value[x]")
        self.references[ReferenceEvent.SYMPTOM_ONSET].append((where, resource.valueDateTime))

    def _encounter(self, where: _Where, resource: Any) -> None:
        klass = resource.class_fhir
        if klass is None or klass.code not in _INPATIENT:
            found = None if klass is None else klass.code
            raise where.error(
                f"expected an inpatient encounter (class {' or '.join(_INPATIENT)}) whose "
                f"period.start is the admission; found class {found!r}",
                "class",
            )
        if resource.period is None or resource.period.start is None:
            raise where.error("an admission encounter needs period.start", "period.start")
        self.references[ReferenceEvent.ADMISSION].append((where, resource.period.start))

    def timeline(self, event: ReferenceEvent | None) -> PatientTimeline:
        patient, urls = self._patient()
        for where, subject in self.subjects:
            if subject != f"Patient/{patient}" and subject not in urls:
                raise where.error(
                    f"subject '{subject}' is not the bundle's patient 'Patient/{patient}'; "
                    "give one patient per bundle",
                    "subject",
                )
        event, reference = self._reference(event)
        observations: list[Observation] = []
        interventions: list[Intervention] = []
        for where, resource in self.pending:
            if resource.get_resource_type() == "Observation":
                observations.append(self._observation(where, resource, reference))
            else:
                interventions.append(self._administration(where, resource, reference))
        try:
            return PatientTimeline(
                patient, reference, tuple(observations), tuple(interventions), event
            )
        except PatientDataError as exc:  # duplicates: the message names both resources
            raise exc.located(source=self.source) from None

    def _patient(self) -> tuple[str, tuple[str, ...]]:
        if len(self.patients) > 1:
            where = self.patients[1][0]
            raise where.error("a second Patient; expected one patient per bundle", "id")
        if self.patients:
            where, patient, url = self.patients[0]
            if not patient:
                raise where.error("the Patient needs an id", "id")
            return patient, (url,) if url else ()
        ids = {r.removeprefix("Patient/") for _, r in self.subjects if r.startswith("Patient/")}
        if len(ids) != 1:
            raise PatientDataError(
                f"cannot tell the patient: no Patient resource and subjects {sorted(ids)}; add "
                "the Patient to the bundle",
                source=self.source,
            )
        return ids.pop(), ()

    def _reference(self, event: ReferenceEvent | None) -> tuple[ReferenceEvent, datetime]:
        present = [e for e, found in self.references.items() if found]
        if event is None:
            if len(present) != 1:
                raise PatientDataError(
                    "expected one reference time (day 0): an Observation LOINC 65222-2 "
                    "(symptom onset) or an inpatient Encounter (admission); found "
                    f"{', '.join(e.value for e in present) or 'none'}"
                    + ("; choose one with reference_event=" if present else ""),
                    source=self.source,
                )
            event = present[0]
        found = self.references[event]
        if len(found) != 1:
            names = ", ".join(w.resource for w, _ in found) or "none"
            raise PatientDataError(
                f"expected one {event.value} in the bundle, found {len(found)} ({names})",
                source=self.source,
            )
        moment = found[0][1]
        if not isinstance(moment, datetime):  # a date: its midnight, UTC
            moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
        return event, moment

    def _observation(self, where: _Where, resource: Any, reference: datetime) -> Observation:
        if resource.status not in _OBSERVATION_STATUS:
            raise where.error(
                f"status '{resource.status}'; expected {', '.join(_OBSERVATION_STATUS)} (remove "
                "observations that were not made or entered in error)",
                "status",
            )
        codes = _codes(resource.code, LOINC_SYSTEM)
        known = [c for c in codes if self.catalogue.find(c) is not None]
        if not known:
            message = self.catalogue.unknown_code_message(", ".join(codes) or "none")
            raise where.error(f"{message} (LOINC codings, system {LOINC_SYSTEM})", "code.coding")
        moment = resource.effectiveDateTime or resource.effectiveInstant
        if moment is None:
            raise where.error("expected effectiveDateTime (the time of the sample)", "effective[x]")
        value = resource.valueQuantity
        if value is None or value.value is None:
            raise where.error(
                "expected valueQuantity with a value (remove observations without one)",
                "valueQuantity.value",
            )
        if value.comparator not in (None, "<", "<="):
            raise where.error(
                f"comparator '{value.comparator}' is not supported; only '<' (below the limit "
                "of detection)",
                "valueQuantity.comparator",
            )
        unit = value.code if value.code and value.system in (None, UCUM_SYSTEM) else value.unit
        extensions = {e.url: e.valueDecimal for e in value.extension or ()}
        try:
            return make_observation(
                self.catalogue,
                known[0],
                days_between(moment, reference),
                float(value.value),
                unit or "",
                sd=_float(extensions.get(UNCERTAINTY_EXTENSION)),
                lod=_float(extensions.get(LOD_EXTENSION)),
                censored=value.comparator is not None,
                source=where.resource,
            )
        except PatientDataError as exc:
            raise where.relocate(exc, _OBSERVATION_FIELDS) from None

    def _administration(self, where: _Where, resource: Any, reference: datetime) -> Intervention:
        if resource.status not in _ADMINISTRATION_STATUS:
            raise where.error(
                f"status '{resource.status}'; expected {', '.join(_ADMINISTRATION_STATUS)} "
                "(remove doses that were not given)",
                "status",
            )
        concept = resource.medicationCodeableConcept
        if concept is None:
            raise where.error(
                "expected medicationCodeableConcept (medicationReference is not supported)",
                "medication[x]",
            )
        names = [concept.text] + [n for c in concept.coding or () for n in (c.display, c.code)]
        names = [n for n in names if n]
        name = next((n for n in names if n.strip().lower() in DRUGS), names[0] if names else "")
        dosage = resource.dosage
        if dosage is None or dosage.dose is None or dosage.dose.value is None:
            raise where.error("expected dosage.dose with a value", "dosage.dose")
        route = _route(where, dosage.route)
        period = resource.effectivePeriod
        start = resource.effectiveDateTime or (period.start if period else None)
        if start is None:
            raise where.error("expected effectiveDateTime or effectivePeriod.start", "effective[x]")
        duration = None
        if period is not None and period.end is not None:
            duration = days_between(period.end, _aware(start, reference))
            if duration < 0:
                raise where.error(
                    f"out of order: effectivePeriod ends ({period.end}) before it starts ({start})",
                    "effectivePeriod",
                )
            if route == Route.ORAL.value and duration > 0:
                raise where.error(
                    "an oral dose is instantaneous; give effectiveDateTime", "effectivePeriod"
                )
        if route == "intravenous":
            route = Route.INFUSION.value if duration else Route.IV_BOLUS.value
        dose = dosage.dose
        unit = dose.code if dose.code and dose.system in (None, UCUM_SYSTEM) else dose.unit
        try:
            return make_intervention(
                name,
                days_between(start, reference),
                float(dose.value),
                unit or "",
                route,
                duration=duration if route == Route.INFUSION.value else None,
                source=where.resource,
            )
        except PatientDataError as exc:
            raise where.relocate(exc, _ADMINISTRATION_FIELDS) from None


def _route(where: _Where, concept: Any) -> str:
    """``oral`` or ``intravenous`` from a dosage.route CodeableConcept."""
    codes = _codes(concept, SNOMED_SYSTEM) if concept is not None else []
    text = (concept.text or "").strip().lower() if concept is not None else ""
    code = next((c for c in codes if c in (_ORAL, _INTRAVENOUS)), _ROUTE_NAMES.get(text))
    if code is None:
        raise where.error(
            f"expected route SNOMED CT {_ORAL} (oral) or {_INTRAVENOUS} (intravenous); found "
            f"codes {codes} and text {text!r}",
            "dosage.route",
        )
    return "oral" if code == _ORAL else "intravenous"


def _aware(moment: datetime | date, reference: datetime) -> datetime:
    """A FHIR date as its midnight in the reference's zone (datetimes carry their own)."""
    if isinstance(moment, datetime):
        return moment
    return datetime.combine(moment, time(), tzinfo=reference.tzinfo)


def _codes(concept: Any, system: str) -> list[str]:
    return [c.code for c in concept.coding or () if c.system == system and c.code]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _validated(model: Any, data: Mapping[str, Any], where: _Where) -> Any:
    """``model`` validated from ``data``; a pydantic error becomes a PatientDataError."""
    from pydantic import ValidationError

    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or None
        found = repr(first.get("input"))
        found = found if len(found) <= 80 else found[:77] + "..."
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        message = str(first["msg"]).removeprefix("Value error, ").rstrip(".")
        raise where.error(
            f"invalid FHIR: {message}; found {found}{more}; expected a valid FHIR R4 element",
            field,
        ) from None


def _reference_resource(timeline: PatientTimeline, subject: dict[str, str]) -> dict[str, Any]:
    moment = timeline.reference.isoformat()
    if timeline.reference_event is ReferenceEvent.ADMISSION:
        return {
            "resourceType": "Encounter",
            "id": "admission",
            "status": "in-progress",
            "class": {"system": _ACT_CODE, "code": "IMP", "display": "inpatient encounter"},
            "subject": subject,
            "period": {"start": moment},
        }
    coding = {
        "system": LOINC_SYSTEM,
        "code": ONSET_CODE,
        "display": "Date and time of symptom onset",
    }
    return {
        "resourceType": "Observation",
        "id": "symptom-onset",
        "status": "final",
        "code": {"coding": [coding]},
        "subject": subject,
        "valueDateTime": moment,
    }


def _observation_resource(
    timeline: PatientTimeline,
    o: Observation,
    catalogue: QuantityCatalogue,
    subject: dict[str, str],
    id: str,
) -> dict[str, Any]:
    quantity = catalogue[o.quantity]
    value: dict[str, Any] = {"value": o.value, "unit": quantity.ucum}
    value |= {"system": UCUM_SYSTEM, "code": quantity.ucum}
    if o.censored:
        value["comparator"] = "<"
    extensions = [(UNCERTAINTY_EXTENSION, o.sd), (LOD_EXTENSION, o.lod)]
    if any(v is not None for _, v in extensions):
        value["extension"] = [{"url": u, "valueDecimal": v} for u, v in extensions if v is not None]
    category = {"system": "http://terminology.hl7.org/CodeSystem/observation-category"}
    return {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "category": [{"coding": [dict(category, code="laboratory")]}],
        "code": {
            "coding": [{"system": LOINC_SYSTEM, "code": quantity.code, "display": quantity.display}]
        },
        "subject": subject,
        "effectiveDateTime": timeline.datetime_at(o.time).isoformat(),
        "valueQuantity": value,
    }


def _administration_resource(
    timeline: PatientTimeline, i: Intervention, subject: dict[str, str], id: str
) -> dict[str, Any]:
    start = timeline.datetime_at(i.time)
    route = _ORAL if i.route is Route.ORAL else _INTRAVENOUS
    display = "Oral route" if i.route is Route.ORAL else "Intravenous route"
    resource: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "id": id,
        "status": "completed",
        "medicationCodeableConcept": {"text": i.agent or i.drug},
        "subject": subject,
    }
    if i.duration is not None:
        end = timeline.datetime_at(i.time + i.duration)
        resource["effectivePeriod"] = {"start": start.isoformat(), "end": end.isoformat()}
    else:
        resource["effectiveDateTime"] = start.isoformat()
    resource["dosage"] = {
        "route": {"coding": [{"system": SNOMED_SYSTEM, "code": route, "display": display}]},
        "dose": {"value": i.dose, "unit": "mg", "system": UCUM_SYSTEM, "code": "mg"},
    }
    return resource


__all__ = [
    "LOD_EXTENSION",
    "ONSET_CODE",
    "UNCERTAINTY_EXTENSION",
    "fhir_bundle",
    "read_fhir",
    "read_fhir_bundle",
    "write_fhir",
]
