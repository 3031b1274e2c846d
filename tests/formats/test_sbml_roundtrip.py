"""SBML L3V2 output: read -> write -> read gives an equal IR, and libsbml finds no errors."""

from __future__ import annotations

import math
from pathlib import Path

import libsbml
import pytest

from immunetwin.errors import (
    InvalidInputError,
    InvalidModelError,
    UnsupportedFeatureError,
)
from immunetwin.formats import (
    read_model,
    read_sbml,
    read_sbml_string,
    to_sbml_string,
    write_model,
    write_sbml,
)
from immunetwin.formats._mathml import from_ast, to_ast
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
)

_SHARED = Path(__file__).resolve().parents[2].parent / "shared"
_SUITE = _SHARED / "sbml-test-suite"
_BIOMODELS = _SHARED / "biomodels-immune"


def _suite_sample() -> list[str]:
    """Every 16th case id of the core cases (about 40), or none without ../shared."""
    listing = _SUITE / "core_cases.txt"
    return listing.read_text().split()[::16] if listing.is_file() else []


def _biomodels_sample() -> list[str]:
    """Every 9th BioModels immune model (about 15, Level 2 Version 4 and Level 3)."""
    return [p.parent.name for p in sorted(_BIOMODELS.glob("*/*.xml"))[::9]]


def _sbml_errors(text: str) -> list[str]:
    """libsbml read and consistency errors (severity ERROR or worse), units aside."""
    document = libsbml.readSBMLFromString(text)
    document.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, False)
    document.checkConsistency()
    errors = [document.getError(i) for i in range(document.getNumErrors())]
    return [
        f"{e.getErrorId()}: {e.getMessage().strip()}"
        for e in errors
        if e.getSeverity() >= libsbml.LIBSBML_SEV_ERROR
    ]


def _roundtrip(model: Model) -> Model:
    text = to_sbml_string(model)
    assert 'level="3" version="2"' in text
    assert _sbml_errors(text) == []
    return read_sbml_string(text)


def _read_or_skip(path: Path) -> Model:
    if not path.is_file():
        pytest.skip(f"{path.name} is not in the shared data")
    try:
        return read_sbml(path)
    except UnsupportedFeatureError as exc:
        pytest.skip(str(exc))


# ------------------------------------------------------------------------- shared models


@pytest.mark.parametrize("name", ["immune_tiv.xml", "immune_tiv_dosed.xml"])
def test_benchmark_models_roundtrip(shared: Path, name: str) -> None:
    model = read_sbml(shared / "bench" / name)
    assert _roundtrip(model) == model


def test_dosed_benchmark_keeps_its_events(shared: Path) -> None:
    model = _roundtrip(read_sbml(shared / "bench" / "immune_tiv_dosed.xml"))
    assert [e.id for e in model.events] == ["E_dose1", "E_dose2", "E_dose3"]
    assert model.events[0].trigger == Apply(Op.GE, (Time(), Num(2.0)))


@pytest.mark.parametrize("case", _suite_sample())
def test_sbml_test_suite_sample_roundtrips(shared: Path, case: str) -> None:
    model = _read_or_skip(shared / "sbml-test-suite" / "cases" / case / f"{case}-sbml-l3v2.xml")
    assert _roundtrip(model) == model


@pytest.mark.parametrize("name", _biomodels_sample())
def test_biomodels_sample_roundtrips(shared: Path, name: str) -> None:
    model = _read_or_skip(shared / "biomodels-immune" / name / f"{name}.xml")
    assert _roundtrip(model) == model


def test_samples_are_not_empty(shared: Path) -> None:
    assert len(_suite_sample()) >= 40
    levels = set()
    for name in _biomodels_sample():
        document = libsbml.readSBMLFromFile(str(shared / "biomodels-immune" / name / f"{name}.xml"))
        levels.add((document.getLevel(), document.getVersion()))
    assert len(_biomodels_sample()) >= 15
    assert (2, 4) in levels and any(level == 3 for level, _ in levels)


def test_level2_model_is_written_as_level3(shared: Path) -> None:
    path = shared / "biomodels-immune" / "BIOMD0000000874" / "BIOMD0000000874.xml"
    model = _read_or_skip(path)
    text = to_sbml_string(model)
    assert libsbml.readSBMLFromString(text).getLevel() == 3
    assert read_sbml_string(text).annotations == model.annotations != ()


