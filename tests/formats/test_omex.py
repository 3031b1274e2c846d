"""COMBINE archives: write -> read gives the same IR and time courses, libcombine reads our
archives on its own, and broken or hostile archives are refused quickly with ArchiveError."""

from __future__ import annotations

import zipfile
from pathlib import Path

import libcombine
import numpy as np
import pytest

from immunetwin.catalog.archive import default_time_course, run_time_course
from immunetwin.engine import simulate
from immunetwin.errors import (
    ArchiveError,
    InvalidInputError,
    ModelReadError,
    UnsupportedFeatureError,
)
from immunetwin.formats import omex, read_antimony, read_sbml, read_sbml_string
from immunetwin.formats.omex import (
    SBML_FORMAT,
    SEDML_FORMAT,
    OmexArchive,
    read_omex,
    write_omex,
)
from immunetwin.formats.sedml import TimeCourse, write_sedml

MODELS = Path(__file__).resolve().parents[2] / "src" / "immunetwin" / "data" / "models"
SBML_TEXT = (MODELS / "immune_tiv_dosed.xml").read_text()
ANTIMONY_TEXT = (MODELS / "nowak_bangham_1996.ant").read_text()
METADATA = {
    "description": "TIV model with <three> doses & a test",
    "creators": ["Jane Doe", {"given_name": "Ada", "family_name": "Lovelace", "email": "a@b.c"}],
}


def _manifest(*rows: tuple[str, str, bool]) -> str:
    lines = "".join(
        f'<content location="{loc}" format="{fmt}" master="{str(master).lower()}"/>'
        for loc, fmt, master in rows
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><omexManifest '
        f'xmlns="http://identifiers.org/combine.specifications/omex-manifest">{lines}'
        "</omexManifest>"
    )


def _zip(path: Path, members: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TimeCourse]:
    model = read_sbml_string(SBML_TEXT)
    course = TimeCourse(
        "model.xml", 0.0, 1.0, 20.0, 19, ("T", "V", "beta"), (("beta", 3e-5), ("V", 0.5))
    )
    path = tmp_path_factory.mktemp("omex") / "tiv.omex"
    write_omex(
        path, SBML_TEXT, time_courses=[course, default_time_course(model)], metadata=METADATA
    )
    return path, course


def test_sbml_archive_roundtrips(written: tuple[Path, TimeCourse]) -> None:
    path, course = written
    archive = read_omex(path)
    model = read_sbml_string(SBML_TEXT)
    assert isinstance(archive, OmexArchive)
    assert archive.model == model
    assert archive.model_text == SBML_TEXT
    assert (archive.model_format, archive.model_location) == ("sbml", "model.xml")
    assert archive.time_courses == (course, default_time_course(model))
    assert archive.description == METADATA["description"]
    assert archive.creators == ("Jane Doe", "Ada Lovelace")


def test_archive_time_course_runs_like_simulate(written: tuple[Path, TimeCourse]) -> None:
    archive = read_omex(written[0])
    course = archive.time_courses[0]
    result = run_time_course(archive.model, course)
    assert result.ok and result.ids == ("T", "V", "beta")
    times = np.concatenate([[0.0], np.linspace(1.0, 20.0, 20)])
    direct = simulate(archive.model, times, parameters={"beta": 3e-5, "V": 0.5}, variables=["beta"])
    for id in result.ids:
        np.testing.assert_allclose(result[id], direct[id][1:], rtol=1e-10, atol=1e-12)


def test_libcombine_reads_our_archive_on_its_own(written: tuple[Path, TimeCourse]) -> None:
    archive = libcombine.CombineArchive()
    assert archive.initializeFromArchive(str(written[0]))
    try:
        manifest = archive.getManifest()
        assert manifest.getNumErrors() == 0
        formats = {
            manifest.getContent(i).getLocation(): manifest.getContent(i).getFormat()
            for i in range(manifest.getNumContents())
        }
        assert formats["model.xml"] == SBML_FORMAT
        assert formats["simulation.sedml"] == SEDML_FORMAT
        with zipfile.ZipFile(written[0]) as z:  # libcombine hides the archive's own row
            assert 'location="."' in z.read("manifest.xml").decode()
        assert archive.getMasterFile().getLocation() == "simulation.sedml"
        assert archive.getMetadataForLocation(".").getDescription() == METADATA["description"]
        assert read_sbml_string(archive.extractEntryToString("model.xml")) == read_sbml_string(
            SBML_TEXT
        )
    finally:
        archive.cleanUp()


