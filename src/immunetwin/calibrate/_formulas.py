"""PEtab math: parsing (libpetab's grammar), placeholders, and translation to CasADi."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import reduce

import casadi as ca
import sympy as sp

_PLACEHOLDER = re.compile(r"^(observable|noise)Parameter([1-9][0-9]*)_(.+)$")


def parse(formula: str | float) -> sp.Expr:
    """A PEtab math expression as sympy; ``ValueError`` says what is wrong with it."""
    from petab.v1.math import sympify_petab

    try:
        expr = sympify_petab(formula)
    except Exception as exc:  # libpetab raises bare ValueError/TypeError or ANTLR errors
        raise ValueError(f"cannot parse '{formula}' as PEtab math: {exc}") from None
    if not isinstance(expr, sp.Expr):
        raise ValueError(f"'{formula}' is a condition, not a value")
    return expr


def symbol_names(expr: sp.Expr) -> set[str]:
    return {s.name for s in expr.free_symbols if isinstance(s, sp.Symbol)}


def placeholder(name: str) -> tuple[str, int, str] | None:
    """(``observable``|``noise``, index from 1, observable id) for a placeholder name."""
    match = _PLACEHOLDER.match(name)
    if match is None:
        return None
    return match.group(1), int(match.group(2)), match.group(3)


def placeholder_name(kind: str, index: int, observable_id: str) -> str:
    return f"{kind}Parameter{index}_{observable_id}"


def count_placeholders(names: set[str], kind: str, observable_id: str) -> int:
    """The number of ``kind`` placeholders of this observable (their largest index)."""
    found = [p[1] for p in map(placeholder, names) if p and p[0] == kind and p[2] == observable_id]
    return max(found, default=0)


_UNARY: dict[type, Callable[[ca.SX], ca.SX]] = {
    sp.exp: ca.exp,
    sp.log: ca.log,
    sp.sin: ca.sin,
    sp.cos: ca.cos,
    sp.tan: ca.tan,
    sp.asin: ca.asin,
    sp.acos: ca.acos,
    sp.atan: ca.atan,
    sp.sinh: ca.sinh,
    sp.cosh: ca.cosh,
    sp.tanh: ca.tanh,
    sp.asinh: ca.asinh,
    sp.acosh: ca.acosh,
    sp.atanh: ca.atanh,
    sp.Abs: ca.fabs,
    sp.sign: ca.sign,
    sp.floor: ca.floor,
    sp.ceiling: ca.ceil,
}

_RELATIONS: dict[type, Callable[[ca.SX, ca.SX], ca.SX]] = {
    sp.StrictGreaterThan: ca.gt,
    sp.GreaterThan: ca.ge,
    sp.StrictLessThan: ca.lt,
    sp.LessThan: ca.le,
    sp.Equality: ca.eq,
    sp.Unequality: ca.ne,
}


def to_casadi(expr: sp.Basic, symbols: Mapping[str, ca.SX]) -> ca.SX:
    """Translate a sympy expression; every free symbol must be in ``symbols``."""

    def go(e: sp.Basic) -> ca.SX:
        if isinstance(e, sp.Symbol):
            return symbols[e.name]
        if e is sp.true or isinstance(e, sp.logic.boolalg.BooleanTrue):
            return ca.SX(1.0)
        if e is sp.false or isinstance(e, sp.logic.boolalg.BooleanFalse):
            return ca.SX(0.0)
        if isinstance(e, sp.Number | sp.NumberSymbol):
            return ca.SX(float(e))
        if isinstance(e, sp.Piecewise):
            result = ca.SX(float("nan"))  # no piece applies
            for pair in reversed(e.args):
                result = ca.if_else(go(pair.cond), go(pair.expr), result)
            return result
        args = [go(a) for a in e.args]
        if isinstance(e, sp.Add):
            return reduce(lambda a, b: a + b, args)
        if isinstance(e, sp.Mul):
            return reduce(lambda a, b: a * b, args)
        if isinstance(e, sp.Pow):
            return args[0] ** args[1]
        if isinstance(e, sp.And):
            return reduce(ca.logic_and, args)
        if isinstance(e, sp.Or):
            return reduce(ca.logic_or, args)
        if isinstance(e, sp.Not):
            return ca.logic_not(args[0])
        if isinstance(e, sp.Max):
            return reduce(ca.fmax, args)
        if isinstance(e, sp.Min):
            return reduce(ca.fmin, args)
        for kind, function in _RELATIONS.items():
            if isinstance(e, kind):
                return function(args[0], args[1])
        for kind, unary in _UNARY.items():
            if isinstance(e, kind):
                if len(args) != 1:
                    raise ValueError(f"'{e}': expected one argument")
                return unary(args[0])
        raise ValueError(f"'{e}': the function '{type(e).__name__}' is not supported")

    return go(expr)
