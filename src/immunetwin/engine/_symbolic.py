"""Translate IR expressions into CasADi SX expressions."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import casadi as ca

from immunetwin.errors import InvalidModelError, UnknownIdentifierError
from immunetwin.ir import Apply, Avogadro, Bool, Call, Expr, FunctionDefinition, Num, Op, Sym, Time

Lookup = Callable[[str], ca.SX]

_LANCZOS = (
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
)


def _gamma(z: ca.SX) -> ca.SX:
    """Lanczos approximation of Gamma(z) for z > 0.5 (factorial of non-negative arguments)."""
    z = z - 1
    x: ca.SX | float = _LANCZOS[0]
    for i in range(1, 9):
        x = x + _LANCZOS[i] / (z + i)
    t = z + 7.5
    return math.sqrt(2 * math.pi) * t ** (z + 0.5) * ca.exp(-t) * x


def _fold(fn: Callable[[ca.SX, ca.SX], ca.SX], args: list[ca.SX], empty: float) -> ca.SX:
    if not args:
        return ca.SX(empty)
    out = args[0]
    for a in args[1:]:
        out = fn(out, a)
    return out


def _chain(fn: Callable[[ca.SX, ca.SX], ca.SX], args: list[ca.SX]) -> ca.SX:
    """n-ary relations: lt(a, b, c) means a < b and b < c."""
    pairs = [fn(args[i], args[i + 1]) for i in range(len(args) - 1)]
    return _fold(ca.logic_and, pairs, 1.0)


_UNARY: dict[Op, Callable[[ca.SX], ca.SX]] = {
    Op.EXP: ca.exp,
    Op.LN: ca.log,
    Op.ABS: ca.fabs,
    Op.FLOOR: ca.floor,
    Op.CEIL: ca.ceil,
    Op.SIN: ca.sin,
    Op.COS: ca.cos,
    Op.TAN: ca.tan,
    Op.SEC: lambda a: 1 / ca.cos(a),
    Op.CSC: lambda a: 1 / ca.sin(a),
    Op.COT: lambda a: 1 / ca.tan(a),
    Op.SINH: ca.sinh,
    Op.COSH: ca.cosh,
    Op.TANH: ca.tanh,
    Op.SECH: lambda a: 1 / ca.cosh(a),
    Op.CSCH: lambda a: 1 / ca.sinh(a),
    Op.COTH: lambda a: 1 / ca.tanh(a),
    Op.ARCSIN: ca.asin,
    Op.ARCCOS: ca.acos,
    Op.ARCTAN: ca.atan,
    Op.ARCSEC: lambda a: ca.acos(1 / a),
    Op.ARCCSC: lambda a: ca.asin(1 / a),
    Op.ARCCOT: lambda a: ca.atan(1 / a),
    Op.ARCSINH: ca.asinh,
    Op.ARCCOSH: ca.acosh,
    Op.ARCTANH: ca.atanh,
    Op.ARCSECH: lambda a: ca.acosh(1 / a),
    Op.ARCCSCH: lambda a: ca.asinh(1 / a),
    Op.ARCCOTH: lambda a: ca.atanh(1 / a),
    Op.FACTORIAL: lambda a: _gamma(a + 1),
    Op.NEG: lambda a: -a,
    Op.NOT: ca.logic_not,
}


class SymbolicTranslator:
    """Turns IR math into SX, resolving identifiers through ``lookup``."""

    def __init__(
        self,
        lookup: Lookup,
        functions: Mapping[str, FunctionDefinition],
        time: ca.SX,
    ) -> None:
        self._lookup = lookup
        self._functions = functions
        self._time = time
        self._cache: dict[str, ca.Function | None] = {}

    def __call__(self, expr: Expr, local: Mapping[str, ca.SX] | None = None) -> ca.SX:
        return self._sx(expr, local or {}, 0)

    def _sx(self, expr: Expr, local: Mapping[str, ca.SX], depth: int) -> ca.SX:
        if isinstance(expr, Num):
            return ca.SX(expr.value)
        if isinstance(expr, Bool):
            return ca.SX(1.0 if expr.value else 0.0)
        if isinstance(expr, Sym):
            if expr.name in local:
                return local[expr.name]
            return self._lookup(expr.name)
        if isinstance(expr, Time):
            return self._time
        if isinstance(expr, Avogadro):
            return ca.SX(expr.value)
        if isinstance(expr, Call):
            return self._call(expr, local, depth)
        assert isinstance(expr, Apply)
        args = [self._sx(a, local, depth) for a in expr.args]
        return self._apply(expr.op, args)

    def _call(self, expr: Call, local: Mapping[str, ca.SX], depth: int) -> ca.SX:
        fn = self._functions.get(expr.name)
        if fn is None:
            raise UnknownIdentifierError(
                f"math calls '{expr.name}', which is not a function definition of the model"
            )
        if depth > 50:
            raise InvalidModelError(
                f"function '{expr.name}' calls itself (recursion is not allowed)"
            )
        if len(fn.arguments) != len(expr.args):
            raise InvalidModelError(
                f"function '{fn.id}' takes {len(fn.arguments)} arguments, got {len(expr.args)}"
            )
        arguments = [self._sx(a, local, depth) for a in expr.args]
        compiled = self._compiled_function(fn, depth)
        if compiled is not None:
            return compiled.call(arguments)[0]
        # A body that reads model ids or time (tolerated in old files) is inlined instead.
        bound = dict(zip(fn.arguments, arguments, strict=True))
        return self._sx(fn.body, bound, depth + 1)

    def _compiled_function(self, fn: FunctionDefinition, depth: int) -> ca.Function | None:
        """A CasADi function for a pure lambda, built once: calls then cost linear time even
        when functions call each other repeatedly."""
        if fn.id in self._cache:
            return self._cache[fn.id]
        pure = fn.body.symbols() <= set(fn.arguments) and not any(
            isinstance(node, Time) for node in fn.body.walk()
        )
        function = None
        if pure:
            symbols = [ca.SX.sym(name) for name in fn.arguments]
            body = self._sx(fn.body, dict(zip(fn.arguments, symbols, strict=True)), depth + 1)
            function = ca.Function(f"fn_{len(self._cache)}", symbols, [ca.SX(body)])
        self._cache[fn.id] = function
        return function

    @staticmethod
    def _apply(op: Op, a: list[ca.SX]) -> ca.SX:
        if op in _UNARY:
            return _UNARY[op](a[0])
        if op is Op.PLUS:
            return _fold(lambda x, y: x + y, a, 0.0)
        if op is Op.TIMES:
            return _fold(lambda x, y: x * y, a, 1.0)
        if op is Op.MINUS:
            return a[0] - a[1]
        if op is Op.DIVIDE:
            return a[0] / a[1]
        if op is Op.POWER:
            # Same values as pow, but a base of exactly 0 takes its own branch, so that the
            # Jacobian there is not n * 0^(n-1) = 0 * inf = NaN (Hill terms 0^0: BIOMD0000000873).
            base, exponent = a
            if exponent.is_constant() and float(exponent) >= 1:
                return base**exponent  # finite derivative at 0: no guard needed
            at_zero = ca.if_else(exponent == 0, 1.0, ca.if_else(exponent > 0, 0.0, ca.inf))
            return ca.if_else(base == 0, at_zero, base**exponent)
        if op is Op.LOG:
            return ca.log(a[1]) / ca.log(a[0])
        if op is Op.ROOT:
            return a[1] ** (1 / a[0])
        if op is Op.MIN:
            return _fold(ca.fmin, a, math.inf)
        if op is Op.MAX:
            return _fold(ca.fmax, a, -math.inf)
        if op is Op.REM:
            return ca.fmod(a[0], a[1])
        if op is Op.QUOTIENT:
            q = a[0] / a[1]
            return ca.sign(q) * ca.floor(ca.fabs(q))
        if op is Op.LT:
            return _chain(lambda x, y: x < y, a)
        if op is Op.LE:
            return _chain(lambda x, y: x <= y, a)
        if op is Op.GT:
            return _chain(lambda x, y: x > y, a)
        if op is Op.GE:
            return _chain(lambda x, y: x >= y, a)
        if op is Op.EQ:
            return _chain(lambda x, y: x == y, a)
        if op is Op.NEQ:
            return _chain(lambda x, y: x != y, a)
        if op is Op.AND:
            return _fold(ca.logic_and, a, 1.0)
        if op is Op.OR:
            return _fold(ca.logic_or, a, 0.0)
        if op is Op.XOR:
            return _fold(lambda x, y: ca.logic_not(x) * y + x * ca.logic_not(y), a, 0.0)
        if op is Op.IMPLIES:
            return ca.logic_or(ca.logic_not(a[0]), a[1])
        if op is Op.PIECEWISE:
            otherwise = a[-1] if len(a) % 2 == 1 else ca.SX(0.0)
            out = otherwise
            pairs = [(a[i], a[i + 1]) for i in range(0, len(a) - 1, 2)]
            for value, condition in reversed(pairs):
                out = ca.if_else(condition, value, out)
            return out
        raise InvalidModelError(f"operator {op.value} cannot be translated")  # pragma: no cover


def indicator(translate: SymbolicTranslator, expr: Expr) -> ca.SX:
    """A continuous function that is positive where a trigger is true (for root finding).

    Relations give signed distances; and/or become min/max; anything else falls back to
    +1/-1 of its truth value, which bisection still brackets.
    """
    if isinstance(expr, Apply):
        if expr.op in (Op.LT, Op.LE) and len(expr.args) == 2:
            return translate(expr.args[1]) - translate(expr.args[0])
        if expr.op in (Op.GT, Op.GE) and len(expr.args) == 2:
            return translate(expr.args[0]) - translate(expr.args[1])
        if expr.op is Op.AND:
            return _fold(ca.fmin, [indicator(translate, a) for a in expr.args], 1.0)
        if expr.op is Op.OR:
            return _fold(ca.fmax, [indicator(translate, a) for a in expr.args], -1.0)
        if expr.op is Op.NOT:
            return -indicator(translate, expr.args[0])
    return 2 * translate(expr) - 1
