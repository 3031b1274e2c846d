"""Hancioglu, Swigon & Clermont 2007 (immune response to influenza A) as six reusable modules.

Hancioglu B, Swigon D, Clermont G. A dynamical model of human immune response to influenza A
virus infection. J Theor Biol 246:70-86 (2007), doi:10.1016/j.jtbi.2006.12.015 (BioModels
BIOMD0000000711). All ten states are dimensionless (scaled to their homeostatic or maximal
values); time in days. Parameter values and the initial state (V = 0.01, H = 1, E = P = A = 1,
S = 0.1, the rest 0) are exactly those of the corrected file
``BIOMD0000000711_corrected.xml``: the BioModels file with aE = 0.4 as in the paper's Table 2
(the deposited 0.1 does not reproduce the paper's high-virulence steady state).

The equations are split by who owns each state: the virus V (secretion by infected cells,
adsorption by healthy cells, non-specific removal, and the file's event that resets V to 0 if
it goes negative), the epithelium H, I, R and the dead cells D = 1 - H - R - I (an assignment
rule), the activated antigen-presenting cells M, interferon F, the cytotoxic T cells E (which
kill infected cells: a flux into I) and the humoral response P, A, S (antibody neutralises
virus: a flux into V). The file's rates carry a factor of the compartment volume, 1, which the
modules leave out. Assembled, they are the corrected BioModels model exactly.
"""

from __future__ import annotations

from collections.abc import Callable

from immunetwin.compose.module import Module, Port, Role, module
from immunetwin.formats import read_antimony

CITATION = (
    "Hancioglu B, Swigon D, Clermont G (2007) J Theor Biol 246:70-86, "
    "doi:10.1016/j.jtbi.2006.12.015 (BioModels BIOMD0000000711, aE corrected to 0.4)"
)
UNIT = "dimensionless"
RATE = "1 / day"
VIRUS = "NCBITaxon:11320"  # influenza A virus
HEALTHY = "immunetwin:healthy-epithelial-cells"
INFECTED = "immunetwin:infected-epithelial-cells"
RESISTANT = "immunetwin:virus-resistant-epithelial-cells"
DEAD = "immunetwin:dead-epithelial-cells"
APCS = "CL:0000145"  # professional antigen presenting cell (the paper's activated M)
INTERFERON = "immunetwin:type-I-interferon"  # the paper's F: alpha and beta interferon
CTL = "CL:0000910"  # cytotoxic T cell
PLASMA = "CL:0000786"  # plasma cell
ANTIBODY = "immunetwin:virus-specific-antibody"
COMPATIBILITY = "immunetwin:antigenic-compatibility"  # S: antibody-virus match, 0..1

_VIRUS = """
model hancioglu_virus
  compartment mucosa = 1;
  species V in mucosa = 0.01;
  I = 0; H = 1;                 // inputs: infected and healthy epithelial cells
  E_prod = 1;                   // optional input: a drug effect on secretion (1 = none)
  secretion: => V; gammaV*E_prod*I
  adsorption: V => ; gammaVH*H*V
  removal: V => ; alphaV*V
  saturable_removal: V => ; aV1*V/(1 + aV2*V)
  keep_nonnegative: at V < 0: V = 0;
  gammaV = 510; gammaVH = 1.02; alphaV = 1.7; aV1 = 100; aV2 = 23000;
end
"""

_EPITHELIUM = """
model hancioglu_epithelium
  compartment mucosa = 1;
  species H in mucosa = 1, I in mucosa = 0, R in mucosa = 0;
  V = 0; F = 0;                 // inputs: virus and interferon
  D := 1 - H - R - I;
  regeneration: => H; bHD*D*(H + R)
  resistance_decay: R => H; aR*R
  infection: H => I; gammaHV*V*H
  resistance_induction: H => R; bHF*F*H
  cytopathicity: I => ; aI*I
  bHD = 4; aR = 1; gammaHV = 0.34; bHF = 0.01; aI = 1.5;
end
"""

_APCS = """
model hancioglu_apcs
  compartment mucosa = 1;
  species M in mucosa = 0;
  D = 0; V = 0;                 // inputs: dead cells and virus
  activation: => M; (bMD*D + bMV*V)*(1 - M)
  deactivation: M => ; aM*M
  bMD = 1; bMV = 0.0037; aM = 1;
end
"""

_INTERFERON = """
model hancioglu_interferon
  compartment mucosa = 1;
  species F in mucosa = 0;
  M = 0; I = 0; H = 1;          // inputs: APCs, infected and healthy cells
  by_apcs: => F; bF*M
  by_infected: => F; cF*I
  binding: F => ; bFH*H*F
  decay: F => ; aF*F
  bF = 250000; cF = 2000; bFH = 17; aF = 8;
end
"""

_CTL = """
model hancioglu_ctl
  compartment mucosa = 1;
  species E in mucosa = 1;
  species I in mucosa = 0;      // infected cells (flux port): killed by CTLs
  M = 0;                        // input: APCs
  killing: I => ; bIE*E*I
  stimulation: => E; bEM*M*E
  exhaustion: E => ; bEI*I*E
  homeostasis: E => ; aE*(E - 1)
  bIE = 0.066; bEM = 8.3; bEI = 2.72; aE = 0.4;
end
"""

