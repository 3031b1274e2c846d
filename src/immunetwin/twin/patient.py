"""A patient's timeline: observations and interventions in days since a reference time, and
the CSV long format (one row per observation or intervention; ``docs/patient-data.md``).

Everything is immutable: :meth:`PatientTimeline.until` gives the data known by a day (for
sequential assimilation) and :meth:`PatientTimeline.merged` a new timeline with data that
arrived later. Values are stored in the catalogue's canonical units, doses in mg, times and
infusion durations in days. Bad data raise :class:`~immunetwin.errors.PatientDataError`
naming the file, line and column; nothing is dropped silently.
"""

from __future__ import annotations

import csv
import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import MappingProxyType

from immunetwin.errors import PatientDataError
from immunetwin.twin.quantities import CATALOGUE, QuantityCatalogue, unit_factor

SECONDS_PER_DAY = 86400.0
COLUMNS = ("patient", "time", "kind", "quantity", "value", "unit", "sd", "lod", "route", "duration")
REQUIRED_COLUMNS = COLUMNS[:6]
_MISSING = ("nan", "na", "n/a", "null", "none")


class Route(enum.Enum):
    """How a dose is given (the routes of :mod:`immunetwin.compose.dosing`)."""

    ORAL = "oral"
    IV_BOLUS = "iv_bolus"
    INFUSION = "infusion"


class ReferenceEvent(enum.Enum):
    """The event that day 0 of a timeline refers to."""

    SYMPTOM_ONSET = "symptom_onset"
    ADMISSION = "admission"


# Drug names (lower case) -> drug ids of the model library; a drug id maps to itself.
DRUGS: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(
            ("antiviral", "nirmatrelvir", "nirmatrelvir/ritonavir", "paxlovid", "molnupiravir")
            + ("remdesivir",),
            "antiviral",
        ),
        **dict.fromkeys(
            ("corticosteroid", "dexamethasone", "methylprednisolone", "prednisolone")
            + ("hydrocortisone",),
            "corticosteroid",
        ),
        **dict.fromkeys(("anti_il6", "tocilizumab", "sarilumab", "siltuximab"), "anti_il6"),
    }
)


@dataclass(frozen=True, slots=True)
class Observation:
    """One measurement: ``value`` (and ``sd``, ``lod``) in the quantity's canonical unit at
    ``time`` days since the reference. A left-censored value (below the limit of detection)
    has ``censored=True`` and ``value == lod``. ``source`` says where it came from (file and
    line, or FHIR resource) and takes no part in equality."""

    time: float
    quantity: str
    value: float
    sd: float | None = None
    lod: float | None = None
    censored: bool = False
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        _finite(self.time, "time")
        _finite(self.value, "value")
        _positive(self.sd, "sd")
        _positive(self.lod, "lod")
        if self.censored and self.lod != self.value:
            raise PatientDataError(
                f"a censored observation has value == lod; got value {self.value}, lod {self.lod}",
                field="value",
            )


@dataclass(frozen=True, slots=True)
class Intervention:
    """One dose of ``drug`` (a drug id, e.g. ``"corticosteroid"``; ``agent`` keeps the name
    given, e.g. ``"dexamethasone"``): ``dose`` mg at ``time`` days, by ``route``; an infusion
    lasts ``duration`` days."""

    time: float
    drug: str
    dose: float
    route: Route
    duration: float | None = None
    agent: str = ""
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        _finite(self.time, "time")
        _positive(self.dose, "value")
        if not isinstance(self.route, Route):
            raise PatientDataError(f"route must be a Route; got {self.route!r}", field="route")
        if (self.route is Route.INFUSION) != (self.duration is not None):
            raise PatientDataError(
                "an infusion needs a duration and other routes must have none; got route "
                f"{self.route.value} with duration {self.duration}",
                field="duration",
            )
        _positive(self.duration, "duration")


