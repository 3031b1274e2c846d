"""Engine benchmark against libroadrunner, run in one session so the ratios are comparable.

Usage: python benchmarks/engine.py [--shared ../shared] [--n 10000] [--json FILE]

For immune_tiv and immune_tiv_dosed (0-30 days, 301 points, rtol 1e-8, atol 1e-10) it times:
- load + compile of the SBML file;
- one simulation after compile (median of 200), our C-compiled Dormand-Prince and CVODES;
- the 10,000-member ensemble (ensemble_10k.csv), all cores;
- forward sensitivities for the 17 kinetic parameters (dosed model), with their accuracy
  against 5-point central differences;
and runs ../shared/bench/roadrunner_baseline.py on the same model for the peer's figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from immunetwin.engine import (
    CVODES,
    DormandPrince,
    compile_model,
    read_parameter_table,
    sensitivities,
    simulate,
    simulate_ensemble,
)
from immunetwin.formats import read_sbml

RTOL, ATOL = 1e-8, 1e-10
KINETIC = "beta k delta p c phi rho q dF kE lamE rE KI dE pA dA kA".split()


def median_time(action, repeats: int) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def roadrunner(bench: Path, model: Path, n: int) -> dict[str, float]:
    script = bench / "roadrunner_baseline.py"
    command = [sys.executable, str(script), str(model), "--n", str(n), "--rtol", str(RTOL)]
    command += ["--atol", str(ATOL)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])  # type: ignore[no-any-return]


def sensitivity_accuracy(compiled, times: np.ndarray, result) -> float:  # type: ignore[no-untyped-def]
    """Worst max|ad - fd| / max|fd| over testable (output, parameter) trajectories."""
    reference = CVODES(1e-12, 1e-16)
    scale = np.abs(result.values).max(axis=0)
    worst = 0.0
    base = compiled.parameter_vector()
    for j, name in enumerate(result.wrt):
        value = base[compiled.parameter_index(name)]
        h = 1e-3 * abs(value)

        def at(delta: float, name: str = name, value: float = value) -> np.ndarray:
            run = simulate(compiled, times, parameters={name: value + delta}, solver=reference)
            return run.values

        fd = (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h)
        size = np.abs(fd).max(axis=0)
        testable = size * abs(value) > 1e-7 * scale
        error = np.abs(result.jacobian[:, :, j] - fd).max(axis=0) / np.where(size > 0, size, 1)
        worst = max(worst, float(error[testable].max(initial=0.0)))
    return worst


def bench_model(bench: Path, name: str, n: int, with_sensitivities: bool) -> dict[str, object]:
    path = bench / f"{name}.xml"
    times = np.linspace(0.0, 30.0, 301)
    peer = roadrunner(bench, path, n)

    start = time.perf_counter()
    compiled = compile_model(read_sbml(path))
    load = time.perf_counter() - start

    fast = DormandPrince(RTOL, ATOL)
    simulate(compiled, times, solver=fast)  # C compilation happens here, once (cached on disk)
    single_fast = median_time(lambda: simulate(compiled, times, solver=fast), 200)
    stiff = CVODES(RTOL, ATOL)
    single_cvodes = median_time(lambda: simulate(compiled, times, solver=stiff), 50)

    ids, table = read_parameter_table(bench / "ensemble_10k.csv")
    table = table[:n]
    start = time.perf_counter()
    ensemble = simulate_ensemble(compiled, times, ids, table, solver=fast)
    ensemble_s = time.perf_counter() - start

    out: dict[str, object] = {
        "model": name,
        "load_compile_s": load,
        "single_s": single_fast,
        "single_cvodes_s": single_cvodes,
        "ensemble_n": len(table),
        "ensemble_s": ensemble_s,
        "ensemble_failures": ensemble.n_failed,
        "roadrunner": peer,
        "ratio_single": single_fast / float(peer["single_median_s"]),
        "ratio_single_cvodes": single_cvodes / float(peer["single_median_s"]),
        "ratio_ensemble": ensemble_s / float(peer["ensemble_s"]),
    }
    if with_sensitivities:
        # the compiled forward derivative of each segment integrator is built on first use
        result = sensitivities(compiled, times, wrt=KINETIC, solver=fast)
        sens_s = median_time(lambda: sensitivities(compiled, times, wrt=KINETIC, solver=fast), 20)
        sens_cvodes_s = median_time(
            lambda: sensitivities(compiled, times, wrt=KINETIC, solver=stiff), 5
        )
        out["sensitivity_s"] = sens_s
        out["sensitivity_over_single"] = sens_s / single_fast
        out["sensitivity_cvodes_s"] = sens_cvodes_s
        out["sensitivity_cvodes_over_single_cvodes"] = sens_cvodes_s / single_cvodes
        out["sensitivity_worst_rel_error"] = sensitivity_accuracy(compiled, times, result)
    return out


def cli_help_seconds() -> float:
    executable = Path(sys.executable).parent / "immunetwin"
    samples = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([str(executable), "--help"], capture_output=True, check=True)
        samples.append(time.perf_counter() - start)
    return min(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    bench = Path(args.shared) / "bench"
    if not bench.is_dir():
        sys.exit(f"no benchmark folder at {bench}; pass --shared PATH")
    results = [
        bench_model(bench, "immune_tiv", args.n, with_sensitivities=False),
        bench_model(bench, "immune_tiv_dosed", args.n, with_sensitivities=True),
    ]
    help_s = cli_help_seconds()
    for r in results:
        peer = r["roadrunner"]
        assert isinstance(peer, dict)
        print(f"== {r['model']}  ({peer['tool']})")
        print(f"  load+compile          {r['load_compile_s'] * 1e3:8.1f} ms   (goal <= 100 ms)")
        print(
            f"  one simulation        {r['single_s'] * 1e3:8.3f} ms   roadrunner "
            f"{peer['single_median_s'] * 1e3:.3f} ms   ratio {r['ratio_single']:.2f}x "
            "(goal <= 1.0, 0.5)"
        )
        print(
            f"  one simulation CVODES {r['single_cvodes_s'] * 1e3:8.3f} ms   ratio "
            f"{r['ratio_single_cvodes']:.2f}x"
        )
        print(
            f"  ensemble {r['ensemble_n']:>6}        {r['ensemble_s']:8.2f} s    roadrunner "
            f"{peer['ensemble_s']:.2f} s   ratio {r['ratio_ensemble']:.2f}x (goal <= 0.33, 0.2); "
            f"failures {r['ensemble_failures']}"
        )
        if "sensitivity_s" in r:
            print(
                f"  sensitivities (17)    {r['sensitivity_s'] * 1e3:8.2f} ms   "
                f"= {r['sensitivity_over_single']:.1f}x one simulation (goal <= 10); "
                f"worst rel. error vs central differences {r['sensitivity_worst_rel_error']:.1e}"
            )
            print(
                f"  sensitivities CVODES  {r['sensitivity_cvodes_s'] * 1e3:8.2f} ms   "
                f"= {r['sensitivity_cvodes_over_single_cvodes']:.1f}x one CVODES simulation"
            )
    print(f"CLI --help: {help_s:.2f} s (goal <= 1 s)")
    if args.json:
        Path(args.json).write_text(json.dumps({"models": results, "cli_help_s": help_s}, indent=2))


if __name__ == "__main__":
    main()
