"""The expression tree's infix printer and the pure model transforms."""

from __future__ import annotations

import math

import pytest

from immunetwin.errors import UnknownIdentifierError
from immunetwin.ir import (
    Annotation,
    Apply,
    AssignmentRule,
    Avogadro,
    Bool,
    Call,
    Compartment,
    Event,
    EventAssignment,
    Expr,
    FunctionDefinition,
    InitialAssignment,
    Model,
    Num,
    Op,
    Parameter,
    RateRule,
    Reaction,
    Species,
    SpeciesReference,
    Sym,
    Time,
    Unit,
    UnitDefinition,
    namespace,
    rename_ids,
    substitute,
    to_infix,
    with_parameters,
    with_values,
)

a, b, c = Sym("a"), Sym("b"), Sym("c")


def _a(op: Op, *args: Expr) -> Apply:
    return Apply(op, args)


# ---------------------------------------------------------------------------- to_infix


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        (_a(Op.MINUS, a, _a(Op.MINUS, b, c)), "a - (b - c)"),
        (_a(Op.MINUS, _a(Op.MINUS, a, b), c), "a - b - c"),
        (_a(Op.NEG, _a(Op.PLUS, a, b)), "-(a + b)"),
        (_a(Op.POWER, _a(Op.NEG, a), Num(2.0)), "(-a) ^ 2"),
        (_a(Op.NEG, _a(Op.POWER, a, Num(2.0))), "-a ^ 2"),
        (_a(Op.DIVIDE, a, _a(Op.TIMES, b, c)), "a / (b * c)"),
        (_a(Op.DIVIDE, _a(Op.TIMES, a, b), c), "a * b / c"),
        (_a(Op.DIVIDE, _a(Op.DIVIDE, a, b), c), "a / b / c"),
        (_a(Op.TIMES, a, _a(Op.PLUS, b, c)), "a * (b + c)"),
        (_a(Op.PLUS, a, _a(Op.TIMES, b, c)), "a + b * c"),
        (_a(Op.PLUS, a, _a(Op.PLUS, b, c)), "a + b + c"),
        (_a(Op.POWER, a, _a(Op.POWER, b, c)), "a ^ (b ^ c)"),
        (_a(Op.POWER, _a(Op.POWER, a, b), c), "(a ^ b) ^ c"),
        (_a(Op.MINUS, a, _a(Op.NEG, b)), "a - -b"),
        (_a(Op.NEG, _a(Op.NEG, a)), "-(-a)"),
        (_a(Op.TIMES, Num(-2.0), a), "(-2) * a"),
        (_a(Op.MINUS, a, Num(-1.5)), "a - (-1.5)"),
        (_a(Op.PLUS, a), "a"),
        (_a(Op.PLUS), "0"),
        (_a(Op.TIMES), "1"),
        (_a(Op.LOG, Num(2.0), a), "log(2, a)"),
        (_a(Op.ROOT, Num(3.0), _a(Op.PLUS, a, b)), "root(3, a + b)"),
        (_a(Op.PIECEWISE, a, _a(Op.LT, a, b), b), "piecewise(a, lt(a, b), b)"),
        (_a(Op.AND, _a(Op.NOT, Bool(False)), Bool(True)), "and(not(false), true)"),
        (_a(Op.CEIL, _a(Op.TIMES, Time(), Avogadro())), "ceil(time * avogadro)"),
        (Call("f", (a, _a(Op.MINUS, b, c))), "f(a, b - c)"),
        (Num(math.inf), "INF"),
        (Num(-math.inf), "-INF"),
        (Num(math.nan), "NaN"),
        (Num(0.1), "0.1"),
        (Num(1e20), "1e+20"),
        (Num(123456.0), "123456"),
        (Num(1e300), "1e+300"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_to_infix(expr: Expr, text: str) -> None:
    assert to_infix(expr) == text
    assert str(expr) == text


def test_expression_queries_and_substitute() -> None:
    expr = _a(Op.PLUS, a, Call("f", (b, Num(1.0))), _a(Op.TIMES, a, c))
    assert expr.symbols() == {"a", "b", "c"}
    assert expr.functions() == {"f"}
    assert substitute(expr, {"a": Num(2.0), "b": c}) == _a(
        Op.PLUS, Num(2.0), Call("f", (c, Num(1.0))), _a(Op.TIMES, Num(2.0), c)
    )


def test_nan_numbers_are_equal_and_hash_alike() -> None:
    assert Num(math.nan) == Num(float("nan"))
    assert hash(Num(math.nan)) == hash(Num(float("nan")))
    assert Num(1.0) != Num(2.0)
    assert len({Num(1.0), Num(1.0), Num(math.nan), Num(math.nan)}) == 2


# -------------------------------------------------------------------------- transforms


def _model() -> Model:
    k, s, x = Sym("k"), Sym("S"), Sym("x")
    return Model(
        id="m",
        compartments=(Compartment("cell", size=2.0),),
        species=(
            Species("S", "cell", initial_concentration=1.0),
            Species("P", "cell", initial_amount=0.0, has_only_substance_units=True),
        ),
        parameters=(
            Parameter("k", 0.5, annotations=(Annotation("bqbiol:is", "http://x.org/k"),)),
            Parameter("x", 3.0),
            Parameter("y", None, constant=False),
            Parameter("z", None),
        ),
        reactions=(
            Reaction(
                "J",
                reactants=(SpeciesReference("S"),),
                products=(SpeciesReference("P", 2.0),),
                modifiers=("S",),
                kinetic_law=_a(Op.TIMES, k, s, Call("f", (x,))),
            ),
            Reaction(
                "J_local",
                reactants=(SpeciesReference("S"),),
                kinetic_law=_a(Op.TIMES, k, s),
                local_parameters=(Parameter("k", 9.0),),  # shadows the global k
            ),
        ),
        function_definitions=(FunctionDefinition("f", ("x",), _a(Op.TIMES, x, k)),),
        assignment_rules=(AssignmentRule("y", _a(Op.PLUS, k, Sym("J"))),),
        rate_rules=(RateRule("S", _a(Op.NEG, k)),),
        initial_assignments=(
            InitialAssignment("z", _a(Op.TIMES, Num(2.0), k)),
            InitialAssignment("x", Num(4.0)),
        ),
        events=(Event("e", _a(Op.GT, Time(), x), (EventAssignment("k", _a(Op.TIMES, k, x)),)),),
        unit_definitions=(UnitDefinition("k", (Unit("second", -1.0),)),),  # own namespace
        time_units="k",
    )


def test_with_values_sets_parameters_species_and_compartments() -> None:
    model = _model()
    new = with_values(model, {"k": 2.0, "S": 5.0, "P": 7.0, "cell": 3.0, "x": 1.0})
    assert new.parameter("k").value == 2.0
    assert new.parameter("k").annotations == model.parameter("k").annotations
    assert new.get_species("S").initial_concentration == 5.0
    assert new.get_species("S").initial_amount is None
    assert new.get_species("P").initial_amount == 7.0  # only substance units: an amount
    assert new.get_species("P").initial_concentration is None
    assert new.compartment("cell").size == 3.0
    # the initial assignment to x is dropped (explicit value wins); the one that reads k stays
    assert new.initial_assignments == (InitialAssignment("z", _a(Op.TIMES, Num(2.0), Sym("k"))),)
    assert model.parameter("k").value == 0.5  # the input is unchanged
    assert with_parameters(model, {"k": 2.0}) == with_values(model, {"k": 2.0})
    assert with_values(model, {}) == model


def test_with_values_rejects_unknown_ids() -> None:
    with pytest.raises(UnknownIdentifierError, match="cannot set nope.*cell") as info:
        with_values(_model(), {"k": 1.0, "nope": 2.0})
    assert isinstance(info.value, KeyError)


def test_rename_ids_renames_definitions_references_and_math() -> None:
    model = _model()
    new = rename_ids(model, {"k": "kk", "S": "S1", "J": "J1", "f": "g", "cell": "c", "e": "e1"})
    assert new.id == "m"
    assert [p.id for p in new.parameters] == ["kk", "x", "y", "z"]
    assert new.get_species("S1").compartment == "c"
    reaction = new.reaction("J1")
    assert reaction.reactants == (SpeciesReference("S1"),)
    assert reaction.modifiers == ("S1",)
    assert reaction.kinetic_law == _a(Op.TIMES, Sym("kk"), Sym("S1"), Call("g", (Sym("x"),)))
    assert new.function_definitions[0].id == "g"
    assert new.assignment_rules == (AssignmentRule("y", _a(Op.PLUS, Sym("kk"), Sym("J1"))),)
    assert new.rate_rules == (RateRule("S1", _a(Op.NEG, Sym("kk"))),)
    assert new.events[0].id == "e1"
    assert new.events[0].assignments[0].variable == "kk"
    assert new.parameter("kk").annotations == model.parameter("k").annotations


def test_rename_ids_respects_local_scopes_and_unit_namespace() -> None:
    model = _model()
    new = rename_ids(model, {"k": "kk", "x": "xx"})
    # a local parameter shadows the global id inside its reaction
    local = new.reaction("J_local")
    assert local.local_parameters == (Parameter("k", 9.0),)
    assert local.kinetic_law == _a(Op.TIMES, Sym("k"), Sym("S"))
    # a function argument shadows it inside the body; other globals there are renamed
    assert new.function_definitions[0] == FunctionDefinition(
        "f", ("x",), _a(Op.TIMES, Sym("x"), Sym("kk"))
    )
    # the call site passes the renamed global
    assert new.reaction("J").kinetic_law == _a(
        Op.TIMES, Sym("kk"), Sym("S"), Call("f", (Sym("xx"),))
    )
    # unit definitions and unit references are a separate namespace
    assert new.unit_definitions == model.unit_definitions
    assert new.time_units == "k"


def test_namespace_prefixes_all_global_ids_except_kept() -> None:
    model = _model()
    new = namespace(model, "host", keep=frozenset({"cell"}))
    assert {p.id for p in new.parameters} == {"host_k", "host_x", "host_y", "host_z"}
    assert new.get_species("host_S").compartment == "cell"
    assert new.function_definitions[0].id == "host_f"
    assert new.events[0].id == "host_e"
    assert new.reaction("host_J_local").local_parameters == (Parameter("k", 9.0),)