def test_antimony_archive_roundtrips_and_ships_sbml(tmp_path: Path) -> None:
    model = read_antimony(MODELS / "nowak_bangham_1996.ant")
    course = default_time_course(model, end=30.0, points=30)
    path = tmp_path / "nb.omex"
    write_omex(path, ANTIMONY_TEXT, model_format="antimony", time_courses=[course])
    archive = read_omex(path)
    assert archive.model == model
    assert (archive.model_format, archive.model_location) == ("antimony", "model.ant")
    assert archive.model_text == ANTIMONY_TEXT
    assert archive.time_courses == (course,)
    assert any("model.ant" in note for note in archive.notes)
    with zipfile.ZipFile(path) as z:  # the SBML translation is there for other tools
        assert read_sbml_string(z.read("model.xml")) == model
    assert run_time_course(archive.model, archive.time_courses[0]).ok


def test_archive_without_sedml_takes_the_only_model(tmp_path: Path) -> None:
    path = tmp_path / "plain.omex"
    write_omex(path, ANTIMONY_TEXT, model_format="antimony")
    archive = read_omex(path)
    assert archive.time_courses == () and archive.model_format == "antimony"
    assert archive.description == "" and archive.creators == ()


@pytest.mark.parametrize("name", ["BIOMD0000000093", "BIOMD0000000289", "BIOMD0000000500"])
def test_biomodels_roundtrip(shared: Path, tmp_path: Path, name: str) -> None:
    source = shared / "biomodels-immune" / name / f"{name}.xml"
    if not source.is_file():
        pytest.skip(f"{name} is not in the shared data")
    try:
        model = read_sbml(source)
    except UnsupportedFeatureError as exc:
        pytest.skip(str(exc))
    course = default_time_course(model, end=5.0, points=5)
    write_omex(tmp_path / "m.omex", source.read_text(), time_courses=[course])
    archive = read_omex(tmp_path / "m.omex")
    assert archive.model == model
    assert archive.time_courses == (course,)


def test_write_refuses_a_time_course_on_another_file(tmp_path: Path) -> None:
    course = TimeCourse("other.xml", 0.0, 0.0, 1.0, 1, ("T",))
    with pytest.raises(InvalidInputError, match="model.xml"):
        write_omex(tmp_path / "x.omex", SBML_TEXT, time_courses=[course])
    with pytest.raises(InvalidInputError, match="unknown metadata"):
        write_omex(tmp_path / "x.omex", SBML_TEXT, metadata={"author": "x"})
    with pytest.raises(ArchiveError, match="not a safe"):
        write_omex(tmp_path / "x.omex", SBML_TEXT, extra_files={"../x.txt": "x"})
    assert not (tmp_path / "x.omex").exists()


def test_extra_files_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "extra.omex"
    write_omex(path, SBML_TEXT, extra_files={"data/readme.txt": "hi", "fig.png": b"\x89PNG\x00"})
    archive = read_omex(path)
    assert {e.location for e in archive.entries} >= {"data/readme.txt", "fig.png"}
    with zipfile.ZipFile(path) as z:
        assert z.read("fig.png") == b"\x89PNG\x00"


# --------------------------------------------------------------------------- bad archives

SEDML = write_sedml(
    [TimeCourse("model.xml", 0.0, 0.0, 1.0, 2, ("T",))], read_sbml_string(SBML_TEXT)
)


