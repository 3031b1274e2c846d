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
"""

from __future__ import annotations

from collections.abc import Mapping

from immunetwin.compose.assemble import Composition, Wire, assemble
from immunetwin.compose.dosing import Regimen, doses_as_events
from immunetwin.compose.library import antibacterial, pkpd, reynolds


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
