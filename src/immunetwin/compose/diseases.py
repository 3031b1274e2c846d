"""Composed disease models, built from library modules.

``sepsis``: Reynolds et al. 2006 (pathogen, activated phagocytes, tissue damage,
anti-inflammatory mediator; four modules) + a one-compartment IV antibacterial (PK library)
whose concentration drives sigmoid-Emax killing of the pathogen (Czock & Keller 2007). What it
shows (tests/compose/test_diseases.py): untreated, a fast-growing pathogen (k_pg = 0.6/h)
ends in septic death and a higher inoculum at k_pg = 0.3/h crosses from health to aseptic
death; the antibacterial started 2 h after infection (500 mg every 8 h) restores health,
while started at 6 h it clears the pathogen but not the inflammation (aseptic death) -
the model's version of "time to antibiotics" in sepsis. Parameter sources: Reynolds 2006
Table 1 (BIOMD0000000714); the drug's PK (CL 5 L/h, V 20 L) and kill parameters are
illustrative defaults, not a named antibiotic.

``influenza_pneumonia``: Hancioglu, Swigon & Clermont 2007 (virus, epithelium, interferon,
antigen-presenting cells, CTL, plasma cells and antibody; six modules that reproduce the
corrected BIOMD0000000711) + an oral antiviral (one-compartment PK) whose Emax inhibition
multiplies virion secretion. What it shows (tests): untreated, the default inoculum grows to
a high viral peak (~99 on day ~6) with an interferon surge and near-total loss of healthy
epithelium; the antiviral from day 1 (every 12 h for 5 days) keeps the virus at its inoculum,
interferon low and the epithelium intact. Dimensionless, time in days. Parameter sources:
Hancioglu 2007 Table 2 (aE = 0.4); the antiviral (ka 24/day, CL 2.8 L/day so t1/2 about 6 h,
V 1 L, Imax 0.95, IC50 0.5) is illustrative, not a named drug. This is the model's first
version: cytokines of a SARS-CoV-2-like storm (IL-6, TNF) and corticosteroid / anti-IL-6
arms still need sourced modules.
"""

from __future__ import annotations

from collections.abc import Mapping

from immunetwin.compose.assemble import Composition, Wire, assemble
from immunetwin.compose.dosing import Regimen, doses_as_events
from immunetwin.compose.library import antibacterial, hancioglu, pkpd, reynolds


def sepsis(
    parameters: Mapping[str, float] | None = None,
    regimen: Regimen | None = None,
) -> Composition:
    """The sepsis model; ``parameters`` by "module.id" (e.g. "pathogen.k_pg", "pathogen.P"
    for the inoculum); ``regimen`` doses the antibacterial (drug "drug", IV bolus in mg)."""
    modules = [*reynolds.modules(), pkpd.one_compartment("drug", "iv"), antibacterial.killing()]
    composition = assemble(
        modules,
        [Wire("drug.C", "killing.C")],
        name="sepsis_antibacterial",
        parameters={"drug.CL": 5.0, "drug.V": 20.0, **(parameters or {})},
    )
    if regimen is None:
        return composition
    dosed = doses_as_events(composition.model, regimen, "drug_A")
    return Composition(dosed, composition.modules, composition.connections)


def influenza_pneumonia(
    parameters: Mapping[str, float] | None = None,
    regimen: Regimen | None = None,
) -> Composition:
    """The influenza pneumonia model; ``regimen`` doses the antiviral (drug "antiviral",
    oral, amounts in mg, times in days)."""
    modules = [
        *hancioglu.modules(),
        pkpd.one_compartment("antiviral", "oral"),
        pkpd.emax_effect("antiviral_effect", "inhibition"),
    ]
    defaults = {
        "antiviral.ka": 24.0,
        "antiviral.CL": 2.8,
        "antiviral.V": 1.0,
        "antiviral.F": 1.0,
        "antiviral_effect.Imax": 0.95,
        "antiviral_effect.IC50": 0.5,
    }
    composition = assemble(
        modules,
        [
            Wire("antiviral.C", "antiviral_effect.C"),
            Wire("antiviral_effect.E", "virus.E_prod"),
        ],
        name="influenza_pneumonia",
        parameters={**defaults, **(parameters or {})},
    )
    if regimen is None:
        return composition
    dosed = doses_as_events(composition.model, regimen, "antiviral_A_gut")
    return Composition(dosed, composition.modules, composition.connections)
