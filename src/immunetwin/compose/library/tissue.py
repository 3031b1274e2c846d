"""Tissue damage and the clinical markers a patient's laboratory reports.

Time in days.

- ``tissue.damage``: the damaged fraction D of lung tissue (0..1), caused by the death of
  infected cells and by activated neutrophils in a TNF-rich milieu (bystander damage), on
  the free fraction ``1 - D``; repaired at ``r_D`` (weeks). The form follows the damage
  variable of Reynolds et al. 2006 (J Theor Biol 242:220-236); constants are illustrative.
- ``marker.crp``: C-reactive protein (mg/L), synthesised by hepatocytes in response to IL-6
  (a sigmoid function of IL-6 signalling, so healthy IL-6 levels barely drive it) and
  cleared with its plasma half-life of 19 h (Pepys MB, Hirschfield GM. C-reactive protein:
  a critical update. J Clin Invest 111:1805-1812, 2003); baseline 1 mg/L, up to about
  200 mg/L. IL-6 receptor blockade lowers CRP through the optional ``il6_signalling`` input,
  as seen clinically with tocilizumab.
- ``marker.lymphocytes``: blood lymphocyte count (1e9/L) relaxing to its homeostatic level,
  depleted by IL-6 signalling - the lymphopenia of severe COVID-19 that tracks IL-6 (e.g.
  Giamarellos-Bourboulis EJ et al. Cell Host Microbe 27:992-1000, 2020).
"""

from __future__ import annotations

from collections.abc import Callable

from immunetwin.compose.library.terms import (
    BLOOD_COUNT,
    CRP,
    CYTOKINE,
    DAMAGE,
    IL6,
    INFECTED,
    LYMPHOCYTES,
    NEUTROPHILS,
    PER_ML,
    RELATIVE,
    TNF,
)
from immunetwin.compose.module import Module, Port, Role, module
from immunetwin.formats import read_antimony

PEPYS = "Pepys MB, Hirschfield GM (2003) J Clin Invest 111:1805-1812, doi:10.1172/JCI18921"
GIAMARELLOS = "Giamarellos-Bourboulis EJ et al. (2020) Cell Host Microbe 27:992-1000"

_DAMAGE = """
model tissue_damage
  compartment lung = 1;
  species D in lung = 0;
  I = 0; N = 4; TNF = 5;        // inputs: infected cells, blood neutrophils, TNF (pg/mL)
  N_ref = 4;                    // neutrophil count at which bystander damage is k_N*TNF-drive
  cytopathic := k_I*I/(I + K_I);
  bystander := k_N*(N/N_ref)*TNF^2/(TNF^2 + KT^2);
  injury: => D; (cytopathic + bystander)*(1 - D)
  repair: D => ; r_D*D
  k_I = 0.1; K_I = 5000; k_N = 0.04; KT = 30; r_D = 0.1;
end
"""

_CRP = """
model marker_crp
  compartment blood = 1;
  species CRP in blood = 1;
  IL6 = 2;                      // input: IL-6 (pg/mL)
  il6_signalling = 1;           // optional input: e.g. IL-6 receptor blockade (1 = none)
  drive := (IL6*il6_signalling)^2/((IL6*il6_signalling)^2 + K6^2);
  synthesis: => CRP; d_C*CRP_0 + s_C*drive
  clearance: CRP => ; d_C*CRP
  CRP_0 = 1; d_C = 0.8755; s_C = 175; K6 = 50;
end
"""

_LYMPHOCYTES = """
model marker_lymphocytes
  compartment blood = 1;
  species L in blood = 2;
  IL6 = 2;                      // input: IL-6 (pg/mL)
  il6_signalling = 1;           // optional input: e.g. IL-6 receptor blockade (1 = none)
  drive := (IL6*il6_signalling)^2/((IL6*il6_signalling)^2 + K6^2);
  homeostasis: => L; d_L*L0
  loss: L => ; (d_L + k_L*drive)*L
  L0 = 2; d_L = 0.5; k_L = 1; K6 = 50;
end
"""

_SIGNALLING = Port(
    "il6_signalling",
    "il6_signalling",
    Role.INPUT,
    RELATIVE,
    required=False,
    description="factor on IL-6 signalling (e.g. receptor blockade)",
)


def damage() -> Module:
    return module(
        "damage",
        read_antimony(_DAMAGE),
        [
            Port("D", "D", Role.STATE, RELATIVE, DAMAGE, description="damaged tissue fraction"),
            Port("I", "I", Role.INPUT, PER_ML, INFECTED, description="cytopathic damage"),
            Port("N", "N", Role.INPUT, BLOOD_COUNT, NEUTROPHILS, description="bystander damage"),
            Port("TNF", "TNF", Role.INPUT, CYTOKINE, TNF, description="bystander damage"),
            Port("r_D", "r_D", Role.PARAMETER, "1 / day", description="repair rate"),
        ],
        citation="Damage form of Reynolds A et al. (2006) J Theor Biol 242:220-236",
        description="Lung tissue damage from infected-cell death and neutrophils with TNF.",
        parameter_sources=(
            ("r_D", "chosen: repair over weeks"),
            ("k_I", "illustrative"),
            ("k_N", "illustrative"),
            ("KT", "chosen: Del Valle 2020 TNF threshold 35 pg/mL"),
        ),
    )


def crp() -> Module:
    return module(
        "crp",
        read_antimony(_CRP),
        [
            Port("CRP", "CRP", Role.STATE, "mg / L", CRP, description="C-reactive protein"),
            Port("IL6", "IL6", Role.INPUT, CYTOKINE, IL6, description="drives synthesis"),
            _SIGNALLING,
        ],
        citation=PEPYS,
        description="C-reactive protein driven by IL-6, plasma half-life 19 h.",
        parameter_sources=(
            ("d_C", "Pepys 2003: plasma half-life 19 h"),
            ("CRP_0", "chosen: healthy level about 1 mg/L"),
            ("s_C", "chosen: maximal CRP about 200 mg/L"),
            ("K6", "illustrative"),
        ),
    )


def lymphocytes() -> Module:
    return module(
        "lymphocytes",
        read_antimony(_LYMPHOCYTES),
        [
            Port("L", "L", Role.STATE, BLOOD_COUNT, LYMPHOCYTES, description="blood count"),
            Port("IL6", "IL6", Role.INPUT, CYTOKINE, IL6, description="drives lymphopenia"),
            _SIGNALLING,
        ],
        citation=GIAMARELLOS,
        description="Blood lymphocyte count, depleted by IL-6 signalling (lymphopenia).",
        parameter_sources=(
            ("L0", "chosen: healthy count 2e9/L"),
            ("d_L", "illustrative"),
            ("k_L", "illustrative: count below 1e9/L at storm IL-6"),
        ),
    )


MODULES: dict[str, Callable[[], Module]] = {
    "tissue.damage": damage,
    "marker.crp": crp,
    "marker.lymphocytes": lymphocytes,
}
