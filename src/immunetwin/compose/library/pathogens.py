"""Pathogen replication: target-cell-limited virus with an eclipse phase, and bacterial growth.

``virus.tcl_eclipse``: the standard within-host model of acute respiratory viral infection
(Baccam P, Beauchemin C, Macken CA, Hayden FG, Perelson AS. Kinetics of influenza A virus
infection in humans. J Virol 80:7590-7599, 2006), target cells T become eclipse-phase cells E
(infected, not yet producing), then productively infected cells I that produce virus and die:

    T' = -beta*T*V;  E' = beta*T*V - k*E;  I' = k*E - delta*I;  V' = p*I - c*V

Defaults are for SARS-CoV-2 in the upper respiratory tract, time in days: c = 10/day,
k = 4/day and T0 = 1.33e5 cells/mL are the fixed values of Goncalves et al. 2020 and Neant et
al. 2021; delta = 0.8/day and beta*p (so R0 = beta*p*T0/(delta*c) = 8) lie within the ranges
those papers estimated (R0 about 5-10, delta 0.5-1.5/day); p = 2e4 copies/cell/day is chosen so
the untreated peak is about 10^8 copies/mL, the order reported for hospitalised patients.
Optional inputs ``eps_infection`` and ``eps_production`` multiply infection and production
(1 without drug): antivirals act here through a PD module.

``bacteria.logistic``: logistic bacterial growth, ``B' = r*B*(1 - B/Bmax)``, with a flux port
for killing modules (phagocytes, antibiotics). r = 1.2/hour (doubling about 35 min, typical of
fast-growing pathogens in vitro) and Bmax = 1e9 CFU/mL are illustrative defaults; the time unit
is hours like the Reynolds and antibacterial modules.
"""

from __future__ import annotations

from collections.abc import Callable

from immunetwin.compose.library.terms import (
    BACTERIUM,
    ECLIPSE_CELLS,
    INFECTED,
    PER_ML,
    RATE,
    RELATIVE,
    SARS_COV_2,
    TARGET_CELLS,
)
from immunetwin.compose.module import Module, Port, Role, module
from immunetwin.formats import read_antimony

GONCALVES = (
    "Goncalves A et al. (2020) Timing of antiviral treatment initiation is critical to reduce "
    "SARS-CoV-2 viral load. CPT Pharmacometrics Syst Pharmacol 9:509-514, "
    "doi:10.1002/psp4.12543"
)
NEANT = (
    "Neant N et al. (2021) Modeling SARS-CoV-2 viral kinetics and association with mortality "
    "in hospitalized patients from the French COVID cohort. PNAS 118:e2017962118"
)
BACCAM = "Baccam P et al. (2006) J Virol 80:7590-7599, doi:10.1128/JVI.01623-05"

_VIRUS = """
model virus_tcl_eclipse
  compartment airway = 1;
  species T in airway = 1.33e5, E in airway = 0, I in airway = 0, V in airway = 0.1;
  eps_infection = 1; eps_production = 1;   // optional inputs: drug effects (1 = none)
  infection: T => E; beta*eps_infection*T*V
  eclipse: E => I; k*E
  death: I => ; delta*I
  production: => V; p*eps_production*I
  clearance: V => ; c*V
  beta = 2.406e-08; k = 4; delta = 0.8; p = 20000; c = 10;
end
"""

_BACTERIA = """
model bacteria_logistic
  compartment tissue = 1;
  species B in tissue = 1e3;
  growth: => B; r*B*(1 - B/Bmax)
  r = 1.2; Bmax = 1e9;
end
"""


def tcl_eclipse() -> Module:
    return module(
        "virus",
        read_antimony(_VIRUS),
        [
            Port("T", "T", Role.STATE, PER_ML, TARGET_CELLS, description="target epithelial cells"),
            Port("E", "E", Role.STATE, PER_ML, ECLIPSE_CELLS, description="eclipse-phase cells"),
            Port("I", "I", Role.STATE, PER_ML, INFECTED, description="virus-producing cells"),
            Port("V", "V", Role.STATE, PER_ML, SARS_COV_2, description="viral RNA copies"),
            Port(
                "eps_infection",
                "eps_infection",
                Role.INPUT,
                RELATIVE,
                required=False,
                description="factor on infection (e.g. an entry inhibitor's Emax)",
            ),
            Port(
                "eps_production",
                "eps_production",
                Role.INPUT,
                RELATIVE,
                required=False,
                description="factor on virion production (e.g. a polymerase or protease "
                "inhibitor's Emax)",
            ),
            Port("beta", "beta", Role.PARAMETER, "mL / day", description="infection rate"),
            Port("delta", "delta", Role.PARAMETER, RATE, description="infected-cell loss"),
            Port("p", "p", Role.PARAMETER, RATE, description="virions per cell per day"),
            Port("c", "c", Role.PARAMETER, RATE, description="virion clearance"),
        ],
        citation=f"{BACCAM}; parameters: {GONCALVES}; {NEANT}",
        description="Target-cell-limited virus replication with an eclipse phase "
        "(SARS-CoV-2 defaults, days).",
        parameter_sources=(
            ("c", "fixed value of Goncalves 2020 / Neant 2021"),
            ("k", "fixed value of Goncalves 2020 / Neant 2021 (mean eclipse 6 h)"),
            ("T", "initial value fixed as in Goncalves 2020 / Neant 2021 (1.33e5 cells/mL)"),
            ("delta", "within the range estimated by Goncalves 2020 / Neant 2021"),
            ("beta", "chosen so R0 = 8, within the range estimated by Goncalves 2020"),
            ("p", "chosen: untreated peak about 1e8 copies/mL"),
        ),
    )


def logistic_bacteria() -> Module:
    return module(
        "bacteria",
        read_antimony(_BACTERIA),
        [
            Port("B", "B", Role.STATE, PER_ML, BACTERIUM, description="bacterial load (CFU)"),
            Port("r", "r", Role.PARAMETER, "1 / hour", description="maximal growth rate"),
            Port("Bmax", "Bmax", Role.PARAMETER, PER_ML, description="carrying capacity"),
        ],
        citation="Logistic growth (Verhulst); see e.g. Czock & Keller 2007 J Pharmacokinet "
        "Pharmacodyn 34:727-751 for its use in antibacterial PK/PD",
        description="Logistic bacterial growth (hours); killing modules add fluxes into B.",
        parameter_sources=(
            ("r", "illustrative: doubling about 35 min"),
            ("Bmax", "illustrative carrying capacity"),
        ),
    )


MODULES: dict[str, Callable[[], Module]] = {
    "virus.tcl_eclipse": tcl_eclipse,
    "bacteria.logistic": logistic_bacteria,
}
