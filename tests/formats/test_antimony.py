"""Antimony in and out (through SBML, with the antimony library)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from immunetwin.errors import ModelReadError
from immunetwin.formats import (
    read_antimony,
    read_model,
    read_sbml,
    to_antimony_string,
    write_antimony,
    write_model,
)
from immunetwin.ir import (
    Annotation,
    Apply,
    AssignmentRule,
    Call,
    Event,
    EventAssignment,
    FunctionDefinition,
    Model,
    Num,
    Op,
    Sym,
    Time,
)

INFECTION = """
function hill(x, K, n)
  x^n / (K^n + x^n)
end

model infection
  compartment blood = 5;
  species V in blood = 10, E in blood = 1;
  J_rep: -> V; r*V*(1 - V/Vmax);
  J_kill: V -> ; k*E*V;
  J_act: -> E; a*hill(V, K, 2);
  total := V + E;
  r = 1.5; Vmax = 1e6; k = 0.01; a = 0.5; K = 100;
  treat: at time >= 3: V = V / 2, k = k * 2;
  V identity "http://identifiers.org/taxonomy/11320";
end
"""


def _canonical(model: Model) -> Model:
    """Declarations sorted by id.

    Antimony regroups declarations when it writes a model (for example, variables that
    events change come first), so their order is not kept; it carries no meaning in SBML.
    """
    return model.replace(
        compartments=tuple(sorted(model.compartments, key=lambda c: c.id)),
        species=tuple(sorted(model.species, key=lambda s: s.id)),
        parameters=tuple(sorted(model.parameters, key=lambda p: p.id)),
    )


def test_read_hand_written_model() -> None:
    model = read_antimony(INFECTION)
    assert model.id == "infection"
    assert model.compartment("blood").size == 5.0
    assert [(s.id, s.initial_concentration) for s in model.species] == [("V", 10.0), ("E", 1.0)]
    assert model.get_species("V").annotations == (
        Annotation("bqbiol:is", "http://identifiers.org/taxonomy/11320"),
    )
    v, k = Sym("V"), Sym("k")
    assert model.function_definitions == (
        FunctionDefinition(
            "hill",
            ("x", "K", "n"),
            Apply(
                Op.DIVIDE,
                (
                    Apply(Op.POWER, (Sym("x"), Sym("n"))),
                    Apply(
                        Op.PLUS,
                        (
                            Apply(Op.POWER, (Sym("K"), Sym("n"))),
                            Apply(Op.POWER, (Sym("x"), Sym("n"))),
                        ),
                    ),
                ),
            ),
        ),
    )
    assert model.assignment_rules == (AssignmentRule("total", Apply(Op.PLUS, (v, Sym("E")))),)
    assert model.reaction("J_act").kinetic_law == Apply(
        Op.TIMES, (Sym("a"), Call("hill", (v, Sym("K"), Num(2.0))))
    )
    assert model.reaction("J_kill").modifiers == ("E",)
    assert model.events == (
        Event(
            "treat",
            trigger=Apply(Op.GE, (Time(), Num(3.0))),
            assignments=(
                EventAssignment("V", Apply(Op.DIVIDE, (v, Num(2.0)))),
                EventAssignment("k", Apply(Op.TIMES, (k, Num(2.0)))),
            ),
        ),
    )
    assert model.parameter("k").constant is False  # an event changes it
    assert model.parameter("total").value is None


def test_hand_written_model_roundtrips() -> None:
    model = read_antimony(INFECTION)
    text = to_antimony_string(model)
    assert "function hill(x, K, n)" in text  # kept as a function, not inlined
    assert _canonical(read_antimony(text)) == _canonical(model)


@pytest.mark.parametrize("name", ["immune_tiv", "immune_tiv_dosed"])
def test_benchmark_antimony_matches_sbml_and_roundtrips(shared: Path, name: str) -> None:
    model = read_antimony(shared / "bench" / f"{name}.ant")
    assert model == read_sbml(shared / "bench" / f"{name}.xml")
    assert read_antimony(to_antimony_string(model)) == model


def test_files_by_path_and_extension(tmp_path: Path) -> None:
    model = read_antimony(INFECTION)
    write_antimony(model, tmp_path / "m.ant")
    assert read_antimony(tmp_path / "m.ant") == read_antimony(str(tmp_path / "m.ant"))
    for name in ("a.ant", "b.txt", "c.antimony", "d.xml"):
        write_model(model, tmp_path / name)
        assert _canonical(read_model(tmp_path / name)) == _canonical(model)


def test_syntax_error_names_the_line() -> None:
    text = "model broken\n  S1 = 1;\n  J0: S1 -> ; k1*S1 +;\nend\n"
    with pytest.raises(ModelReadError, match=r"not valid Antimony: .*line 3") as info:
        read_antimony(text)
    assert "syntax error" in str(info.value)


def test_missing_file_is_a_read_error(tmp_path: Path) -> None:
    with pytest.raises(ModelReadError, match="no Antimony file"):
        read_antimony(tmp_path / "absent.ant")
    with pytest.raises(ModelReadError, match="no Antimony file"):
        read_antimony("absent.ant")


def test_calls_from_threads_do_not_interfere() -> None:
    texts = [INFECTION.replace("blood = 5", f"blood = {i}") for i in range(1, 9)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        models = list(pool.map(read_antimony, texts))
    assert [m.compartment("blood").size for m in models] == [float(i) for i in range(1, 9)]
