"""Patient timelines and the CSV long format: reading, writing, strictness, until/merged."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from immunetwin.errors import PatientDataError
from immunetwin.twin.patient import (
    Intervention,
    Observation,
    PatientTimeline,
    ReferenceEvent,
    Route,
    days_between,
    make_observation,
    read_csv,
)
from immunetwin.twin.quantities import CATALOGUE

DATA = Path(__file__).resolve().parents[2] / "src" / "immunetwin" / "twin" / "data"
SAMPLE_CSV = DATA / "synthetic_patient.csv"

# Line numbers as a text editor shows them: 1 comment, 2 header, 3 reference, 4... data.
SMALL = """\
# synthetic test patient
patient,time,kind,quantity,value,unit,sd,lod,route,duration
P1,2021-03-01T00:00:00+00:00,reference,symptom_onset,,,,,,
P1,1.0,observation,26881-3,40,pg/mL,4,,,
P1,2.0,observation,il6,80,ng/L,,,,
P1,2.0,observation,crp,1.2,mg/dL,,,,
P1,2021-03-04T12:00:00+00:00,intervention,dexamethasone,6,mg,,,iv_bolus,
P1,3.5,intervention,tocilizumab,0.56,g,,,infusion,1 h
P1,4.0,observation,95521-1,<1000,copies/mL,,1000,,
"""


def _small(tmp_path: Path, replace: dict[int, str] | None = None, extra: str = "") -> Path:
    lines = SMALL.splitlines()
    for number, text in (replace or {}).items():
        lines[number - 1] = text
    path = tmp_path / "patient.csv"
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


def test_a_small_csv_reads_into_canonical_units(tmp_path: Path) -> None:
    timeline = read_csv(_small(tmp_path))
    assert timeline.patient_id == "P1"
    assert timeline.reference == datetime(2021, 3, 1, tzinfo=UTC)
    assert timeline.reference_event is ReferenceEvent.SYMPTOM_ONSET
    il6 = timeline.observations_of("il6")
    assert [(o.time, o.value, o.sd) for o in il6] == [(1.0, 40.0, 4.0), (2.0, 80.0, None)]
    assert timeline.observations_of("crp")[0].value == 12.0  # mg/dL x 10 = mg/L
    virus = timeline.observations_of("sars_cov_2_rna")[0]
    assert (virus.value, virus.lod, virus.censored) == (1000.0, 1000.0, True)
    toci, dex = timeline.interventions  # both at day 3.5: sorted by drug id
    assert (dex.time, dex.drug, dex.agent, dex.dose, dex.route) == (
        3.5,
        "corticosteroid",
        "dexamethasone",
        6.0,
        Route.IV_BOLUS,
    )
    assert (toci.drug, toci.dose, toci.route, toci.duration) == (
        "anti_il6",
        560.0,
        Route.INFUSION,
        1 / 24,
    )
    assert il6[0].source == "patient.csv line 4"


def test_the_sample_csv(tmp_path: Path) -> None:
    timeline = read_csv(SAMPLE_CSV)
    assert timeline.patient_id == "SYN-0001"
    assert set(timeline.quantities) == set(CATALOGUE.keys)
    assert len(timeline.observations) == 33 and len(timeline.interventions) == 12
    assert timeline.observations_of("crp")[0].value == 95.0  # 9.5 mg/dL
    assert timeline.observations_of("lymphocytes")[0].value == 0.8  # 0.8 10^3/uL
    assert timeline.observations_of("ferritin")[0].value == 850.0  # ng/mL = ug/L
    assert timeline.observations_of("sars_cov_2_rna")[-1].censored
    # +01:00 times against a +01:00 reference at 08:00: 5 days later at 08:00 is day 5
    assert timeline.interventions[0].time == 5.0


def test_csv_round_trip(tmp_path: Path) -> None:
    timeline = read_csv(SAMPLE_CSV)
    path = timeline.to_csv(tmp_path / "out.csv", comments=["synthetic"])
    assert path.read_text().startswith("# synthetic\npatient,time,kind")
    again = PatientTimeline.from_csv(path)
    assert again == timeline
    assert again.observations[0].source != timeline.observations[0].source  # not compared


def test_times_given_as_days_dates_or_naive_datetimes(tmp_path: Path) -> None:
    rows = {
        4: "P1,2021-03-02,observation,il6,40,pg/mL,,,,",  # a date: its midnight
        5: "P1,2021-03-03T06:00:00,observation,il6,80,pg/mL,,,,",  # naive: reference zone
        6: "P1,2021-03-03T00:00:00-06:00,observation,crp,12,mg/L,,,,",
    }
    timeline = read_csv(_small(tmp_path, rows))
    assert [o.time for o in timeline.observations_of("il6")] == [1.0, 2.25]
    assert timeline.observations_of("crp")[0].time == 2.25
    reference = datetime(2021, 3, 1, tzinfo=timezone(timedelta(hours=2)))
    assert days_between(date(2021, 3, 2), reference) == 1.0
    assert days_between(datetime(2021, 3, 1, 12), reference) == 0.5


@pytest.mark.parametrize(
    ("line", "text", "field", "match"),
    [
        (4, "P1,1.0,observation,26881-3,nan,pg/mL,,,,", "value", "missing"),
        (4, "P1,1.0,observation,26881-3,,pg/mL,,,,", "value", "missing"),
        (4, "P1,1.0,observation,26881-3,forty,pg/mL,,,,", "value", "expected a number"),
        (4, "P1,1.0,observation,26881-3,inf,pg/mL,,,,", "value", "finite"),
        (4, "P1,1.0,observation,26881-3,-5,pg/mL,,,,", "value", "negative concentration"),
        (4, "P1,1.0,observation,26881-3,>5000,pg/mL,,,,", "value", "above a limit"),
        (4, "P1,1.0,observation,26881-3,40,kg,,,,", "unit", "impossible unit 'kg'"),
        (4, "P1,1.0,observation,26881-3,40,,,,,", "unit", "no unit"),
        (4, "P1,1.0,observation,9999-9,40,pg/mL,,,,", "quantity", "unknown code '9999-9'"),
        (4, "P1,1.0,observation,26881-3,40,pg/mL,-1,,,", "sd", "positive"),
        (4, "P1,1.0,observation,26881-3,40,pg/mL,,,oral,", "route", "does not apply"),
        (4, "P1,yesterday,observation,26881-3,40,pg/mL,,,,", "time", "ISO 8601"),
        (5, "P1,1.0,observation,il6,80,ng/L,,,,", "time", "duplicate.*line 4"),
        (5, "P1,0.5,observation,il6,80,ng/L,,,,", "time", "out of order.*line 4"),
        (4, "P1,1.0,measurement,26881-3,40,pg/mL,,,,", "kind", "unknown kind"),
        (4, "P2,1.0,observation,26881-3,40,pg/mL,,,,", "patient", "one patient per file"),
        (7, "P1,3.5,intervention,aspirin,6,mg,,,oral,", "quantity", "unknown drug"),
        (7, "P1,3.5,intervention,dexamethasone,6,mg,,,intrathecal,", "route", "unknown route"),
        (7, "P1,3.5,intervention,dexamethasone,6,mg/kg,,,oral,", "unit", "impossible unit"),
        (7, "P1,3.5,intervention,dexamethasone,0,mg,,,oral,", "value", "positive"),
        (8, "P1,3.5,intervention,tocilizumab,560,mg,,,infusion,", "duration", "needs a duration"),
        (8, "P1,3.5,intervention,tocilizumab,560,mg,,,infusion,2", "duration", "needs a unit"),
        (8, "P1,3.5,intervention,tocilizumab,560,mg,,,infusion,2 mg", "duration", "impossible"),
        (8, "P1,3.5,intervention,tocilizumab,560,mg,,,oral,1 h", "duration", "other routes"),
        (8, "P1,3.0,intervention,dexamethasone,6,mg,,,oral,", "time", "out of order.*line 7"),
        (9, "P1,4.0,observation,95521-1,<1000,copies/mL,,900,,", "lod", "one limit"),
        (3, "P1,2021-03-01T00:00:00,reference,symptom_onset,,,,,,", "time", "time zone"),
        (3, "P1,2021-03-01T00:00:00+00:00,reference,infection,,,,,,", "quantity", "reference"),
    ],
)
def test_bad_rows_name_file_line_and_field(
    tmp_path: Path, line: int, text: str, field: str, match: str
) -> None:
    path = _small(tmp_path, {line: text})
    with pytest.raises(PatientDataError, match=match) as caught:
        read_csv(path)
    error = caught.value
    assert (error.source, error.row, error.field) == (str(path), line, field)
    assert str(error).startswith(f"{path}, line {line}, field '{field}': ")


@pytest.mark.parametrize(
    ("replace", "extra", "row", "match"),
    [
        ({2: "patient,time,kind,quantity,value,sd"}, "", 2, "missing unit"),
        ({2: SMALL.splitlines()[1] + ",comment"}, "", 2, "unknown comment"),
        ({4: "P1,1.0,observation,26881-3,40,pg/mL"}, "", 4, "expected 10 cells"),
        ({3: "# no reference"}, "", None, "one row of kind 'reference'"),
        ({}, "P1,2021-03-02T00:00:00+00:00,reference,admission,,,,,,\n", None, "found 2"),
    ],
)
def test_bad_tables(
    tmp_path: Path, replace: dict[int, str], extra: str, row: int | None, match: str
) -> None:
    with pytest.raises(PatientDataError, match=match) as caught:
        read_csv(_small(tmp_path, replace, extra))
    assert caught.value.row == row


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(PatientDataError, match="cannot read the file"):
        read_csv(tmp_path / "absent.csv")
    (tmp_path / "empty.csv").write_text("# only a comment\n")
    with pytest.raises(PatientDataError, match="empty"):
        read_csv(tmp_path / "empty.csv")


def test_censoring_and_log10_codes() -> None:
    below = make_observation(CATALOGUE, "il6", 1.0, 1.0, "pg/mL", lod=1.5)
    assert (below.value, below.lod, below.censored) == (1.5, 1.5, True)
    above = make_observation(CATALOGUE, "il6", 1.0, 2.0, "pg/mL", lod=1.5)
    assert (above.value, above.censored) == (2.0, False)
    logged = make_observation(CATALOGUE, "95522-9", 1.0, 6.0, "{Log_copies}/mL")
    assert (logged.quantity, logged.value) == ("sars_cov_2_rna", 1e6)
    with pytest.raises(PatientDataError, match="log10 values") as caught:
        make_observation(CATALOGUE, "95522-9", 1.0, 6.0, "copies/mL", sd=0.3)
    assert caught.value.field == "sd"


def _timeline() -> PatientTimeline:
    reference = datetime(2021, 3, 1, 8, tzinfo=UTC)
    observations = (
        Observation(2.0, "il6", 80.0),
        Observation(1.0, "il6", 40.0),
        Observation(1.0, "crp", 12.0),
        Observation(3.0, "crp", 30.0),
    )
    doses = (Intervention(1.5, "corticosteroid", 6.0, Route.IV_BOLUS),)
    return PatientTimeline("P1", reference, observations, doses)


def test_a_timeline_is_sorted_and_immutable() -> None:
    timeline = _timeline()
    assert [(o.time, o.quantity) for o in timeline.observations] == [
        (1.0, "crp"),
        (1.0, "il6"),
        (2.0, "il6"),
        (3.0, "crp"),
    ]
    assert timeline.quantities == ("crp", "il6")
    with pytest.raises(dataclasses.FrozenInstanceError):
        timeline.patient_id = "P2"  # type: ignore[misc]
    assert timeline.datetime_at(1.5) == datetime(2021, 3, 2, 20, tzinfo=UTC)
    assert timeline.days(datetime(2021, 3, 2, 20, tzinfo=UTC)) == 1.5


def test_a_timeline_rejects_duplicates_and_naive_references() -> None:
    with pytest.raises(PatientDataError, match="duplicate.*'il6' at day 1"):
        PatientTimeline(
            "P1",
            datetime(2021, 3, 1, tzinfo=UTC),
            (Observation(1.0, "il6", 1.0, source="a"), Observation(1.0, "il6", 2.0, source="b")),
        )
    with pytest.raises(PatientDataError, match="time zone"):
        PatientTimeline("P1", datetime(2021, 3, 1))
    with pytest.raises(PatientDataError, match="finite"):
        Observation(float("nan"), "il6", 1.0)
    with pytest.raises(PatientDataError, match="value == lod"):
        Observation(1.0, "il6", 1.0, lod=2.0, censored=True)


def test_until_after_and_merged() -> None:
    timeline = _timeline()
    known = timeline.until(1.5)
    assert [o.time for o in known.observations] == [1.0, 1.0]
    assert len(known.interventions) == 1
    later = timeline.after(1.5)
    assert [o.time for o in later.observations] == [2.0, 3.0] and not later.interventions
    assert known.merged(later) == timeline
    assert timeline.until(10.0) == timeline and not timeline.until(0.0).observations


def test_merged_rejects_duplicates_conflicts_and_out_of_order_data() -> None:
    timeline = _timeline()
    same = dataclasses.replace(timeline, observations=(Observation(2.0, "il6", 80.0),))
    with pytest.raises(PatientDataError, match="duplicate: 'il6' at day 2"):
        timeline.merged(same.after(1.5))
    other = dataclasses.replace(
        timeline, observations=(Observation(2.0, "il6", 81.0, source="lab B"),), interventions=()
    )
    with pytest.raises(PatientDataError, match=r"conflict: 'il6' at day 2 \(lab B\)"):
        timeline.merged(other)
    early = dataclasses.replace(
        timeline, observations=(Observation(2.5, "crp", 20.0),), interventions=()
    )
    with pytest.raises(PatientDataError, match="out of order: 'crp' at day 2.5"):
        timeline.merged(early)
    early_dose = dataclasses.replace(
        timeline,
        observations=(),
        interventions=(Intervention(1.0, "corticosteroid", 6.0, Route.ORAL),),
    )
    with pytest.raises(PatientDataError, match="out of order: 'corticosteroid'"):
        timeline.merged(early_dose)
    stranger = dataclasses.replace(timeline, patient_id="P2", observations=(), interventions=())
    with pytest.raises(PatientDataError, match="patient and reference must be the same"):
        timeline.merged(stranger)
    newer = dataclasses.replace(
        timeline, observations=(Observation(4.0, "crp", 10.0),), interventions=()
    )
    assert timeline.merged(newer).observations_of("crp")[-1].time == 4.0


def test_reference_rows_carry_no_values_and_doses_need_a_route(tmp_path: Path) -> None:
    path = _small(tmp_path, {3: "P1,2021-03-01T00:00:00+00:00,reference,symptom_onset,1,,,,,"})
    with pytest.raises(PatientDataError, match="does not apply to the reference row") as caught:
        read_csv(path)
    assert (caught.value.row, caught.value.field) == (3, "value")
    path = _small(tmp_path, {7: "P1,3.5,intervention,dexamethasone,6,mg,,,,"})
    with pytest.raises(PatientDataError, match="no route; expected one of oral"):
        read_csv(path)
    with pytest.raises(PatientDataError, match="day is nan"):
        _timeline().until(float("nan"))
