"""SED-ML time courses: write -> read gives the same TimeCourse, libsedml accepts our output,
typical other-tool documents are read, and what we cannot run is refused by name."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from immunetwin.catalog.archive import default_time_course, output_times, run_time_course
from immunetwin.engine import simulate
from immunetwin.errors import ArchiveError, InvalidInputError, UnknownIdentifierError
from immunetwin.formats import read_antimony, read_sbml
from immunetwin.formats.sedml import TimeCourse, read_sedml, target_xpath, write_sedml
from immunetwin.ir import Model, with_values

MODELS = Path(__file__).resolve().parents[2] / "src" / "immunetwin" / "data" / "models"


@pytest.fixture(scope="module")
def tiv() -> Model:
    return read_sbml(MODELS / "immune_tiv_dosed.xml")


def _course(model: Model, **kwargs: object) -> TimeCourse:
    fields: dict[str, object] = {
        "model_source": "model.xml",
        "start": 0.0,
        "output_start": 0.0,
        "end": 10.0,
        "points": 40,
        "variables": tuple(s.id for s in model.species),
    }
    fields.update(kwargs)
    return TimeCourse(**fields)  # type: ignore[arg-type]


def test_write_read_roundtrip(tiv: Model) -> None:
    species = tiv.species[0].id
    course = _course(
        tiv,
        start=0.0,
        output_start=1 / 3,
        end=12.5,
        points=7,
        variables=(species, tiv.parameters[0].id),
        changes=((tiv.parameters[0].id, 0.1 + 0.2), (species, 3.0)),
    )
    other = _course(tiv, end=5.0, points=3)
    text = write_sedml([course, other], tiv)
    assert read_sedml(text) == (course, other)
    assert read_sedml(text, tiv) == (course, other)
    assert target_xpath("species", species) in text
    assert "<plot2D" in text and "<report" in text and "urn:sedml:symbol:time" in text


def test_libsedml_reads_our_output_without_errors(tiv: Model, tmp_path: Path) -> None:
    # a separate process: importing libsedml after libsbml breaks libsbml in-process
    path = tmp_path / "sim.sedml"
    path.write_text(write_sedml([_course(tiv, changes=(("beta", 2.0),))], tiv))
    script = textwrap.dedent(
        f"""
        import libsedml
        d = libsedml.readSedMLFromFile({str(path)!r})
        errors = [d.getError(i).getMessage() for i in range(d.getNumErrors())
                  if d.getError(i).getSeverity() >= libsedml.LIBSEDML_SEV_WARNING]
        assert not errors, errors
        s = d.getSimulation(0)
        assert (d.getNumTasks(), d.getNumOutputs()) == (1, 2)
        assert s.getNumberOfPoints() == 40 and s.getAlgorithm().getKisaoID() == "KISAO:0000019"
        assert d.getNumDataGenerators() == 1 + {len(tiv.species)}
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_runs_like_a_direct_simulate_call(tiv: Model) -> None:
    course = _course(tiv, start=0.0, output_start=2.0, end=10.0, points=16)
    course = TimeCourse(**{**course.__dict__, "changes": (("beta", 2e-5),)})
    again = read_sedml(write_sedml([course], tiv), tiv)[0]
    result = run_time_course(tiv, again)
    assert result.ok and result.ids == course.variables
    assert len(result.time) == course.points + 1  # numberOfPoints counts intervals
    np.testing.assert_allclose(result.time, np.linspace(2.0, 10.0, 17))
    direct = simulate(with_values(tiv, {"beta": 2e-5}), np.concatenate([[0.0], result.time]))
    for id in course.variables:
        np.testing.assert_allclose(result[id], direct[id][1:], rtol=1e-10, atol=1e-12)


def test_antimony_model_runs_a_default_time_course() -> None:
    model = read_antimony(MODELS / "nowak_bangham_1996.ant")
    course = default_time_course(model, end=20.0, points=10)
    # no species here: the state is held in rate-rule variables, which are reported instead
    assert course.variables == tuple(r.variable for r in model.rate_rules) != ()
    np.testing.assert_allclose(output_times(course), np.linspace(0, 20, 11))
    assert run_time_course(model, course).ok


def test_unknown_variable_names_it_and_lists_valid_ids(tiv: Model) -> None:
    course = _course(tiv, variables=("T", "nonsense"))
    with pytest.raises(UnknownIdentifierError, match="'nonsense'.*valid ids: .*T"):
        run_time_course(tiv, course)
    with pytest.raises(UnknownIdentifierError, match="nonsense"):
        write_sedml([course], tiv)


