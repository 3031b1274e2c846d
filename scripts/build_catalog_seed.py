"""Write the catalogue seed: 140 BioModels entries from ``shared/biomodels-immune``.

Copies each SBML file byte for byte to ``src/immunetwin/catalog/data/models/<id>.xml`` and
writes ``data/seed.json`` (one ``Entry.to_dict()`` per model, sorted by id) and
``data/PROVENANCE.md``. Everything the model says about itself comes from
``immunetwin.catalog.extract.entry_from_model``; the curated BioModels index adds the category,
description, publication title and year, first author and taxa. The output depends only on
the input files, so a rerun on the same inputs changes nothing. The installed package never
reads ``shared/``.

Scale rule (the ``Scale`` facet), applied to the index name and ``reason`` text:

* intracellular: signalling-pathway and molecular-network models (JAK/STAT, NF-kB, NFAT,
  receptor signalling or trafficking, STAT DNA binding, virus replication cycle in a cell);
* organism: PK/PD, QSP and whole-body models, and the one host-population model (Restif 2007;
  ``Scale`` has no population level, organism is the nearest);
* tissue: tissue damage and repair models (wounds, cartilage, muscle, intestinal tissue);
* cellular: everything else, i.e. population-level cell dynamics within a host.

``_SCALE_OVERRIDES`` lists the ids where the keywords give the wrong answer, with the reason.

Usage: ``python scripts/build_catalog_seed.py [--shared DIR]``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

from immunetwin.catalog.annotations import term_from_uri
from immunetwin.catalog.entry import Category, Citation, Entry, OntologyTerm, Provenance, Scale
from immunetwin.catalog.extract import default_alias, entry_from_model
from immunetwin.formats import read_sbml

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src/immunetwin/catalog/data"
SHARED = ROOT.parent / "shared" / "biomodels-immune"
LICENCE = "CC0-1.0"

_INTRACELLULAR = re.compile(
    r"signall?ing|signal transduction|\bjak\b|jak/stat|jak-stat|nf-?k(?:appa)?b|\bnfat\b"
    r"|receptor trafficking|dna binding|replication cycle",
    re.IGNORECASE,
)
_ORGANISM = re.compile(r"\bpk ?pd\b|pkpd|pharmacokinetic|\bqsp\b|whole-body|population-level", re.I)
_TISSUE = re.compile(r"wound|cartilage|muscle|intestinal tissue", re.IGNORECASE)

_SCALE_OVERRIDES: dict[str, tuple[Scale, str]] = {
    "BIOMD0000000215": (Scale.INTRACELLULAR, "T-bet/IFN-gamma gene regulation within a T cell"),
    "BIOMD0000000303": (Scale.TISSUE, "complement cascade in plasma: molecular, not in a cell"),
    "BIOMD0000000534": (Scale.ORGANISM, "Dwivedi 2014 IL-6 QSP model (whole body)"),
    "BIOMD0000000535": (Scale.ORGANISM, "Dwivedi 2014 IL-6 QSP model (whole body)"),
    "BIOMD0000000536": (Scale.ORGANISM, "Dwivedi 2014 IL-6 QSP model (whole body)"),
    "BIOMD0000000537": (Scale.ORGANISM, "Dwivedi 2014 IL-6 QSP model (whole body)"),
    "BIOMD0000000620": (Scale.ORGANISM, "Palmer 2014 IL-1beta QSP model (whole body)"),
    "BIOMD0000000873": (Scale.INTRACELLULAR, "IL-6 signalling network inside the macrophage"),
    "BIOMD0000001060": (Scale.INTRACELLULAR, "gene-regulatory network of macrophage polarisation"),
}

_SURNAME = re.compile(r"^\s*([^\d]+?)\s*((?:19|20)\d{2})")
_INITIALS = re.compile(r"\s+[A-Z]{1,3}$")  # "Robertson-Tessi M" -> "Robertson-Tessi"


def scale_of(row: dict[str, str]) -> Scale:
    """The documented scale rule (module docstring), overrides first."""
    if row["id"] in _SCALE_OVERRIDES:
        return _SCALE_OVERRIDES[row["id"]][0]
    text = f"{row['name']} {row['reason']}"
    if _INTRACELLULAR.search(text):
        return Scale.INTRACELLULAR
    if _ORGANISM.search(text):
        return Scale.ORGANISM
    if _TISSUE.search(text):
        return Scale.TISSUE
    return Scale.CELLULAR


def first_author(name: str) -> tuple[str, int | None]:
    """Surname and year from a BioModels name: ``Reynolds2006 - ...`` → ("Reynolds", 2006)."""
    match = _SURNAME.match(name)
    if match is None:
        return "", None
    surname = _INITIALS.sub("", match.group(1).replace("_", "-")).strip(" -")
    return surname, int(match.group(2))


def year_of(text: str) -> int | None:
    """The index's publication year, written "2006-9" or "2013-"."""
    match = re.match(r"\s*(\d{4})", text)
    return int(match.group(1)) if match else None


