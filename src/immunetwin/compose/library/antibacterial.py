"""Concentration-dependent killing of a pathogen by an antibacterial drug (a flux module).

The kill rate follows the sigmoid Emax model used for antibacterial PK/PD (Czock D, Keller F.
Mechanism-based pharmacokinetic-pharmacodynamic modeling of antimicrobial drug effects.
J Pharmacokinet Pharmacodyn 34:727-751, 2007): ``kill = kmax * C^n / (EC50^n + C^n) * P``.
The parameter values are illustrative defaults for a drug with EC50 = 1 mg/L and a maximal
kill rate of 2 per hour, not the values of a named antibiotic; set them for a real drug.
Time in hours (like the Reynolds modules and the PK library).
"""

from __future__ import annotations

from immunetwin.compose.library.reynolds import CELLS, PATHOGEN
from immunetwin.compose.module import Module, Port, Role, module
from immunetwin.formats import read_antimony

CITATION = "Czock D, Keller F (2007) J Pharmacokinet Pharmacodyn 34:727-751"

_KILLING = """
model antibacterial_killing
  compartment tissue = 1;
  species P in tissue = 0;     // the pathogen (flux port)
  C = 0;                       // input: drug concentration (mg/L)
  kill: P => ; kmax*C^n/(EC50^n + C^n)*P
  kmax = 2; EC50 = 1; n = 1;
end
"""


def killing() -> Module:
    return module(
        "killing",
        read_antimony(_KILLING),
        [
            Port("P", "P", Role.FLUX, CELLS, PATHOGEN, description="drug killing of the pathogen"),
            Port("C", "C", Role.INPUT, "mg/L", description="drug concentration"),
            Port("kmax", "kmax", Role.PARAMETER, "1/hour"),
            Port("EC50", "EC50", Role.PARAMETER, "mg/L"),
        ],
        citation=CITATION,
        description="Sigmoid-Emax killing of the pathogen by an antibacterial drug.",
    )


MODULES = {"antibacterial.killing": killing}
