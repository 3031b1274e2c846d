"""Ontology terms of a model: MIRIAM resource URIs parsed, classified and labelled offline.

Models write the same term in many ways (``http://identifiers.org/cl/CL:0000625``,
``https://identifiers.org/CL:0000625``, ``urn:miriam:cl:CL%3A0000625``, an OBO PURL). Search
and facets need one compact accession per term (``CL:0000625``, ``taxonomy:9606``,
``uniprot:P05231``), so every form is parsed here, once. Facets come from the namespace, refined
by the curated table ``data/labels.tsv`` (``accession<TAB>label<TAB>facet or empty``); whether a
taxon is a host or a pathogen is decided only by that table, never guessed. Labels come from
the same table, else from the name of the annotated SBML element; nothing is fetched online.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from urllib.parse import unquote

from immunetwin.catalog.entry import Facet, OntologyTerm
from immunetwin.ir import Annotation, Model

__all__ = [
    "REFERENCE_PREFIXES",
    "curated_label",
    "facet_of",
    "parse_resource",
    "term_from_uri",
    "terms_of",
]


@dataclass(frozen=True, slots=True)
class _Namespace:
    """How one identifiers.org collection writes its accessions and what it tells a searcher."""

    display: str  # the prefix of the compact accession: "CL", "taxonomy", "uniprot"
    facet: Facet = Facet.OTHER
    local: str = r".+"  # pattern of a valid local id (after any embedded prefix is removed)


_OBO_NUMERIC = r"\d+"
_NAMESPACES: dict[str, _Namespace] = {
    # cells and tissues
    "cl": _Namespace("CL", Facet.CELL_TYPE, _OBO_NUMERIC),
    "bto": _Namespace("BTO", Facet.CELL_TYPE, _OBO_NUMERIC),
    # molecules and genes
    "chebi": _Namespace("CHEBI", Facet.MOLECULE, _OBO_NUMERIC),
    "uniprot": _Namespace("uniprot", Facet.MOLECULE, r"[A-Z0-9]+(?:[-_.][A-Za-z0-9]+)*"),
    "interpro": _Namespace("interpro", Facet.MOLECULE, r"IPR\d+"),
    "kegg.compound": _Namespace("kegg.compound", Facet.MOLECULE, r"C\d+"),
    "kegg.drug": _Namespace("kegg.drug", Facet.MOLECULE, r"D\d+"),
    "ensembl": _Namespace("ensembl", Facet.MOLECULE, r"ENS[A-Z]*\d+(?:\.\d+)?"),
    "pr": _Namespace("PR", Facet.MOLECULE),
    "hgnc": _Namespace("HGNC", Facet.MOLECULE, _OBO_NUMERIC),
    "hgnc.symbol": _Namespace("hgnc.symbol", Facet.MOLECULE),
    "ncbigene": _Namespace("ncbigene", Facet.MOLECULE, r"\d+"),
    "pubchem.compound": _Namespace("pubchem.compound", Facet.MOLECULE, r"\d+"),
    "drugbank": _Namespace("drugbank", Facet.MOLECULE, r"DB\d+"),
    "ec-code": _Namespace("ec-code", Facet.MOLECULE, r"\d+(?:\.(?:\d+|-|n\d+))*"),
    # processes and pathways (GO cellular components / functions are marked in labels.tsv)
    "go": _Namespace("GO", Facet.PROCESS, r"\d{7}"),
    "kegg.pathway": _Namespace("kegg.pathway", Facet.PROCESS, r"[a-z]{2,4}\d{5}"),
    "kegg.reaction": _Namespace("kegg.reaction", Facet.PROCESS, r"R\d+"),
    "reactome": _Namespace("reactome", Facet.PROCESS, r"(?:R-[A-Z]{3}-\d+|REACT_\d+)(?:\.\d+)?"),
    "pw": _Namespace("PW", Facet.PROCESS, _OBO_NUMERIC),
    # diseases and phenotypes. EFO, MeSH and NCIt cover far more than diseases (models annotate
    # "pathogen", "antibody", "wound" with EFO), so for them the table decides.
    "doid": _Namespace("DOID", Facet.DISEASE, _OBO_NUMERIC),
    "efo": _Namespace("EFO", Facet.OTHER, _OBO_NUMERIC),
    "mim": _Namespace("OMIM", Facet.DISEASE, r"\d+"),
    "hp": _Namespace("HP", Facet.DISEASE, _OBO_NUMERIC),
    "mp": _Namespace("MP", Facet.DISEASE, _OBO_NUMERIC),
    "mondo": _Namespace("MONDO", Facet.DISEASE, _OBO_NUMERIC),
    "mesh": _Namespace("mesh", Facet.OTHER, r"[A-Z]\d+"),
    "ncit": _Namespace("NCIT", Facet.OTHER, r"C\d+"),
    # organisms: host or pathogen is the table's call
    "taxonomy": _Namespace("taxonomy", Facet.OTHER, r"\d+"),
    # everything else a model may cite
    "fma": _Namespace("FMA", Facet.OTHER, _OBO_NUMERIC),
    "uberon": _Namespace("UBERON", Facet.OTHER, _OBO_NUMERIC),
    "sbo": _Namespace("SBO", Facet.OTHER, _OBO_NUMERIC),
    "pato": _Namespace("PATO", Facet.OTHER, _OBO_NUMERIC),
    "obi": _Namespace("OBI", Facet.OTHER, _OBO_NUMERIC),
    "ido": _Namespace("IDO", Facet.OTHER, _OBO_NUMERIC),
    "omit": _Namespace("OMIT", Facet.OTHER, _OBO_NUMERIC),
    "mamo": _Namespace("MAMO", Facet.OTHER, _OBO_NUMERIC),
    "biomodels.teddy": _Namespace("TEDDY", Facet.OTHER, _OBO_NUMERIC),
    "cco": _Namespace("CCO", Facet.OTHER),
    "mod": _Namespace("MOD", Facet.OTHER, _OBO_NUMERIC),
    "sio": _Namespace("SIO", Facet.OTHER, _OBO_NUMERIC),
    # references and model identity: parsed, but not ontology terms
    "pubmed": _Namespace("pubmed", Facet.OTHER, r"\d+"),
    "doi": _Namespace("doi", Facet.OTHER, r"10\.\d+/\S+"),
    "isbn": _Namespace("isbn", Facet.OTHER, r"[0-9Xx-]{10,17}"),
    "arxiv": _Namespace("arxiv", Facet.OTHER),
    "biomodels.db": _Namespace("biomodels.db", Facet.OTHER, r"(?:BIOMD|MODEL)\d{10}"),
}

# Collections whose accessions cite a paper or a model rather than name a biological term.
REFERENCE_PREFIXES = frozenset({"pubmed", "doi", "isbn", "arxiv", "biomodels.db"})

# Other spellings of a collection seen in models (MIRIAM URNs, old registry names).
_ALIASES = {
    "omim": "mim",
    "ncbitaxon": "taxonomy",
    "taxon": "taxonomy",
    "ec": "ec-code",
    "kegg.path": "kegg.pathway",
    "biomodels": "biomodels.db",
    "ncbi.taxonomy": "taxonomy",
    "semanticscience": "sio",
}

# Qualifiers under which the annotated element *is* the term, so its name may label the term.
_IDENTITY_QUALIFIERS = frozenset({"bqbiol:is", "bqbiol:isVersionOf", "bqbiol:isHomologTo"})

_IDENTIFIERS = re.compile(r"^https?://(?:www\.|info\.)?identifiers\.org/(.+)$", re.IGNORECASE)
_OBO_PURL = re.compile(r"^https?://purl\.obolibrary\.org/obo/([A-Za-z]+)_(\w+)$")
_SIO = re.compile(r"^https?://semanticscience\.org/resource/(SIO)_(\d+)$")
_DOI_URL = re.compile(r"^https?://(?:dx\.)?doi\.org/(10\..+)$", re.IGNORECASE)
_PUBMED_URL = re.compile(r"^https?://www\.ncbi\.nlm\.nih\.gov/pubmed/(\d+)/?$")
_COLLECTION = re.compile(r"^[A-Za-z][A-Za-z0-9._-]*$")


def parse_resource(uri: str) -> tuple[str, str] | None:
    """``(collection, accession)`` of a MIRIAM resource URI, or None if it is not one.

    >>> parse_resource("urn:miriam:obo.go:GO%3A0006954")
    ('go', 'GO:0006954')
    >>> parse_resource("http://identifiers.org/taxonomy/9606")
    ('taxonomy', 'taxonomy:9606')
    """
    text = uri.strip()
    if match := _OBO_PURL.match(text) or _SIO.match(text):
        return _normalise(match.group(1), match.group(2))
    if match := _DOI_URL.match(text):
        return _normalise("doi", unquote(match.group(1)))
    if match := _PUBMED_URL.match(text):
        return _normalise("pubmed", match.group(1))
    if text.lower().startswith("urn:miriam:"):
        collection, _, local = text[len("urn:miriam:") :].partition(":")
        return _normalise(collection, unquote(local).replace("+", " "))
    if match := _IDENTIFIERS.match(text):
        path = unquote(match.group(1))
        head, slash, tail = path.partition("/")
        if slash and ":" not in head:  # legacy form: collection/local (local may hold "P:")
            return _normalise(head, tail)
        head, colon, tail = path.partition(":")
        if colon:  # compact form: prefix:local, the prefix possibly the ontology's own ("CL")
            return _normalise(head, tail)
    return None


def _normalise(collection: str, local: str) -> tuple[str, str] | None:
    collection = collection.strip().lower()
    if collection.startswith("obo."):
        collection = collection[len("obo.") :]
    collection = _ALIASES.get(collection, collection)
    local = "".join(local.split())  # "DOID: 0060075" as some files write it
    if not local or not _COLLECTION.match(collection):
        return None
    namespace = _NAMESPACES.get(collection)
    if namespace is None:  # a collection we have no rules for: keep it as written
        return collection, f"{collection}:{local}"
    if collection == "go" and local[:3] in ("G0:", "G0_"):  # a zero for the O, seen in models
        local = "GO" + local[2:]
    local = _strip_embedded(local, (namespace.display, collection))
    if collection == "pubmed" and not re.fullmatch(r"\d+", local):
        return _normalise("doi", local) if local.startswith("10.") else None
    if not re.fullmatch(namespace.local, local):
        return None
    return collection, f"{namespace.display}:{local}"


def _strip_embedded(local: str, prefixes: tuple[str, ...]) -> str:
    """``CL:0000625`` / ``CL_0000625`` / ``cl:0000625`` → ``0000625``."""
    for prefix in prefixes:
        for sep in (":", "_"):
            if local.upper().startswith(prefix.upper() + sep):
                return local[len(prefix) + 1 :]
    return local


@functools.cache
def _table() -> dict[str, tuple[str, Facet | None]]:
    """The curated table: accession → (label, facet override or None)."""
    text = resources.files("immunetwin.catalog").joinpath("data/labels.tsv").read_text("utf-8")
    table: dict[str, tuple[str, Facet | None]] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        accession, label, facet = (line.split("\t") + ["", ""])[:3]
        table[accession.strip()] = (label.strip(), Facet(facet.strip()) if facet.strip() else None)
    return table


def curated_label(accession: str) -> str:
    """The shipped label of an accession, or "" when the table has none."""
    return _table().get(accession, ("", None))[0]


def facet_of(accession: str) -> Facet:
    """What a term tells a searcher: the table's override, else its namespace's facet."""
    override = _table().get(accession, ("", None))[1]
    if override is not None:
        return override
    prefix = accession.partition(":")[0]
    for collection, namespace in _NAMESPACES.items():
        if namespace.display == prefix:
            return namespace.facet if collection not in REFERENCE_PREFIXES else Facet.OTHER
    return Facet.OTHER


def term_from_uri(
    uri: str, *, qualifier: str = "", element: str = "", element_name: str = ""
) -> OntologyTerm | None:
    """One term, labelled from the table, else from ``element_name`` for identity qualifiers.

    Returns None for URIs that are not MIRIAM resources and for references (papers, models).
    """
    parsed = parse_resource(uri)
    if parsed is None or parsed[0] in REFERENCE_PREFIXES:
        return None
    accession = parsed[1]
    label, source = curated_label(accession), "curated"
    if not label:
        usable = element and element_name and qualifier in _IDENTITY_QUALIFIERS
        label, source = (element_name.strip(), "element-name") if usable else ("", "")
    return OntologyTerm(
        accession=accession,
        label=label,
        facet=facet_of(accession),
        uri=uri,
        qualifier=qualifier,
        element=element,
        label_source=source,
    )


def terms_of(model: Model) -> tuple[OntologyTerm, ...]:
    """Every ontology term of the model and of its compartments, species, parameters, reactions.

    One term per (accession, element): a term repeated under another qualifier on the same
    element is dropped, while the same term on two elements is kept twice, so a searcher can
    see which species it annotates.
    """
    annotated: list[tuple[str, str, Iterable[Annotation]]] = [("", "", model.annotations)]
    for items in (model.compartments, model.species, model.parameters, model.reactions):
        annotated += [(item.id, item.name, item.annotations) for item in items]
    terms: list[OntologyTerm] = []
    seen: set[tuple[str, str]] = set()
    for element, name, written in annotated:
        for annotation in written:
            term = term_from_uri(
                annotation.uri, qualifier=annotation.qualifier, element=element, element_name=name
            )
            if term is None or (term.accession, element) in seen:
                continue
            seen.add((term.accession, element))
            terms.append(term)
    return tuple(terms)