# ---------------------------------------------------------------------- hand-built model

_XHTML = "http://www.w3.org/1999/xhtml"
_MODEL_NOTES = (
    f'<notes>\n  <body xmlns="{_XHTML}">\n    <p>Two &amp; three</p>\n  </body>\n</notes>'
)
_SPECIES_NOTES = f'<notes>\n  <p xmlns="{_XHTML}">virions</p>\n</notes>'


def _full_model() -> Model:
    """A model that uses every field the writer supports."""
    x, v = Sym("x"), Sym("V")
    return Model(
        id="full",
        name="Every construct",
        compartments=(
            Compartment("blood", size=5.0, units="litre", name="Blood"),
            Compartment("membrane", size=None, spatial_dimensions=2.0, constant=False),
            Compartment("nowhere", size=1.0, spatial_dimensions=None),
        ),
        species=(
            Species(
                "V",
                "blood",
                initial_concentration=10.0,
                units="mole",
                name="virus",
                annotations=(
                    Annotation("bqbiol:is", "http://identifiers.org/taxonomy/11320"),
                    Annotation("bqbiol:hasPart", "http://identifiers.org/uniprot/P03452"),
                    Annotation("bqbiol:is", "http://identifiers.org/ncit/C14219"),
                    # the same resource under another qualifier, and a duplicate: both kept
                    Annotation("bqbiol:hasProperty", "http://identifiers.org/taxonomy/11320"),
                    Annotation("bqbiol:hasProperty", "http://identifiers.org/taxonomy/11320"),
                ),
                notes=_SPECIES_NOTES,
            ),
            Species("T", "blood", initial_amount=4e8, has_only_substance_units=True),
            Species("R", "membrane", initial_amount=0.0, boundary_condition=True),
            Species("D", "blood", initial_amount=1.0, constant=True, boundary_condition=True),
        ),
        parameters=(
            Parameter("k", 0.25, units="per_day", name="rate"),
            Parameter("third", 0.333333333333333),
            Parameter("total", None, constant=False),
            Parameter("p", None),
            Parameter("growth", 0.0, constant=False),
            Parameter("pi", 3.0),  # ids that the infix syntax would read as constants
            Parameter("inf", 2.0),
            Parameter("avogadro", 1.0),
        ),
        reactions=(
            Reaction(
                "J_inf",
                reactants=(SpeciesReference("T"), SpeciesReference("V", 2.5)),
                products=(SpeciesReference("V", 3.0),),
                modifiers=("D",),
                kinetic_law=Apply(Op.TIMES, (Sym("beta"), Sym("T"), v, Sym("k"))),
                local_parameters=(Parameter("beta", 2.7e-5, units="per_day", name="b"),),
                reversible=True,
                name="infection",
                annotations=(
                    Annotation("bqbiol:isVersionOf", "http://identifiers.org/GO:0046718"),
                ),
            ),
            Reaction("J_none", reactants=(SpeciesReference("T"),)),
        ),
        function_definitions=(
            FunctionDefinition(
                "hill",
                ("x", "K", "n"),
                Apply(
                    Op.DIVIDE,
                    (
                        Apply(Op.POWER, (x, Sym("n"))),
                        Apply(
                            Op.PLUS,
                            (Apply(Op.POWER, (Sym("K"), Sym("n"))), Apply(Op.POWER, (x, Sym("n")))),
                        ),
                    ),
                ),
                name="Hill function",
            ),
        ),
        assignment_rules=(
            AssignmentRule(
                "total",
                Apply(Op.PLUS, (v, Call("hill", (v, Num(100.0), Num(2.0))), Sym("pi"), Sym("inf"))),
            ),
        ),
        rate_rules=(RateRule("growth", Apply(Op.TIMES, (Num(math.log(2)), Sym("avogadro")))),),
        initial_assignments=(InitialAssignment("p", Apply(Op.TIMES, (Num(1 / 3), Sym("k")))),),
        events=(
            Event(
                "dose",
                trigger=Apply(Op.GE, (Time(), Num(2.0))),
                assignments=(
                    EventAssignment("V", Apply(Op.DIVIDE, (v, Num(2.0)))),
                    EventAssignment("growth", Num(1.5)),
                ),
                delay=Num(0.5),
                priority=Apply(Op.NEG, (Sym("k"),)),
                initial_value=False,
                persistent=False,
                use_values_from_trigger_time=False,
                name="Dose",
            ),
            Event("event_1", trigger=Apply(Op.LT, (v, Num(1.0))), assignments=()),
        ),
        unit_definitions=(
            UnitDefinition(
                "per_day",
                (Unit("second", exponent=-1.0, scale=0, multiplier=86400.0),),
                name="per day",
            ),
            UnitDefinition("conc", (Unit("mole"), Unit("litre", exponent=-1.0, scale=-3))),
        ),
        time_units="second",
        substance_units="mole",
        volume_units="litre",
        annotations=(
            Annotation("bqmodel:isDescribedBy", "http://identifiers.org/pubmed/12345"),
            Annotation("bqbiol:hasTaxon", "http://identifiers.org/taxonomy/9606"),
            Annotation("bqmodel:is", "http://identifiers.org/biomodels.db/BIOMD0000000001"),
        ),
        notes=_MODEL_NOTES,
    )


