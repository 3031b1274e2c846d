"""Write the composed disease models into the shipped catalogue.

For each composed model (``immunetwin.compose``) this writes its flat SBML to
``src/immunetwin/catalog/data/models/<id>.xml`` and its entry to ``composed.json`` (merged by
``catalog/seed.py``), with the port terms of its modules as the entry's ontology terms and the
composition record (modules, versions, wires) in the curation notes. Rerun after changing a
library module: ``python scripts/build_composed.py``, then
``python scripts/build_simulatability.py sepsis_composed kirschner_composed
influenza_composed viral_pneumonia_composed``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys

from immunetwin.catalog.annotations import curated_label, facet_of
from immunetwin.catalog.entry import Category, Citation, CurationNote, OntologyTerm, Provenance
from immunetwin.catalog.extract import entry_from_model
from immunetwin.catalog.reproduce import DATA
from immunetwin.compose import Composition, assemble
from immunetwin.compose.diseases import influenza_pneumonia, sepsis, viral_pneumonia
from immunetwin.compose.library import kirschner
from immunetwin.formats import to_sbml_string

SOURCE = "composed by immunetwin from its module library"


def _terms(composition: Composition) -> tuple[OntologyTerm, ...]:
    seen: dict[str, OntologyTerm] = {}
    for module in composition.modules:
        for port in module.ports:
            if port.term and ":" in port.term and not port.term.startswith("immunetwin:"):
                seen.setdefault(
                    port.term,
                    OntologyTerm(
                        accession=port.term,
                        label=curated_label(port.term) or port.description or port.name,
                        facet=facet_of(port.term),
                        element=f"{module.name}_{port.target}",
                        label_source="curated" if curated_label(port.term) else "element-name",
                    ),
                )
    return tuple(seen.values())


def _entry(entry_id: str, alias: str, composition: Composition, **fields: object) -> object:
    text = to_sbml_string(composition.model)
    path = DATA / "models" / f"{entry_id}.xml"
    path.write_text(text, encoding="utf-8")
    record = json.dumps(composition.record(), sort_keys=True)
    entry = entry_from_model(
        composition.model,
        id=entry_id,
        alias=alias,
        model_format="sbml",
        provenance=Provenance(
            source=SOURCE,
            licence="CC0-1.0",
            sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            file=f"models/{entry_id}.xml",
        ),
        extra_terms=_terms(composition),
        **fields,  # type: ignore[arg-type]
    )
    note = CurationNote("note", f"composition record: {record}", "immunetwin.compose")
    return {**entry.to_dict(), "curation_notes": [dataclasses.asdict(note)]}


def main() -> int:
    entries = [
        _entry(
            "sepsis_composed",
            "sepsis-antibacterial",
            sepsis({"pathogen.k_pg": 0.6}),
            category=Category.INFLAMMATION_SEPSIS,
            title="Sepsis with antibacterial therapy (Reynolds 2006 modules + antibacterial PK/PD)",
            description=(
                "Acute inflammation and sepsis: pathogen, activated phagocytes, tissue damage and "
                "anti-inflammatory mediator (Reynolds 2006, as modules) plus an IV antibacterial "
                "with sigmoid-Emax killing; doses via compose.dosing. Untreated (k_pg = 0.6/h): "
                "septic death; antibacterial from 2 h restores health, from 6 h aseptic death."
            ),
            citation=Citation(authors=("immunetwin",), year=2026, title="composed model"),
        ),
        _entry(
            "kirschner_composed",
            "tumour-il2-immunotherapy",
            assemble(kirschner.modules(), name="kirschner_composed"),
            category=Category.TUMOUR_IMMUNE,
            title="Tumour immunotherapy with IL-2 and adoptive cells (Kirschner & Panetta 1998 "
            "modules)",
            description=(
                "Tumour, effector cells and IL-2 (Kirschner & Panetta 1998, as three modules; "
                "reproduces BIOMD0000000732) with adoptive cell therapy (effectors.s1) and IL-2 "
                "infusion (il2.s2) as parameters."
            ),
            citation=Citation(authors=("immunetwin",), year=2026, title="composed model"),
        ),
        _entry(
            "influenza_composed",
            "influenza-pneumonia-antiviral",
            influenza_pneumonia(),
            category=Category.INFECTION_VIRAL,
            title="Influenza pneumonia with antiviral therapy (Hancioglu 2007 modules + "
            "antiviral PK/PD)",
            description=(
                "Influenza A infection of the respiratory epithelium with interferon, "
                "antigen-presenting cells, cytotoxic T cells and antibody (Hancioglu 2007 with "
                "aE = 0.4, as six modules) plus an oral antiviral whose Emax inhibition reduces "
                "virion secretion; early antiviral keeps the epithelium intact."
            ),
            citation=Citation(authors=("immunetwin",), year=2026, title="composed model"),
        ),
        _entry(
            "viral_pneumonia_composed",
            "sars-cov-2-pneumonia-cytokine-storm",
            viral_pneumonia(),
            category=Category.INFECTION_VIRAL,
            title="SARS-CoV-2-like viral pneumonia with cytokine storm (14 library modules + "
            "antiviral, corticosteroid and anti-IL-6R PK/PD)",
            description=(
                "Target-cell-limited SARS-CoV-2 replication with eclipse phase, type I "
                "interferon, NK cells, alveolar macrophages, IL-6, TNF-alpha and IL-10, blood "
                "neutrophils, lung tissue damage, CD4 help, CD8 effector and memory T cells, "
                "plasma cells and neutralising antibody, CRP and blood lymphocytes; an oral "
                "antiviral, a corticosteroid and an anti-IL-6-receptor antibody as PK/PD "
                "modules. Untreated: viral peak about 1e7 copies/mL on day 7, IL-6 about "
                "100 pg/mL, CRP about 145 mg/L, lymphopenia; an antiviral from day 3 prevents "
                "the storm. Parameter sources: docs/viral-pneumonia.md."
            ),
            citation=Citation(authors=("immunetwin",), year=2026, title="composed model"),
        ),
    ]
    target = DATA / "composed.json"
    target.write_text(json.dumps(entries, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {target} ({len(entries)} entries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
