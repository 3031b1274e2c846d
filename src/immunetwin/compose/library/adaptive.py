"""Adaptive immunity: CD4 help, CD8 effector and memory T cells, plasma cells and antibody.

Time in days; cell numbers are relative to their pre-infection precursor pool (1 = baseline),
so they can be personalised by a single scale. Antigen is sensed as ``V/(V + K_V)``.

- ``adaptive.cd4``: helper T cells expand clonally while antigen is present
  (``r_H*antigen*H``) and return to baseline at ``d_H``; help is ``H/(H + K_H)``.
- ``adaptive.cd8``: effector CD8 T cells expand clonally with antigen and help, contract at
  ``d_E`` (the expansion-contraction programme of De Boer RJ et al. (2001) Recruitment times,
  proliferation, and apoptosis rates during the CD8+ T-cell response to lymphocytic
  choriomeningitis virus. J Virol 75:10663-10669: doubling about every 8 h, contraction
  about 0.5/day); a fraction becomes long-lived memory; effectors and (tissue-resident)
  memory cells kill infected cells (flux into I; memory cells, positioned at the site,
  kill more per cell, ``k_M``), so memory protects against a rebound.
- ``adaptive.b_cells``: plasma cells are recruited and expand with antigen and help; they
  secrete neutralising antibody, which clears virions (flux into V). Antibody decays at
  0.1/day (between IgM, days, and IgG, about 3 weeks).

Expansion and killing constants are illustrative defaults chosen so that adaptive immunity
clears a SARS-CoV-2-like infection in about two weeks; calibrate them for a patient.
"""

from __future__ import annotations

from collections.abc import Callable

from immunetwin.compose.library.terms import (
    ANTIBODY,
    CD4_HELP,
    CD8_EFFECTORS,
    CD8_MEMORY,
    INFECTED,
    PER_ML,
    PLASMA_CELLS,
    RATE,
    RELATIVE,
    SARS_COV_2,
)
from immunetwin.compose.module import Module, Port, Role, module
from immunetwin.formats import read_antimony

DE_BOER = "De Boer RJ et al. (2001) J Virol 75:10663-10669, doi:10.1128/JVI.75.22.10663-10669.2001"

_CD4 = """
model adaptive_cd4
  compartment lymph = 1;
  species H in lymph = 1;
  V = 0;                        // input: virus (antigen)
  antigen := V/(V + K_V);
  expansion: => H; r_H*antigen*H
  return_to_baseline: H => ; d_H*(H - 1)
  r_H = 1.5; K_V = 100; d_H = 0.3;
end
"""

_CD8 = """
model adaptive_cd8
  compartment lymph = 1;
  species E8 in lymph = 1, M8 in lymph = 0;
  species I in lymph = 0;       // infected cells (flux port): killed by effectors
  V = 0; H = 1;                 // inputs: virus (antigen), CD4 help
  antigen := V/(V + K_V);
  help := H/(H + K_H);
  expansion: => E8; r_E*antigen*(0.2 + help)*E8
  contraction: E8 => ; d_E*(E8 - 1)
  memory: E8 => M8; m_E*(E8 - 1)
  memory_loss: M8 => ; d_M*M8
  killing: I => ; (k_E*E8 + k_M*M8)*I
  r_E = 2; K_V = 100; K_H = 10; d_E = 0.5; m_E = 0.02; d_M = 0.002; k_E = 0.001; k_M = 0.02;
end
"""

_B_CELLS = """
model adaptive_b_cells
  compartment lymph = 1;
  species P in lymph = 0, Ab in lymph = 0;
  species V in lymph = 0;       // virus (flux port): neutralised by antibody
  H = 1;                        // input: CD4 help
  antigen := V/(V + K_V);
  help := H/(H + K_H);
  recruitment: => P; a_P*antigen*help
  expansion: => P; r_P*antigen*help*P
  death: P => ; d_P*P
  secretion: => Ab; s_A*P
  decay: Ab => ; d_A*Ab
  neutralisation: V => ; k_AV*Ab*V
  a_P = 0.1; r_P = 1.2; K_V = 100; K_H = 10; d_P = 0.2; s_A = 1; d_A = 0.1; k_AV = 0.02;
end
"""


def _antigen_sources(*extra: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    return (("K_V", "illustrative: antigen presented from about 100 copies/mL"), *extra)


def cd4_help() -> Module:
    return module(
        "cd4",
        read_antimony(_CD4),
        [
            Port("H", "H", Role.STATE, RELATIVE, CD4_HELP, description="helper T cells"),
            Port("V", "V", Role.INPUT, PER_ML, SARS_COV_2, description="antigen"),
        ],
        citation=DE_BOER,
        description="CD4 helper T cells expanding with antigen; help for CD8 and B cells.",
        parameter_sources=_antigen_sources(("r_H", "illustrative"), ("d_H", "illustrative")),
    )


def cd8() -> Module:
    return module(
        "cd8",
        read_antimony(_CD8),
        [
            Port("E8", "E8", Role.STATE, RELATIVE, CD8_EFFECTORS, description="effector CD8"),
            Port("M8", "M8", Role.STATE, RELATIVE, CD8_MEMORY, description="memory CD8"),
            Port("I", "I", Role.FLUX, PER_ML, INFECTED, description="killing of infected cells"),
            Port("V", "V", Role.INPUT, PER_ML, SARS_COV_2, description="antigen"),
            Port("H", "H", Role.INPUT, RELATIVE, CD4_HELP, description="CD4 help"),
            Port("r_E", "r_E", Role.PARAMETER, RATE, description="maximal expansion rate"),
            Port("k_E", "k_E", Role.PARAMETER, RATE, description="killing per effector"),
        ],
        citation=DE_BOER,
        description="CD8 effectors (expansion with antigen and help, contraction, killing) "
        "and memory.",
        parameter_sources=_antigen_sources(
            ("r_E", "De Boer 2001: doubling about every 8 h"),
            ("d_E", "De Boer 2001: contraction about 0.5/day"),
            ("k_E", "illustrative"),
            ("m_E", "illustrative: a few percent become memory"),
            ("k_M", "illustrative: memory keeps the within-host R below 1 after recovery"),
        ),
    )


def b_cells() -> Module:
    return module(
        "b_cells",
        read_antimony(_B_CELLS),
        [
            Port("P", "P", Role.STATE, RELATIVE, PLASMA_CELLS, description="plasma cells"),
            Port("Ab", "Ab", Role.STATE, RELATIVE, ANTIBODY, description="neutralising antibody"),
            Port("V", "V", Role.FLUX, PER_ML, SARS_COV_2, description="neutralisation"),
            Port("H", "H", Role.INPUT, RELATIVE, CD4_HELP, description="CD4 help"),
            Port("k_AV", "k_AV", Role.PARAMETER, RATE, description="neutralisation rate"),
        ],
        citation="Humoral response with CD4 help; antibody decay between IgM and IgG",
        description="Plasma cells (recruited and expanding with antigen and help) secreting "
        "neutralising antibody.",
        parameter_sources=_antigen_sources(
            ("d_A", "chosen: between IgM (days) and IgG (about 3 weeks) half-lives"),
            ("r_P", "illustrative"),
            ("k_AV", "illustrative"),
        ),
    )


MODULES: dict[str, Callable[[], Module]] = {
    "adaptive.cd4": cd4_help,
    "adaptive.cd8": cd8,
    "adaptive.b_cells": b_cells,
}
