"""Kirschner & Panetta 1998 (tumour, effector cells, IL-2) as three reusable modules.

Kirschner D, Panetta JC. Modeling immunotherapy of the tumor-immune interaction. J Math Biol
37:235-252 (1998), doi:10.1007/s002850050127 (BioModels BIOMD0000000732). Time in days. The
paper scales E, T and I_L to the volume of the tumour site (its half-saturation constants
g1, g2, g3 and 1/b are all in "volume"); it names no volume unit, and the BioModels file uses
litre, so the states here are per litre. Parameter values and initial state (T = 1, E = 0,
I_L = 0, c = 0.035, s1 = s2 = 0) are exactly those of the BioModels file.

The equations are split by who owns each state: the tumour (logistic growth), the effector
cells (recruitment by antigenicity c*T, IL-2-driven proliferation, death, adoptive cell therapy
s1, and the killing of tumour cells, a flux into the tumour's state) and IL-2 (production by
effectors stimulated by tumour, decay, infusion s2). Assembled, they are the BioModels model
exactly. Note that the BioModels file writes proliferation as p1*E*I_L/g1 where the paper has
p1*E*I_L/(g1 + I_L); we follow the file (I_L stays far below g1 = 2e7 in the regimes tested,
so the two differ little, but "reproduces BIOMD0000000732" means the file's form).
"""

from __future__ import annotations

from collections.abc import Callable

from immunetwin.compose.module import Module, Port, Role, module
from immunetwin.formats import read_antimony

CITATION = (
    "Kirschner D, Panetta JC (1998) J Math Biol 37:235-252, doi:10.1007/s002850050127 "
    "(BioModels BIOMD0000000732)"
)
CELLS = "1 / L"  # cells per volume of the tumour site (the paper's "volume" scaling)
CONCENTRATION = "1 / L"  # I_L, scaled to the same volume (g1, its half-saturation, is "volume")
RATE = "1 / day"
SOURCE = "1 / L / day"  # treatment source terms s1, s2
TUMOUR = "immunetwin:tumour-cells"
EFFECTORS = "CL:0000911"  # effector T cell (the paper's E: CTLs, macrophages, NK cells)
IL2 = "uniprot:P60568"  # interleukin-2, human

_TUMOUR = """
model kirschner_tumour
  compartment site = 1;
  species T in site = 1;
  growth: => T; r2*(1 - b*T)*T
  r2 = 0.18; b = 1e-9;
end
"""

_EFFECTORS = """
model kirschner_effectors
  compartment site = 1;
  species E in site = 0;
  species T in site = 0;        // the tumour (flux port): recruits effectors, is killed by them
  IL = 0;                       // input: IL-2
  killing: T => ; a*E*T/(g2 + T)
  recruitment: => E; c*T
  proliferation: => E; p1*E*IL/g1
  therapy: => E; s1
  death: E => ; mu2*E
  a = 1; g2 = 1e5; c = 0.035; p1 = 0.1245; g1 = 2e7; s1 = 0; mu2 = 0.03;
end
"""

_IL2 = """
model kirschner_il2
  compartment site = 1;
  species IL in site = 0;
  E = 0; T = 0;                 // inputs: effector cells and tumour cells
  production: => IL; p2*E*T/(g3 + T)
  infusion: => IL; s2
  decay: IL => ; mu3*IL
  p2 = 5; g3 = 1000; s2 = 0; mu3 = 10;
end
"""


def tumour() -> Module:
    return module(
        "tumour",
        read_antimony(_TUMOUR),
        [
            Port("T", "T", Role.STATE, CELLS, TUMOUR, description="tumour cells"),
            Port("r2", "r2", Role.PARAMETER, RATE, description="tumour growth rate"),
        ],
        citation=CITATION,
        description="Logistic tumour growth (r2, carrying capacity 1/b).",
    )


def effectors() -> Module:
    return module(
        "effectors",
        read_antimony(_EFFECTORS),
        [
            Port("E", "E", Role.STATE, CELLS, EFFECTORS, description="effector cells"),
            Port("T", "T", Role.FLUX, CELLS, TUMOUR, description="killing of tumour cells"),
            Port("IL", "IL", Role.INPUT, CONCENTRATION, IL2, description="drives proliferation"),
            Port("s1", "s1", Role.PARAMETER, SOURCE, description="adoptive cell therapy"),
            Port("c", "c", Role.PARAMETER, RATE, description="tumour antigenicity"),
        ],
        citation=CITATION,
        description="Effectors: recruitment by the tumour, IL-2 proliferation, death, "
        "adoptive therapy s1; they kill tumour cells.",
    )


def il2() -> Module:
    return module(
        "il2",
        read_antimony(_IL2),
        [
            Port("IL", "IL", Role.STATE, CONCENTRATION, IL2, description="IL-2 at the tumour site"),
            Port("E", "E", Role.INPUT, CELLS, EFFECTORS),
            Port("T", "T", Role.INPUT, CELLS, TUMOUR),
            Port("s2", "s2", Role.PARAMETER, SOURCE, description="IL-2 infusion"),
        ],
        citation=CITATION,
        description="IL-2: production by tumour-stimulated effectors, decay, infusion s2.",
    )


def modules() -> tuple[Module, ...]:
    """The three modules; assembled with automatic matching they need no explicit wires."""
    return (effectors(), tumour(), il2())


MODULES: dict[str, Callable[[], Module]] = {
    "kirschner.effectors": effectors,
    "kirschner.tumour": tumour,
    "kirschner.il2": il2,
}
