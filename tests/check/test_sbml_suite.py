"""SBML Test Suite semantic cases through ``immunetwin.check``.

CI runs every 8th core case (82 of 656); the full suite is marked slow. The runner must also be
able to fail: a case whose expected results were tampered with is reported as failed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from immunetwin.check import CaseResult, read_case_list, run_case, run_suite
from immunetwin.errors import InvalidInputError

N_CORE_CASES = 656


@pytest.fixture(scope="module")
def suite(shared: Path) -> tuple[Path, list[str]]:
    folder = shared / "sbml-test-suite"
    listing = folder / "core_cases.txt"
    if not listing.is_file() or not (folder / "cases").is_dir():
        pytest.skip(f"{folder} is not present")
    return folder / "cases", read_case_list(listing)


def _report(results: list[CaseResult]) -> str:
    return "\n".join(f"{r.case}: {r.reason}" for r in results if not r.passed)


def test_case_list_is_complete(suite: tuple[Path, list[str]]) -> None:
    cases, ids = suite
    assert len(ids) == N_CORE_CASES
    assert len(set(ids)) == N_CORE_CASES
    assert all((cases / i).is_dir() for i in ids)


def test_every_eighth_core_case_passes(suite: tuple[Path, list[str]]) -> None:
    cases, ids = suite
    subset = ids[::8]
    assert len(subset) == 82
    results = [run_case(cases / case) for case in subset]
    assert [r.case for r in results] == subset
    assert all(r.passed for r in results), _report(results)
    assert all(r.reason == "" for r in results)


@pytest.mark.slow
def test_all_core_cases_pass(suite: tuple[Path, list[str]]) -> None:
    cases, ids = suite
    results = run_suite(cases, ids)
    passed = sum(r.passed for r in results)
    assert passed == N_CORE_CASES, f"{passed} passed\n{_report(results)}"


def _copy_case(cases: Path, case: str, tmp_path: Path) -> tuple[Path, Path]:
    copy = tmp_path / case  # run_case takes the case id from the folder name
    shutil.copytree(cases / case, copy)
    return copy, copy / f"{case}-results.csv"


def _edit_value(results: Path, row: int, column: int, change: float) -> float:
    """Add ``change`` to one number of the expected results; return the original number."""
    lines = results.read_text().splitlines()
    cells = lines[row].split(",")
    original = float(cells[column])
    cells[column] = repr(original + change)
    lines[row] = ",".join(cells)
    results.write_text("\n".join(lines) + "\n")
    return original


@pytest.mark.parametrize("position", [0, 41, 81])
def test_tampered_expected_results_fail(
    suite: tuple[Path, list[str]], tmp_path: Path, position: int
) -> None:
    cases, ids = suite
    case = ids[::8][position]
    folder, results = _copy_case(cases, case, tmp_path)
    assert run_case(folder).passed  # the untouched copy passes

    header = results.read_text().splitlines()[0].split(",")
    row = len(results.read_text().splitlines()) // 2
    original = float(results.read_text().splitlines()[row].split(",")[1])
    # far outside any tolerance the suite uses (absolute + relative * |value|)
    _edit_value(results, row, 1, 0.5 * abs(original) + 1.0)
    result = run_case(folder)
    assert not result.passed
    assert result.case == case
    assert header[1].strip() in result.reason


def test_change_within_tolerance_still_passes(
    suite: tuple[Path, list[str]], tmp_path: Path
) -> None:
    cases, _ = suite
    folder, results = _copy_case(cases, "00002", tmp_path)  # absolute 1e-6, relative 1e-4
    _edit_value(results, 26, 1, 5e-7)
    assert run_case(folder).passed
    _edit_value(results, 26, 1, 2e-6)  # now 2.5e-6 away: outside 1e-6 + 1e-4 * |value|
    result = run_case(folder)
    assert not result.passed
    assert "S1 at t=2.5" in result.reason


def test_truncated_expected_results_fail(suite: tuple[Path, list[str]], tmp_path: Path) -> None:
    cases, ids = suite
    folder, results = _copy_case(cases, ids[0], tmp_path)
    lines = results.read_text().splitlines()
    results.write_text("\n".join(lines[:-1]) + "\n")
    result = run_case(folder)
    assert not result.passed
    assert "expected rows" in result.reason


def test_variable_missing_from_model_fails(suite: tuple[Path, list[str]], tmp_path: Path) -> None:
    cases, ids = suite
    case = ids[0]
    folder, _ = _copy_case(cases, case, tmp_path)
    settings = folder / f"{case}-settings.txt"
    text = settings.read_text()
    settings.write_text(
        "\n".join(
            line + ", Ghost" if line.lower().startswith("variables:") else line
            for line in text.splitlines()
        )
        + "\n"
    )
    result = run_case(folder)
    assert not result.passed
    assert "Ghost" in result.reason


def test_folder_without_model_fails_with_reason(tmp_path: Path) -> None:
    folder = tmp_path / "99999"
    folder.mkdir()
    (folder / "99999-settings.txt").write_text(
        "start: 0\nduration: 1\nsteps: 10\nvariables: S1\nabsolute: 1e-6\nrelative: 1e-4\n"
    )
    result = run_case(folder)
    assert not result.passed
    assert "no 99999-sbml-" in result.reason


def test_run_suite_rejects_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="nowhere"):
        run_suite(tmp_path / "nowhere")