@dataclass(frozen=True, slots=True)
class PatientTimeline:
    """A patient's observations and interventions, sorted by time, in days since
    ``reference`` (a time-zone-aware datetime of ``reference_event``).

    Two observations of one quantity at one time, or two doses of one drug at one time, are
    rejected.
    """

    patient_id: str
    reference: datetime
    observations: tuple[Observation, ...] = ()
    interventions: tuple[Intervention, ...] = ()
    reference_event: ReferenceEvent = ReferenceEvent.SYMPTOM_ONSET

    def __post_init__(self) -> None:
        if not isinstance(self.patient_id, str) or not self.patient_id.strip():
            raise PatientDataError(f"patient_id must be non-empty; got {self.patient_id!r}")
        if self.reference.tzinfo is None:
            raise PatientDataError(
                f"the reference time {self.reference.isoformat()} has no time zone; give one, "
                "e.g. 2021-03-01T08:00:00+00:00",
                field="reference",
            )
        observations = tuple(sorted(self.observations, key=lambda o: (o.time, o.quantity)))
        interventions = tuple(sorted(self.interventions, key=lambda i: (i.time, i.drug)))
        _check_unique([(o.quantity, o.time, o.source) for o in observations])
        _check_unique([(i.drug, i.time, i.source) for i in interventions])
        object.__setattr__(self, "observations", observations)
        object.__setattr__(self, "interventions", interventions)

    @property
    def quantities(self) -> tuple[str, ...]:
        """The quantity keys observed, in order of first appearance."""
        return tuple(dict.fromkeys(o.quantity for o in self.observations))

    def observations_of(self, quantity: str) -> tuple[Observation, ...]:
        """The observations of one quantity (by key), in time order."""
        return tuple(o for o in self.observations if o.quantity == quantity)

    def days(self, moment: datetime | date) -> float:
        """Days from the reference to ``moment`` (a date is its midnight, and a datetime
        without a time zone is read in the reference's zone)."""
        return days_between(moment, self.reference)

    def datetime_at(self, day: float) -> datetime:
        """The datetime ``day`` days after the reference (to the microsecond)."""
        return self.reference + timedelta(days=day)

    def until(self, day: float) -> PatientTimeline:
        """The data known by ``day``: observations and interventions at ``time <= day``."""
        _finite(day, "day")
        return self._replace(
            tuple(o for o in self.observations if o.time <= day),
            tuple(i for i in self.interventions if i.time <= day),
        )

    def after(self, day: float) -> PatientTimeline:
        """The data after ``day`` (``time > day``); ``until(d).merged(after(d))`` is self."""
        _finite(day, "day")
        return self._replace(
            tuple(o for o in self.observations if o.time > day),
            tuple(i for i in self.interventions if i.time > day),
        )

    def merged(self, other: PatientTimeline) -> PatientTimeline:
        """This timeline with the newer data of ``other`` (same patient and reference).

        Every new observation must come after the last one of its quantity here, and every
        new dose after the last dose of its drug: an equal time is a duplicate (same value)
        or a conflict, an earlier one is out of order. To insert earlier data, build a new
        timeline from all the data.
        """
        if (other.patient_id, other.reference, other.reference_event) != (
            self.patient_id,
            self.reference,
            self.reference_event,
        ):
            raise PatientDataError(
                f"cannot merge data of patient '{other.patient_id}' (reference "
                f"{other.reference_event.value} {other.reference.isoformat()}) into patient "
                f"'{self.patient_id}' (reference {self.reference_event.value} "
                f"{self.reference.isoformat()}); patient and reference must be the same"
            )
        _check_newer(self.observations, other.observations, "quantity")
        _check_newer(self.interventions, other.interventions, "drug")
        return self._replace(
            self.observations + other.observations, self.interventions + other.interventions
        )

    def to_csv(
        self,
        path: str | Path,
        *,
        comments: Iterable[str] = (),
        catalogue: QuantityCatalogue = CATALOGUE,
    ) -> Path:
        """Write the CSV long format (see :func:`write_csv`)."""
        return write_csv(self, path, comments=comments, catalogue=catalogue)

    @classmethod
    def from_csv(
        cls, path: str | Path, *, catalogue: QuantityCatalogue = CATALOGUE
    ) -> PatientTimeline:
        """Read the CSV long format (see :func:`read_csv`)."""
        return read_csv(path, catalogue=catalogue)

    def _replace(
        self, observations: tuple[Observation, ...], interventions: tuple[Intervention, ...]
    ) -> PatientTimeline:
        return PatientTimeline(
            self.patient_id, self.reference, observations, interventions, self.reference_event
        )


def make_observation(
    catalogue: QuantityCatalogue,
    name: str,
    time: float,
    value: float,
    unit: str,
    *,
    sd: float | None = None,
    lod: float | None = None,
    censored: bool = False,
    source: str = "",
) -> Observation:
    """An observation of the quantity ``name`` (a key or LOINC code) reported as ``value``
    in ``unit``, converted to the canonical unit. A value below ``lod`` is left-censored
    (stored at the lod); ``censored=True`` says the value itself is the limit ("<50").

    Raises :class:`PatientDataError` whose ``field`` is ``quantity``, ``value``, ``unit``,
    ``sd`` or ``lod`` (no file location: readers add theirs).
    """
    found = catalogue.find(name)
    if found is None:
        raise PatientDataError(catalogue.unknown_code_message(name), field="quantity")
    quantity, log10 = found
    try:
        factor = quantity.factor(unit)
    except PatientDataError as exc:
        raise exc.located(field="unit") from None
    if log10:
        if sd is not None:
            raise PatientDataError(
                f"code '{name}' reports log10 values, so an sd cannot be converted; give the "
                f"value with code {quantity.code} (linear) or leave sd empty",
                field="sd",
            )
        value = 10.0 ** _finite(value, "value")
        lod = None if lod is None else 10.0 ** _finite(lod, "lod")
    value = _finite(value, "value") * factor
    if quantity.non_negative and value < 0:
        raise PatientDataError(
            f"negative concentration {value:g} {quantity.unit} of {quantity.key}; expected a "
            "value >= 0 (check the sign, or the unit if it is a log value)",
            field="value",
        )
    sd = None if sd is None else _positive(sd, "sd") * factor
    lod = None if lod is None else _positive(lod, "lod") * factor
    if censored:
        if lod is not None and not math.isclose(lod, value, rel_tol=1e-12):
            raise PatientDataError(
                f"'<{value:g}' says the limit of detection is {value:g} but lod is {lod:g}; "
                "give one limit",
                field="lod",
            )
        lod = value
    elif lod is not None and value < lod:
        censored, value = True, lod
    return Observation(time, quantity.key, value, sd, lod, censored, source)


