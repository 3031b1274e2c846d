"""The declarative claim format of ``data/reproductions.toml``, parsed once into frozen objects.

A claim is one published number (or a few that belong together) and the computation that
recomputes it through the engine from the shipped model file. Five kinds of computation cover
what papers report: a time course (``simulate``), an equilibrium (``steady_state``), a formula
over parameter values (``expression``), the parameter value where an equilibrium changes
stability (``threshold``) and the time of an output's maximum (``peak_time``).

Expected values are written as strings so that their precision is the one the paper states:
``"0.635"`` must agree within one unit of its last digit (0.001), whether the paper rounded or
truncated. A value may instead be a formula over the model's parameters (``"b/c"``), or give an
explicit ``rel``/``abs`` tolerance; a claim-level ``rel``/``abs`` applies to all its values.
"""

from __future__ import annotations

import ast
import enum
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from immunetwin.errors import InvalidInputError

_LITERAL = re.compile(r"^[+-]?(\d+)?(\.(\d*))?([eE][+-]?\d+)?$")
_FORMULA_REL = 1e-6  # default tolerance of a value given as a formula (exact analytic results)


class Kind(enum.StrEnum):
    """What a claim computes."""

    SIMULATE = "simulate"  # values of outputs at one time
    STEADY_STATE = "steady_state"  # an equilibrium near a guess, its stability
    EXPRESSION = "expression"  # a formula over parameter values
    THRESHOLD = "threshold"  # where an equilibrium loses (or gains) stability
    PEAK_TIME = "peak_time"  # when an output peaks, for several scenarios


@dataclass(frozen=True, slots=True)
class Target:
    """One expected number: a literal (precision implied by its digits) or a formula."""

    name: str  # the output, state or quantity it is compared with
    text: str  # as written in the claim: "0.635", "b/c"
    rel: float | None = None
    abs: float | None = None

    @property
    def is_literal(self) -> bool:
        return _LITERAL.match(self.text.strip()) is not None and any(
            ch.isdigit() for ch in self.text
        )

    def expected(self, names: Mapping[str, float]) -> float:
        """The expected value (formulas are evaluated over ``names``)."""
        if self.is_literal:
            return float(self.text)
        return evaluate(self.text, names)

    def tolerance(self, expected: float) -> float:
        """The largest accepted absolute difference."""
        if self.rel is not None or self.abs is not None:
            return max((self.rel or 0.0) * abs(expected), self.abs or 0.0)
        if not self.is_literal:
            return _FORMULA_REL * abs(expected)
        return last_digit_unit(self.text)

    def agrees(self, measured: float, names: Mapping[str, float]) -> bool:
        expected = self.expected(names)
        return math.isfinite(measured) and abs(measured - expected) <= self.tolerance(expected)


@dataclass(frozen=True, slots=True)
class Claim:
    """One reproducible published result; see the module docstring for the kinds."""

    id: str
    entry: str  # catalogue entry id; the model file is models/<entry>.xml or .ant
    description: str
    source: str  # where in the paper: "Fig. 5", "Table 2", "abstract"
    expected: str  # the published value(s), readable
    kind: Kind
    symbols: Mapping[str, str] = field(default_factory=dict)  # paper symbol -> model id
    parameters: Mapping[str, float] = field(default_factory=dict)  # overrides by id
    guess: Mapping[str, float] = field(default_factory=dict)  # steady state / threshold
    values: tuple[Target, ...] = ()  # simulate, steady_state, expression (one: "value")
    time: float | None = None  # simulate: the output time
    stable: bool | None = None  # steady_state: expected stability
    leading_eigenvalue: Target | None = None  # steady_state: largest real part
    formula: str = ""  # expression
    parameter: str = ""  # threshold: the parameter varied
    bracket: tuple[float, float] = (0.0, 0.0)  # threshold: interval holding the flip
    output: str = ""  # peak_time
    window: tuple[float, float] = (0.0, 0.0)  # peak_time: where every peak must fall
    span: tuple[float, float] = (0.0, 0.0)  # peak_time: simulated time range
    scenarios: tuple[Mapping[str, float], ...] = ()  # peak_time: overrides per scenario
    discrepancy: str = ""  # non-empty: the claim is known NOT to reproduce, and why

    @property
    def expect_failure(self) -> bool:
        return bool(self.discrepancy)

    @property
    def test(self) -> str:
        return f"tests/catalog/test_reproduce.py::test_claim[{self.id}]"


