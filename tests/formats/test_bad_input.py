"""Bad input gives a typed immunetwin error that names the problem, never a crash or a hang.

Every file of the corpus in ``tests/data/bad/`` is read through the public readers and, where
reading succeeds, compiled and simulated. Each case must raise the expected subclass of
``ImmuneTwinError`` with a message that names the offending id or feature, within a time bound.

The in-process tests check classes and messages. ``test_corpus_in_subprocess`` feeds every file
(plus generated ones that would segfault libsbml or take long: deep nesting, 10 MB models) to a
child interpreter with a timeout, so a segfault or a hang fails the test instead of killing
pytest, and checks that the child printed no traceback.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import immunetwin.formats as formats
from immunetwin.engine import CVODES, Status, compile_model, simulate
from immunetwin.errors import (
    ImmuneTwinError,
    InvalidInputError,
    InvalidModelError,
    ModelReadError,
    SimulationError,
    UnknownIdentifierError,
    UnsupportedFeatureError,
)
from immunetwin.ir import Apply, Compartment, Model, Num, Op, Parameter, RateRule, Species, Sym

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
TIME_BOUND_S = 10.0  # per in-process case; every one takes well under a second

# file -> (exact error class, words the message must contain)
EXPECTED: dict[str, tuple[type[ImmuneTwinError], tuple[str, ...]]] = {
    "truncated.xml": (ModelReadError, ("well-formed XML", "line 15", "truncated")),
    "empty.xml": (ModelReadError, ("empty",)),
    "binary_garbage.xml": (ModelReadError, ("binary",)),
    "not_sbml.xml": (ModelReadError, ("<sbml>", "html")),
    "xml_entity_bomb.xml": (ModelReadError, ("entit",)),
    "deep_formula_l1.xml": (ModelReadError, ("nested too deeply",)),
    "unknown_id_kinetic_law.xml": (UnknownIdentifierError, ("k_typo", "R1")),
    "unknown_id_assignment_rule.xml": (UnknownIdentifierError, ("C_missing", "total")),
    "unknown_id_event_trigger.xml": (UnknownIdentifierError, ("threshold_missing", "E1")),
    "unknown_id_event_target.xml": (UnknownIdentifierError, ("Z_missing", "E1")),
    "reaction_unknown_species.xml": (UnknownIdentifierError, ("Ghost", "R1")),
    "undefined_function.xml": (UnknownIdentifierError, ("hill_missing", "R1")),
    "unit_undefined_id.xml": (UnknownIdentifierError, ("millimole_missing", "'A'")),
    "unit_invalid_kind.xml": (InvalidModelError, ("furlong", "per_furlong")),
    "missing_species_initial_value.xml": (InvalidModelError, ("A:", "initial")),
    "missing_parameter_value.xml": (InvalidModelError, ("k1", "no value")),
    "function_wrong_arity.xml": (InvalidModelError, ("mass_action", "2 argument", "with 1")),
    "cyclic_assignment_rules.xml": (InvalidModelError, ("'x'", "'y'", "itself")),
    "recursive_function.xml": (InvalidModelError, ("grow", "recursive")),
    "species_without_compartment.xml": (InvalidModelError, ("'A'", "compartment")),
    "duplicate_ids.xml": (InvalidModelError, ("'A'", "twice")),
    "required_package.xml": (UnsupportedFeatureError, ("comp", "flatten")),
    "required_unknown_package.xml": (UnsupportedFeatureError, ("teleport",)),
    "algebraic_rule.xml": (UnsupportedFeatureError, ("algebraicRule", "alg1")),
    "fast_reaction.xml": (UnsupportedFeatureError, ("fast", "R1")),
    "delay.xml": (UnsupportedFeatureError, ("delay", "R1")),
    "broken_antimony.ant": (ModelReadError, ("line 5", "syntax error")),
    "antimony_undefined_value.ant": (InvalidModelError, ("k_missing", "no value")),
}


def _run_pipeline(path: Path) -> None:
    """Read, compile and simulate ``path``: what a user does with a model file."""
    if path.suffix == ".ant":
        read = getattr(formats, "read_antimony", None)
        if read is None:
            pytest.skip("immunetwin.formats.read_antimony is not available")
        model = read(path)
    else:
        model = formats.read_sbml(path)
    simulate(compile_model(model), [0.0, 1.0], throw=True)


def test_corpus_is_complete_and_small() -> None:
    files = {p.name for p in BAD.iterdir() if p.is_file() and p.suffix in (".xml", ".ant")}
    assert files == set(EXPECTED)
    assert sum(p.stat().st_size for p in BAD.iterdir()) < 200 * 1024


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file_gives_typed_error(name: str) -> None:
    expected, words = EXPECTED[name]
    start = time.perf_counter()
    with pytest.raises(ImmuneTwinError) as info:
        _run_pipeline(BAD / name)
    elapsed = time.perf_counter() - start
    assert type(info.value) is expected, f"{name}: {type(info.value).__name__}: {info.value}"
    message = str(info.value)
    for word in words:
        assert word in message, f"{name}: {word!r} missing from: {message}"
    assert "Traceback" not in message
    assert elapsed < TIME_BOUND_S, f"{name} took {elapsed:.1f} s"


def test_bad_string_inputs() -> None:
    with pytest.raises(ModelReadError, match="empty"):
        formats.read_sbml_string("   \n")
    with pytest.raises(ModelReadError, match="binary"):
        formats.read_sbml_string(b"\x00\x01\x02<sbml")
    with pytest.raises(ModelReadError, match="UTF-8"):
        formats.read_sbml_string(b"<sbml \xff\xfe")
    with pytest.raises(ModelReadError, match="no SBML file"):
        formats.read_sbml(BAD / "does_not_exist.xml")


# ---------------------------------------------------------------------- in a child process

_CHILD = r"""
import json, sys, time
from pathlib import Path
import immunetwin.formats as formats
from immunetwin.engine import compile_model, simulate
from immunetwin.errors import ImmuneTwinError

