"""Ranked full-text search over the catalogue, with facet filters and typo tolerance.

How a query is read:

1. Ontology ids (``CL:0000625``, ``CL_0000625``, ``GO:0007259``, ``taxonomy:9606``) are
   matched as ids, against the annotations of the model and of its species.
2. The rest is split into words; phrases in the synonym table (``_synonyms.py``) and
   hyphenated names (``IL-2``, ``IFN-gamma``) become one query term with all their forms.
3. Stop words ("model", "of") are dropped. A word unknown to the index is corrected to the
   closest indexed word (rapidfuzz, ``inflamation`` → ``inflammation``). Words of four or
   more letters match as prefixes, plurals as their singular (``macrophages`` → macrophage*).

Ranking: entries matching more query terms come first (an OR query, so "tumour immunotherapy
IL-2" still finds entries that match two of three); among equals, bm25 with column weights
(names and title 10, term labels/diseases/species and ontology ids 4, description/citation/
notes 1). ``SearchHit.score`` is the number of terms matched plus a fraction for strength.

Backends: on SQLite the FTS5 table ``search_index`` computes bm25; other dialects (e.g.
PostgreSQL) use the portable ``search_tokens`` table with the same bm25 formula in Python.
Both are fed by the same tokenizer (``_text.py``); only ``_fts5_scores`` is SQLite-specific.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rapidfuzz import fuzz, process

from immunetwin.catalog import _synonyms as syn
from immunetwin.catalog import _tables as t
from immunetwin.catalog._text import FIELDS, WEIGHTS, accession_key, tokens
from immunetwin.catalog.entry import Category, CurationStatus, Facet, Formalism
from immunetwin.catalog.store import CatalogStore, parse_category, parse_choice
from immunetwin.errors import InvalidInputError

_ACCESSION = re.compile(r"\b[A-Za-z][A-Za-z0-9.]*[:_][A-Za-z0-9]*\d[A-Za-z0-9.]*\b")
_ORGANISMS = {
    "human": "homo sapiens",
    "mouse": "mus musculus",
    "rat": "rattus",
    "monkey": "macaca",
}
_TYPO_CUTOFF = 80.0  # rapidfuzz ratio (0-100) an index word needs to replace an unknown word


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result (JSON-friendly through ``to_dict``)."""

    id: str
    alias: str
    title: str
    year: int | None
    score: float  # query terms matched + a fraction (0-1) for bm25 strength
    category: str
    matched: tuple[str, ...]  # the query terms this entry matched (after typo correction)
    version: int = 1
    curation_status: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "alias": self.alias,
            "title": self.title,
            "year": self.year,
            "score": round(self.score, 4),
            "category": self.category,
            "matched": list(self.matched),
            "version": self.version,
            "curation_status": self.curation_status,
        }


@dataclass(frozen=True, slots=True)
class QueryTerm:
    """One term of a parsed query: the word shown to the user and every form it matches."""

    label: str
    forms: tuple[tuple[str, ...], ...]  # token phrases; any one matches
    prefix: bool = False  # the last token of each form matches as a prefix


