"""A small immutable expression tree for model math, with an infix printer.

The tree is independent of SBML/MathML and of any numerical library: the formats layer builds
it, the engine compiles it. Printing uses the SBML Level 3 infix syntax (which Antimony shares),
so ``parse`` in the formats layer can read back everything ``to_infix`` writes.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass


class Op(enum.Enum):
    """Operators and built-in functions. The value is the infix/function name used in print."""

    PLUS = "plus"
    MINUS = "minus"
    TIMES = "times"
    DIVIDE = "divide"
    POWER = "power"
    NEG = "neg"
    # functions
    EXP = "exp"
    LN = "ln"
    LOG = "log"  # (base, x)
    ROOT = "root"  # (degree, x)
    ABS = "abs"
    FLOOR = "floor"
    CEIL = "ceil"
    FACTORIAL = "factorial"
    MIN = "min"
    MAX = "max"
    REM = "rem"
    QUOTIENT = "quotient"
    SIN = "sin"
    COS = "cos"
    TAN = "tan"
    SEC = "sec"
    CSC = "csc"
    COT = "cot"
    SINH = "sinh"
    COSH = "cosh"
    TANH = "tanh"
    SECH = "sech"
    CSCH = "csch"
    COTH = "coth"
    ARCSIN = "arcsin"
    ARCCOS = "arccos"
    ARCTAN = "arctan"
    ARCSEC = "arcsec"
    ARCCSC = "arccsc"
    ARCCOT = "arccot"
    ARCSINH = "arcsinh"
    ARCCOSH = "arccosh"
    ARCTANH = "arctanh"
    ARCSECH = "arcsech"
    ARCCSCH = "arccsch"
    ARCCOTH = "arccoth"
    # relations and logic (value 1.0 for true, 0.0 for false)
    LT = "lt"
    LE = "leq"
    GT = "gt"
    GE = "geq"
    EQ = "eq"
    NEQ = "neq"
    AND = "and"
    OR = "or"
    XOR = "xor"
    NOT = "not"
    IMPLIES = "implies"
    PIECEWISE = "piecewise"  # (value1, cond1, value2, cond2, ..., [otherwise])


RELATIONS = frozenset({Op.LT, Op.LE, Op.GT, Op.GE, Op.EQ, Op.NEQ})
LOGICAL = frozenset({Op.AND, Op.OR, Op.XOR, Op.NOT, Op.IMPLIES})
_INFIX = {Op.PLUS: "+", Op.MINUS: "-", Op.TIMES: "*", Op.DIVIDE: "/", Op.POWER: "^"}
_PRECEDENCE = {Op.PLUS: 1, Op.MINUS: 1, Op.TIMES: 2, Op.DIVIDE: 2, Op.NEG: 3, Op.POWER: 4}


class Expr:
    """Base of all expression nodes (immutable)."""

    __slots__ = ()

    def children(self) -> tuple[Expr, ...]:
        return ()

    def walk(self) -> Iterator[Expr]:
        """Every node, parents before children."""
        yield self
        for child in self.children():
            yield from child.walk()

    def symbols(self) -> frozenset[str]:
        """The identifiers this expression reads (not function names)."""
        return frozenset(n.name for n in self.walk() if isinstance(n, Sym))

    def functions(self) -> frozenset[str]:
        """The user-defined functions this expression calls."""
        return frozenset(n.name for n in self.walk() if isinstance(n, Call))

    def __str__(self) -> str:
        return to_infix(self)


@dataclass(frozen=True, slots=True)
class Num(Expr):
    """A number. Equality is structural: ``Num(nan) == Num(nan)``."""

    value: float

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Num):
            return NotImplemented
        return self.value == other.value or (math.isnan(self.value) and math.isnan(other.value))

    def __hash__(self) -> int:
        return hash(("Num", "nan" if math.isnan(self.value) else self.value))


@dataclass(frozen=True, slots=True)
class Bool(Expr):
    value: bool


@dataclass(frozen=True, slots=True)
class Sym(Expr):
    """A reference to a model identifier (or a lambda argument inside a function body)."""

    name: str


@dataclass(frozen=True, slots=True)
class Time(Expr):
    """The simulation time (SBML csymbol time)."""


@dataclass(frozen=True, slots=True)
class Avogadro(Expr):
    """Avogadro's number (SBML L3 csymbol avogadro)."""

    value: float = 6.02214179e23


