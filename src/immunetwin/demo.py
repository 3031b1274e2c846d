"""The demo behind ``make demo`` and ``immunetwin demo``: the bundled dosed influenza model end
to end, the catalogue, then the patient twin loop.

Simulates the untreated and the treated course, finds the healthy equilibrium, ranks the
parameters by their influence on the viral load (exact sensitivities through the dosing
events); then opens the model catalogue (a SQLite file in the output folder, seeded with the
shipped models), searches it, and runs the three outcomes of Reynolds et al. 2006 found there;
finally follows a synthetic SARS-CoV-2-like pneumonia patient day by day with a twin
(``immunetwin.twin.demo``) and writes ``twin-report.html``. Writes CSV files and PNG plots.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from immunetwin.data import bundled_model
from immunetwin.engine import compile_model, sensitivities, simulate, steady_state
from immunetwin.formats import read_sbml
from immunetwin.plotting import plot_result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="demo-output", help="output folder")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    model = read_sbml(bundled_model("immune_tiv_dosed.xml"))
    compiled = compile_model(model)
    times = np.linspace(0.0, 30.0, 301)
    treated = simulate(compiled, times, throw=True)
    untreated = simulate(compiled, times, parameters={"dose": 0.0}, throw=True)
    for name, result in (("treated", treated), ("untreated", untreated)):
        (out / f"{name}.csv").write_text(result.to_csv())
        plot_result(result, out / f"{name}.png", title=f"{model.id}: {name}")

    def peak(result: object) -> tuple[float, float]:
        v = result["V"]  # type: ignore[index]
        return float(v.max()), float(times[int(v.argmax())])

    print(f"model {model.id}: {len(model.species)} species, {len(model.reactions)} reactions")
    for name, result in (("untreated", untreated), ("treated (doses on days 2, 3, 4)", treated)):
        height, when = peak(result)
        area = float(np.trapezoid(result["V"], times))
        print(f"  {name:32s} peak virus {height:10.4g} on day {when:4.1f}; AUC {area:.4g}")

    healthy = steady_state(compiled, guess={"V": 0.0, "I1": 0.0, "I2": 0.0, "F": 0.0, "D": 0.0})
    leading = healthy.eigenvalues[0].real if healthy.eigenvalues.size else float("nan")
    verdict = "stable" if healthy.stable else "unstable: the virus can invade (R0 > 1)"
    print(
        f"  infection-free equilibrium ({healthy.status.value}): T* = {healthy.state['T']:.4g}, "
        f"E* = {healthy.state['E']:.4g}; leading eigenvalue {leading:.3g} -> {verdict}"
    )

    kinetic = [p.id for p in model.parameters if p.id not in ("dose",)]
    sens = sensitivities(compiled, times, wrt=kinetic)
    log_v = np.log(np.maximum(treated["V"], 1e-300))
    values = compiled.parameter_vector()
    influence = {}
    column = sens.ids.index("V")
    for j, name in enumerate(kinetic):
        # d log V / d log p, averaged over days 1-10 where the infection is active
        window = (times >= 1) & (times <= 10)
        elasticity = sens.jacobian[window, column, j] * values[compiled.parameter_index(name)]
        influence[name] = float(np.mean(np.abs(elasticity / np.exp(log_v[window]))))
    ranked = sorted(influence.items(), key=lambda item: -item[1])[:5]
    print("  most influential parameters on log viral load (days 1-10, exact sensitivities):")
    for name, value in ranked:
        print(f"    {name:6s} {value:8.3f}")
    print(f"wrote {out}/treated.csv, untreated.csv and PNG plots")
    catalogue_tour(out)
    from immunetwin.twin.demo import run as twin_loop

    twin_loop(out)


def catalogue_tour(out: Path) -> None:
    """Find a published sepsis model in the catalogue and run its three outcomes."""
    from immunetwin.catalog import Catalog

    with Catalog.open(f"sqlite:///{(out / 'catalog.sqlite').resolve()}") as catalog:
        print(f"catalogue: {len(catalog.list())} models ({out}/catalog.sqlite)")
        hits = catalog.search("acute inflammation sepsis", limit=3)
        for hit in hits:
            print(f"  {hit.score:5.2f}  {hit.alias:<22} {hit.title[:60]}")
        entry = catalog.get(hits[0].id)
        print(
            f"  {entry.alias}: {entry.citation.short()}, status {entry.curation_status.value}, "
            f"{sum(r.status.value == 'reproduced' for r in entry.reproductions)} published "
            "numbers reproduced"
        )
        model = catalog.model(entry.id)
    compiled = compile_model(model)
    times = np.linspace(0.0, 300.0, 301)  # hours
    scenarios = {
        "health": {"k_pg": 0.3, "P": 1.0},
        "aseptic-death": {"k_pg": 0.3, "P": 1.5},
        "septic-death": {"k_pg": 0.6, "P": 1.0},
    }
    for name, overrides in scenarios.items():
        result = simulate(compiled, times, parameters=overrides, throw=True)
        (out / f"reynolds2006-{name}.csv").write_text(result.to_csv())
        plot_result(result, out / f"reynolds2006-{name}.png", title=f"Reynolds 2006: {name}")
        final = ", ".join(f"{id} {result[id][-1]:.3g}" for id in ("P", "Nstar", "D", "C_A"))
        print(f"  {name:14s} at 300 h: {final}")


if __name__ == "__main__":
    main()