def search(
    store: CatalogStore,
    query: str,
    *,
    limit: int = 10,
    category: str | Category | None = None,
    disease: str | None = None,
    cell_type: str | None = None,
    molecule: str | None = None,
    formalism: str | Formalism | None = None,
    organism: str | None = None,
    curation_status: str | CurationStatus | None = None,
    pathogen: str | None = None,
) -> list[SearchHit]:
    """Entries matching ``query`` best first, restricted by the facet filters given.

    Facet filters (disease, cell type, molecule, organism, pathogen) match an ontology
    accession exactly (``CL:0000625`` or ``CL_0000625``) or a label containing the text,
    case-insensitively. An empty query lists every entry that passes the filters.
    """
    if limit < 1:
        raise InvalidInputError(f"search limit must be at least 1, got {limit}; pass limit=10")
    vocabulary = store.vocabulary()  # before reading(): one connection at a time (in-memory db)
    with store.reading() as conn:
        allowed = _filter(
            conn,
            category=category,
            formalism=formalism,
            curation_status=curation_status,
            facets={
                Facet.DISEASE: disease,
                Facet.CELL_TYPE: cell_type,
                Facet.MOLECULE: molecule,
                Facet.ORGANISM: organism,
                Facet.PATHOGEN: pathogen,
            },
        )
        terms = parse_query(query, vocabulary)
        if not terms:
            if query.strip() and not _only_stopwords(query):
                return []  # words the catalogue has never seen, even allowing for typos
            return _hits(conn, {pk: (0.0, ()) for pk in allowed}, limit)
        scores = _fts5_scores if store.has_fts5 else _portable_scores
        matched: dict[int, list[tuple[str, float]]] = defaultdict(list)
        for term in _with_fallbacks(terms, lambda term: scores(conn, term)):
            for pk, strength in term[1].items():
                if pk in allowed:
                    matched[pk].append((term[0].label, strength))
        ranked = {
            pk: (len(found) + _squash(sum(s for _, s in found)), tuple(label for label, _ in found))
            for pk, found in matched.items()
        }
        return _hits(conn, ranked, limit)


def parse_query(query: str, vocabulary: list[str]) -> list[QueryTerm]:
    """The query as terms (ids, synonym groups, corrected words); see the module docstring."""
    terms = [
        QueryTerm(label=match, forms=_accession_forms(match)) for match in _ACCESSION.findall(query)
    ]
    words = [tokens(word) for word in _ACCESSION.sub(" ", query).split()]
    words = [[_correct(token, vocabulary) for token in word] for word in words if word]
    flat = [token for word in words for token in word]
    starts, ends = set(), set()
    position = 0
    for word in words:
        starts.add(position)
        position += len(word)
        ends.add(position)
    index = 0
    while index < len(flat):
        found = _synonym_at(flat, index, starts, ends)
        if found is not None:
            length, forms = found
            phrase = flat[index : index + length]
            terms.append(QueryTerm(" ".join(phrase), forms, prefix=_prefixable(phrase[-1])))
            index += length
            continue
        word = next(w for w in _words_at(words, index))
        if len(word) > 1 and index in starts:  # a hyphenated name: IFN-gamma, HIV-1, NF-kB
            terms.append(QueryTerm("-".join(word), (tuple(word), ("".join(word),)), prefix=False))
            index += len(word)
            continue
        word_term = _word_term(flat[index])
        index += 1
        if word_term is not None:
            terms.append(word_term)
    if not terms and query.strip():  # only stop words: search them anyway
        terms = [QueryTerm(tok, ((tok,),)) for tok in tokens(query) if len(tok) > 1]
    return _dedupe(terms)


def _with_fallbacks(
    terms: list[QueryTerm], scores: Callable[[QueryTerm], dict[int, float]]
) -> Iterator[tuple[QueryTerm, dict[int, float]]]:
    """Each term with its scores; a phrase nothing matches ("cytokine storm") is searched
    again as its separate words, so an unknown phrase still finds related entries."""
    for term in terms:
        found = scores(term)
        words = term.label.split()
        if found or len(words) < 2:
            yield term, found
            continue
        for word in words:
            word_term = _word_term(word)
            if word_term is not None:
                yield word_term, scores(word_term)


# --- query reading ---------------------------------------------------------------------------
def _word_term(token: str) -> QueryTerm | None:
    if token in syn.STOPWORDS or len(token) < 2:
        return None
    stem = _singular(token)
    return QueryTerm(token, ((stem,),), prefix=_prefixable(stem))


def _accession_forms(accession: str) -> tuple[tuple[str, ...], ...]:
    whole = accession_key(accession)
    local = accession_key(re.split(r"[:_]", accession, maxsplit=1)[-1])
    # A zero-padded OBO number (CL:0000775) names different things in different ontologies
    # (BTO:0000775), so only the whole accession matches; taxonomy ids (9606) are unique.
    if local.isdigit() and local.startswith("0"):
        return ((whole,),)
    return ((whole,), (local,)) if local and local != whole and len(local) >= 4 else ((whole,),)