def test_every_construct_roundtrips() -> None:
    model = _full_model()
    assert _roundtrip(model) == model


def test_attribute_values_keep_15_significant_digits() -> None:
    """libsbml writes real attributes with 15 significant digits (math numbers are exact)."""
    values = (1 / 3, 0.1 + 0.2, 2.0 / 3e-7, 123.456)
    model = Model(id="m", parameters=tuple(Parameter(f"p{i}", v) for i, v in enumerate(values)))
    again = _roundtrip(model)
    for before, after in zip(model.parameters, again.parameters, strict=True):
        assert after.value is not None and before.value is not None
        assert after.value == float(f"{before.value:.15g}")
        assert math.isclose(after.value, before.value, rel_tol=1e-14)
    assert again.parameters[3] == model.parameters[3]


def test_write_sbml_and_read_model_by_extension(tmp_path: Path) -> None:
    model = _full_model()
    write_sbml(model, tmp_path / "a.xml")
    assert read_sbml(tmp_path / "a.xml") == model
    write_model(model, tmp_path / "b.SBML")
    assert read_model(tmp_path / "b.SBML") == model


@pytest.mark.parametrize("name", ["model.json", "model", "model.xml.gz"])
def test_unknown_extension_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInputError, match=r"\.xml, \.sbml.*\.ant"):
        read_model(tmp_path / name)
    with pytest.raises(InvalidInputError, match="extension"):
        write_model(_full_model(), tmp_path / name)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "1bad"}, "attribute 'Id'"),
        ({"annotations": (Annotation("bqbiol:likes", "http://x.org/1"),)}, "bqbiol:likes"),
        ({"unit_definitions": (UnitDefinition("u", (Unit("furlong"),)),)}, "furlong"),
        ({"species": (Species("S", "c", initial_amount=1.0, initial_concentration=1.0),)}, "both"),
    ],
)
def test_unwritable_models_raise(change: dict[str, object], message: str) -> None:
    model = Model(id="m", compartments=(Compartment("c"),)).replace(**change)
    with pytest.raises(InvalidModelError, match=message):
        to_sbml_string(model)


# --------------------------------------------------------------------------------- math

_x, _y, _z = Sym("x"), Sym("y"), Sym("z")


def _a(op: Op, *args: Expr) -> Apply:
    return Apply(op, args)


