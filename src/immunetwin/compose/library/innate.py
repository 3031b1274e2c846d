"""Innate immunity: type I interferon, alveolar macrophages, neutrophils and NK cells.

Time in days. These modules give the mechanisms their standard published forms; most rate
constants are illustrative defaults chosen for a SARS-CoV-2-like pneumonia (each module's
``parameter_sources`` says which), to be personalised by calibration.

- ``innate.interferon``: interferon F (relative activity, 1 = half-maximal antiviral effect)
  secreted by infected cells, decaying; it makes target cells refractory to infection at rate
  ``phi*F*T``, and refractory cells revert at rate ``rho`` - the form of Pawelek KA et al.
  (2012) Modeling within-host dynamics of influenza virus infection including immune
  responses. PLoS Comput Biol 8:e1002588. Flux port ``T``: refractory conversion.
- ``innate.macrophages``: the activated fraction m of alveolar macrophages, activated by
  infected cells and by tissue damage (damage-associated molecular patterns, a sigmoid
  function of the damaged fraction so that healthy tissue does not activate them),
  deactivating at ``d_m`` - the activation form of Reynolds et al. 2006 (J Theor Biol 242:220-236).
- ``innate.neutrophils``: blood neutrophil count relaxing to its homeostatic level N0, raised
  by IL-6 and TNF (emergency granulopoiesis and demargination); blood half-life of a few hours
  (Summers C et al. 2010 Trends Immunol 31:318-324 discuss 7-19 h).
- ``innate.nk``: NK cells (relative to baseline) activated by interferon, killing infected
  cells (flux into I).
"""

from __future__ import annotations

from collections.abc import Callable

from immunetwin.compose.library.terms import (
    BLOOD_COUNT,
    CYTOKINE,
    DAMAGE,
    IL6,
    INFECTED,
    INTERFERON,
    MACROPHAGES,
    NEUTROPHILS,
    NK_CELLS,
    PER_ML,
    RATE,
    REFRACTORY,
    RELATIVE,
    TARGET_CELLS,
    TNF,
)
from immunetwin.compose.module import Module, Port, Role, module
from immunetwin.formats import read_antimony

PAWELEK = "Pawelek KA et al. (2012) PLoS Comput Biol 8:e1002588"
REYNOLDS = "Reynolds A et al. (2006) J Theor Biol 242:220-236"
SUMMERS = "Summers C et al. (2010) Trends Immunol 31:318-324"

_INTERFERON = """
model innate_interferon
  compartment airway = 1;
  species F in airway = 0, R in airway = 0;
  species T in airway = 0;      // target cells (flux port): made refractory
  I = 0;                        // input: infected cells
  secretion: => F; s_F*I/(I + K_F)
  decay: F => ; d_F*F
  refractory: T => R; phi*F*T
  reversion: R => T; rho*R
  s_F = 4; K_F = 1000; d_F = 4; phi = 2; rho = 0.5;
end
"""

_MACROPHAGES = """
model innate_macrophages
  compartment lung = 1;
  species m in lung = 0;
  I = 0; D = 0;                 // inputs: infected cells, tissue damage
  activation: => m; (a_I*I/(I + K_I) + a_D*D^2/(D^2 + K_D^2))*(1 - m)
  deactivation: m => ; d_m*m
  a_I = 1; K_I = 1000; a_D = 1; K_D = 0.2; d_m = 0.5;
end
"""

_NEUTROPHILS = """
model innate_neutrophils
  compartment blood = 1;
  species N in blood = 4;
  IL6 = 2; TNF = 5;             // inputs: cytokines (pg/mL)
  il6_signalling = 1;           // optional input: e.g. IL-6 receptor blockade (1 = none)
  il6_drive := (IL6*il6_signalling)^2/((IL6*il6_signalling)^2 + K6^2);
  tnf_drive := TNF^2/(TNF^2 + KT^2);
  production: => N; d_N*N0*(1 + g6*il6_drive + gT*tnf_drive)
  removal: N => ; d_N*N
  N0 = 3.3; d_N = 2; g6 = 1.5; K6 = 50; gT = 0.5; KT = 30;
end
"""

