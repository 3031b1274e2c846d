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
version; the SARS-CoV-2-like model below adds the cytokines of a storm.

``viral_pneumonia``: a SARS-CoV-2-like pneumonia with cytokine storm from fourteen library
modules: target-cell-limited virus with an eclipse phase (SARS-CoV-2 defaults), type I
interferon (refractory cells), NK cells, activated alveolar macrophages, IL-6, TNF and IL-10,
blood neutrophils, lung tissue damage, CD4 help, CD8 effector and memory T cells, plasma
cells and neutralising antibody, CRP and blood lymphocytes - plus three drugs, each a PK
module and an Emax PD module: an oral antiviral inhibiting virion production, a
corticosteroid inhibiting induced IL-6 and TNF production, and an anti-IL-6-receptor
antibody blocking IL-6 signalling (neutrophilia, CRP, lymphopenia). Time in days from
infection. What it shows is asserted in tests/compose/test_viral_pneumonia.py and documented
in docs/viral-pneumonia.md, with every parameter's source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from immunetwin.compose.assemble import Composition, Wire, assemble
from immunetwin.compose.dosing import Regimen, doses_as_events
from immunetwin.compose.library import (
    adaptive,
    antibacterial,
    cytokines,
    hancioglu,
    innate,
    pathogens,
    pkpd,
    reynolds,
    tissue,
)
from immunetwin.compose.module import Module
from immunetwin.errors import InvalidInputError


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


# Drug -> (PK module, PD module, the placeholder its doses go to, PD effect targets, defaults).
# Times are in days, so PK rates are per day; amounts in mg, concentrations in mg/L.
_PNEUMONIA_DRUGS: dict[str, tuple[str, tuple[str, ...], dict[str, float]]] = {
    # An oral antiviral with a half-life of about 6 h and V 100 L (a boosted-nirmatrelvir-like
    # profile: 300 mg every 12 h); Imax 0.95 at IC50 0.1 mg/L is illustrative.
    "antiviral": (
        "oral",
        ("virus.eps_production",),
        {"ka": 24.0, "CL": 277.0, "V": 100.0, "F": 1.0, "Imax": 0.95, "IC50": 0.1},
    ),
    # Dexamethasone-like: 6 mg once daily (RECOVERY), V 50 L, half-life about 4 h; the IC50
    # for suppressing induced cytokine production is illustrative.
    "corticosteroid": (
        "iv",
        ("il6.suppression", "tnf.suppression"),
        {"CL": 210.0, "V": 50.0, "Imax": 0.8, "IC50": 0.02},
    ),
    # Tocilizumab-like: 8 mg/kg IV (560 mg), V 6.4 L and linear CL 0.3 L/day (half-life about
    # 15 days at high concentrations); IL-6 receptor blockade with IC50 1 mg/L.
    "anti_il6": (
        "iv",
        ("neutrophils.il6_signalling", "crp.il6_signalling", "lymphocytes.il6_signalling"),
        {"CL": 0.3, "V": 6.4, "Imax": 0.95, "IC50": 1.0},
    ),
}
PNEUMONIA_DRUGS = tuple(_PNEUMONIA_DRUGS)

# Disease defaults that differ from the modules' own (chosen for this disease, see the docs).
_PNEUMONIA_DISEASE = {
    "virus.V": 100.0,  # copies/mL at time 0: the peak comes about a week after infection
    "interferon.phi": 0.5,
    "damage.r_D": 0.2,
    # Initial state: the healthy (uninfected) steady state of the assembled model, so that
    # without virus nothing moves (tests/compose/test_viral_pneumonia.py checks it).
    "macrophages.m": 0.00106163,
    "il6.IL6": 2.27644,
    "tnf.TNF": 5.05529,
    "il10.IL10": 3.04247,
    "neutrophils.N": 3.3558,
    "damage.D": 0.00461156,
    "crp.CRP": 1.41348,
    "lymphocytes.L": 1.99176,
}


def pneumonia_dose_target(drug: str) -> str:
    """The species of :func:`viral_pneumonia`'s model that a dose of ``drug`` adds to."""
    if drug not in _PNEUMONIA_DRUGS:
        raise InvalidInputError(
            f"viral_pneumonia has no drug '{drug}'; its drugs are {', '.join(PNEUMONIA_DRUGS)}"
        )
    return f"{drug}_{'A_gut' if _PNEUMONIA_DRUGS[drug][0] == 'oral' else 'A'}"


def viral_pneumonia_modules() -> tuple[Module, ...]:
    """The fourteen disease modules (no drugs)."""
    return (
        pathogens.tcl_eclipse(),
        innate.interferon(),
        innate.nk_cells(),
        innate.macrophages(),
        cytokines.il6(),
        cytokines.tnf(),
        cytokines.il10(),
        innate.neutrophils(),
        tissue.damage(),
        adaptive.cd4_help(),
        adaptive.cd8(),
        adaptive.b_cells(),
        tissue.crp(),
        tissue.lymphocytes(),
    )


def viral_pneumonia(
    parameters: Mapping[str, float] | None = None,
    regimens: Sequence[Regimen] = (),
) -> Composition:
    """The SARS-CoV-2-like pneumonia with its three drugs; ``regimens`` dose them by drug
    name ("antiviral" oral, "corticosteroid" and "anti_il6" IV; mg, days)."""
    modules = list(viral_pneumonia_modules())
    wires: list[Wire] = [Wire("damage.D", "macrophages.D")]
    defaults: dict[str, float] = {}
    for drug, (route, targets, values) in _PNEUMONIA_DRUGS.items():
        effect = f"{drug}_effect"
        modules += [
            pkpd.one_compartment(drug, "oral" if route == "oral" else "iv"),
            pkpd.emax_effect(effect, "inhibition", hill=False),
        ]
        wires.append(Wire(f"{drug}.C", f"{effect}.C"))
        wires += [Wire(f"{effect}.E", target) for target in targets]
        for key, value in values.items():
            owner = effect if key in ("Imax", "IC50") else drug
            defaults[f"{owner}.{key}"] = value
    composition = assemble(
        modules,
        wires,
        name="viral_pneumonia",
        parameters={**defaults, **_PNEUMONIA_DISEASE, **(parameters or {})},
    )
    model = composition.model
    for regimen in regimens:
        if regimen.drug not in _PNEUMONIA_DRUGS:
            raise InvalidInputError(
                f"viral_pneumonia has no drug '{regimen.drug}'; its drugs are "
                f"{', '.join(PNEUMONIA_DRUGS)}"
            )
        model = doses_as_events(model, regimen, pneumonia_dose_target(regimen.drug))
    return Composition(model, composition.modules, composition.connections)