def make_intervention(
    name: str,
    time: float,
    dose: float,
    unit: str,
    route: str,
    *,
    duration: float | None = None,
    source: str = "",
) -> Intervention:
    """A dose of drug ``name`` (a drug id or a name of :data:`DRUGS`) in a mass ``unit``;
    errors name the logical field (``quantity``, ``value``, ``unit``, ``route``)."""
    drug = DRUGS.get(name.strip().lower())
    if drug is None:
        known = ", ".join(sorted(DRUGS))
        raise PatientDataError(
            f"unknown drug '{name}'; expected a drug id or name of {known}", field="quantity"
        )
    try:
        factor = unit_factor(unit, "mg", what=f"the dose of {name}")
    except PatientDataError as exc:
        raise exc.located(field="unit") from None
    try:
        how = Route(route.strip().lower())
    except ValueError:
        routes = ", ".join(r.value for r in Route)
        found = f"unknown route '{route}'" if route.strip() else "no route"
        raise PatientDataError(f"{found}; expected one of {routes}", field="route") from None
    agent = "" if name.strip().lower() == drug else name.strip()
    return Intervention(time, drug, _finite(dose, "value") * factor, how, duration, agent, source)


def days_between(moment: datetime | date, reference: datetime) -> float:
    """Days from ``reference`` to ``moment``; a date is its midnight and a naive datetime is
    read in the reference's time zone."""
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time(), tzinfo=reference.tzinfo)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=reference.tzinfo)
    return (moment - reference).total_seconds() / SECONDS_PER_DAY


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


def _finite(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PatientDataError(f"{what} must be a number; got {value!r}", field=what)
    if not math.isfinite(value):
        raise PatientDataError(
            f"{what} is {value}; expected a finite number (remove the row if there was no "
            "measurement)",
            field=what,
        )
    return float(value)


def _positive(value: float | None, what: str) -> float:
    """``value`` if it is a positive finite number (``None`` passes as 0 for optionals)."""
    if value is None:
        return 0.0
    if not (_finite(value, what) > 0):
        raise PatientDataError(f"{what} must be positive; found {value}", field=what)
    return float(value)


def _text(value: float | None) -> str:
    return "" if value is None else repr(value)


def _check_unique(keyed: list[tuple[str, float, str]]) -> None:
    seen: dict[tuple[str, float], str] = {}
    for name, when, source in keyed:
        if (name, when) in seen:
            raise PatientDataError(
                f"duplicate: two entries for '{name}' at day {when:g} ({seen[name, when] or '?'} "
                f"and {source or '?'}); keep one",
            )
        seen[name, when] = source


def _check_newer(
    old: tuple[Observation, ...] | tuple[Intervention, ...],
    new: tuple[Observation, ...] | tuple[Intervention, ...],
    attr: str,
) -> None:
    """Every entry of ``new`` comes after the last entry of ``old`` with the same name."""
    last: dict[str, float] = {}
    existing: dict[tuple[str, float], Observation | Intervention] = {}
    for entry in old:
        name = getattr(entry, attr)
        last[name] = max(last.get(name, -math.inf), entry.time)
        existing[name, entry.time] = entry
    for entry in new:
        name = getattr(entry, attr)
        before = existing.get((name, entry.time))
        where = f" ({entry.source})" if entry.source else ""
        if before is not None:
            kind = "duplicate" if before == entry else "conflict"
            raise PatientDataError(
                f"{kind}: '{name}' at day {entry.time:g}{where} is already in the timeline"
                + (" with another value" if kind == "conflict" else "")
                + "; new data must not repeat known data",
                source=entry.source or None,
            )
        if entry.time < last.get(name, -math.inf):
            raise PatientDataError(
                f"out of order: '{name}' at day {entry.time:g}{where} is earlier than the last "
                f"known '{name}' at day {last[name]:g}; merged() appends newer data only "
                "(build a new timeline to insert earlier data)",
                source=entry.source or None,
            )


__all__ = [
    "COLUMNS",
    "DRUGS",
    "Intervention",
    "Observation",
    "PatientTimeline",
    "ReferenceEvent",
    "Route",
    "days_between",
    "make_intervention",
    "make_observation",
    "read_csv",
    "write_csv",
]
