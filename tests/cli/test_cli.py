"""The ``immunetwin`` command line, run as the real console script in a child process.

Covers the CLI contract: CSV/JSON/NPZ outputs checked against closed-form solutions, format
round trips, the SBML Test Suite runner, and the error contract (non-zero exit, one ``error:``
line on stderr, never a Python traceback). ``--help`` must be fast (lazy heavy imports).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from immunetwin.data import bundled_model

TIMEOUT_S = 300
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
COMMANDS = ("simulate", "steady-state", "ensemble", "convert", "lint", "check")


def _command() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m``."""
    script = Path(sys.executable).parent / "immunetwin"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which("immunetwin")
    if found:
        return [found]
    return [sys.executable, "-m", "immunetwin.cli.main"]


CLI = _command()


def immunetwin(
    *args: object,
    cwd: Path | None = None,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``immunetwin ARGS``; with ``check`` require exit code 0 and show stderr otherwise."""
    env = {**os.environ, "COLUMNS": "120", "MPLBACKEND": "Agg", **(env or {})}
    process = subprocess.run(
        [*CLI, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=TIMEOUT_S,
    )
    if check:
        assert process.returncode == 0, (
            f"immunetwin {' '.join(map(str, args))} exited {process.returncode}\n"
            f"stdout:\n{process.stdout}\nstderr:\n{process.stderr}"
        )
    assert "Traceback" not in process.stderr, process.stderr
    return process


def read_csv(text: str) -> tuple[list[str], np.ndarray]:
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], [r for r in rows[1:] if r]
    return header, np.array(body, dtype=float).reshape(len(body), len(header))


DECAY = """
model decay
  species S = 3;
  k = 0.5;
  J: S -> ; k*S
end
"""

LOGISTIC = """
model logistic
  species X = 1;
  J: -> X; r*X*(1 - X/K)
  r = 1; K = 10;
end
"""

DOSED = """
model dosed
  compartment c = 2;
  species D in c, X in c;
  D = 0; X = 1;
  J: D -> ; kel*D*c
  J2: X -> ; kx*D*X*c
  total := D + X
  kel = 0.7; kx = 0.3; dose = 2;
  E1: at time >= 1.25: D = D + dose;
  E2: at X < 0.6: D = D + 0.5*dose;
end
"""

# Nowak & Bangham 1996 virus-CTL model (states are rate-rule variables, not species)
NOWAK = bundled_model("nowak_bangham_1996.ant").read_text()

BLOW_UP = """
model blow
  species x = 1;
  J: -> x; a*x^2
  a = 1;
end
"""


@pytest.fixture
def models(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, text in {
        "decay": DECAY,
        "logistic": LOGISTIC,
        "dosed": DOSED,
        "nowak": NOWAK,
        "blow": BLOW_UP,
    }.items():
        path = tmp_path / f"{name}.ant"
        path.write_text(text)
        paths[name] = path
    return paths


def suite_ids(shared: Path) -> tuple[Path, list[str]]:
    folder = shared / "sbml-test-suite"
    listing = folder / "core_cases.txt"
    if not listing.is_file():
        pytest.skip(f"{listing} is not present")
    return folder / "cases", listing.read_text().split()


# --- help --------------------------------------------------------------------------------------


def test_help_is_fast_and_lists_the_commands() -> None:
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        process = immunetwin("--help")
        timings.append(time.perf_counter() - started)
    for command in COMMANDS:
        assert command in process.stdout
    assert min(timings) < 1.0, f"immunetwin --help took {min(timings):.3f} s (best of 3)"


def test_check_help_lists_sbml_suite() -> None:
    assert "sbml-suite" in immunetwin("check", "--help").stdout


def test_cli_module_imports_no_heavy_dependencies() -> None:
    code = (
        "import sys, immunetwin.cli.main; "
        "print(','.join(m for m in ('casadi', 'libsbml', 'antimony', 'numpy', 'scipy', "
        "'matplotlib') if m in sys.modules))"
    )
    process = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT_S
    )
    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == "", f"imported eagerly: {process.stdout.strip()}"


def test_python_dash_m_entry_point() -> None:
    process = subprocess.run(
        [sys.executable, "-m", "immunetwin.cli.main", "--help"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert process.returncode == 0, process.stderr
    assert "simulate" in process.stdout


# --- simulate ----------------------------------------------------------------------------------


def test_simulate_writes_csv_to_stdout(models: dict[str, Path]) -> None:
    process = immunetwin("simulate", models["decay"], "--end", 2, "--points", 5)
    header, table = read_csv(process.stdout)
    assert header == ["time", "S"]
    assert table.shape == (5, 2)
    np.testing.assert_allclose(table[:, 0], np.linspace(0, 2, 5))
    np.testing.assert_allclose(table[:, 1], 3 * np.exp(-0.5 * table[:, 0]), rtol=1e-7)


def test_simulate_set_overrides_parameter_and_initial_value(models: dict[str, Path]) -> None:
    process = immunetwin(
        "simulate", models["decay"], "--end", 3, "--points", 7, "--set", "k=1", "--set", "S=5"
    )
    header, table = read_csv(process.stdout)
    assert header == ["time", "S"]
    np.testing.assert_allclose(table[:, 1], 5 * np.exp(-table[:, 0]), rtol=1e-7)


def test_simulate_start_time_variable_column_and_out_file(
    models: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "result.csv"
    process = immunetwin(
        "simulate",
        models["decay"],
        "--start",
        1,
        "--end",
        3,
        "--points",
        9,
        "-v",
        "k",
        "--variable",
        "J",
        "--out",
        out,
    )
    assert "time," not in process.stdout  # the CSV went to the file
    header, table = read_csv(out.read_text())
    assert header == ["time", "S", "k", "J"]
    assert table.shape == (9, 4)
    t = table[:, 0]
    np.testing.assert_allclose(t, np.linspace(1, 3, 9))
    np.testing.assert_allclose(table[:, 1], 3 * np.exp(-0.5 * (t - 1)), rtol=1e-7)
    np.testing.assert_allclose(table[:, 2], 0.5)
    np.testing.assert_allclose(table[:, 3], 0.5 * table[:, 1], rtol=1e-12)  # the reaction rate


def test_simulate_tolerances_reach_the_solver(models: dict[str, Path]) -> None:
    args = ("simulate", models["logistic"], "--end", 8, "--points", 9)
    _, tight = read_csv(immunetwin(*args, "--rtol", 1e-12, "--atol", 1e-14).stdout)
    _, loose = read_csv(immunetwin(*args, "--rtol", 1e-3, "--atol", 1e-3).stdout)
    t = tight[:, 0]
    exact = 10 / (1 + 9 * np.exp(-t))
    np.testing.assert_allclose(tight[:, 1], exact, rtol=1e-10)
    np.testing.assert_allclose(loose[:, 1], exact, rtol=2e-2)
    assert np.max(np.abs(loose[:, 1] - exact)) > np.max(np.abs(tight[:, 1] - exact))


def test_simulate_plot_writes_png(models: dict[str, Path], tmp_path: Path) -> None:
    plot = tmp_path / "plot.png"
    out = tmp_path / "result.csv"
    immunetwin(
        "simulate", models["dosed"], "--end", 5, "--points", 51, "--plot", plot, "--out", out
    )
    data = plot.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 1000
    assert out.read_text().startswith("time,D,X\n")


def test_simulate_sbml_matches_antimony(models: dict[str, Path], tmp_path: Path) -> None:
    sbml = tmp_path / "dosed.xml"
    immunetwin("convert", models["dosed"], sbml)
    args = ("--end", 5, "--points", 26, "-v", "total", "--set", "kel=0.9", "--set", "X=1.5")
    header_a, from_ant = read_csv(immunetwin("simulate", models["dosed"], *args).stdout)
    header_x, from_xml = read_csv(immunetwin("simulate", sbml, *args).stdout)
    assert header_a == header_x == ["time", "D", "X", "total"]
    np.testing.assert_allclose(from_xml, from_ant, rtol=1e-10, atol=1e-14)
    # the time event fired: D jumps by the dose at t = 1.25 (output times are 0.2 apart)
    t, d = from_ant[:, 0], from_ant[:, 1]
    assert np.all(d[t < 1.25] == 0)
    assert d[t > 1.25][0] == pytest.approx(2 * np.exp(-0.9 * (1.4 - 1.25)), rel=1e-6)
    np.testing.assert_allclose(from_ant[:, 3], from_ant[:, 1] + from_ant[:, 2], rtol=1e-12)


def test_simulate_shared_sbml_benchmark_agrees_with_its_antimony(shared: Path) -> None:
    xml, ant = shared / "bench" / "immune_tiv.xml", shared / "bench" / "immune_tiv.ant"
    if not (xml.is_file() and ant.is_file()):
        pytest.skip("benchmark model not present")
    args = ("--end", 10, "--points", 21)
    header_x, from_xml = read_csv(immunetwin("simulate", xml, *args).stdout)
    header_a, from_ant = read_csv(immunetwin("simulate", ant, *args).stdout)
    assert header_x == header_a
    assert header_x[0] == "time" and len(header_x) == 9  # 8 species
    assert from_xml.shape == (21, 9)
    assert np.all(np.isfinite(from_xml))
    np.testing.assert_allclose(from_xml, from_ant, rtol=1e-7, atol=1e-6)


def test_simulate_blow_up_keeps_partial_csv_and_fails(models: dict[str, Path]) -> None:
    process = immunetwin(
        "simulate", models["blow"], "--end", 3, "--points", 4, "--set", "a=1", check=False
    )
    assert process.returncode == 1
    header, table = read_csv(process.stdout)  # x' = x^2 from 1 blows up at t = 1
    assert header == ["time", "x"]
    assert table[0, 1] == 1.0
    assert np.all(np.isnan(table[1:, 1]))
    error_lines = [line for line in process.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, process.stderr
    assert "integration" in error_lines[0]


def test_lint(models: dict[str, Path]) -> None:
    assert immunetwin("lint", models["decay"]).stdout.strip().endswith("0 issue(s)")
    process = immunetwin("lint", BAD / "duplicate_ids.xml", check=False)
    assert process.returncode == 1
    assert process.stderr.startswith("error:") and "'A'" in process.stderr


# --- steady-state ------------------------------------------------------------------------------


def test_steady_state_json_logistic_is_carrying_capacity(models: dict[str, Path]) -> None:
    process = immunetwin(
        "steady-state",
        models["logistic"],
        "--json",
        "--set",
        "K=20",
        "--set",
        "r=2",
        "--guess",
        "X=15",
    )
    payload = json.loads(process.stdout)
    assert set(payload) >= {"status", "state", "eigenvalues", "stable"}
    assert payload["status"] == "found"
    assert payload["state"]["X"] == pytest.approx(20, rel=1e-9)
    assert payload["stable"] is True
    assert isinstance(payload["eigenvalues"], list)
    [(re, im)] = payload["eigenvalues"]  # d/dX r X (1 - X/K) at K is -r
    assert re == pytest.approx(-2, rel=1e-8)
    assert im == pytest.approx(0, abs=1e-12)


def test_steady_state_unstable_equilibrium(models: dict[str, Path]) -> None:
    payload = json.loads(
        immunetwin("steady-state", models["logistic"], "--json", "--guess", "X=0.01").stdout
    )
    assert payload["status"] == "found"
    assert payload["state"]["X"] == pytest.approx(0, abs=1e-9)
    assert payload["stable"] is False
    assert payload["eigenvalues"][0][0] == pytest.approx(1, rel=1e-8)  # r


def test_steady_state_nowak_bangham_with_ctl(models: dict[str, Path]) -> None:
    process = immunetwin(
        "steady-state",
        models["nowak"],
        "--json",
        *("--guess", "x=50", "--guess", "y=0.1", "--guess", "v=0.1", "--guess", "z=10"),
    )
    payload = json.loads(process.stdout)
    b, c, lam, d, beta, k, u, a, p = 0.01, 0.1, 1, 0.01, 0.05, 1, 1, 0.5, 1
    y = b / c
    x = lam / (d + beta * k * y / u)
    z = (beta * x * k / u - a) / p
    assert payload["status"] == "found"
    assert payload["state"]["x"] == pytest.approx(x, rel=1e-8)
    assert payload["state"]["y"] == pytest.approx(y, rel=1e-8)
    assert payload["state"]["z"] == pytest.approx(z, rel=1e-8)
    assert payload["stable"] is True
    assert len(payload["eigenvalues"]) == 4
    assert all(len(pair) == 2 and pair[0] < 0 for pair in payload["eigenvalues"])


def test_steady_state_text_output_and_failure_exit(models: dict[str, Path]) -> None:
    process = immunetwin("steady-state", models["logistic"], "--guess", "X=9")
    assert process.stdout.startswith("status: found  stable: True")
    assert "X = 10" in process.stdout
    growth = models["decay"].parent / "growth.ant"
    growth.write_text("model grow\n species x = 1;\n J: -> x; a\n a = 1;\nend\n")
    failed = immunetwin("steady-state", growth, "--json", check=False)
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["status"] != "found"


# --- ensemble ----------------------------------------------------------------------------------


@pytest.mark.parametrize("solver", ["dopri", "rodas"])
def test_ensemble_writes_npz(models: dict[str, Path], tmp_path: Path, solver: str) -> None:
    table = tmp_path / "members.csv"
    table.write_text("r,K,X\n1,10,1\n0.5,20,2\n2,5,0.5\n")
    out = tmp_path / "ensemble.npz"
    process = immunetwin(
        "ensemble",
        models["logistic"],
        "--parameters",
        table,
        "--end",
        6,
        "--points",
        13,
        "--out",
        out,
        "--solver",
        solver,
    )
    assert "3 succeeded, 0 failed" in process.stdout
    with np.load(out) as saved:
        values, status, t = saved["values"], saved["status"], saved["time"]
        assert list(saved["ids"]) == ["X"]
        assert list(saved["parameter_ids"]) == ["r", "K", "X"]
        np.testing.assert_allclose(saved["parameters"], [[1, 10, 1], [0.5, 20, 2], [2, 5, 0.5]])
    assert values.shape == (3, 13, 1)
    assert status.dtype.kind == "U"
    assert list(status) == ["success"] * 3
    np.testing.assert_allclose(t, np.linspace(0, 6, 13))
    for n, (r, K, x0) in enumerate([(1, 10, 1), (0.5, 20, 2), (2, 5, 0.5)]):
        exact = K / (1 + (K / x0 - 1) * np.exp(-r * t))
        np.testing.assert_allclose(values[n, :, 0], exact, rtol=1e-6)


def test_ensemble_reports_member_that_blows_up(models: dict[str, Path], tmp_path: Path) -> None:
    table = tmp_path / "members.csv"
    table.write_text("a\n0\n1\n0.1\n")  # x' = a x^2 blows up at t = 1/a: members 1 (t=1) only
    out = tmp_path / "ensemble.npz"
    process = immunetwin(
        "ensemble",
        models["blow"],
        "--parameters",
        table,
        "--end",
        3,
        "--points",
        4,
        "--out",
        out,
        check=False,
    )
    assert process.returncode == 1
    assert "member 1:" in process.stderr
    assert "member 0:" not in process.stderr and "member 2:" not in process.stderr
    assert "2 succeeded, 1 failed" in process.stdout

    with np.load(out) as saved:
        status, values = list(saved["status"]), saved["values"]
    assert status[0] == "success" and status[2] == "success"
    assert status[1] != "success"
    assert values.shape == (3, 4, 1)
    np.testing.assert_allclose(values[0, :, 0], 1.0)
    t = np.linspace(0, 3, 4)
    np.testing.assert_allclose(values[2, :, 0], 1 / (1 - 0.1 * t), rtol=1e-6)
    assert np.isnan(values[1, -1, 0])


def test_ensemble_refuses_an_unknown_solver(models: dict[str, Path], tmp_path: Path) -> None:
    table = tmp_path / "members.csv"
    table.write_text("r\n1\n")
    process = immunetwin(
        "ensemble", models["logistic"], "--parameters", table, "--end", 1, "--solver", "euler",
        check=False,
    )  # fmt: skip
    assert process.returncode != 0
    assert "cvodes, dopri, rodas" in process.stderr


# --- convert -----------------------------------------------------------------------------------


def test_convert_round_trip_simulates_identically(models: dict[str, Path], tmp_path: Path) -> None:
    xml, back = tmp_path / "dosed.xml", tmp_path / "dosed_back.ant"
    assert "wrote" in immunetwin("convert", models["dosed"], xml).stdout
    immunetwin("convert", xml, back)
    assert xml.read_text().lstrip().startswith("<?xml")
    assert "<sbml" in xml.read_text()
    args = ("--end", 6, "--points", 31, "-v", "total")
    runs = [read_csv(immunetwin("simulate", m, *args).stdout) for m in (models["dosed"], xml, back)]
    assert runs[0][0] == runs[1][0] == runs[2][0]
    np.testing.assert_allclose(runs[1][1], runs[0][1], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(runs[2][1], runs[0][1], rtol=1e-12, atol=1e-15)


def test_convert_benchmark_round_trip(shared: Path, tmp_path: Path) -> None:
    source = shared / "bench" / "immune_tiv_dosed.ant"
    if not source.is_file():
        pytest.skip(f"{source} is not present")
    xml, back = tmp_path / "tiv.xml", tmp_path / "tiv.ant"
    immunetwin("convert", source, xml)
    immunetwin("convert", xml, back)
    args = ("--end", 8, "--points", 17)
    first, last = (read_csv(immunetwin("simulate", m, *args).stdout) for m in (source, back))
    assert first[0] == last[0]
    np.testing.assert_allclose(last[1], first[1], rtol=1e-10, atol=1e-8)


# --- check sbml-suite --------------------------------------------------------------------------


def test_check_sbml_suite_summary_line(shared: Path, tmp_path: Path) -> None:
    cases, ids = suite_ids(shared)
    chosen = ids[:: len(ids) // 5][:5]
    listing = tmp_path / "cases.txt"
    listing.write_text("\n".join(chosen) + "\n")
    process = immunetwin("check", "sbml-suite", cases, "--cases", listing)
    assert process.stdout.strip().splitlines()[-1] == "5 passed, 0 failed"

    as_json = immunetwin("check", "sbml-suite", cases, "--cases", listing, "--json")
    lines = as_json.stdout.strip().splitlines()
    assert lines[-1] == "5 passed, 0 failed"
    records = json.loads("\n".join(lines[:-1]))
    assert [r["case"] for r in records] == chosen
    assert all(r["passed"] is True and r["reason"] == "" for r in records)
    assert all(isinstance(r["seconds"], float) for r in records)


def test_check_sbml_suite_reports_a_failing_case(shared: Path, tmp_path: Path) -> None:
    cases, ids = suite_ids(shared)
    case = ids[0]
    copy = tmp_path / "cases" / case
    shutil.copytree(cases / case, copy)
    results = copy / f"{case}-results.csv"
    rows = results.read_text().splitlines()
    cells = rows[len(rows) // 2].split(",")
    cells[1] = repr(float(cells[1]) * 1.5 + 1.0)
    rows[len(rows) // 2] = ",".join(cells)
    results.write_text("\n".join(rows) + "\n")
    listing = tmp_path / "cases.txt"
    listing.write_text(f"{case}\n")
    process = immunetwin("check", "sbml-suite", tmp_path / "cases", "--cases", listing, check=False)
    assert process.returncode == 1
    lines = process.stdout.strip().splitlines()
    assert lines[-1] == "0 passed, 1 failed"
    assert any(line.startswith(f"FAILED {case}") for line in lines)


# --- errors ------------------------------------------------------------------------------------

ERRORS = {
    "missing antimony file": (["simulate", "{tmp}/missing.ant", "--end", "1"], "missing.ant"),
    "missing sbml file": (["simulate", "{tmp}/missing.xml", "--end", "1"], "missing.xml"),
    "broken sbml": (["simulate", str(BAD / "truncated.xml"), "--end", "1"], "truncated"),
    "unknown --set id": (["simulate", "{decay}", "--end", "1", "--set", "nope=1"], "nope"),
    "non-numeric --set": (["simulate", "{decay}", "--end", "1", "--set", "k=abc"], "abc"),
    "--set without =": (["simulate", "{decay}", "--end", "1", "--set", "k"], "ID=VALUE"),
    "end before start": (["simulate", "{decay}", "--start", "2", "--end", "1"], "--end"),
    "too few points": (["simulate", "{decay}", "--end", "1", "--points", "1"], "--points"),
    "unknown variable": (["simulate", "{decay}", "--end", "1", "-v", "nope"], "nope"),
    "bad tolerance": (["simulate", "{decay}", "--end", "1", "--rtol", "-1"], "rtol"),
    "steady broken sbml": (["steady-state", str(BAD / "truncated.xml")], "truncated"),
    "steady unknown guess": (["steady-state", "{decay}", "--guess", "nope=1"], "nope"),
    "steady non-numeric": (["steady-state", "{decay}", "--set", "k=abc"], "abc"),
    "convert missing": (["convert", "{tmp}/missing.ant", "{tmp}/out.xml"], "missing.ant"),
    "convert unknown format": (["convert", "{decay}", "{tmp}/out.foo"], ".foo"),
    "ensemble missing table": (
        ["ensemble", "{decay}", "--parameters", "{tmp}/none.csv", "--end", "1"],
        "none.csv",
    ),
    "suite missing directory": (["check", "sbml-suite", "{tmp}/nowhere"], "nowhere"),
}


@pytest.mark.parametrize("args, mentions", list(ERRORS.values()), ids=list(ERRORS))
def test_errors_are_one_clear_line(
    args: list[str], mentions: str, models: dict[str, Path], tmp_path: Path
) -> None:
    argv = [a.format(tmp=tmp_path, decay=models["decay"]) for a in args]
    process = immunetwin(*argv, check=False)
    assert process.returncode != 0
    assert "Traceback" not in process.stderr
    error_lines = [line for line in process.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, process.stderr
    assert process.stderr.startswith("error:"), process.stderr
    assert mentions in process.stderr, process.stderr
    assert "time," not in process.stdout


# OS errors on output and listing files (these printed a traceback before 88418d8).
OS_ERRORS = {
    "--out into missing folder": ["simulate", "{decay}", "--end", "1", "--out", "{tmp}/no/x.csv"],
    "--plot into missing folder": ["simulate", "{decay}", "--end", "1", "--plot", "{tmp}/no/x.png"],
    "--cases file missing": ["check", "sbml-suite", "{tmp}", "--cases", "{tmp}/none.txt"],
}


@pytest.mark.parametrize("args", list(OS_ERRORS.values()), ids=list(OS_ERRORS))
def test_unwritable_or_missing_files_are_one_clear_line(
    args: list[str], models: dict[str, Path], tmp_path: Path
) -> None:
    argv = [a.format(tmp=tmp_path, decay=models["decay"]) for a in args]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    process = subprocess.run(
        [*CLI, *argv], capture_output=True, text=True, env=env, timeout=TIMEOUT_S
    )
    assert process.returncode != 0
    assert "Traceback" not in process.stderr, process.stderr
    error_lines = [line for line in process.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, process.stderr


def test_solver_option_picks_the_solver_and_rejects_unknown_names(models: dict[str, Path]) -> None:
    for name in ("cvodes", "dopri"):
        process = subprocess.run(
            [
                *CLI,
                "simulate",
                str(models["decay"]),
                "--end",
                "1",
                "--points",
                "3",
                "--solver",
                name,
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
        assert process.returncode == 0, process.stderr
        assert process.stdout.splitlines()[0].startswith("time,")
    process = subprocess.run(
        [*CLI, "simulate", str(models["decay"]), "--end", "1", "--solver", "rk4"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert process.returncode != 0
    assert "error:" in process.stderr and "rk4" in process.stderr
    assert "Traceback" not in process.stderr
