"""Synonyms searchers of immune models use interchangeably.

Each group lists phrases that mean the same thing to a searcher; a query phrase in a group
matches any phrase of the group. The table is deliberately small and hand-checked: it covers
spelling variants (tumour/tumor), abbreviations (TNF, T1D, HCV) and cell-type shorthand
(CD4 for helper T cells). Interleukins need no entries: ``IL-6``, ``IL6`` and
``interleukin 6`` are matched by rule (see ``interleukin_forms``).
"""

from __future__ import annotations

import re

from immunetwin.catalog._text import tokens

GROUPS: tuple[tuple[str, ...], ...] = (
    ("tumour", "tumor", "tumours", "tumors", "cancer", "neoplasm", "neoplastic"),
    ("leukaemia", "leukemia", "leukemic", "leukaemic"),
    ("hiv", "hiv 1", "hiv1", "human immunodeficiency virus", "aids"),
    ("flu", "influenza"),
    ("ifn", "interferon", "interferons"),
    ("ifng", "ifn gamma", "interferon gamma", "ifngamma"),
    ("ifna", "ifn alpha", "interferon alpha"),
    ("ifnb", "ifn beta", "interferon beta"),
    ("tnf", "tnfa", "tnf alpha", "tnfalpha", "tumor necrosis factor", "tumour necrosis factor"),
    ("tgfb", "tgf beta", "tgfbeta", "transforming growth factor beta"),
    ("t1d", "type 1 diabetes", "type i diabetes", "iddm", "insulin dependent diabetes"),
    ("t2d", "type 2 diabetes", "type ii diabetes"),
    ("cd4", "helper t cell", "t helper", "helper t", "cd4 t cell"),
    ("cd8", "cytotoxic t cell", "cytotoxic t lymphocyte", "ctl", "killer t cell"),
    ("t cell", "t cells", "t lymphocyte", "tcell"),
    ("th1", "th 1", "type 1 t helper", "t helper 1", "t helper type 1"),
    ("th2", "th 2", "type 2 t helper", "t helper 2", "t helper type 2"),
    ("th17", "th 17", "t helper 17"),
    ("b cell", "b cells", "b lymphocyte"),
    ("nk", "nk cell", "natural killer"),
    ("dc", "dendritic cell"),
    ("treg", "tregs", "regulatory t cell", "t reg"),
    ("sepsis", "septic"),
    ("tb", "tuberculosis", "mycobacterium tuberculosis", "mtb"),
    ("hcv", "hepatitis c"),
    ("hbv", "hepatitis b"),
    ("covid", "covid 19", "sars cov 2", "sarscov2", "coronavirus"),
    ("ebv", "epstein barr"),
    ("sle", "lupus", "systemic lupus erythematosus"),
    ("ms", "multiple sclerosis"),
    ("lps", "lipopolysaccharide", "endotoxin"),
    ("nfkb", "nf kb", "nf kappab", "nf kappa b", "nuclear factor kappa b"),
    ("mhc", "major histocompatibility complex", "hla"),
    ("car t", "cart", "chimeric antigen receptor"),
    ("vaccine", "vaccination", "immunization", "immunisation"),
    ("cytokine storm", "cytokine release syndrome", "crs", "hypercytokinemia"),
    ("malaria", "plasmodium"),
    ("antibody", "antibodies", "immunoglobulin"),
)

# Words that say nothing about which model is meant.
STOPWORDS = frozenset(
    "a an and are as at by for from in into is of on or the to with without via using "
    "model models modeling modelling mathematical study based analysis".split()
)

_INTERLEUKIN = re.compile(r"^(?:il|interleukin)(\d+[a-z]?)$")


def _phrases() -> dict[tuple[str, ...], int]:
    table: dict[tuple[str, ...], int] = {}
    for number, group in enumerate(GROUPS):
        for phrase in group:
            table[tuple(tokens(phrase))] = number
    return table


PHRASES = _phrases()
LONGEST = max(len(phrase) for phrase in PHRASES)
WORDS = frozenset(word for phrase in PHRASES for word in phrase)


def group_of(phrase: tuple[str, ...]) -> tuple[tuple[str, ...], ...] | None:
    """Every phrase (as tokens) synonymous with ``phrase``, or None when it has none."""
    forms = interleukin_forms(phrase)
    if forms is not None:
        return forms
    number = PHRASES.get(phrase)
    if number is None:
        return None
    return tuple(tuple(tokens(p)) for p in GROUPS[number])


def interleukin_forms(phrase: tuple[str, ...]) -> tuple[tuple[str, ...], ...] | None:
    """``IL-6``, ``IL6``, ``interleukin 6`` and ``interleukin-6`` as the same phrase."""
    match = _INTERLEUKIN.match("".join(phrase))
    if match is None or len(phrase) > 2 or (len(phrase) == 2 and not phrase[1][0].isdigit()):
        return None
    number = match.group(1)
    return (("il", number), ("il" + number,), ("interleukin", number), ("interleukin" + number,))
