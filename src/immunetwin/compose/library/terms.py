"""Ontology terms and units shared by the general-purpose library modules.

Modules that mean the same quantity declare the same term, so assembly can match them
automatically; where no ontology term fits, ``immunetwin:`` terms are our own vocabulary.
Cytokines use UniProt accessions of the human proteins, cells the Cell Ontology, pathogens
the NCBI Taxonomy.
"""

from __future__ import annotations

SARS_COV_2 = "NCBITaxon:2697049"
BACTERIUM = "immunetwin:bacterial-load"
TARGET_CELLS = "immunetwin:virus-target-epithelial-cells"
ECLIPSE_CELLS = "immunetwin:eclipse-phase-infected-cells"
INFECTED = "immunetwin:productively-infected-cells"
REFRACTORY = "immunetwin:interferon-refractory-cells"
INTERFERON = "immunetwin:type-I-interferon"  # also the Hancioglu modules' F
MACROPHAGES = "CL:0000583"  # alveolar macrophage (the activated fraction)
NEUTROPHILS = "CL:0000775"  # neutrophil (blood count)
NK_CELLS = "CL:0000623"  # natural killer cell
CD4_HELP = "CL:0000912"  # helper T cell
CD8_EFFECTORS = "CL:0000625"  # CD8-positive, alpha-beta T cell (effectors)
CD8_MEMORY = "CL:0000909"  # CD8-positive, alpha-beta memory T cell
PLASMA_CELLS = "CL:0000786"  # plasma cell
ANTIBODY = "immunetwin:virus-neutralising-antibody"
LYMPHOCYTES = "CL:0000542"  # lymphocyte (blood count)
IL6 = "uniprot:P05231"
TNF = "uniprot:P01375"
IL10 = "uniprot:P22301"
CRP = "uniprot:P02741"
DAMAGE = "immunetwin:lung-tissue-damage"

# Units; time is in days for all of these modules.
PER_ML = "1 / mL"  # cells or RNA copies per mL
CYTOKINE = "pg / mL"
BLOOD_COUNT = "1e9 / L"  # as clinical laboratories report leukocytes
RELATIVE = "dimensionless"
RATE = "1 / day"