@pytest.mark.parametrize(
    "kwargs",
    [{"points": 0}, {"end": 0.0}, {"output_start": 20.0}, {"start": float("nan")}],
)
def test_time_course_checks_its_grid(tiv: Model, kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        _course(tiv, **kwargs)


# BioModels-style SED-ML L1V2: derived model, quoted XPath, numberOfPoints, "./" source
_OTHER_TOOL = (
    Path(__file__).resolve().parents[1] / "data" / "sedml" / "other_tool_l1v2.sedml"
).read_text()


def test_reads_a_typical_other_tool_document(tiv: Model) -> None:
    (course,) = read_sedml(_OTHER_TOOL, tiv)
    assert course.model_source == "model.xml"
    assert course.points == 500 and course.end == 50.0
    assert course.changes == (("beta", 1e-5), ("V", 2.0))  # the base model's change first
    assert course.variables == ("V",)


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ('<task id="t1"', '<repeatedTask id="t1"', "repeatedTask 't1' is not supported"),
        ("uniformTimeCourse", "steadyState", "steadyState 'sim'.*not"),
        (
            '<changeAttribute target="/sbml:sbml/sbml:model/sbml:listOfSpecies',
            '<removeXML target="/sbml:sbml/sbml:model/sbml:listOfSpecies',
            "removeXML",
        ),
        ('symbol="urn:sedml:symbol:time"', 'symbol="urn:sedml:symbol:other"', "symbol"),
        ("@initialConcentration", "@name", "changeAttribute target .* not supported"),
        ("[@id='V']\"/>", "[@name='V']\"/>", "variable 'V1' has target"),
        ('language="urn:sedml:language:sbml"', 'language="urn:sedml:language:cellml"', "cellml"),
        ('newValue="2"', 'newValue="two"', "expected a number"),
        ('numberOfPoints="500"', 'numberOfPoints="0"', "not usable"),
        ('modelReference="derived"', 'modelReference="missing"', "model 'missing'"),
        ("<sedML", "<notSedML", "well-formed|root element"),
    ],
)
def test_unsupported_or_broken_sedml_is_refused(old: str, new: str, match: str) -> None:
    text = _OTHER_TOOL.replace(old, new)
    assert text != _OTHER_TOOL
    with pytest.raises(ArchiveError, match=match):
        read_sedml(text)


def test_unknown_ids_are_refused_against_the_model(tiv: Model) -> None:
    text = _OTHER_TOOL.replace("[@id='V']\"/>", "[@id='nope']\"/>")
    with pytest.raises(ArchiveError, match="'nope'.*valid ids"):
        read_sedml(text, tiv)


def test_species_amount_change_is_converted(tiv: Model) -> None:
    text = _OTHER_TOOL.replace("@initialConcentration", "@initialAmount")
    (course,) = read_sedml(text, tiv)
    v = next(s for s in tiv.species if s.id == "V")
    size = next(c.size for c in tiv.compartments if c.id == v.compartment)
    assert size is not None
    assert dict(course.changes)["V"] == pytest.approx(2.0 / size)


@pytest.mark.parametrize("text", ["", "garbage", b"\xff\xfe\x00", "<a/>"])
def test_garbage_is_an_archive_error(text: str | bytes) -> None:
    with pytest.raises(ArchiveError):
        read_sedml(text)


def test_tolerances_travel_as_kisao_algorithm_parameters(tiv: Model) -> None:
    course = dataclasses.replace(_course(tiv), rtol=1e-10, atol=1e-12)
    text = write_sedml([course], tiv)
    assert 'kisaoID="KISAO:0000209"' in text and 'kisaoID="KISAO:0000211"' in text
    assert read_sedml(text, tiv)[0] == course
    loose = run_time_course(tiv, dataclasses.replace(course, rtol=1e-4, atol=1e-6))
    tight = run_time_course(tiv, course)
    assert not np.array_equal(loose.values, tight.values)  # the stated tolerances are used
    with pytest.raises(InvalidInputError):
        dataclasses.replace(course, rtol=-1.0)


@pytest.mark.parametrize("points", ["inf", "1e400", "nan", "2.5"])
def test_unusable_point_counts_are_archive_errors(tiv: Model, points: str) -> None:
    text = write_sedml([_course(tiv)], tiv).replace(
        'numberOfPoints="40"', f'numberOfPoints="{points}"'
    )
    with pytest.raises(ArchiveError, match="numberOfPoints"):
        read_sedml(text, tiv)
