"""FHIR R4 bundles: the sample equals the sample CSV, round trips, and every bad input named."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from immunetwin.errors import PatientDataError
from immunetwin.twin.fhir import (
    LOD_EXTENSION,
    UNCERTAINTY_EXTENSION,
    fhir_bundle,
    read_fhir,
    read_fhir_bundle,
    write_fhir,
)
from immunetwin.twin.patient import ReferenceEvent, Route, read_csv

DATA = Path(__file__).resolve().parents[2] / "src" / "immunetwin" / "twin" / "data"
SAMPLE_CSV = DATA / "synthetic_patient.csv"
SAMPLE_FHIR = DATA / "synthetic_patient_fhir.json"

Bundled = dict[str, Any]


@pytest.fixture()
def sample() -> Bundled:
    data: Bundled = json.loads(SAMPLE_FHIR.read_text())
    return data


def _resource(bundle: Bundled, id: str) -> dict[str, Any]:
    for entry in bundle["entry"]:
        if entry["resource"].get("id") == id:
            resource: dict[str, Any] = entry["resource"]
            return resource
    raise KeyError(id)


def _entry(bundle: Bundled, id: str) -> int:
    ids = [e["resource"].get("id") for e in bundle["entry"]]
    return ids.index(id) + 1


def test_the_sample_fhir_bundle_equals_the_sample_csv() -> None:
    from_csv = read_csv(SAMPLE_CSV)
    from_fhir = read_fhir(SAMPLE_FHIR)
    assert from_fhir == from_csv
    assert from_fhir.observations[0].source.startswith("Observation/lab-")
    bundle = json.loads(SAMPLE_FHIR.read_text())
    assert bundle["meta"]["tag"][0]["code"] == "HTEST"  # marked as test (synthetic) data
    Bundle.model_validate(bundle)


def test_fhir_round_trip(tmp_path: Path) -> None:
    timeline = read_csv(SAMPLE_CSV)
    path = write_fhir(timeline, tmp_path / "bundle.json", synthetic=True)
    again = read_fhir(path)
    assert again == timeline
    written = json.loads(path.read_text())
    Bundle.model_validate(written)
    assert written["meta"]["tag"][0]["code"] == "HTEST"
    censored = [r["resource"] for r in written["entry"] if "comparator" in str(r)]
    assert censored and censored[0]["valueQuantity"]["comparator"] == "<"
    urls = {
        e["url"]
        for r in written["entry"]
        for e in r["resource"].get("valueQuantity", {}).get("extension", [])
    }
    assert urls == {UNCERTAINTY_EXTENSION, LOD_EXTENSION}


def test_round_trip_with_an_admission_reference(tmp_path: Path) -> None:
    timeline = dataclasses.replace(read_csv(SAMPLE_CSV), reference_event=ReferenceEvent.ADMISSION)
    bundle = fhir_bundle(timeline)
    assert any(e["resource"]["resourceType"] == "Encounter" for e in bundle["entry"])
    assert read_fhir_bundle(bundle) == timeline


def _read(bundle: Bundled, id: str) -> Any:
    timeline = read_fhir_bundle(bundle)
    return [o for o in timeline.observations if o.source == f"Observation/{id}"][0]


def test_ucum_units_and_dates_in_fhir(sample: Bundled) -> None:
    lab = _resource(sample, "lab-1")
    lab["effectiveDateTime"] = "2021-03-06T01:00:00+01:00"  # no other IL-6 at this time
    lab["code"]["coding"][0]["code"] = "26881-3"  # IL-6 in ng/L equals pg/mL
    lab["valueQuantity"] |= {"value": 3.0, "unit": "ng/L", "code": "ng/L"}
    assert (_read(sample, "lab-1").quantity, _read(sample, "lab-1").value) == ("il6", 3.0)
    lab["valueQuantity"] = {"value": 3.0, "unit": "ng/L"}  # no UCUM code: the unit is read
    assert _read(sample, "lab-1").value == 3.0
    lab["effectiveDateTime"] = "2021-03-06"  # a date: midnight in the reference's zone
    lab["valueQuantity"] |= {"value": 1.0, "unit": "10*9/L", "code": "10*9/L"}
    lab["code"]["coding"][0]["code"] = "731-0"
    lymphocytes = _read(sample, "lab-1")
    assert (lymphocytes.quantity, lymphocytes.value) == ("lymphocytes", 1.0)
    assert lymphocytes.time == pytest.approx(5.0 - 8 / 24)


def _set(id: str, path: str, value: Any) -> Callable[[Bundled], None]:
    def edit(bundle: Bundled) -> None:
        node: Any = _resource(bundle, id)
        *parents, last = path.split(".")
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[last] = value

    return edit


def _add(resource: dict[str, Any]) -> Callable[[Bundled], None]:
    return lambda bundle: bundle["entry"].append({"resource": resource})


DEXA = "dose-1"


@pytest.mark.parametrize(
    ("edit", "resource", "field", "match"),
    [
        (
            _set("lab-1", "valueQuantity.value", "abc"),
            "lab-1",
            "valueQuantity.value",
            "invalid FHIR",
        ),
        (_set("lab-1", "effectiveDateTime", "day 5"), "lab-1", "effectiveDateTime", "invalid"),
        (_set("lab-1", "status", "bogus"), "lab-1", "status", "status 'bogus'"),
        (_set("lab-1", "code.coding.0.code", "9999-9"), "lab-1", "code.coding", "unknown code"),
        (_set("lab-1", "valueQuantity.code", "kg"), "lab-1", "valueQuantity.code", "impossible"),
        (_set("lab-1", "valueQuantity.value", -3), "lab-1", "valueQuantity.value", "negative"),
        (_set("lab-1", "valueQuantity.comparator", ">"), "lab-1", "valueQuantity.comparator", ">"),
        (_set("lab-1", "status", "entered-in-error"), "lab-1", "status", "entered-in-error"),
        (_set("lab-1", "effectiveDateTime", None), "lab-1", "effective[x]", "effectiveDateTime"),
        (
            _set(DEXA, "medicationCodeableConcept.text", "aspirin"),
            DEXA,
            "medicationCodeableConcept",
            "unknown drug",
        ),
        (_set(DEXA, "dosage.dose.code", "[IU]"), DEXA, "dosage.dose.code", "cannot read"),
        (_set(DEXA, "dosage.route", {"text": "rectal"}), DEXA, "dosage.route", "expected route"),
        (_set(DEXA, "status", "not-done"), DEXA, "status", "not given"),
        (
            _set(DEXA, "subject.reference", "Patient/other"),
            DEXA,
            "subject",
            "not the bundle's patient",
        ),
    ],
)
def test_bad_resources_name_entry_resource_and_field(
    sample: Bundled, edit: Callable[[Bundled], None], resource: str, field: str, match: str
) -> None:
    entry = _entry(sample, resource)
    kind = _resource(sample, resource)["resourceType"]
    edit(sample)
    with pytest.raises(PatientDataError, match=match) as caught:
        read_fhir_bundle(sample, source="sample.json")
    error = caught.value
    assert type(error) is PatientDataError and error.__cause__ is None  # no pydantic chain
    assert error.__context__ is None or error.__suppress_context__
    assert (error.source, error.row, error.resource) == ("sample.json", entry, f"{kind}/{resource}")
    assert error.field == field
    assert str(error).startswith(f"sample.json, entry {entry} ({kind}/{resource}), field")


def test_infusions_periods_and_order(sample: Bundled) -> None:
    infusion = [e["resource"] for e in sample["entry"] if "effectivePeriod" in e["resource"]][0]
    timeline = read_fhir_bundle(sample)
    toci = [i for i in timeline.interventions if i.drug == "anti_il6"][0]
    assert (toci.route, toci.duration, toci.dose) == (Route.INFUSION, 1 / 24, 560.0)
    infusion["effectivePeriod"]["end"] = infusion["effectivePeriod"]["start"]
    toci = [i for i in read_fhir_bundle(sample).interventions if i.drug == "anti_il6"][0]
    assert (toci.route, toci.duration) == (Route.IV_BOLUS, None)
    infusion["effectivePeriod"]["end"] = "2021-03-08T13:00:00+01:00"
    with pytest.raises(PatientDataError, match="out of order: effectivePeriod ends"):
        read_fhir_bundle(sample)
    oral = copy.deepcopy(infusion) | {"id": "oral-period"}
    oral["effectivePeriod"]["end"] = "2021-03-08T16:00:00+01:00"
    oral["dosage"]["route"] = {"text": "oral"}
    infusion["effectivePeriod"]["end"] = "2021-03-08T15:00:00+01:00"
    _add(oral)(sample)
    with pytest.raises(PatientDataError, match="instantaneous"):
        read_fhir_bundle(sample)


def test_duplicates_and_unsupported_resources(sample: Bundled) -> None:
    twin = copy.deepcopy(_resource(sample, "lab-1")) | {"id": "lab-copy"}
    _add(twin)(sample)
    with pytest.raises(PatientDataError, match="duplicate.*lab-1.*lab-copy"):
        read_fhir_bundle(sample)
    sample["entry"].pop()
    _add({"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/SYN-0001"}})(
        sample
    )
    with pytest.raises(PatientDataError, match="unsupported resource type 'Condition'") as caught:
        read_fhir_bundle(sample)
    assert caught.value.row == len(sample["entry"])


def test_the_reference_time(sample: Bundled) -> None:
    admission = {
        "resourceType": "Encounter",
        "id": "adm",
        "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "period": {"start": "2021-03-06T06:00:00+01:00"},
    }
    _add(admission)(sample)
    with pytest.raises(PatientDataError, match="choose one with reference_event="):
        read_fhir_bundle(sample)
    by_admission = read_fhir_bundle(sample, reference_event=ReferenceEvent.ADMISSION)
    by_onset = read_fhir_bundle(sample, reference_event=ReferenceEvent.SYMPTOM_ONSET)
    shift = by_onset.observations[0].time - by_admission.observations[0].time
    assert shift == pytest.approx(5 - 2 / 24)
    sample["entry"] = [
        e for e in sample["entry"] if e["resource"].get("id") not in ("adm", "symptom-onset")
    ]
    with pytest.raises(PatientDataError, match="expected one reference time"):
        read_fhir_bundle(sample)


def test_bad_files(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(PatientDataError, match="not JSON"):
        read_fhir(tmp_path / "x.json")
    with pytest.raises(PatientDataError, match="expected a FHIR Bundle, found 'Patient'"):
        read_fhir_bundle({"resourceType": "Patient", "id": "p"})
    with pytest.raises(PatientDataError, match="invalid FHIR") as caught:
        read_fhir_bundle({"resourceType": "Bundle", "type": "collection", "timestamp": "now"})
    assert caught.value.field == "timestamp"


def test_writing_a_patient_id_that_is_not_a_fhir_id() -> None:
    timeline = dataclasses.replace(read_csv(SAMPLE_CSV), patient_id="P 1/x")
    with pytest.raises(PatientDataError, match="cannot write patient 'P 1/x' as FHIR") as caught:
        fhir_bundle(timeline)
    assert caught.value.field == "entry.0.resource.id"
