"""A patient's timeline: observations and interventions in days since a reference time (its
CSV long format is read and written by ``_patient_csv``; ``docs/patient-data.md``).

Everything is immutable: :meth:`PatientTimeline.until` gives the data known by a day (for
sequential assimilation) and :meth:`PatientTimeline.merged` a new timeline with data that
arrived later. Values are stored in the catalogue's canonical units, doses in mg, times and
infusion durations in days. Bad data raise :class:`~immunetwin.errors.PatientDataError`
naming the file, line and column; nothing is dropped silently.
"""

from __future__ import annotations

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


from immunetwin.twin._patient_csv import read_csv, write_csv  # noqa: E402 - needs the types above

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
