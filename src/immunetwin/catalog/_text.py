"""What the search index holds for one entry, and the one tokenizer both sides share.

The tokenizer mimics SQLite FTS5's ``unicode61 remove_diacritics 2`` (lower case, accents
dropped, runs of letters and digits), so the portable token table, the typo-correction
vocabulary and the FTS5 index agree on what a token is.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from immunetwin.catalog.entry import Entry

FIELDS = ("names", "title", "keywords", "accessions", "body", "facets")
# bm25 column weights: names and title first, then terms/diseases/species and ontology ids,
# then the free text (description, citation, notes), and last the coarse facets (category,
# formalism, scale) that many entries share, so "sepsis" prefers a sepsis model to the
# rest of the inflammation-sepsis category.
WEIGHTS = {
    "names": 10.0,
    "title": 10.0,
    "keywords": 4.0,
    "accessions": 4.0,
    "body": 1.0,
    "facets": 0.3,
}

_TOKEN = re.compile(r"[^\W_]+")


def tokens(text: str) -> list[str]:
    """Lower-case, accent-free runs of letters and digits (as FTS5 unicode61 splits them)."""
    folded = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return _TOKEN.findall(plain)


def accession_key(accession: str) -> str:
    """``CL:0000625``, ``CL_0000625`` and ``cl0000625`` all become ``cl0000625``."""
    return "".join(tokens(accession))


def accession_tokens(accession: str) -> list[str]:
    """The whole accession as one token, and its local part (``p05231`` of uniprot:P05231)."""
    whole = accession_key(accession)
    local = accession_key(re.split(r"[:/#]", accession)[-1])
    return [whole] if local in ("", whole) else [whole, local]


def index_fields(entry: Entry) -> dict[str, str]:
    """The text of each search field for ``entry`` (fields as in ``FIELDS``)."""
    species = [q.name or q.id for q in entry.quantities if q.kind == "species" and (q.name or q.id)]
    accessions = {acc for term in entry.terms for acc in accession_tokens(term.accession)}
    accessions |= {
        acc for q in entry.quantities for term in q.terms for acc in accession_tokens(term)
    }
    for ident in (entry.provenance.original_id, entry.citation.pubmed):
        if ident:
            accessions.update(accession_tokens(ident))
    if entry.citation.pubmed:
        accessions.add(accession_key("pubmed" + entry.citation.pubmed.split(":")[-1]))
    citation = entry.citation
    return {
        "names": " ".join(
            dict.fromkeys([entry.id, entry.alias, entry.provenance.original_id])
        ).strip(),
        "title": entry.title,
        "keywords": " ; ".join(
            [
                *entry.diseases,
                *dict.fromkeys(term.label for term in entry.terms if term.label),
                *dict.fromkeys(species),
            ]
        ),
        "accessions": " ".join(sorted(accessions)),
        "body": " ; ".join(
            part
            for part in (
                entry.description,
                ", ".join(citation.authors),
                citation.title,
                citation.journal,
                citation.doi,
                *(note.text for note in entry.curation_notes),
                *(r.description for r in entry.reproductions),
            )
            if part
        ),
        "facets": " ; ".join(
            (entry.category.value.replace("-", " "), entry.formalism.value, entry.scale.value)
        ),
    }


def token_rows(entry: Entry) -> list[tuple[str, str, int, int]]:
    """``(field, token, count, field_length)`` rows of the portable token table."""
    rows = []
    for field, text in index_fields(entry).items():
        found = tokens(text)
        for token, count in Counter(found).items():
            rows.append((field, token[:200], count, len(found)))
    return rows
