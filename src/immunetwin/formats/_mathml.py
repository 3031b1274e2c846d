"""Conversion between libsbml ASTNode trees and the IR expression tree."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import libsbml

from immunetwin.errors import InvalidModelError, UnsupportedFeatureError
from immunetwin.ir import Apply, Avogadro, Bool, Call, Expr, Num, Op, Sym, Time

_FUNCTIONS: dict[int, Op] = {}
for _name, _op in {
    "AST_FUNCTION_EXP": Op.EXP,
    "AST_FUNCTION_LN": Op.LN,
    "AST_FUNCTION_ABS": Op.ABS,
    "AST_FUNCTION_FLOOR": Op.FLOOR,
    "AST_FUNCTION_CEILING": Op.CEIL,
    "AST_FUNCTION_FACTORIAL": Op.FACTORIAL,
    "AST_FUNCTION_SIN": Op.SIN,
    "AST_FUNCTION_COS": Op.COS,
    "AST_FUNCTION_TAN": Op.TAN,
    "AST_FUNCTION_SEC": Op.SEC,
    "AST_FUNCTION_CSC": Op.CSC,
    "AST_FUNCTION_COT": Op.COT,
    "AST_FUNCTION_SINH": Op.SINH,
    "AST_FUNCTION_COSH": Op.COSH,
    "AST_FUNCTION_TANH": Op.TANH,
    "AST_FUNCTION_SECH": Op.SECH,
    "AST_FUNCTION_CSCH": Op.CSCH,
    "AST_FUNCTION_COTH": Op.COTH,
    "AST_FUNCTION_ARCSIN": Op.ARCSIN,
    "AST_FUNCTION_ARCCOS": Op.ARCCOS,
    "AST_FUNCTION_ARCTAN": Op.ARCTAN,
    "AST_FUNCTION_ARCSEC": Op.ARCSEC,
    "AST_FUNCTION_ARCCSC": Op.ARCCSC,
    "AST_FUNCTION_ARCCOT": Op.ARCCOT,
    "AST_FUNCTION_ARCSINH": Op.ARCSINH,
    "AST_FUNCTION_ARCCOSH": Op.ARCCOSH,
    "AST_FUNCTION_ARCTANH": Op.ARCTANH,
    "AST_FUNCTION_ARCSECH": Op.ARCSECH,
    "AST_FUNCTION_ARCCSCH": Op.ARCCSCH,
    "AST_FUNCTION_ARCCOTH": Op.ARCCOTH,
    "AST_FUNCTION_PIECEWISE": Op.PIECEWISE,
    "AST_FUNCTION_MAX": Op.MAX,
    "AST_FUNCTION_MIN": Op.MIN,
    "AST_FUNCTION_REM": Op.REM,
    "AST_FUNCTION_QUOTIENT": Op.QUOTIENT,
    "AST_FUNCTION_POWER": Op.POWER,
    "AST_POWER": Op.POWER,
    "AST_TIMES": Op.TIMES,
    "AST_DIVIDE": Op.DIVIDE,
    "AST_PLUS": Op.PLUS,
    "AST_RELATIONAL_LT": Op.LT,
    "AST_RELATIONAL_LEQ": Op.LE,
    "AST_RELATIONAL_GT": Op.GT,
    "AST_RELATIONAL_GEQ": Op.GE,
    "AST_RELATIONAL_EQ": Op.EQ,
    "AST_RELATIONAL_NEQ": Op.NEQ,
    "AST_LOGICAL_AND": Op.AND,
    "AST_LOGICAL_OR": Op.OR,
    "AST_LOGICAL_XOR": Op.XOR,
    "AST_LOGICAL_NOT": Op.NOT,
    "AST_LOGICAL_IMPLIES": Op.IMPLIES,
}.items():
    if hasattr(libsbml, _name):
        _FUNCTIONS[getattr(libsbml, _name)] = _op

_NUMBERS = {
    libsbml.AST_INTEGER,
    libsbml.AST_REAL,
    libsbml.AST_REAL_E,
    libsbml.AST_RATIONAL,
}


def from_ast(node: libsbml.ASTNode | None, element: str) -> Expr:
    """Convert a libsbml AST to an IR expression. ``element`` names the owner for errors."""
    if node is None:
        raise InvalidModelError(
            f"element '{element}' has no math (or its MathML could not be parsed); "
            "expected a MathML expression"
        )
    t = node.getType()
    n = node.getNumChildren()
    if t == libsbml.AST_REAL_E and math.isfinite(node.getMantissa()):
        # mantissa * 10^exponent rounded once, as the decimal the file wrote
        return Num(float(Decimal(repr(node.getMantissa())).scaleb(node.getExponent())))
    if t in _NUMBERS:
        return Num(float(node.getValue()))
    if t == libsbml.AST_NAME:
        return Sym(node.getName())
    if t == libsbml.AST_NAME_TIME:
        return Time()
    if t == libsbml.AST_NAME_AVOGADRO:
        return Avogadro()
    if t == libsbml.AST_CONSTANT_E:
        return Num(math.e)
    if t == libsbml.AST_CONSTANT_PI:
        return Num(math.pi)
    if t == libsbml.AST_CONSTANT_TRUE:
        return Bool(True)
    if t == libsbml.AST_CONSTANT_FALSE:
        return Bool(False)
    kids = tuple(from_ast(node.getChild(i), element) for i in range(n))
    if t == libsbml.AST_MINUS:
        return Apply(Op.NEG, kids) if n == 1 else Apply(Op.MINUS, kids)
    if t == libsbml.AST_FUNCTION_LOG:
        return Apply(Op.LOG, kids if n == 2 else (Num(10.0), *kids))
    if t == libsbml.AST_FUNCTION_ROOT:
        return Apply(Op.ROOT, kids if n == 2 else (Num(2.0), *kids))
    if t == libsbml.AST_FUNCTION:
        return Call(node.getName(), kids)
    if t == libsbml.AST_FUNCTION_DELAY:
        raise UnsupportedFeatureError(
            "delay() function",
            element,
            "delay differential equations are not simulated; replace the delay by a chain of "
            "intermediate species (linear chain trick)",
        )
    if t == getattr(libsbml, "AST_FUNCTION_RATE_OF", -999):
        raise UnsupportedFeatureError("rateOf() function", element)
    if t == libsbml.AST_LAMBDA:
        raise InvalidModelError(f"unexpected lambda inside the math of '{element}'")
    op = _FUNCTIONS.get(t)
    if op is None:
        raise UnsupportedFeatureError(f"MathML element '{node.getName() or t}'", element)
    if op in (Op.PLUS, Op.TIMES) and kids and isinstance(kids[0], Apply) and kids[0].op is op:
        # libsbml reads an n-ary <plus/>/<times/> as a left-nested binary tree (and so
        # cannot tell it from explicit left nesting); undo that, keeping the order
        kids = (*kids[0].args, *kids[1:])
    return Apply(op, kids)


def lambda_parts(node: libsbml.ASTNode, element: str) -> tuple[tuple[str, ...], Expr]:
    """Split a functionDefinition's lambda into argument names and body."""
    if node is None or node.getType() != libsbml.AST_LAMBDA:
        raise InvalidModelError(f"function definition '{element}' must hold a lambda expression")
    n = node.getNumChildren()
    if n == 0:
        raise InvalidModelError(f"function definition '{element}' has an empty lambda")
    arguments = tuple(node.getChild(i).getName() for i in range(n - 1))
    return arguments, from_ast(node.getChild(n - 1), element)


