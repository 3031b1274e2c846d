"""Dosing regimens as data, and their translation into SBML events.

A :class:`Regimen` is what a protocol says (drug, amount, dose times, route, infusion
duration); :func:`doses_as_events` turns it into events on a model so that the same model can
be run under many regimens without editing its equations (Gabrielsson & Weiner,
Pharmacokinetic and Pharmacodynamic Data Analysis, 5th ed., 2016, ch. 2: a bolus is an
instantaneous input, an infusion a zero-order input ``R = dose/duration`` for its duration).

- ``iv_bolus`` and ``oral`` add the amount to a target amount (the ``dose`` port of a PK
  module in :mod:`immunetwin.compose.library.pkpd`: the central amount or the gut depot);
- ``infusion`` adds ``amount/duration`` to an input-rate parameter (``R_in``) at each start
  and removes it at each end. Rate changes that fall at the same instant (one infusion ending
  as the next starts) are merged into one event, because simultaneous SBML events that read
  the same parameter at trigger time would overwrite each other.

Times are in the model's time unit (hours for the PK library modules) and amounts in the
target's amount unit (``unit`` is recorded and checked to be a mass or an amount of
substance, not converted).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from immunetwin.compose.units import conversion_factor
from immunetwin.errors import InvalidInputError
from immunetwin.ir import Apply, Event, EventAssignment, Expr, Model, Num, Op, Parameter, Sym, Time

ROUTES = ("iv_bolus", "infusion", "oral")
RECORD_KEY = "immunetwin:dosing"
_TOLERANCE = 1e-12  # relative: an infusion ending this close to the next start is contiguous
_KEYS = ("drug", "amount", "times", "interval", "count", "start", "route", "duration", "unit")


@dataclass(frozen=True, slots=True)
class Regimen:
    """Doses of one drug by one route. ``amount`` is one amount for every dose or one per
    dose; ``times`` must be strictly increasing, finite and non-negative; infusions need a
    ``duration`` and must not overlap (contiguous ones are fine)."""

    drug: str
    amount: float | tuple[float, ...]
    times: tuple[float, ...]
    route: str
    duration: float | None = None
    unit: str = "mg"

    def __post_init__(self) -> None:
        problems: list[str] = []
        times = _numbers(self.times, "times", problems)
        amount: float | tuple[float, ...]
        if isinstance(self.amount, int | float) and not isinstance(self.amount, bool):
            amount = float(self.amount)
            amounts = (amount,) * len(times)
        else:
            amount = _numbers(self.amount, "amount", problems)
            amounts = amount
            if not problems and len(amount) != len(times):
                problems.append(
                    f"amount has {len(amount)} values for {len(times)} dose times; give one "
                    "amount per dose or a single amount for all"
                )
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "amount", amount)
        if not isinstance(self.drug, str) or not self.drug.strip():
            problems.append(f"drug must be a non-empty name; got {self.drug!r}")
        if self.route not in ROUTES:
            problems.append(f"route must be one of {', '.join(ROUTES)}; got {self.route!r}")
        problems += _time_problems(times)
        problems += [
            f"dose {i} has amount {a}; amounts must be positive and finite"
            for i, a in enumerate(amounts)
            if not (math.isfinite(a) and a > 0)
        ]
        problems += _duration_problems(self.route, self.duration, times)
        if self.duration is not None and not problems:
            object.__setattr__(self, "duration", float(self.duration))
        mass, substance = conversion_factor(self.unit, "mg"), conversion_factor(self.unit, "mol")
        if isinstance(mass, str) and isinstance(substance, str):
            problems.append(
                f"unit {self.unit!r} is not a mass or an amount of substance; use e.g. 'mg', "
                "'ug' or 'umol'"
            )
        if problems:
            raise InvalidInputError("invalid dosing regimen: " + "; ".join(problems))

    @property
    def amounts(self) -> tuple[float, ...]:
        """The amount of each dose."""
        if isinstance(self.amount, tuple):
            return self.amount
        return (self.amount,) * len(self.times)

    def to_dict(self) -> dict[str, Any]:
        """The regimen as plain data (what :func:`regimen_from_dict` reads back)."""
        data: dict[str, Any] = {
            "drug": self.drug,
            "amount": list(self.amount) if isinstance(self.amount, tuple) else self.amount,
            "times": list(self.times),
            "route": self.route,
            "unit": self.unit,
        }
        if self.duration is not None:
            data["duration"] = self.duration
        return data


def regimen_from_dict(data: Mapping[str, Any]) -> Regimen:
    """A regimen from a YAML/JSON mapping: ``drug``, ``amount``, ``route``, optional
    ``duration`` and ``unit``, and either ``times`` (a list) or ``interval`` + ``count``
    (+ ``start``, default 0) for evenly spaced doses."""
    if not isinstance(data, Mapping):
        raise InvalidInputError(
            f"a dosing regimen must be a mapping (drug, amount, route, times); got "
            f"{type(data).__name__}"
        )
    unknown = sorted(str(k) for k in data if k not in _KEYS)
    if unknown:
        raise InvalidInputError(
            f"unknown dosing regimen keys: {', '.join(unknown)}; allowed: {', '.join(_KEYS)}"
        )
    missing = [k for k in ("drug", "amount", "route") if k not in data]
    if missing:
        raise InvalidInputError(f"dosing regimen is missing {', '.join(missing)}")
    spaced = [k for k in ("interval", "count", "start") if k in data]
    if "times" in data and spaced:
        raise InvalidInputError(
            f"dosing regimen gives both 'times' and {', '.join(spaced)}; give either a list of "
            "times or 'interval' and 'count'"
        )
    if "times" in data:
        times = data["times"]
        if not isinstance(times, Sequence) or isinstance(times, str):
            times = [times]
    elif "interval" in data and "count" in data:
        times = _spaced(data["interval"], data["count"], data.get("start", 0.0))
    else:
        raise InvalidInputError(
            "dosing regimen has no dose times: give 'times: [0, 12, 24]' or 'interval: 12' "
            "with 'count: 3'"
        )
    amount = data["amount"]
    if isinstance(amount, Sequence) and not isinstance(amount, str):
        amount = tuple(amount)
    return Regimen(
        drug=data["drug"],
        amount=amount,
        times=tuple(times),
        route=data["route"],
        duration=data.get("duration"),
        unit=data.get("unit", "mg"),
    )


def doses_as_events(
    model: Model, regimen: Regimen, target_id: str, *, rate_parameter: str | None = None
) -> Model:
    """``model`` with events giving ``regimen``.

    Bolus and oral doses add their amount to ``target_id`` (an amount species, e.g. a PK
    module's ``dose`` port target; for a concentration-valued species the amount is divided
    by its compartment). Infusions switch ``rate_parameter`` (default: the model's ``R_in``)
    on and off; ``target_id`` is then only checked to exist. Event ids start with
    ``dose_<drug>_`` or ``infusion_<drug>_`` and never clash with existing ids.
    """
    taken = set(model.ids()) | {e.id for e in model.events}
    taken |= {r.variable for r in model.assignment_rules} | {r.variable for r in model.rate_rules}
    if target_id not in taken:
        species = ", ".join(sorted(s.id for s in model.species)) or "none"
        raise InvalidInputError(
            f"dose target '{target_id}' is not in model '{model.id}'; its species are: "
            f"{species} (after assembly ids are prefixed with the module name, e.g. 'drug_A')"
        )
    slug = re.sub(r"\W", "_", regimen.drug.strip())
    if regimen.route == "infusion":
        parameter = _rate_parameter(model, rate_parameter)
        events = _infusion_events(regimen, parameter, slug, taken)
        model = dataclasses.replace(
            model,
            parameters=tuple(
                dataclasses.replace(p, constant=False) if p.id == parameter else p
                for p in model.parameters
            ),
        )
    else:
        if rate_parameter is not None:
            raise InvalidInputError(
                f"rate_parameter is for infusions, but the regimen's route is "
                f"'{regimen.route}'; leave it out"
            )
        amounts = [Num(a) for a in regimen.amounts]
        events = _bolus_events(model, amounts, regimen.times, target_id, slug, taken)
    record = json.dumps({"target": target_id, **regimen.to_dict()}, sort_keys=True)
    return dataclasses.replace(
        model,
        events=(*model.events, *events),
        metadata=(*model.metadata, (RECORD_KEY, record)),
    )


def dose_slots(
    model: Model, times: Sequence[float], target_id: str, prefix: str
) -> tuple[Model, tuple[str, ...]]:
    """``model`` with a bolus dose slot at each of ``times``: a parameter per slot (the amount,
    0 by default) added to ``target_id`` by a timed event. Setting or differentiating the
    parameters makes dose amounts decision variables (optimal dosing with exact gradients
    through the events)."""
    taken = set(model.ids()) | {e.id for e in model.events}
    ids = tuple(_fresh(f"{prefix}_amount", taken) for _ in times)
    slot_model = dataclasses.replace(
        model, parameters=(*model.parameters, *(Parameter(i, 0.0) for i in ids))
    )
    Regimen(prefix, 1.0, tuple(times), "iv_bolus")  # validates the times
    events = _bolus_events(
        slot_model, [Sym(i) for i in ids], times, target_id, f"slot_{prefix}", taken
    )
    return dataclasses.replace(slot_model, events=(*slot_model.events, *events)), ids


def _bolus_events(
    model: Model,
    amounts: Sequence[Expr],
    times: Sequence[float],
    target_id: str,
    slug: str,
    taken: set[str],
) -> list[Event]:
    """One timed event per dose adding its amount (a number or a parameter) to the target."""
    species = next((s for s in model.species if s.id == target_id), None)
    if species is None:
        rate_rule = model.rate_rule(target_id) is not None
        if not rate_rule:
            raise InvalidInputError(
                f"dose target '{target_id}' must be a species (an amount) or a rate-rule "
                "variable; use the 'dose' port target of a PK module"
            )
        divisor: Expr | None = None
    elif species.constant:
        raise InvalidInputError(
            f"dose target '{target_id}' is a constant species and cannot receive doses; "
            "declare it non-constant"
        )
    else:
        divisor = None if species.has_only_substance_units else Sym(species.compartment)
    events = []
    for time, added in zip(times, amounts, strict=True):
        if divisor is not None:
            added = Apply(Op.DIVIDE, (added, divisor))
        new = Apply(Op.PLUS, (Sym(target_id), added))
        events.append(_timed(_fresh(f"dose_{slug}", taken), time, target_id, new))
    return events


def _infusion_events(regimen: Regimen, parameter: str, slug: str, taken: set[str]) -> list[Event]:
    duration = regimen.duration
    assert duration is not None  # checked by Regimen
    changes: dict[float, float] = {}
    starts = regimen.times
    for time, amount in zip(starts, regimen.amounts, strict=True):
        rate = amount / duration
        end = time + duration
        # an end that rounding puts next to the next start is that start (one event, not two)
        end = next((s for s in starts if abs(s - end) <= _TOLERANCE * max(1.0, abs(s))), end)
        changes[time] = changes.get(time, 0.0) + rate
        changes[end] = changes.get(end, 0.0) - rate
    events = []
    for time in sorted(changes):
        delta = changes[time]
        if delta == 0.0:
            continue  # a contiguous infusion at the same rate: nothing changes
        new = Apply(Op.PLUS, (Sym(parameter), Num(delta)))
        events.append(_timed(_fresh(f"infusion_{slug}", taken), time, parameter, new))
    return events


def _timed(id: str, time: float, variable: str, value: Expr) -> Event:
    """An event at ``time`` (firing at the start time too: ``initial_value=False``)."""
    return Event(
        id,
        Apply(Op.GE, (Time(), Num(time))),
        (EventAssignment(variable, value),),
        initial_value=False,
        persistent=True,
    )


def _rate_parameter(model: Model, name: str | None) -> str:
    ids = {p.id for p in model.parameters}
    candidates = sorted(i for i in ids if i == "R_in" or i.endswith("_R_in"))
    if name is None:
        if "R_in" in ids:
            return "R_in"
        raise InvalidInputError(
            f"an infusion needs the input-rate parameter it switches on; model '{model.id}' "
            "has no 'R_in'"
            + (f"; pass rate_parameter= one of {', '.join(candidates)}" if candidates else "")
        )
    if name not in ids:
        hint = f" (candidates: {', '.join(candidates)})" if candidates else ""
        raise InvalidInputError(
            f"rate_parameter '{name}' is not a parameter of model '{model.id}'{hint}"
        )
    if model.assignment_rule(name) is not None or model.rate_rule(name) is not None:
        raise InvalidInputError(
            f"rate_parameter '{name}' is set by a rule, so events cannot switch it; use a "
            "plain parameter that the PK equations add to the central amount"
        )
    return name


def _fresh(base: str, taken: set[str]) -> str:
    k = 0
    while f"{base}_{k}" in taken:
        k += 1
    taken.add(f"{base}_{k}")
    return f"{base}_{k}"


def _numbers(values: Any, what: str, problems: list[str]) -> tuple[float, ...]:
    if isinstance(values, int | float) and not isinstance(values, bool):
        values = (values,)
    if not isinstance(values, Sequence) or isinstance(values, str):
        problems.append(f"{what} must be a number or a list of numbers; got {values!r}")
        return ()
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, int | float)]
    if bad:
        problems.append(f"{what} must be numbers; got {bad[0]!r}")
        return ()
    return tuple(float(v) for v in values)


def _time_problems(times: tuple[float, ...]) -> list[str]:
    if not times:
        return ["times is empty; give at least one dose time"]
    problems = [
        f"dose time {t} is not finite and non-negative" for t in times if not math.isfinite(t)
    ]
    problems += [f"dose time {t} is negative; times start at 0 or later" for t in times if t < 0]
    if any(b <= a for a, b in zip(times, times[1:], strict=False)):
        problems.append(
            f"dose times must be strictly increasing (got {list(times)}); sort them and merge "
            "doses given at the same time into one amount"
        )
    return problems


def _duration_problems(route: str, duration: float | None, times: tuple[float, ...]) -> list[str]:
    if route != "infusion":
        if duration is not None:
            return [f"duration is only for infusions, but the route is '{route}'; leave it out"]
        return []
    if duration is None:
        return ["an infusion needs a duration (in the model's time unit)"]
    if isinstance(duration, bool) or not isinstance(duration, int | float):
        return [f"duration must be a number; got {duration!r}"]
    if not (math.isfinite(duration) and duration > 0):
        return [f"infusion duration is {duration}; it must be positive and finite"]
    return [
        f"the infusion at t={a} lasts until t={a + duration}, past the next start at t={b}; "
        "infusions of one regimen must not overlap (shorten the duration or use two regimens "
        "on two rate parameters)"
        for a, b in zip(times, times[1:], strict=False)
        if a + duration > b + _TOLERANCE * max(1.0, abs(b))
    ]


def _spaced(interval: Any, count: Any, start: Any) -> list[float]:
    numeric = all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in (interval, count, start)
    )
    if not numeric or int(count) != count or count < 1 or not interval > 0:
        raise InvalidInputError(
            f"'interval' must be a positive number, 'count' a positive integer and 'start' a "
            f"number; got interval={interval!r}, count={count!r}, start={start!r}"
        )
    return [float(start) + k * float(interval) for k in range(int(count))]
