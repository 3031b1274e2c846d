"""Conversion between libsbml ASTNode trees and the IR expression tree."""

from __future__ import annotations

import math

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
        raise UnsupportedFeatureError("delay() function", element, "delay differential equations")
    if t == getattr(libsbml, "AST_FUNCTION_RATE_OF", -999):
        raise UnsupportedFeatureError("rateOf() function", element)
    if t == libsbml.AST_LAMBDA:
        raise InvalidModelError(f"unexpected lambda inside the math of '{element}'")
    op = _FUNCTIONS.get(t)
    if op is None:
        raise UnsupportedFeatureError(f"MathML element '{node.getName() or t}'", element)
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


def to_ast(expr: Expr, element: str) -> libsbml.ASTNode:
    """Build a libsbml AST from an IR expression (via the L3 infix parser)."""
    from immunetwin.ir import to_infix

    settings = libsbml.L3ParserSettings()
    settings.setParseLog(libsbml.L3P_PARSE_LOG_AS_LOG10)
    text = to_infix(expr)
    node = libsbml.parseL3FormulaWithSettings(text, settings)
    if node is None:
        raise InvalidModelError(
            f"cannot write the math of '{element}': '{text}' ({libsbml.getLastParseL3Error()})"
        )
    return node
