"""Write src/immunetwin/catalog/data/classics.json: the catalogue entries immunetwin encodes.

The entries (Baccam 2006, Nowak & Bangham 1996 and the corrected Hancioglu 2007) are written
here as ``Entry`` objects; the script adds each model file's sha256 and recomputes each entry's
reproduction claims through the engine, so checksums and statuses never go stale. Rerun it after
changing a model file or a claim: ``python scripts/build_classics.py``.
"""

from __future__ import annotations

import hashlib
import json
import sys

from immunetwin.catalog.entry import (
    Category,
    Citation,
    CurationNote,
    Entry,
    Provenance,
    Reproduction,
    Scale,
)
from immunetwin.catalog.reproduce import DATA, claims_for, model_path, run_claim

_OURS = "hand-encoded from the paper by immunetwin"

ENTRIES = (
    Entry(
        id="baccam2006",
        alias="baccam2006",
        title="Baccam2006 - Influenza A virus kinetics in humans (eclipse model)",
        citation=Citation(
            authors=("Baccam P", "Beauchemin C", "Macken CA", "Hayden FG", "Perelson AS"),
            year=2006,
            title="Kinetics of influenza A virus infection in humans",
            journal="J Virol 80(15):7590-7599",
            doi="10.1128/JVI.01623-05",
            pubmed="16840338",
        ),
        category=Category.INFECTION_VIRAL,
        diseases=("influenza",),
        scale=Scale.TISSUE,
        time_unit="day",
        description=(
            "Target-cell-limited model of influenza A in the human upper respiratory tract with "
            "an eclipse phase: infected cells produce virus only after about 6 h; R0 is about 22."
        ),
        model_format="antimony",
        provenance=Provenance(source=_OURS, licence="CC0-1.0", file="models/baccam2006.ant"),
    ),
    Entry(
        id="nowak_bangham1996",
        alias="nowak1996",
        title="NowakBangham1996 - Virus-CTL population dynamics",
        citation=Citation(
            authors=("Nowak MA", "Bangham CRM"),
            year=1996,
            title="Population dynamics of immune responses to persistent viruses",
            journal="Science 272(5258):74-79",
            doi="10.1126/science.272.5258.74",
            pubmed="8600540",
        ),
        category=Category.INFECTION_VIRAL,
        diseases=("persistent viral infection",),
        scale=Scale.CELLULAR,
        time_unit="day",
        description=(
            "Basic model of uninfected and infected cells, free virus and cytotoxic T cells; "
            "its equilibria with and without a CTL response have closed forms."
        ),
        model_format="antimony",
        provenance=Provenance(source=_OURS, licence="CC0-1.0", file="models/nowak_bangham1996.ant"),
    ),
    Entry(
        id="BIOMD0000000711_corrected",
        alias="hancioglu2007-corrected",
        title="Hancioglu2007 - Human immune response to influenza A (aE corrected to 0.4)",
        citation=Citation(
            authors=("Hancioglu B", "Swigon D", "Clermont G"),
            year=2007,
            title="A dynamical model of human immune response to influenza A virus infection",
            journal="J Theor Biol 246(1):70-86",
            doi="10.1016/j.jtbi.2006.12.015",
            pubmed="17266989",
        ),
        category=Category.INFECTION_VIRAL,
        diseases=("influenza",),
        scale=Scale.TISSUE,
        time_unit="day",
        description=(
            "Dimensionless model of influenza A with innate (interferon, resistant cells) and "
            "adaptive (effector cells, antibodies) responses; BIOMD0000000711 with the paper's "
            "effector decay aE = 0.4, which reproduces the published high-virulence state."
        ),
        curation_notes=(
            CurationNote(
                kind="correction",
                text=(
                    "The local parameter aE of reaction Degradation_of_Effector_cells__E is set "
                    "to 0.4 (Table 2 of the paper); BIOMD0000000711 has a local 0.1 that shadows "
                    "the global 0.4 and does not reproduce the high-virulence state x_v. Nothing "
                    "else was changed (scripts/make_hancioglu_corrected.py)."
                ),
                source="Hancioglu et al. 2007, Table 2; reference-results.md",
            ),
        ),
        provenance=Provenance(
            source="BioModels (EBI), corrected by immunetwin",
            original_id="BIOMD0000000711",
            url="https://www.ebi.ac.uk/biomodels/BIOMD0000000711",
            licence="CC0-1.0",
            file="models/BIOMD0000000711_corrected.xml",
            derived_from="BIOMD0000000711",
        ),
    ),
)


def complete(entry: Entry) -> Entry:
    """The entry with its file checksum and freshly recomputed reproductions."""
    import dataclasses

    path = model_path(entry.id)
    if f"models/{path.name}" != entry.provenance.file:
        raise SystemExit(f"{entry.id}: provenance.file is not {path.name}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    reproductions: list[Reproduction] = [run_claim(claim) for claim in claims_for(entry.id)]
    return dataclasses.replace(
        entry,
        provenance=dataclasses.replace(entry.provenance, sha256=digest),
        reproductions=tuple(reproductions),
    )


def main() -> int:
    entries = [complete(entry) for entry in ENTRIES]
    target = DATA / "classics.json"
    text = json.dumps([e.to_dict() for e in entries], indent=2, ensure_ascii=False)
    target.write_text(text + "\n", encoding="utf-8")
    for entry in entries:
        states = ", ".join(f"{r.claim}: {r.status.value}" for r in entry.reproductions)
        print(f"{entry.id}: {states}")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