@dataclass(frozen=True, slots=True)
class Apply(Expr):
    """A built-in operator applied to arguments."""

    op: Op
    args: tuple[Expr, ...]

    def children(self) -> tuple[Expr, ...]:
        return self.args


@dataclass(frozen=True, slots=True)
class Call(Expr):
    """A call of a user-defined function (SBML functionDefinition)."""

    name: str
    args: tuple[Expr, ...]

    def children(self) -> tuple[Expr, ...]:
        return self.args


# ----------------------------------------------------------------------------- transforms


def transform(expr: Expr, leaf: Callable[[Expr], Expr | None]) -> Expr:
    """Rebuild ``expr`` bottom-up; ``leaf`` may replace any node (return None to keep it)."""
    replaced = leaf(expr)
    if replaced is not None:
        return replaced
    if isinstance(expr, Apply):
        return Apply(expr.op, tuple(transform(a, leaf) for a in expr.args))
    if isinstance(expr, Call):
        return Call(expr.name, tuple(transform(a, leaf) for a in expr.args))
    return expr


def substitute(expr: Expr, mapping: Mapping[str, Expr]) -> Expr:
    """Replace symbols by expressions (simultaneously)."""
    if not mapping:
        return expr
    return transform(expr, lambda n: mapping.get(n.name) if isinstance(n, Sym) else None)


def rename(expr: Expr, mapping: Mapping[str, str]) -> Expr:
    """Rename symbols and called functions."""

    def leaf(node: Expr) -> Expr | None:
        if isinstance(node, Sym) and node.name in mapping:
            return Sym(mapping[node.name])
        if isinstance(node, Call) and node.name in mapping:
            return Call(mapping[node.name], tuple(rename(a, mapping) for a in node.args))
        return None

    return transform(expr, leaf)


# ----------------------------------------------------------------------------- printing


def _format_number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def to_infix(expr: Expr) -> str:
    """Print in SBML L3 infix syntax (readable by libsbml's L3 parser and by Antimony)."""
    return _print(expr, 0)


def _print(expr: Expr, required: int) -> str:
    """Print ``expr``; parenthesize when its precedence is below ``required``."""
    if isinstance(expr, Num):
        text = _format_number(expr.value)
        return f"({text})" if text.startswith("-") and required > 0 else text
    if isinstance(expr, Bool):
        return "true" if expr.value else "false"
    if isinstance(expr, Sym):
        return expr.name
    if isinstance(expr, Time):
        return "time"
    if isinstance(expr, Avogadro):
        return "avogadro"
    if isinstance(expr, Call):
        return f"{expr.name}({', '.join(_print(a, 0) for a in expr.args)})"
    assert isinstance(expr, Apply)
    op, args = expr.op, expr.args
    if op is Op.NEG:
        precedence = _PRECEDENCE[Op.NEG]
        text = "-" + _print(args[0], precedence + 1)
        return f"({text})" if precedence < required else text
    if op in _INFIX and (len(args) >= 2 or op in (Op.PLUS, Op.TIMES)):
        if not args:
            return "0" if op is Op.PLUS else "1"
        if len(args) == 1:
            return _print(args[0], required)
        precedence = _PRECEDENCE[op]
        # - and / are left-associative, ^ is right-associative in the L3 syntax; parenthesize
        # both sides of ^ so that every reader agrees.
        left = precedence + 1 if op is Op.POWER else precedence
        right = precedence if op in (Op.PLUS, Op.TIMES) else precedence + 1
        parts = [_print(args[0], left)] + [_print(a, right) for a in args[1:]]
        text = f" {_INFIX[op]} ".join(parts)
        return f"({text})" if precedence < required else text
    return f"{op.value}({', '.join(_print(a, 0) for a in args)})"


# ----------------------------------------------------------------------------- constructors


def num(value: float) -> Num:
    return Num(float(value))


def apply(op: Op, *args: Expr) -> Apply:
    return Apply(op, tuple(args))