_ANTIBODY = """
model hancioglu_antibody
  compartment mucosa = 1;
  species P in mucosa = 1, A in mucosa = 1, S in mucosa = 0.1;
  species V in mucosa = 0;      // virus (flux port): neutralised by antibody
  M = 0;                        // input: APCs
  neutralisation: V => ; gammaVA*S*A*V
  plasma_stimulation: => P; bPM*M*P
  plasma_homeostasis: P => ; aP*(P - 1)
  secretion: => A; bA*P
  binding: A => ; gammaAV*S*A*V
  decay: A => ; aA*A
  maturation: => S; r*P*(1 - S)
  gammaVA = 619.2; bPM = 11.5; aP = 0.4; bA = 0.043; gammaAV = 146.25; aA = 0.043;
  r = 3e-05;
end
"""


def virus() -> Module:
    return module(
        "virus",
        read_antimony(_VIRUS),
        [
            Port("V", "V", Role.STATE, UNIT, VIRUS, description="viral load"),
            Port("I", "I", Role.INPUT, UNIT, INFECTED, description="secrete virus"),
            Port("H", "H", Role.INPUT, UNIT, HEALTHY, description="adsorb virus"),
            Port("gammaV", "gammaV", Role.PARAMETER, RATE, description="virus secretion rate"),
            Port(
                "E_prod",
                "E_prod",
                Role.INPUT,
                "dimensionless",
                required=False,
                description="factor on secretion, e.g. an antiviral's Emax inhibition",
            ),
        ],
        citation=CITATION,
        description="Virus: secretion by infected cells, adsorption by healthy cells, "
        "non-specific removal; an event keeps V >= 0.",
    )


def epithelium() -> Module:
    return module(
        "epithelium",
        read_antimony(_EPITHELIUM),
        [
            Port("H", "H", Role.STATE, UNIT, HEALTHY, description="healthy epithelial cells"),
            Port("I", "I", Role.STATE, UNIT, INFECTED, description="infected epithelial cells"),
            Port("R", "R", Role.STATE, UNIT, RESISTANT, description="virus-resistant cells"),
            Port("D", "D", Role.STATE, UNIT, DEAD, description="dead cells, 1 - H - R - I"),
            Port("V", "V", Role.INPUT, UNIT, VIRUS, description="infects healthy cells"),
            Port("F", "F", Role.INPUT, UNIT, INTERFERON, description="makes cells resistant"),
        ],
        citation=CITATION,
        description="Epithelium: infection, interferon-induced resistance and its decay, "
        "regeneration into dead space, cytopathic death of infected cells.",
    )


def apcs() -> Module:
    return module(
        "apcs",
        read_antimony(_APCS),
        [
            Port("M", "M", Role.STATE, UNIT, APCS, description="activated APCs"),
            Port("D", "D", Role.INPUT, UNIT, DEAD, description="activates APCs"),
            Port("V", "V", Role.INPUT, UNIT, VIRUS, description="activates APCs"),
        ],
        citation=CITATION,
        description="Activated antigen-presenting cells: activation by dead cells and virus, "
        "saturating at M = 1; deactivation.",
    )


def interferon() -> Module:
    return module(
        "interferon",
        read_antimony(_INTERFERON),
        [
            Port("F", "F", Role.STATE, UNIT, INTERFERON, description="alpha/beta interferon"),
            Port("M", "M", Role.INPUT, UNIT, APCS, description="secrete interferon"),
            Port("I", "I", Role.INPUT, UNIT, INFECTED, description="secrete interferon"),
            Port("H", "H", Role.INPUT, UNIT, HEALTHY, description="bind interferon"),
        ],
        citation=CITATION,
        description="Type I interferon: secretion by APCs and infected cells, binding by "
        "healthy cells, decay.",
    )


def ctl() -> Module:
    return module(
        "ctl",
        read_antimony(_CTL),
        [
            Port("E", "E", Role.STATE, UNIT, CTL, description="effector cytotoxic T cells"),
            Port("I", "I", Role.FLUX, UNIT, INFECTED, description="killing of infected cells"),
            Port("M", "M", Role.INPUT, UNIT, APCS, description="stimulate CTLs"),
            Port("aE", "aE", Role.PARAMETER, RATE, description="return to homeostasis"),
        ],
        citation=CITATION,
        description="Cytotoxic T cells: stimulation by APCs, loss on killing, homeostasis "
        "at E = 1; they kill infected cells.",
    )


def antibody() -> Module:
    return module(
        "antibody",
        read_antimony(_ANTIBODY),
        [
            Port("P", "P", Role.STATE, UNIT, PLASMA, description="plasma cells"),
            Port("A", "A", Role.STATE, UNIT, ANTIBODY, description="antibody"),
            Port("S", "S", Role.STATE, UNIT, COMPATIBILITY, description="antigenic match"),
            Port("V", "V", Role.FLUX, UNIT, VIRUS, description="neutralisation of virus"),
            Port("M", "M", Role.INPUT, UNIT, APCS, description="stimulate plasma cells"),
        ],
        citation=CITATION,
        description="Humoral response: plasma cells stimulated by APCs, antibody secretion, "
        "binding to and neutralising virus, decay; antigenic compatibility S rises towards 1.",
    )


def modules() -> tuple[Module, ...]:
    """The six modules; assembled with automatic matching they need no explicit wires."""
    return (virus(), epithelium(), apcs(), interferon(), ctl(), antibody())


MODULES: dict[str, Callable[[], Module]] = {
    "hancioglu.virus": virus,
    "hancioglu.epithelium": epithelium,
    "hancioglu.apcs": apcs,
    "hancioglu.interferon": interferon,
    "hancioglu.ctl": ctl,
    "hancioglu.antibody": antibody,
}