def _synonym_at(
    flat: list[str], index: int, starts: set[int], ends: set[int]
) -> tuple[int, tuple[tuple[str, ...], ...]] | None:
    """The longest synonym phrase that starts a word at ``index`` and ends a word."""
    if index not in starts:
        return None
    for length in range(min(syn.LONGEST, len(flat) - index), 0, -1):
        if index + length not in ends:
            continue
        forms = syn.group_of(tuple(flat[index : index + length]))
        if forms is not None:
            return length, forms
    return None


def _words_at(words: list[list[str]], index: int) -> Iterable[list[str]]:
    position = 0
    for word in words:
        if position <= index < position + len(word):
            yield word if position == index else [word[index - position]]
            return
        position += len(word)


def _correct(token: str, vocabulary: list[str]) -> str:
    """``token``, or the closest index word when the index has no word starting with it."""
    if len(token) < 4 or not token.isalpha() or token in syn.WORDS or token in syn.STOPWORDS:
        return token
    at = bisect.bisect_left(vocabulary, token)
    if at < len(vocabulary) and vocabulary[at].startswith(token):
        return token
    best = process.extractOne(
        token,
        [word for word in vocabulary if abs(len(word) - len(token)) <= 3],
        scorer=fuzz.ratio,
        score_cutoff=_TYPO_CUTOFF,
    )
    return token if best is None else str(best[0])


def _singular(token: str) -> str:
    """A light stem, matched as a prefix: plurals and -ation/-ion/-ory/-ing endings go, so
    "inflammation" also finds "inflammatory" and "infection" finds "infected"."""
    if len(token) >= 7 and token.isalpha():
        for suffix in ("ations", "ation", "ions", "ion", "ory", "ing"):
            if token.endswith(suffix) and len(token) - len(suffix) >= 5:
                return token[: -len(suffix)]
    if len(token) > 4 and token.endswith("s") and not token.endswith(("ss", "is", "us")):
        return token[:-1]
    return token


def _prefixable(token: str) -> bool:
    return len(token) >= 4 and token.isalpha()


def _only_stopwords(query: str) -> bool:
    """Words, all too common to search by ("the model"); punctuation alone is no query."""
    words = tokens(query)
    return bool(words) and all(tok in syn.STOPWORDS or len(tok) < 2 for tok in words)


def _dedupe(terms: list[QueryTerm]) -> list[QueryTerm]:
    seen: set[tuple[tuple[str, ...], ...]] = set()
    unique = []
    for term in terms:
        if term.forms not in seen:
            seen.add(term.forms)
            unique.append(term)
    return unique


def _squash(strength: float) -> float:
    """bm25 strength in [0, 1), so it only orders entries that match as many terms."""
    return strength / (1.0 + strength) if strength > 0 else 0.0


# --- scoring backends ------------------------------------------------------------------------
def _fts5_scores(conn: sa.Connection, term: QueryTerm) -> dict[int, float]:
    """bm25 per entry from SQLite FTS5 (SQLite only)."""
    expression = " OR ".join(
        '"' + " ".join(form) + '"' + ("*" if term.prefix else "") for form in term.forms
    )
    weights = ", ".join(str(WEIGHTS[field]) for field in FIELDS)
    rows = conn.execute(
        sa.text(
            f"SELECT rowid, -bm25(search_index, {weights}) FROM search_index "
            "WHERE search_index MATCH :expression"
        ),
        {"expression": expression},
    ).all()
    return {int(pk): float(score) for pk, score in rows}