_INT32 = 2**31
_OP_TYPES: dict[Op, int] = {
    op: t for t, op in _FUNCTIONS.items() if t != getattr(libsbml, "AST_FUNCTION_POWER", None)
}
_OP_TYPES.update(
    {
        Op.POWER: libsbml.AST_POWER,
        Op.MINUS: libsbml.AST_MINUS,
        Op.NEG: libsbml.AST_MINUS,
        Op.LOG: libsbml.AST_FUNCTION_LOG,
        Op.ROOT: libsbml.AST_FUNCTION_ROOT,
    }
)


def to_ast(expr: Expr, element: str) -> libsbml.ASTNode:
    """Build a libsbml AST from an IR expression, node by node.

    Building the tree directly (rather than printing infix and parsing it) keeps identifiers
    such as ``pi``, ``time`` or ``inf`` as names and numbers at full precision.
    """
    if isinstance(expr, Num):
        return _number(expr.value)
    if isinstance(expr, Bool):
        return libsbml.ASTNode(
            libsbml.AST_CONSTANT_TRUE if expr.value else libsbml.AST_CONSTANT_FALSE
        )
    if isinstance(expr, Sym):
        return _named(libsbml.AST_NAME, expr.name, element)
    if isinstance(expr, Time):
        return _named(libsbml.AST_NAME_TIME, "time", element)
    if isinstance(expr, Avogadro):
        return _named(libsbml.AST_NAME_AVOGADRO, "avogadro", element)
    if isinstance(expr, Call):
        node = _named(libsbml.AST_FUNCTION, expr.name, element)
    elif isinstance(expr, Apply):
        ast_type = _OP_TYPES.get(expr.op)
        if ast_type is None:
            raise UnsupportedFeatureError(f"operator '{expr.op.value}' in SBML output", element)
        node = libsbml.ASTNode(ast_type)
    else:
        raise InvalidModelError(f"cannot write the math of '{element}': unknown node {expr!r}")
    for child in expr.args:
        _check(node.addChild(to_ast(child, element)), element, "math")
    return node