# --- formulas -------------------------------------------------------------------------------

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_FUNCTIONS: dict[str, Callable[[float], float]] = {
    "log": math.log,
    "log10": math.log10,
    "exp": math.exp,
    "sqrt": math.sqrt,
}


def evaluate(formula: str, names: Mapping[str, float]) -> float:
    """Evaluate arithmetic (+ - * / ** ^, log, log10, exp, sqrt) over ``names``.

    Only this small grammar is accepted, so a claim file can never run code.
    """
    try:
        tree = ast.parse(formula.replace("^", "**"), mode="eval")
    except SyntaxError:
        raise InvalidInputError(f"formula {formula!r} is not valid arithmetic") from None

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in names:
                raise InvalidInputError(
                    f"formula {formula!r} uses '{node.id}', which is not a parameter of the "
                    "model; use parameter ids as in the model file"
                )
            return float(names[node.id])
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            value = walk(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](walk(node.left), walk(node.right))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCTIONS
            and len(node.args) == 1
            and not node.keywords
        ):
            return _FUNCTIONS[node.func.id](walk(node.args[0]))
        raise InvalidInputError(
            f"formula {formula!r} uses unsupported syntax ({type(node).__name__}); expected "
            f"numbers, parameter ids, + - * / ** and {', '.join(_FUNCTIONS)}"
        )

    return walk(tree)


def last_digit_unit(text: str) -> float:
    """One unit in the last stated digit: ``"0.635"`` -> 0.001, ``"2.44e6"`` -> 1e4."""
    match = _LITERAL.match(text.strip())
    if match is None:
        raise InvalidInputError(f"{text!r} is not a number")
    decimals = len(match.group(3) or "")
    exponent = int(match.group(4)[1:]) if match.group(4) else 0
    return float(10.0 ** (exponent - decimals))


# --- parsing --------------------------------------------------------------------------------