_NK = """
model innate_nk
  compartment lung = 1;
  species K in lung = 1;
  species I in lung = 0;        // infected cells (flux port): killed by NK cells
  F = 0;                        // input: interferon
  turnover: => K; d_K*(1 + a_K*F)
  death: K => ; d_K*K
  killing: I => ; k_K*K*I
  d_K = 1; a_K = 2; k_K = 0.2;
end
"""


def interferon() -> Module:
    return module(
        "interferon",
        read_antimony(_INTERFERON),
        [
            Port("F", "F", Role.STATE, RELATIVE, INTERFERON, description="interferon activity"),
            Port("R", "R", Role.STATE, PER_ML, REFRACTORY, description="refractory cells"),
            Port("T", "T", Role.FLUX, PER_ML, TARGET_CELLS, description="made refractory"),
            Port("I", "I", Role.INPUT, PER_ML, INFECTED, description="secrete interferon"),
            Port("phi", "phi", Role.PARAMETER, RATE, description="refractory conversion"),
        ],
        citation=PAWELEK,
        description="Type I interferon from infected cells; makes target cells refractory.",
        parameter_sources=(
            ("d_F", "chosen: interferon half-life about 4 h"),
            ("phi", "illustrative (Pawelek 2012 form)"),
            ("rho", "illustrative (Pawelek 2012 form)"),
            ("s_F", "scale: F = 1 at maximal secretion"),
        ),
    )


def macrophages() -> Module:
    return module(
        "macrophages",
        read_antimony(_MACROPHAGES),
        [
            Port("m", "m", Role.STATE, RELATIVE, MACROPHAGES, description="activated fraction"),
            Port("I", "I", Role.INPUT, PER_ML, INFECTED, description="activate macrophages"),
            Port("D", "D", Role.INPUT, RELATIVE, DAMAGE, description="activates (DAMPs)"),
            Port("a_D", "a_D", Role.PARAMETER, RATE, description="activation by damage"),
        ],
        citation=REYNOLDS,
        description="Activated alveolar macrophages: activation by infection and damage.",
        parameter_sources=(
            ("d_m", "chosen: activated state lasts about 2 days"),
            ("a_I", "illustrative"),
            ("a_D", "illustrative: damage feedback that sustains a storm"),
        ),
    )


def neutrophils() -> Module:
    return module(
        "neutrophils",
        read_antimony(_NEUTROPHILS),
        [
            Port("N", "N", Role.STATE, BLOOD_COUNT, NEUTROPHILS, description="blood neutrophils"),
            Port("IL6", "IL6", Role.INPUT, CYTOKINE, IL6, description="drives neutrophilia"),
            Port("TNF", "TNF", Role.INPUT, CYTOKINE, TNF, description="drives neutrophilia"),
            Port(
                "il6_signalling",
                "il6_signalling",
                Role.INPUT,
                RELATIVE,
                required=False,
                description="factor on IL-6 signalling (e.g. receptor blockade)",
            ),
            Port("N0", "N0", Role.PARAMETER, BLOOD_COUNT, description="homeostatic count"),
        ],
        citation=SUMMERS,
        description="Blood neutrophil count, raised by IL-6 and TNF.",
        parameter_sources=(
            ("N0", "chosen: within the normal range 2-7.5e9/L"),
            ("d_N", "chosen: blood half-life about 8 h (Summers 2010: 7-19 h)"),
            ("g6", "illustrative: about 3x neutrophilia at storm IL-6"),
            ("K6", "illustrative"),
        ),
    )


def nk_cells() -> Module:
    return module(
        "nk",
        read_antimony(_NK),
        [
            Port("K", "K", Role.STATE, RELATIVE, NK_CELLS, description="NK cells, 1 = baseline"),
            Port("I", "I", Role.FLUX, PER_ML, INFECTED, description="killing of infected cells"),
            Port("F", "F", Role.INPUT, RELATIVE, INTERFERON, description="activates NK cells"),
        ],
        citation="Pawelek 2012 form; NK activation by type I interferon",
        description="NK cells activated by interferon, killing infected cells.",
        parameter_sources=(("k_K", "illustrative"), ("a_K", "illustrative")),
    )


MODULES: dict[str, Callable[[], Module]] = {
    "innate.interferon": interferon,
    "innate.macrophages": macrophages,
    "innate.neutrophils": neutrophils,
    "innate.nk": nk_cells,
}