def _portable_scores(conn: sa.Connection, term: QueryTerm) -> dict[int, float]:
    """bm25 per entry from the token table (any dialect); a phrase needs all its words in
    one field, in any order, which is close enough for short catalogue fields."""
    st = t.search_tokens
    total = conn.execute(sa.select(sa.func.count(sa.distinct(st.c.entry_pk)))).scalar() or 0
    if not total:
        return {}
    lengths = dict(
        conn.execute(sa.select(st.c.field, sa.func.avg(st.c.field_length)).group_by(st.c.field))
        .tuples()
        .all()
    )
    per_form: list[dict[tuple[int, str], tuple[int, int]]] = []
    for form in term.forms:
        found: dict[tuple[int, str], tuple[int, int]] | None = None
        for position, token in enumerate(form):
            last = position == len(form) - 1
            condition = (
                st.c.token.like(token + "%") if term.prefix and last else st.c.token == token
            )
            rows = conn.execute(
                sa.select(st.c.entry_pk, st.c.field, st.c.count, st.c.field_length).where(condition)
            ).all()
            here: dict[tuple[int, str], tuple[int, int]] = {}
            for pk, field, count, length in rows:
                old = here.get((pk, field), (0, length))
                here[(pk, field)] = (old[0] + count, length)
            found = (
                here
                if found is None
                else {key: min(value, here[key]) for key, value in found.items() if key in here}
            )
        per_form.append(found or {})
    hits: dict[tuple[int, str], tuple[int, int]] = {}
    for found in per_form:
        for key, value in found.items():
            previous = hits.get(key)
            hits[key] = value if previous is None else (previous[0] + value[0], value[1])
    documents = {pk for pk, _ in hits}
    idf = math.log(1.0 + (total - len(documents) + 0.5) / (len(documents) + 0.5))
    scores: dict[int, float] = defaultdict(float)
    for (pk, field), (count, length) in hits.items():
        norm = 1.2 * (0.25 + 0.75 * length / float(lengths.get(field) or 1.0))
        scores[pk] += WEIGHTS[field] * idf * count * 2.2 / (count + norm)
    return dict(scores)


# --- filters and results ---------------------------------------------------------------------
def _filter(
    conn: sa.Connection,
    *,
    category: str | Category | None,
    formalism: str | Formalism | None,
    curation_status: str | CurationStatus | None,
    facets: dict[Facet, str | None],
) -> set[int]:
    """Primary keys of the current entries that pass every filter given."""
    e = t.entries
    query = sa.select(e.c.pk).where(e.c.is_current)
    if category is not None:
        query = query.where(e.c.category == parse_category(category).value)
    if formalism is not None:
        query = query.where(e.c.formalism == parse_choice(Formalism, formalism).value)
    if curation_status is not None:
        query = query.where(
            e.c.curation_status == parse_choice(CurationStatus, curation_status).value
        )
    allowed = set(conn.scalars(query))
    for facet, value in facets.items():
        if value is not None and value.strip():
            allowed &= _facet_matches(conn, facet, value)
    return allowed


def _facet_matches(conn: sa.Connection, facet: Facet, value: str) -> set[int]:
    f = t.facets
    text = value.strip().lower()
    if facet is Facet.ORGANISM:
        text = _ORGANISMS.get(text, text)
    key = accession_key(value)
    rows = conn.execute(
        sa.select(f.c.entry_pk, f.c.accession, f.c.label).where(f.c.facet == facet.value)
    ).all()
    return {
        pk
        for pk, accession, label in rows
        if text in label.lower()
        or (accession and key in (accession_key(accession), _local_key(accession)))
    }


def _local_key(accession: str) -> str:
    return accession_key(re.split(r"[:/#]", accession)[-1])


def _hits(
    conn: sa.Connection, ranked: dict[int, tuple[float, tuple[str, ...]]], limit: int
) -> list[SearchHit]:
    if not ranked:
        return []
    e = t.entries
    rows = {
        row.pk: row
        for row in conn.execute(
            sa.select(
                e.c.pk,
                e.c.entry_id,
                e.c.alias,
                e.c.title,
                e.c.year,
                e.c.category,
                e.c.version,
                e.c.curation_status,
            ).where(e.c.pk.in_(ranked))
        )
    }
    order = sorted(rows, key=lambda pk: (-ranked[pk][0], -(rows[pk].year or 0), rows[pk].entry_id))
    return [
        SearchHit(
            id=rows[pk].entry_id,
            alias=rows[pk].alias,
            title=rows[pk].title,
            year=rows[pk].year,
            score=ranked[pk][0],
            category=rows[pk].category,
            matched=ranked[pk][1],
            version=rows[pk].version,
            curation_status=rows[pk].curation_status,
        )
        for pk in order[:limit]
    ]