def lambda_ast(arguments: tuple[str, ...], body: Expr, element: str) -> libsbml.ASTNode:
    """Build a functionDefinition's lambda from argument names and body."""
    node = libsbml.ASTNode(libsbml.AST_LAMBDA)
    for name in arguments:
        _check(node.addChild(_named(libsbml.AST_NAME, name, element)), element, "argument")
    _check(node.addChild(to_ast(body, element)), element, "body")
    return node


def _named(ast_type: int, name: str, element: str) -> libsbml.ASTNode:
    node = libsbml.ASTNode(ast_type)
    _check(node.setName(name), element, f"name '{name}'")
    return node


def _number(value: float) -> libsbml.ASTNode:
    """A number node that reads back as exactly ``value``.

    libsbml writes reals with 15 significant digits, so a value that needs more is written
    as a rational when a 32-bit fraction reproduces it exactly (e.g. 1/3).
    """
    if value == math.pi:
        return libsbml.ASTNode(libsbml.AST_CONSTANT_PI)
    if value == math.e:
        return libsbml.ASTNode(libsbml.AST_CONSTANT_E)
    if math.isfinite(value) and value.is_integer() and abs(value) < _INT32:
        node = libsbml.ASTNode(libsbml.AST_INTEGER)
        node.setValue(int(value))
        return node
    if math.isfinite(value) and float(f"{value:.15g}") != value:
        ratio = Fraction(value).limit_denominator(_INT32 - 1)
        p, q = ratio.numerator, ratio.denominator
        if abs(p) < _INT32 and p / q == value:
            node = libsbml.ASTNode(libsbml.AST_RATIONAL)
            node.setValue(p, q)
            return node
    node = libsbml.ASTNode(libsbml.AST_REAL)
    node.setValue(float(value))
    return node


def _check(code: int, element: str, what: str) -> None:
    if code != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise InvalidModelError(
            f"cannot write the {what} of '{element}': {libsbml.OperationReturnValue_toString(code)}"
        )
