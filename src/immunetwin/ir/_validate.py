"""Model validation: a list of small checks, each reporting every problem it finds."""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from immunetwin.ir._expr import Expr
from immunetwin.ir._model import Model


class Severity(enum.IntEnum):
    INFO = 0
    WARNING = 1
    ERROR = 2
    CRITICAL = 3


@dataclass(frozen=True, slots=True)
class Issue:
    severity: Severity
    code: str
    message: str
    location: str

    def __str__(self) -> str:
        return f"{self.severity.name} [{self.code}] {self.location}: {self.message}"


def _math_items(model: Model) -> Iterator[tuple[str, Expr, frozenset[str]]]:
    """(location, expression, extra ids in scope) for every piece of math."""
    for r in model.reactions:
        if r.kinetic_law is not None:
            yield f"reaction {r.id}", r.kinetic_law, frozenset(p.id for p in r.local_parameters)
    for a in model.assignment_rules:
        yield f"assignment rule for {a.variable}", a.math, frozenset()
    for rr in model.rate_rules:
        yield f"rate rule for {rr.variable}", rr.math, frozenset()
    for ia in model.initial_assignments:
        yield f"initial assignment for {ia.symbol}", ia.math, frozenset()
    for ev in model.events:
        yield f"event {ev.id} trigger", ev.trigger, frozenset()
        if ev.delay is not None:
            yield f"event {ev.id} delay", ev.delay, frozenset()
        if ev.priority is not None:
            yield f"event {ev.id} priority", ev.priority, frozenset()
        for ea in ev.assignments:
            yield f"event {ev.id} assignment to {ea.variable}", ea.math, frozenset()


def check_duplicate_ids(model: Model) -> Iterator[Issue]:
    seen: set[str] = set()
    groups = (model.compartments, model.species, model.parameters, model.reactions)
    for group in groups:
        for item in group:
            if item.id in seen:
                yield Issue(Severity.ERROR, "duplicate-id", f"id '{item.id}' is defined twice", item.id)
            seen.add(item.id)


def check_references(model: Model) -> Iterator[Issue]:
    ids = model.ids()
    functions = {f.id: f for f in model.function_definitions}
    for location, expr, local in _math_items(model):
        for name in sorted(expr.symbols() - ids - local):
            yield Issue(
                Severity.ERROR,
                "unknown-id",
                f"math refers to '{name}', which is not a compartment, species, parameter or "
                "reaction of the model; define it or fix the spelling",
                location,
            )
        for name in sorted(expr.functions() - set(functions)):
            yield Issue(
                Severity.ERROR, "unknown-function", f"call of undefined function '{name}'", location
            )
    for s in model.species:
        if s.compartment not in {c.id for c in model.compartments}:
            yield Issue(
                Severity.ERROR,
                "unknown-compartment",
                f"species is placed in compartment '{s.compartment}', which does not exist",
                s.id,
            )
    for r in model.reactions:
        for ref in r.reactants + r.products:
            if ref.species not in {s.id for s in model.species}:
                yield Issue(
                    Severity.ERROR,
                    "unknown-species",
                    f"reaction uses species '{ref.species}', which does not exist",
                    r.id,
                )
    targets = [a.variable for a in model.assignment_rules] + [
        r.variable for r in model.rate_rules
    ]
    for rule_target in targets:
        if rule_target not in ids:
            yield Issue(
                Severity.ERROR, "unknown-id", f"rule targets unknown id '{rule_target}'", rule_target
            )


def check_initial_values(model: Model) -> Iterator[Issue]:
    assigned = {a.symbol for a in model.initial_assignments} | {
        a.variable for a in model.assignment_rules
    }
    for s in model.species:
        if s.id in assigned:
            continue
        if s.initial_amount is None and s.initial_concentration is None:
            yield Issue(
                Severity.ERROR,
                "missing-initial-value",
                "species has no initial amount, concentration or initial assignment; give it one",
                s.id,
            )
        for v in (s.initial_amount, s.initial_concentration):
            if v is not None and not math.isfinite(v):
                yield Issue(Severity.WARNING, "non-finite-value", f"initial value is {v}", s.id)
    for p in model.parameters:
        if p.id not in assigned and p.value is None and model.rate_rule(p.id) is None:
            yield Issue(
                Severity.ERROR,
                "missing-value",
                "parameter has no value and no rule or initial assignment; give it a value",
                p.id,
            )
    for c in model.compartments:
        if c.id not in assigned and c.size is None:
            yield Issue(
                Severity.WARNING,
                "missing-size",
                "compartment has no size; 1 is assumed",
                c.id,
            )


def check_rule_targets(model: Model) -> Iterator[Issue]:
    constant = {p.id for p in model.parameters if p.constant}
    constant |= {c.id for c in model.compartments if c.constant}
    constant |= {s.id for s in model.species if s.constant}
    for variable in [a.variable for a in model.assignment_rules] + [
        r.variable for r in model.rate_rules
    ]:
        if variable in constant:
            yield Issue(
                Severity.ERROR,
                "rule-on-constant",
                "a rule changes a quantity declared constant; set constant=false",
                variable,
            )
    seen: set[str] = set()
    for variable in [a.variable for a in model.assignment_rules] + [
        r.variable for r in model.rate_rules
    ]:
        if variable in seen:
            yield Issue(Severity.ERROR, "multiple-rules", "more than one rule", variable)
        seen.add(variable)


CHECKS: tuple[Callable[[Model], Iterator[Issue]], ...] = (
    check_duplicate_ids,
    check_references,
    check_initial_values,
    check_rule_targets,
)


def validate(model: Model) -> list[Issue]:
    """Run every check and return all issues, most severe first."""
    issues = [issue for check in CHECKS for issue in check(model)]
    return sorted(issues, key=lambda i: -i.severity)