class _Reader:
    """Typed access to one claim's TOML table; every error names the claim and the field."""

    def __init__(self, data: Mapping[str, Any], claim: str) -> None:
        self.data = data
        self.claim = claim

    def fail(self, name: str, expected: str) -> InvalidInputError:
        found = self.data.get(name, "nothing")
        return InvalidInputError(
            f"claim '{self.claim}': field '{name}' should be {expected}, got {found!r}; "
            "fix it in the reproduction table"
        )

    def text(self, name: str, default: str | None = None) -> str:
        value = self.data.get(name, default)
        if not isinstance(value, str) or (default is None and not value.strip()):
            raise self.fail(name, "a non-empty string")
        return value

    def number(self, name: str, default: float | None = None) -> float:
        value = self.data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(name, "a number")
        return float(value)

    def optional_number(self, name: str) -> float | None:
        return None if name not in self.data else self.number(name)

    def pair(self, name: str) -> tuple[float, float]:
        value = self.data.get(name)
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
            or not value[0] < value[1]
        ):
            raise self.fail(name, "a pair of increasing numbers [low, high]")
        return float(value[0]), float(value[1])

    def numbers(self, name: str, value: Any = None) -> dict[str, float]:
        value = self.data.get(name, {}) if value is None else value
        if not isinstance(value, dict) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value.values()
        ):
            raise self.fail(name, "a table of id = number")
        return {str(k): float(v) for k, v in value.items()}

    def strings(self, name: str) -> dict[str, str]:
        value = self.data.get(name, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self.fail(name, "a table of name = string")
        return {str(k): v for k, v in value.items()}

    def target(self, name: str, value: Any, rel: float | None, abs_: float | None) -> Target:
        if isinstance(value, dict):
            inner = _Reader(value, self.claim)
            text = inner.text("value")
            rel = inner.optional_number("rel") if "rel" in value else rel
            abs_ = inner.optional_number("abs") if "abs" in value else abs_
        elif isinstance(value, str) and value.strip():
            text = value
        else:
            raise InvalidInputError(
                f"claim '{self.claim}': expected value of '{name}' should be a string such as "
                f'"0.635" or "b/c", or a table {{ value = "0", abs = 1e-9 }}, got {value!r}'
            )
        target = Target(name, text, rel, abs_)
        if target.is_literal:
            return target
        try:
            evaluate(text, _Anything())
        except InvalidInputError as exc:
            raise InvalidInputError(f"claim '{self.claim}', value of '{name}': {exc}") from None
        return target


class _Anything(dict[str, float]):
    """Names for a syntax check of a formula: every name is 1."""

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> float:
        return 1.0


_REQUIRED = {
    Kind.SIMULATE: ("time", "values"),
    Kind.STEADY_STATE: ("guess",),
    Kind.EXPRESSION: ("formula", "value"),
    Kind.THRESHOLD: ("parameter", "bracket", "guess", "value"),
    Kind.PEAK_TIME: ("output", "span", "window", "scenarios"),
}


def parse_claim(data: Mapping[str, Any]) -> Claim:
    """One ``[[claim]]`` table -> :class:`Claim` (``InvalidInputError`` naming the field)."""
    if not isinstance(data, Mapping):
        raise InvalidInputError(f"a claim should be a table, got {data!r}")
    head = _Reader(data, str(data.get("id", "<no id>")))
    claim_id = head.text("id")
    compute_data = data.get("compute")
    if not isinstance(compute_data, dict):
        raise head.fail("compute", "a table with a 'kind' and its inputs")
    compute = _Reader(compute_data, claim_id)
    try:
        kind = Kind(compute.text("kind"))
    except ValueError:
        raise compute.fail("kind", f"one of {', '.join(k.value for k in Kind)}") from None
    for name in _REQUIRED[kind]:
        if name not in compute_data:
            raise compute.fail(name, f"given (a '{kind.value}' claim needs it)")
    rel = compute.optional_number("rel")
    abs_ = compute.optional_number("abs")
    values_data = compute_data.get("values", {})
    if not isinstance(values_data, dict):
        raise compute.fail("values", "a table of output = expected value")
    values = tuple(compute.target(k, v, rel, abs_) for k, v in values_data.items())
    if "value" in compute_data:
        values += (compute.target("value", compute_data["value"], rel, abs_),)
    stable = compute_data.get("stable")
    if stable is not None and not isinstance(stable, bool):
        raise compute.fail("stable", "true or false")
    eigen = compute_data.get("leading_eigenvalue")
    scenarios_data = compute_data.get("scenarios", [])
    if not isinstance(scenarios_data, list):
        raise compute.fail("scenarios", "a list of override tables")
    if kind is Kind.PEAK_TIME and not scenarios_data:
        raise compute.fail("scenarios", "a non-empty list of override tables")
    return Claim(
        id=claim_id,
        entry=head.text("entry"),
        description=head.text("description"),
        source=head.text("source"),
        expected=head.text("expected"),
        kind=kind,
        symbols=head.strings("symbols"),
        parameters=compute.numbers("parameters"),
        guess=compute.numbers("guess"),
        values=values,
        time=compute.number("time") if kind is Kind.SIMULATE else None,
        stable=stable,
        leading_eigenvalue=None
        if eigen is None
        else compute.target("leading_eigenvalue", eigen, rel=None, abs_=None),
        formula=compute.text("formula") if kind is Kind.EXPRESSION else "",
        parameter=compute.text("parameter") if kind is Kind.THRESHOLD else "",
        bracket=compute.pair("bracket") if kind is Kind.THRESHOLD else (0.0, 0.0),
        output=compute.text("output") if kind is Kind.PEAK_TIME else "",
        window=compute.pair("window") if kind is Kind.PEAK_TIME else (0.0, 0.0),
        span=compute.pair("span") if kind is Kind.PEAK_TIME else (0.0, 0.0),
        scenarios=tuple(compute.numbers("scenarios", s) for s in scenarios_data),
        discrepancy=head.text("discrepancy", ""),
    )


def parse_claims(data: Mapping[str, Any]) -> tuple[Claim, ...]:
    """The ``claim`` array of a reproduction table; ids must be unique."""
    items = data.get("claim", [])
    if not isinstance(items, list):
        raise InvalidInputError("the reproduction table should hold a [[claim]] array")
    parsed = tuple(parse_claim(item) for item in items)
    seen: set[str] = set()
    for claim in parsed:
        if claim.id in seen:
            raise InvalidInputError(f"claim id '{claim.id}' appears twice; ids must be unique")
        seen.add(claim.id)
    return parsed