for arg in sys.argv[1:]:
    path, _, stages = arg.partition("::")
    path = Path(path)
    start = time.perf_counter()
    try:
        reader = formats.read_antimony if path.suffix == ".ant" else formats.read_sbml
        model = reader(path)
        if "compile" in stages:
            compiled = compile_model(model)
            simulate(compiled, [0.0, 1.0], throw=True)
        outcome, message = "ok", ""
    except ImmuneTwinError as exc:
        outcome, message = type(exc).__name__, str(exc)
    seconds = time.perf_counter() - start
    print(json.dumps({"file": path.name, "outcome": outcome, "message": message[:2000],
                      "seconds": seconds}), flush=True)
"""


def _run_child(arguments: list[str], timeout: float) -> list[dict[str, object]]:
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, *arguments],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        printed = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        pytest.fail(f"hang: no answer within {timeout} s; finished before it:\n{printed}")
    assert done.returncode == 0, (
        f"child died with exit code {done.returncode} (a negative code is a signal, -11 a "
        f"segfault)\nstdout:\n{done.stdout}\nstderr:\n{done.stderr[-3000:]}"
    )
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def _deep_math(path: Path, depth: int) -> Path:
    """MathML nested ``depth`` levels deep: libsbml itself segfaults at some thousands."""
    law = "<apply><minus/>" * depth + "<ci>A</ci>" + "</apply>" * depth
    text = (BAD / "unknown_id_kinetic_law.xml").read_text()
    path.write_text(text.replace("<apply><times/><ci>k_typo</ci><ci>A</ci></apply>", law))
    return path


def _deep_entities(path: Path, levels: int) -> Path:
    """Deep nesting hidden in XML entities (a literal-text depth scan would not see it).

    Each entity adds ten levels, which keeps the DTD below 100 kB.
    """
    entities = '<!ENTITY e0 "A">\n' + "".join(
        f'<!ENTITY e{i} "{"<ci>" * 10}&e{i - 1};{"</ci>" * 10}">\n' for i in range(1, levels // 10)
    )
    text = (BAD / "unknown_id_kinetic_law.xml").read_text()
    text = text.replace("<sbml ", f"<!DOCTYPE sbml [\n{entities}]>\n<sbml ", 1)
    reference = f"&e{levels // 10 - 1};"
    path.write_text(text.replace("<apply><times/><ci>k_typo</ci><ci>A</ci></apply>", reference))
    return path


def _junk_after_header(path: Path, size: int) -> Path:
    """A valid SBML start followed by ``size`` bytes of printable junk without tags."""
    head = (BAD / "unknown_id_kinetic_law.xml").read_text().split("<listOfCompartments>")[0]
    rng = np.random.default_rng(7)
    alphabet = np.frombuffer(b"abcdefgh &;/=\"'0123456789\n", dtype=np.uint8)
    junk = rng.choice(alphabet, size=size).tobytes()
    path.write_bytes(head.encode() + junk)
    return path


def chain_sbml(n: int) -> str:
    """A valid L3V2 model: n+1 species, n mass-action reactions in a chain (~520 bytes each)."""
    math_ns = 'xmlns="http://www.w3.org/1998/Math/MathML"'
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">\n'
        '<model id="chain">\n<listOfCompartments>\n'
        '<compartment id="cell" spatialDimensions="3" size="1" constant="true"/>\n'
        "</listOfCompartments>\n<listOfSpecies>\n"
    ]
    for i in range(n + 1):
        parts.append(
            f'<species id="S{i}" compartment="cell" initialConcentration="{int(i == 0)}" '
            'hasOnlySubstanceUnits="false" boundaryCondition="false" constant="false"/>\n'
        )
    parts.append(
        '</listOfSpecies>\n<listOfParameters>\n<parameter id="k" value="1" constant="true"/>\n'
        "</listOfParameters>\n<listOfReactions>\n"
    )
    for i in range(n):
        parts.append(
            f'<reaction id="R{i}" reversible="false"><listOfReactants>'
            f'<speciesReference species="S{i}" stoichiometry="1" constant="true"/>'
            "</listOfReactants><listOfProducts>"
            f'<speciesReference species="S{i + 1}" stoichiometry="1" constant="true"/>'
            f"</listOfProducts><kineticLaw><math {math_ns}><apply><times/><ci>k</ci>"
            f"<ci>S{i}</ci></apply></math></kineticLaw></reaction>\n"
        )
    parts.append("</listOfReactions>\n</model>\n</sbml>\n")
    return "".join(parts)


def test_corpus_in_subprocess(tmp_path: Path) -> None:
    """Every corpus file plus crash/hang candidates, in a child interpreter with a timeout."""
    generated = {
        "deep_math.xml": (ModelReadError, "nested more than"),
        "deep_entities.xml": (ModelReadError, "nested more than"),
        "junk_10mb.xml": (ModelReadError, "well-formed XML"),
    }
    _deep_math(tmp_path / "deep_math.xml", 10_000)
    _deep_entities(tmp_path / "deep_entities.xml", 8_000)
    _junk_after_header(tmp_path / "junk_10mb.xml", 10 * 1024 * 1024)
    arguments = [f"{BAD / name}::compile" for name in sorted(EXPECTED)]
    arguments += [f"{tmp_path / name}::compile" for name in generated]
    results = {r["file"]: r for r in _run_child(arguments, timeout=240)}
    assert set(results) == set(EXPECTED) | set(generated)
    for name, (expected, word) in [
        *((n, (c, w[0])) for n, (c, w) in EXPECTED.items()),
        *generated.items(),
    ]:
        result = results[name]
        assert result["outcome"] == expected.__name__, result
        assert word in str(result["message"]), result
        assert float(result["seconds"]) < 60, result  # type: ignore[arg-type]


def test_ten_megabyte_model_reads_in_time(tmp_path: Path) -> None:
    """A valid 10 MB SBML model (20,000 species and reactions) is read in bounded time."""
    path = tmp_path / "chain_10mb.xml"
    path.write_text(chain_sbml(20_000))
    assert path.stat().st_size > 10 * 1_000_000
    (result,) = _run_child([f"{path}::read"], timeout=120)
    assert result["outcome"] == "ok", result
    assert float(result["seconds"]) < 60, result  # type: ignore[arg-type]


@pytest.mark.slow
def test_ten_megabyte_model_simulates_in_time(tmp_path: Path) -> None:
    path = tmp_path / "chain_10mb.xml"
    path.write_text(chain_sbml(20_000))
    (result,) = _run_child([f"{path}::compile"], timeout=300)
    assert result["outcome"] == "ok", result
    assert float(result["seconds"]) < 120, result  # type: ignore[arg-type]


# --------------------------------------------------------------- bad numerical engine input


def _decay() -> Model:
    return Model(
        id="decay",
        compartments=(Compartment("cell", 1.0),),
        species=(Species("A", "cell", initial_concentration=1.0),),
        parameters=(Parameter("k", 0.5),),
        rate_rules=(RateRule("A", Apply(Op.TIMES, (Num(-1.0), Sym("k"), Sym("A")))),),
    )


def _blow_up() -> Model:
    """dx/dt = x^2, x(0) = 1: x = 1/(1 - t) is infinite at t = 1."""
    return Model(
        id="blowup",
        parameters=(Parameter("x", 1.0, constant=False),),
        rate_rules=(RateRule("x", Apply(Op.POWER, (Sym("x"), Num(2.0)))),),
    )


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_parameter_override(value: float) -> None:
    with pytest.raises(InvalidInputError, match="'k'.*finite"):
        simulate(_decay(), [0, 1], parameters={"k": value})


def test_unknown_parameter_override() -> None:
    with pytest.raises(UnknownIdentifierError, match="k_typo"):
        simulate(_decay(), [0, 1], parameters={"k_typo": 1.0})


def test_unknown_output_variable() -> None:
    with pytest.raises(UnknownIdentifierError, match="nope"):
        simulate(_decay(), [0, 1], variables=["nope"])


@pytest.mark.parametrize(
    "times, words",
    [
        ([1.0, 0.0], "increasing"),
        ([0.0, 1.0, 1.0], "increasing"),
        ([0.0, math.nan], "finite"),
        ([0.0, math.inf], "finite"),
        ([], "1-D"),
        ([[0.0, 1.0]], "1-D"),
    ],
)
def test_bad_output_times(times: list[float], words: str) -> None:
    with pytest.raises(InvalidInputError, match=words):
        simulate(_decay(), times)


@pytest.mark.parametrize(
    "solver, words",
    [
        (CVODES(rtol=-1e-6), "rtol"),
        (CVODES(atol=-1e-6), "atol"),
        (CVODES(rtol=0.0), "rtol"),
        (CVODES(atol=math.nan), "atol"),
        (CVODES(max_steps=0), "max_steps"),
    ],
)
def test_bad_tolerances(solver: CVODES, words: str) -> None:
    with pytest.raises(InvalidInputError, match=words):
        simulate(_decay(), [0, 1], solver=solver)


def test_blow_up_is_a_failed_result_not_silent_nan() -> None:
    result = simulate(_blow_up(), [0.0, 0.5, 2.0], variables=["x"])
    assert result.status is not Status.SUCCESS
    assert not result.ok
    assert "integration failed" in result.message
    assert result["x"][0] == 1.0


def test_blow_up_raises_with_throw() -> None:
    with pytest.raises(SimulationError, match="blowup"):
        simulate(_blow_up(), [0.0, 2.0], throw=True)


def test_blow_up_before_one_keeps_the_values_before_it() -> None:
    """Up to t = 0.9 the solution exists (x = 10 there); it must be reported, not NaN."""
    result = simulate(_blow_up(), [0.0, 0.5, 0.9], variables=["x"])
    assert result.ok, result.message
    np.testing.assert_allclose(result["x"], [1.0, 2.0, 10.0], rtol=1e-4)


def test_non_finite_output_is_not_silent() -> None:
    from immunetwin.ir import AssignmentRule

    model = _decay().replace(
        parameters=(Parameter("k", 0.5), Parameter("y", None, constant=False)),
        assignment_rules=(AssignmentRule("y", Apply(Op.LN, (Num(-1.0),))),),
    )
    result = simulate(model, [0.0, 1.0], variables=["y"])
    assert not np.all(np.isfinite(result["y"]))
    assert result.status is not Status.SUCCESS