def reference(value: str) -> tuple[str, str]:
    """(pubmed, doi) from the index's ``pubmed_or_doi`` column."""
    kind, _, local = value.strip().partition(":")
    if kind == "pubmed":
        return local, ""
    if kind == "doi":
        return "", local
    return "", ""


def index_terms(row: dict[str, str]) -> list[OntologyTerm]:
    """Model-level terms the curated index records (taxa first), as model-level terms."""
    terms = []
    for item in f"{row['taxon']};{row['model_annotations']}".split(";"):
        item = item.strip()
        if not item:
            continue
        path = item.replace("taxon:", "taxonomy/", 1) if item.startswith("taxon:") else item
        qualifier = "bqbiol:hasTaxon" if path.startswith("taxonomy/") else ""
        term = term_from_uri(f"http://identifiers.org/{path}", qualifier=qualifier)
        if term is not None:
            terms.append(term)
    return terms


def build_entry(row: dict[str, str], shared: Path, taken: set[str]) -> Entry:
    source = shared / row["sbml_file"]
    model = read_sbml(source)
    surname, name_year = first_author(row["name"])
    alias = default_alias(surname or row["id"], name_year, taken)
    taken.add(alias)
    pubmed, doi = reference(row["pubmed_or_doi"])
    sha256 = hashlib.sha256(source.read_bytes()).hexdigest()
    origin = row["sbml_source"].split("via", 1)[-1].strip()
    citation = Citation(
        authors=(surname, "et al.") if surname else (),
        year=year_of(row["year"]) or name_year,
        title=row["publication_title"].strip(),
        pubmed=pubmed,
        doi=doi,
    )
    provenance = Provenance(
        source=f"BioModels (EMBL-EBI), via {origin}",
        original_id=row["id"],
        url=f"https://www.ebi.ac.uk/biomodels/{row['id']}",
        licence=LICENCE,
        sha256=sha256,
        file=f"models/{row['id']}.xml",
    )
    return entry_from_model(
        model,
        id=row["id"],
        alias=alias,
        model_format="sbml",
        provenance=provenance,
        category=Category(row["category"]),
        citation=citation,
        title=row["publication_title"].strip() or None,
        description=row["reason"].strip(),
        scale=scale_of(row),
        extra_terms=index_terms(row),
    )


def provenance_text(count: int) -> str:
    return f"""# Shipped catalogue models: provenance

- {count} curated BioModels entries (`BIOMDxxxxxxxxxx`), each stored as `models/<id>.xml`.
- Source: the EMBL-EBI BioModels download of each entry, as mirrored in the
  Biosimulant/models-immunology and Biosimulant/models-systemsbiology GitHub repositories;
  the exact source path of each file is in its entry's `provenance.source` in `seed.json`.
- Licence: BioModels curated models are public domain, CC0 1.0 (`{LICENCE}`).
- Selection: a keyword screen of BioModels names, titles and synopses, then manual review using
  the model-level SBML annotations (GO, DOID, taxon, PubMed), as documented in
  `shared/biomodels-immune/PROVENANCE.md` of the immunetwin workspace (which also lists the
  immune-relevant curated entries not included, and why).
- The files are byte-identical copies of those SBML files, not re-serialised; the sha256 of
  each is `provenance.sha256` in `seed.json`, checked by `tests/catalog/test_seed.py`.
- Metadata: categories, one-line descriptions, publication titles and years come from the
  curated index; everything else (terms, quantities, units, citation ids) is extracted from the
  SBML by `immunetwin.catalog.extract`. Regenerate with `python scripts/build_catalog_seed.py`.
- Files here not from BioModels (`*.ant`, `*_corrected.xml`) are immunetwin's own encodings;
  see `classics.json` for their provenance.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED)
    args = parser.parse_args(argv)
    index = args.shared / "INDEX.tsv"
    if not index.is_file():
        parser.error(f"no {index}; pass --shared pointing at the biomodels-immune folder")
    with index.open(encoding="utf-8", newline="") as handle:
        rows = sorted(csv.DictReader(handle, delimiter="\t"), key=lambda r: r["id"])
    models = DATA / "models"
    models.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    entries = []
    for row in rows:
        entries.append(build_entry(row, args.shared, taken))
        shutil.copyfile(args.shared / row["sbml_file"], models / f"{row['id']}.xml")
    documents = [entry.to_dict() for entry in entries]
    for document in documents:
        document.pop("curation_status", None)  # derived; recomputed on load
    lines = [
        json.dumps(d, ensure_ascii=False, sort_keys=True, separators=(",", ":")) for d in documents
    ]
    text = "[\n" + ",\n".join(lines) + "\n]\n"  # one entry per line: compact, diffable
    (DATA / "seed.json").write_text(text, encoding="utf-8")
    (DATA / "PROVENANCE.md").write_text(provenance_text(len(entries)), encoding="utf-8")
    print(f"{len(entries)} entries, {len(taken)} aliases -> {DATA / 'seed.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
