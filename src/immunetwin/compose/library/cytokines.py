"""Cytokines: IL-6 and TNF-alpha (pro-inflammatory) and IL-10 (anti-inflammatory), in pg/mL.

Each cytokine has a constant basal source that holds it at a healthy baseline, production by
activated macrophages (IL-6 also by infected epithelial cells), first-order clearance and,
for IL-6 and TNF, inhibition of production by IL-10 (``1/(1 + IL10/K10)``, the form of
Reynolds et al. 2006's anti-inflammatory mediator). An optional ``suppression`` input
multiplies induced production: a corticosteroid's Emax inhibition acts here. Time in days.

Levels: healthy plasma IL-6 is a few pg/mL, TNF about 5-10 pg/mL and IL-10 a few pg/mL; in
severe COVID-19, IL-6 above 70 pg/mL and TNF above 35 pg/mL were associated with mortality
(Del Valle DM et al. An inflammatory cytokine signature predicts COVID-19 severity and
survival. Nat Med 26:1636-1643, 2020). Baselines and the production constants are chosen to
match those ranges; the clearance rates give half-lives of hours (TNF about 1 h, IL-6 and
IL-10 about 4 h) and are illustrative, not measured in vivo.
"""

from __future__ import annotations

from collections.abc import Callable

from immunetwin.compose.library.terms import (
    CYTOKINE,
    IL6,
    IL10,
    INFECTED,
    MACROPHAGES,
    PER_ML,
    RELATIVE,
    TNF,
)
from immunetwin.compose.module import Module, Port, Role, module
from immunetwin.formats import read_antimony

DEL_VALLE = "Del Valle DM et al. (2020) Nat Med 26:1636-1643, doi:10.1038/s41591-020-1051-9"


def _cytokine(
    name: str,
    term: str,
    *,
    baseline: float,
    clearance: float,
    by_macrophages: float,
    by_infected: float = 0.0,
    inhibited_by_il10: bool = True,
    description: str,
) -> Module:
    species = name.upper()
    inputs = ["m = 0;"] + (["I = 0;"] if by_infected else []) + (["IL10 = 0;"] * inhibited_by_il10)
    induced = "s_M*m" + (" + s_I*I/(I + K_I)" if by_infected else "")
    inhibition = "/(1 + IL10/K10)" if inhibited_by_il10 else ""
    constants = [f"s_M = {by_macrophages};"]
    if by_infected:
        constants += [f"s_I = {by_infected};", "K_I = 1000;"]
    if inhibited_by_il10:
        constants.append("K10 = 20;")
    text = f"""
model cytokine_{name}
  compartment lung = 1;
  species {species} in lung = {baseline};
  {" ".join(inputs)}
  suppression = 1;              // optional input: e.g. a corticosteroid's Emax (1 = none)
  basal: => {species}; d*{species}_0
  induced: => {species}; suppression*({induced}){inhibition}
  clearance: {species} => ; d*{species}
  {species}_0 = {baseline}; d = {clearance}; {" ".join(constants)}
end
"""
    ports = [
        Port(species, species, Role.STATE, CYTOKINE, term, description=f"{species} level"),
        Port("m", "m", Role.INPUT, RELATIVE, MACROPHAGES, description="activated macrophages"),
        Port(
            "suppression",
            "suppression",
            Role.INPUT,
            RELATIVE,
            required=False,
            description="factor on induced production (e.g. corticosteroid)",
        ),
        Port(f"{species}_0", f"{species}_0", Role.PARAMETER, CYTOKINE, description="baseline"),
        Port("s_M", "s_M", Role.PARAMETER, "pg / mL / day", description="production by m"),
    ]
    if by_infected:
        ports.append(Port("I", "I", Role.INPUT, PER_ML, INFECTED, description="secrete it"))
    if inhibited_by_il10:
        ports.append(Port("IL10", "IL10", Role.INPUT, CYTOKINE, IL10, description="inhibits"))
    sources = [
        (f"{species}_0", "chosen: healthy plasma level (Del Valle 2020 cohort ranges)"),
        ("d", "illustrative: half-life of hours"),
        ("s_M", "chosen: storm levels in the Del Valle 2020 range"),
    ]
    return module(
        name,
        read_antimony(text),
        ports,
        citation=f"{DEL_VALLE}; inhibition form: Reynolds A et al. (2006) J Theor Biol 242:220-236",
        description=description,
        parameter_sources=sources,
    )


def il6() -> Module:
    return _cytokine(
        "il6",
        IL6,
        baseline=2.0,
        clearance=4.0,
        by_macrophages=1200.0,
        by_infected=200.0,
        description="IL-6 from activated macrophages and infected cells, inhibited by IL-10.",
    )


def tnf() -> Module:
    return _cytokine(
        "tnf",
        TNF,
        baseline=5.0,
        clearance=16.0,
        by_macrophages=960.0,
        description="TNF-alpha from activated macrophages, inhibited by IL-10.",
    )


def il10() -> Module:
    return _cytokine(
        "il10",
        IL10,
        baseline=3.0,
        clearance=4.0,
        by_macrophages=160.0,
        inhibited_by_il10=False,
        description="IL-10 (anti-inflammatory) from activated macrophages.",
    )


MODULES: dict[str, Callable[[], Module]] = {
    "cytokine.il6": il6,
    "cytokine.tnf": tnf,
    "cytokine.il10": il10,
}
