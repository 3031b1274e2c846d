"""Evaluate constant IR expressions (numbers and arithmetic only) while reading files."""

from __future__ import annotations

from immunetwin.errors import UnsupportedFeatureError
from immunetwin.ir import Apply, Expr, Num, Op


def constant_value(expr: Expr, element: str) -> float:
    """The value of an expression made only of numbers and + - * / ^."""
    if isinstance(expr, Num):
        return expr.value
    if isinstance(expr, Apply):
        values = [constant_value(a, element) for a in expr.args]
        if expr.op is Op.NEG:
            return -values[0]
        if expr.op is Op.PLUS:
            return sum(values)
        if expr.op is Op.MINUS:
            return values[0] - values[1]
        if expr.op is Op.TIMES:
            out = 1.0
            for v in values:
                out *= v
            return out
        if expr.op is Op.DIVIDE:
            return values[0] / values[1]
        if expr.op is Op.POWER:
            return float(values[0] ** values[1])
    raise UnsupportedFeatureError("non-constant math where a number is expected", element)