def _bad(tmp_path: Path, case: str) -> Path:
    path = tmp_path / f"{case}.omex"
    model_row = ("model.xml", SBML_FORMAT, False)
    if case == "random_bytes":
        path.write_bytes(np.random.default_rng(0).bytes(2048))
    elif case == "truncated":
        write_omex(path, SBML_TEXT)
        path.write_bytes(path.read_bytes()[:300])
    elif case == "no_manifest":
        _zip(path, {"model.xml": SBML_TEXT})
    elif case == "missing_file":
        _zip(
            path,
            {
                "manifest.xml": _manifest(model_row, ("gone.sedml", SEDML_FORMAT, True)),
                "model.xml": SBML_TEXT,
            },
        )
    elif case == "no_model":
        _zip(
            path,
            {"manifest.xml": _manifest(("notes.txt", "text/plain", True)), "notes.txt": "hello"},
        )
    elif case == "unsupported_task":
        sedml = SEDML.replace("<task ", "<repeatedTask ")
        _zip(
            path,
            {
                "manifest.xml": _manifest(model_row, ("s.sedml", SEDML_FORMAT, True)),
                "model.xml": SBML_TEXT,
                "s.sedml": sedml,
            },
        )
    elif case == "sedml_model_missing":
        sedml = SEDML.replace('source="model.xml"', 'source="elsewhere.xml"')
        _zip(
            path,
            {
                "manifest.xml": _manifest(model_row, ("s.sedml", SEDML_FORMAT, True)),
                "model.xml": SBML_TEXT,
                "s.sedml": sedml,
            },
        )
    elif case == "path_traversal":
        _zip(
            path,
            {"manifest.xml": _manifest(model_row), "model.xml": SBML_TEXT, "../../evil.xml": "x"},
        )
    elif case == "absolute_name":
        _zip(path, {"manifest.xml": _manifest(model_row), "/etc/evil.xml": "x"})
    elif case == "zip_bomb":
        _zip(path, {"manifest.xml": _manifest(model_row), "model.xml": b"\0" * 3_000_000})
    elif case == "two_models_no_master":
        _zip(
            path,
            {
                "manifest.xml": _manifest(model_row, ("b.xml", SBML_FORMAT, False)),
                "model.xml": SBML_TEXT,
                "b.xml": SBML_TEXT,
            },
        )
    elif case == "bad_manifest":
        _zip(path, {"manifest.xml": "<omexManifest><content/>", "model.xml": SBML_TEXT})
    elif case == "missing":
        pass
    else:
        raise AssertionError(case)
    return path


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("random_bytes", "not a readable zip"),
        ("truncated", "not a readable zip"),
        ("no_manifest", "no manifest.xml"),
        ("missing_file", "lists 'gone.sedml'.*no such file"),
        ("no_model", "holds no model"),
        ("unsupported_task", "repeatedTask .* not supported"),
        ("sedml_model_missing", "'elsewhere.xml', which is not in the archive"),
        ("path_traversal", "not a safe relative path"),
        ("absolute_name", "not a safe relative path"),
        ("zip_bomb", "zip bomb"),
        ("two_models_no_master", "2 models .* mark one as master"),
        ("bad_manifest", "not a valid OMEX manifest"),
        ("missing", "no archive at"),
    ],
)
def test_bad_archives_raise_archive_error(tmp_path: Path, case: str, match: str) -> None:
    with pytest.raises(ArchiveError, match=match):
        read_omex(_bad(tmp_path, case))


def test_member_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(omex, "_MAX_MEMBER_BYTES", 1000)
    path = tmp_path / "big.omex"
    write_omex(path, SBML_TEXT)
    with pytest.raises(ArchiveError, match="too large"):
        read_omex(path)


def test_master_picks_among_several_models(tmp_path: Path) -> None:
    path = _zip(
        tmp_path / "two.omex",
        {
            "manifest.xml": _manifest(("a.xml", SBML_FORMAT, False), ("b.xml", SBML_FORMAT, True)),
            "a.xml": SBML_TEXT.replace("immune_tiv", "other_tiv"),
            "b.xml": SBML_TEXT,
        },
    )
    archive = read_omex(path)
    assert archive.model_location == "b.xml"
    assert any("master" in note for note in archive.notes)


def test_unparseable_model_inside_is_a_model_read_error(tmp_path: Path) -> None:
    path = _zip(
        tmp_path / "broken.omex",
        {
            "manifest.xml": _manifest(("model.xml", SBML_FORMAT, True)),
            "model.xml": "<sbml><model",
        },
    )
    with pytest.raises(ModelReadError):
        read_omex(path)
