"""The CSV long format of a patient timeline: one row per observation or intervention
(``docs/patient-data.md``). Reading is strict: every bad cell is a
:class:`~immunetwin.errors.PatientDataError` naming the file, line and column."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

from immunetwin.errors import PatientDataError
from immunetwin.twin.patient import (
    _MISSING,
    COLUMNS,
    REQUIRED_COLUMNS,
    Intervention,
    Observation,
    PatientTimeline,
    ReferenceEvent,
    _finite,
    _text,
    days_between,
    make_intervention,
    make_observation,
)
from immunetwin.twin.quantities import CATALOGUE, QuantityCatalogue, unit_factor


def read_csv(path: str | Path, *, catalogue: QuantityCatalogue = CATALOGUE) -> PatientTimeline:
    """Read one patient's timeline from the CSV long format (``docs/patient-data.md``).

    Lines starting with ``#`` are comments. Every problem raises
    :class:`~immunetwin.errors.PatientDataError` naming the file, line and column.
    """
    path = Path(path)
    records = _records(path)
    rows = [(n, dict(zip(records[0][1], cells, strict=True))) for n, cells in records[1:]]
    patient = _patient(path, rows)
    reference, event = _reference(path, rows)
    observations: list[Observation] = []
    interventions: list[Intervention] = []
    last: dict[str, tuple[float, int]] = {}  # name -> (time, line) of its latest row
    for number, row in rows:
        kind = row["kind"].lower()
        if kind == "reference":
            continue
        source = f"{path.name} line {number}"
        try:
            if kind == "observation":
                observation = _observation(row, reference, catalogue, source)
                observations.append(observation)
                name, when = observation.quantity, observation.time
            elif kind == "intervention":
                intervention = _intervention(row, reference, source)
                interventions.append(intervention)
                name, when = intervention.drug, intervention.time
            else:
                raise PatientDataError(
                    f"unknown kind '{row['kind']}'; expected observation, intervention or "
                    "reference",
                    field="kind",
                )
            _check_order(name, when, number, last)
        except PatientDataError as exc:
            raise exc.located(source=str(path), row=number) from None
    return PatientTimeline(patient, reference, tuple(observations), tuple(interventions), event)


def write_csv(
    timeline: PatientTimeline,
    path: str | Path,
    *,
    comments: Iterable[str] = (),
    catalogue: QuantityCatalogue = CATALOGUE,
) -> Path:
    """Write ``timeline`` in the CSV long format: times as day numbers, values in canonical
    units, doses in mg, ``comments`` as ``#`` lines on top. Reading it back gives an equal
    timeline."""
    path = Path(path)
    rows: list[tuple[float, list[str]]] = []
    for o in timeline.observations:
        value = f"<{o.value!r}" if o.censored else repr(o.value)
        unit = catalogue[o.quantity].unit
        cells = [repr(o.time), "observation", o.quantity, value, unit, _text(o.sd), _text(o.lod)]
        rows.append((o.time, [*cells, "", ""]))
    for i in timeline.interventions:
        duration = "" if i.duration is None else f"{i.duration!r} day"
        cells = [repr(i.time), "intervention", i.agent or i.drug, repr(i.dose), "mg", "", ""]
        rows.append((i.time, [*cells, i.route.value, duration]))
    rows.sort(key=lambda r: r[0])  # stable: observations before doses at the same time
    with path.open("w", newline="", encoding="utf-8") as handle:
        handle.writelines(f"# {comment}\n" for comment in comments)
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        reference = [timeline.reference.isoformat(), "reference", timeline.reference_event.value]
        writer.writerow([timeline.patient_id, *reference] + [""] * 6)
        writer.writerows([timeline.patient_id, *cells] for _, cells in rows)
    return path


def _records(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, cells) of the header and data lines; blank and ``#`` lines skipped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PatientDataError(f"cannot read the file: {exc}", source=str(path)) from None
    records = [
        (number, [cell.strip() for cell in next(csv.reader([line]))])
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not records:
        raise PatientDataError(
            f"the file is empty; expected a header with the columns {', '.join(COLUMNS)}",
            source=str(path),
        )
    number, header = records[0]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if missing or unknown or repeated:
        found = "; ".join(
            f"{label} {', '.join(names)}"
            for label, names in (("missing", missing), ("unknown", unknown), ("repeated", repeated))
            if names
        )
        raise PatientDataError(
            f"bad header ({found}); expected the columns {', '.join(COLUMNS)} (the first six "
            "required)",
            source=str(path),
            row=number,
        )
    for number, cells in records[1:]:
        if len(cells) != len(header):
            raise PatientDataError(
                f"expected {len(header)} cells ({', '.join(header)}), found {len(cells)}",
                source=str(path),
                row=number,
            )
    return records  # absent optional columns read as empty cells (row.get)


def _patient(path: Path, rows: list[tuple[int, dict[str, str]]]) -> str:
    """The one patient id of the file."""
    if not rows:
        raise PatientDataError("the file has no rows; expected a reference row", source=str(path))
    first = rows[0][1]["patient"]
    for number, row in rows:
        if not row["patient"] or row["patient"] != first:
            raise PatientDataError(
                f"expected patient '{first}' (one patient per file), found '{row['patient']}'",
                source=str(path),
                row=number,
                field="patient",
            )
    return first


def _reference(
    path: Path, rows: list[tuple[int, dict[str, str]]]
) -> tuple[datetime, ReferenceEvent]:
    """The datetime and event of the single ``reference`` row."""
    found = [(n, row) for n, row in rows if row["kind"].lower() == "reference"]
    if len(found) != 1:
        lines = ", ".join(str(n) for n, _ in found) or "none"
        raise PatientDataError(
            f"expected one row of kind 'reference' (day 0: its time an ISO datetime with a "
            f"time zone, its quantity symptom_onset or admission); found {len(found)} "
            f"(lines: {lines})",
            source=str(path),
        )
    number, row = found[0]
    try:
        _empty(row, COLUMNS[4:], "the reference row")
    except PatientDataError as exc:
        raise exc.located(source=str(path), row=number) from None

    def fail(message: str, column: str) -> PatientDataError:
        return PatientDataError(message, source=str(path), row=number, field=column)

    try:
        event = ReferenceEvent(row["quantity"].lower())
    except ValueError:
        events = ", ".join(e.value for e in ReferenceEvent)
        raise fail(
            f"unknown reference event '{row['quantity']}'; expected {events}", "quantity"
        ) from None
    try:
        reference = datetime.fromisoformat(row["time"])
    except ValueError:
        reference = None
    if reference is None or reference.tzinfo is None:
        raise fail(
            f"expected an ISO 8601 datetime with a time zone, e.g. 2021-03-01T08:00:00+00:00; "
            f"found '{row['time']}'",
            "time",
        )
    return reference, event


def _observation(
    row: Mapping[str, str], reference: datetime, catalogue: QuantityCatalogue, source: str
) -> Observation:
    _empty(row, ("route", "duration"), "an observation")
    when = _time(row["time"], reference)
    value, censored = parse_number(row["value"], "value", censoring=True)
    sd = _optional(row.get("sd", ""), "sd")
    lod = _optional(row.get("lod", ""), "lod")
    return make_observation(
        catalogue,
        row["quantity"],
        when,
        value,
        row["unit"],
        sd=sd,
        lod=lod,
        censored=censored,
        source=source,
    )


def _intervention(row: Mapping[str, str], reference: datetime, source: str) -> Intervention:
    _empty(row, ("sd", "lod"), "an intervention")
    when = _time(row["time"], reference)
    dose, _ = parse_number(row["value"], "value")
    text = row.get("duration", "")
    duration = None
    if text:
        if _is_number(text):
            raise PatientDataError(
                f"the infusion duration needs a unit, e.g. '30 min' or '2 h'; found '{text}'",
                field="duration",
            )
        try:
            duration = unit_factor(text, "day", what="the infusion duration")
        except PatientDataError as exc:
            raise exc.located(field="duration") from None
    route = row.get("route", "")
    return make_intervention(
        row["quantity"], when, dose, row["unit"], route, duration=duration, source=source
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _time(text: str, reference: datetime) -> float:
    """Days since the reference from a day number or an ISO 8601 date/datetime."""
    if _is_number(text):
        return _finite(float(text), "time")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise PatientDataError(
            "expected a day number (days since the reference) or an ISO 8601 datetime like "
            f"2021-03-04T08:30:00+00:00, found '{text}'",
            field="time",
        ) from None
    return days_between(moment, reference)


def _optional(text: str, what: str) -> float | None:
    return parse_number(text, what)[0] if text else None


def _empty(row: Mapping[str, str], columns: tuple[str, ...], kind: str) -> None:
    for column in columns:
        if row.get(column, ""):
            raise PatientDataError(
                f"{column} does not apply to {kind}; found '{row[column]}', expected an empty cell",
                field=column,
            )


def _check_order(name: str, when: float, number: int, last: dict[str, tuple[float, int]]) -> None:
    """Rows of one quantity (or drug) must be in strictly increasing time order."""
    if name in last:
        previous, line = last[name]
        if when == previous:
            raise PatientDataError(
                f"duplicate: '{name}' at day {when:g} is also on line {line}; keep one row",
                field="time",
            )
        if when < previous:
            raise PatientDataError(
                f"out of order: '{name}' at day {when:g} comes after line {line} at day "
                f"{previous:g}; sort the rows of each quantity by time",
                field="time",
            )
    last[name] = (when, number)


def parse_number(text: str, what: str, *, censoring: bool = False) -> tuple[float, bool]:
    """A finite number from a table cell and, with ``censoring``, whether it was written
    ``<x`` (left-censored: below the limit of detection x)."""
    cell = text.strip()
    censored = censoring and cell.startswith("<")
    if censored:
        cell = cell.lstrip("<=").strip()
    if cell[:1] in "<>" and cell:
        limit = "values above a limit ('>') are" if cell[0] == ">" else "'<' is not"
        raise PatientDataError(
            f"found '{text}': {limit} supported here; give a number or remove the row",
            field=what,
        )
    if not cell or cell.lower() in _MISSING:
        raise PatientDataError(
            f"{what} is missing ({text!r}); expected a number. Remove the row if there was no "
            "measurement",
            field=what,
        )
    try:
        number = float(cell)
    except ValueError:
        raise PatientDataError(f"expected a number, found '{text}'", field=what) from None
    return _finite(number, what), censored
