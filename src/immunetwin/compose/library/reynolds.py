"""Reynolds et al. 2006 (acute inflammatory response) as four reusable modules.

Reynolds A, Rubin J, Clermont G, Day J, Vodovotz Y, Ermentrout GB. A reduced mathematical
model of the acute inflammatory response: I. Derivation of model and analysis of
anti-inflammation. J Theor Biol 242:220-236 (2006), doi:10.1016/j.jtbi.2006.02.016
(BioModels BIOMD0000000714). Time in hours; P and N* in 10^6 cells/cc; D and C_A in
arbitrary units. Parameter values are the paper's Table 1, as in the BioModels file.

The equations are split by who owns each state: the pathogen (growth, non-specific local
clearance), the activated phagocytes (activation by pathogen and damage, decay, and the
killing of pathogen, a flux into the pathogen's state), the tissue damage, and the
anti-inflammatory mediator. Assembled, they are the paper's model exactly.
"""

from __future__ import annotations

from immunetwin.compose.module import Module, Port, Role, module
from immunetwin.formats import read_antimony

CITATION = "Reynolds A et al. (2006) J Theor Biol 242:220-236, doi:10.1016/j.jtbi.2006.02.016"
CELLS = "1e6 / mL"  # the paper's 10^6 cells/cc
PATHOGEN = "immunetwin:pathogen-load"
PHAGOCYTES = "CL:0000234"  # phagocyte (the activated phagocytes N*)
EFFECTIVE = "immunetwin:effective-activated-phagocytes"  # N* damped by the mediator
DAMAGE = "immunetwin:tissue-damage"
MEDIATOR = "immunetwin:anti-inflammatory-mediator"

_PATHOGEN = """
model reynolds_pathogen
  compartment tissue = 1;
  species P in tissue = 1;
  growth: => P; k_pg*P*(1 - P/p_inf)
  local_clearance: P => ; k_pm*s_m*P/(mu_m + k_mp*P)
  k_pg = 0.3; p_inf = 20; k_pm = 0.6; s_m = 0.005; mu_m = 0.002; k_mp = 0.01;
end
"""

_PHAGOCYTES = """
model reynolds_phagocytes
  compartment tissue = 1;
  species Nstar in tissue = 0;
  species P in tissue = 0;      // the pathogen (flux port): killed by phagocytes
  D = 0; C_A = 0.125;           // inputs: damage and the anti-inflammatory mediator
  f_Nstar := Nstar/(1 + (C_A/c_inf)^2);
  R := (k_nn*Nstar + k_np*P + k_nd*D)/(1 + (C_A/c_inf)^2);
  killing: P => ; k_pn*f_Nstar*P
  activation: => Nstar; s_nr*R/(mu_nr + R)
  decay: Nstar => ; mu_n*Nstar
  k_pn = 1.8; k_np = 0.1; k_nn = 0.01; s_nr = 0.08; mu_nr = 0.12; mu_n = 0.05;
  k_nd = 0.02; c_inf = 0.28;
end
"""

_DAMAGE = """
model reynolds_damage
  compartment tissue = 1;
  species D in tissue = 0;
  f_Nstar = 0;                  // input: effective activated phagocytes
  production: => D; k_dn*f_Nstar^6/(x_dn^6 + f_Nstar^6)
  repair: D => ; mu_d*D
  k_dn = 0.35; x_dn = 0.06; mu_d = 0.02;
end
"""

_MEDIATOR = """
model reynolds_mediator
  compartment tissue = 1;
  species C_A in tissue = 0.125;
  Nstar = 0; D = 0;             // inputs: activated phagocytes and damage
  g := (Nstar + k_cnd*D)/(1 + (C_A/c_inf)^2);
  source: => C_A; s_c
  induced: => C_A; k_cn*g/(1 + g)
  decay: C_A => ; mu_c*C_A
  s_c = 0.0125; k_cn = 0.04; k_cnd = 48; mu_c = 0.1; c_inf = 0.28;
end
"""


def pathogen() -> Module:
    return module(
        "pathogen",
        read_antimony(_PATHOGEN),
        [
            Port("P", "P", Role.STATE, CELLS, PATHOGEN, description="pathogen load"),
            Port("k_pg", "k_pg", Role.PARAMETER, "1/hour", description="growth rate"),
        ],
        citation=CITATION,
        description="Logistic pathogen growth and non-specific local clearance.",
    )


def phagocytes() -> Module:
    return module(
        "phagocytes",
        read_antimony(_PHAGOCYTES),
        [
            Port("Nstar", "Nstar", Role.STATE, CELLS, PHAGOCYTES),
            Port("f_Nstar", "f_Nstar", Role.STATE, CELLS, EFFECTIVE),
            Port("P", "P", Role.FLUX, CELLS, PATHOGEN, description="killing of the pathogen"),
            Port("D", "D", Role.INPUT, "dimensionless", DAMAGE),
            Port("C_A", "C_A", Role.INPUT, "dimensionless", MEDIATOR),
        ],
        citation=CITATION,
        description="Activation by pathogen and damage, inhibited by the mediator; killing.",
    )


def damage() -> Module:
    return module(
        "damage",
        read_antimony(_DAMAGE),
        [
            Port("D", "D", Role.STATE, "dimensionless", DAMAGE),
            Port("f_Nstar", "f_Nstar", Role.INPUT, CELLS, EFFECTIVE),
        ],
        citation=CITATION,
        description="Damage caused by activated phagocytes (a steep Hill function), repair.",
    )


def mediator() -> Module:
    return module(
        "mediator",
        read_antimony(_MEDIATOR),
        [
            Port("C_A", "C_A", Role.STATE, "dimensionless", MEDIATOR),
            Port("Nstar", "Nstar", Role.INPUT, CELLS, PHAGOCYTES),
            Port("D", "D", Role.INPUT, "dimensionless", DAMAGE),
        ],
        citation=CITATION,
        description="Anti-inflammatory mediator: constant source, induction, decay.",
    )


def modules() -> tuple[Module, ...]:
    """The four modules; assembled with automatic matching they need no explicit wires."""
    return (pathogen(), phagocytes(), damage(), mediator())