_EXPRESSIONS: list[Expr] = [
    _a(Op.LOG, Num(2.0), _x),
    _a(Op.LOG, Num(10.0), _x),
    _a(Op.ROOT, Num(3.0), _x),
    _a(Op.ROOT, Num(2.0), _x),
    _a(Op.PIECEWISE, _x, _a(Op.LT, _x, _y), _y),
    _a(Op.PIECEWISE, _x, _a(Op.LT, _x, _y), Num(1.0), _a(Op.EQ, _x, _y)),
    _a(Op.AND, _a(Op.GT, _x, _y), _a(Op.NOT, Bool(False)), Bool(True)),
    _a(Op.OR, _a(Op.NEQ, _x, _y), _a(Op.XOR, Bool(True), Bool(False))),
    _a(Op.IMPLIES, _a(Op.LE, _x, _y, _z), _a(Op.GE, _x, _y)),
    _a(Op.TIMES, Time(), Avogadro()),
    _a(Op.PLUS, Num(math.inf), Num(math.nan), Num(math.pi), Num(math.e)),
    _a(Op.FACTORIAL, Num(3.0)),
    _a(Op.PLUS, _a(Op.CEIL, _x), _a(Op.FLOOR, _x), _a(Op.ABS, _x)),
    _a(Op.MIN, _x, _y, _z),
    _a(Op.MAX, _x),
    _a(Op.MINUS, _a(Op.REM, _x, _y), _a(Op.QUOTIENT, _x, _y)),
    _a(Op.MINUS, _x, _a(Op.MINUS, _y, _z)),
    _a(Op.NEG, _a(Op.PLUS, _x, _y)),
    _a(Op.POWER, _a(Op.NEG, _x), Num(2.0)),
    _a(Op.POWER, Num(-2.0), _a(Op.POWER, _y, _z)),
    _a(Op.DIVIDE, _x, _a(Op.TIMES, _y, _z)),
    _a(Op.PLUS, _a(Op.TIMES, _x, _y), _z),
    _a(Op.TIMES, Num(1 / 3), Num(2 / 7), Num(-2.5), Num(1e-300), Num(2.5e20), Num(2.0**40)),
    _a(Op.PLUS, _x, _y, _z, _a(Op.TIMES, _x, _y, _z)),
    _a(Op.PLUS, _x, _a(Op.MINUS, _y, _z)),
    _a(Op.PLUS),
    _a(Op.TIMES),
    *(_a(op, _x) for op in Op if op.name.startswith(("ARC", "SIN", "COS", "TAN", "SEC", "CSC"))),
    _a(Op.PLUS, _a(Op.EXP, _x), _a(Op.LN, _x), _a(Op.COT, _x), _a(Op.COTH, _x)),
    Sym("pi"),
    Sym("time"),
    Sym("INF"),
    Sym("true"),
    Sym("exponentiale"),
]


@pytest.mark.parametrize("expr", _EXPRESSIONS, ids=str)
def test_math_roundtrips_through_mathml(expr: Expr) -> None:
    text = libsbml.writeMathMLToString(to_ast(expr, "test"))
    assert from_ast(libsbml.readMathMLFromString(text), "test") == expr


def test_math_roundtrips_in_a_document() -> None:
    names = ("x", "y", "z", "pi", "time", "INF", "true", "exponentiale")
    model = Model(
        id="math",
        parameters=tuple(Parameter(n, 1.0) for n in names)
        + tuple(Parameter(f"r{i}", None, constant=False) for i in range(len(_EXPRESSIONS))),
        assignment_rules=tuple(AssignmentRule(f"r{i}", e) for i, e in enumerate(_EXPRESSIONS)),
    )
    assert _roundtrip(model) == model


def test_known_math_normalisations() -> None:
    """Constructs that libsbml cannot write as they are (their values are unchanged).

    - MathML has no negative infinity: -INF is written as ``<apply><minus/><infinity/>``.
    - libsbml writes reals with 15 significant digits; a number that needs more and is no
      32-bit fraction (0.1 + 0.2) is rounded to 15 digits.
    - libsbml's MathML writer unrolls a plus (times) nested in a binary plus (times) into
      one n-ary apply, dropping an empty nested ``plus()``; its reader cannot tell n-ary
      from left-nested, which the IR reads as n-ary.
    """
    cases = {
        Num(-math.inf): Apply(Op.NEG, (Num(math.inf),)),
        Num(0.1 + 0.2): Num(0.3),
        _a(Op.PLUS, _x, _a(Op.PLUS, _y, _z)): _a(Op.PLUS, _x, _y, _z),
        _a(Op.PLUS, _a(Op.PLUS, _x, _y), _z): _a(Op.PLUS, _x, _y, _z),
        _a(Op.TIMES, _x, _a(Op.TIMES, _y, _a(Op.TIMES))): _a(Op.TIMES, _x, _y),
    }
    for expr, written in cases.items():
        text = libsbml.writeMathMLToString(to_ast(expr, "test"))
        assert from_ast(libsbml.readMathMLFromString(text), "test") == written
