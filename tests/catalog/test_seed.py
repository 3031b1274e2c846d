"""The shipped seed: 140 BioModels entries whose files, checksums and metadata hold together,
and the extraction it is built from (URI parsing, facets, units, aliases)."""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import pytest

from immunetwin.catalog.annotations import facet_of, parse_resource, term_from_uri, terms_of
from immunetwin.catalog.entry import Entry, Facet, Provenance
from immunetwin.catalog.extract import default_alias, entry_from_model, readable_unit
from immunetwin.catalog.seed import model_file, seed_entries, seed_with_texts
from immunetwin.errors import UnknownIdentifierError
from immunetwin.formats import read_antimony, read_model

BIOMODELS = [e for e in seed_entries() if re.fullmatch(r"BIOMD\d{10}", e.id)]


def test_140_biomodels_entries_with_unique_ids_and_aliases() -> None:
    assert len(BIOMODELS) == 140
    assert all(e.id.startswith("BIOMD") and e.id == e.provenance.original_id for e in BIOMODELS)
    everything = seed_entries()
    assert len({e.id for e in everything}) == len(everything)
    assert len({e.alias for e in everything}) == len(everything)
    assert all(e.provenance.licence == "CC0-1.0" and e.citation.year for e in BIOMODELS)


def test_every_shipped_file_matches_its_checksum() -> None:
    for entry in seed_entries():
        if entry.provenance.sha256:
            digest = hashlib.sha256(model_file(entry).read_bytes()).hexdigest()
            assert digest == entry.provenance.sha256, entry.id


def test_shipped_files_are_byte_identical_to_shared(shared: Path) -> None:
    for entry in BIOMODELS:
        original = shared / "biomodels-immune" / entry.id / f"{entry.id}.xml"
        assert model_file(entry).read_bytes() == original.read_bytes(), entry.id


def test_json_round_trip_of_every_entry() -> None:
    for entry in seed_entries():
        assert Entry.from_dict(entry.to_dict()) == entry


def test_seed_loads_fast_and_texts_pair_up() -> None:
    seed_entries.cache_clear()
    started = time.perf_counter()
    entries = seed_entries()
    assert time.perf_counter() - started < 0.5  # ~50 ms measured; generous for loaded CI
    texts = seed_with_texts()
    assert [e for e, _ in texts] == list(entries)
    assert all(text.strip() for _, text in texts)


def test_model_file_refuses_unknown_entries() -> None:
    with pytest.raises(UnknownIdentifierError, match="no shipped catalogue entry"):
        model_file("no-such-model")
    orphan = Entry(id="x", alias="x", title="x", provenance=Provenance(source="user import"))
    with pytest.raises(UnknownIdentifierError, match="no shipped model file"):
        model_file(orphan)


def test_reynolds2006_entry() -> None:
    entry = next(e for e in seed_entries() if e.id == "BIOMD0000000714")
    assert entry.alias == "reynolds2006"
    assert entry.citation.pubmed == "16584750" and entry.citation.short() == "Reynolds et al. 2006"
    assert entry.time_unit == "hour"
    assert entry.category.value == "inflammation-sepsis"
    assert "taxonomy:9606" in {t.accession for t in entry.terms_for(Facet.ORGANISM)}


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("http://identifiers.org/CL:0000625", ("cl", "CL:0000625")),
        ("https://identifiers.org/cl/CL:0000625", ("cl", "CL:0000625")),
        ("urn:miriam:cl:CL%3A0000625", ("cl", "CL:0000625")),
        ("http://purl.obolibrary.org/obo/CL_0000625", ("cl", "CL:0000625")),
        ("http://identifiers.org/taxonomy/9606", ("taxonomy", "taxonomy:9606")),
        ("urn:miriam:taxonomy:10090", ("taxonomy", "taxonomy:10090")),
        ("urn:miriam:obo.go:GO%3A0006954", ("go", "GO:0006954")),
        ("urn:miriam:go:G0%3A0005623", ("go", "GO:0005623")),  # zero for the letter O
        ("http://identifiers.org/uniprot/P05231", ("uniprot", "uniprot:P05231")),
        ("http://identifiers.org/chebi/CHEBI:16412", ("chebi", "CHEBI:16412")),
        ("http://identifiers.org/pubmed/16584750", ("pubmed", "pubmed:16584750")),
        ("https://identifiers.org/pubmed:24285357", ("pubmed", "pubmed:24285357")),
        (
            "http://identifiers.org/doi/10.1006/jtbi.1994.1199",
            ("doi", "doi:10.1006/jtbi.1994.1199"),
        ),
        ("https://identifiers.org/doi:10.3390/math8081285", ("doi", "doi:10.3390/math8081285")),
        ("urn:miriam:pubmed:10.1080%2F1027366", ("doi", "doi:10.1080/1027366")),  # mislabelled
        (
            "http://identifiers.org/biomodels.db/BIOMD0000000714",
            ("biomodels.db", "biomodels.db:BIOMD0000000714"),
        ),
        ("http://identifiers.org/kegg.pathway/hsa04660", ("kegg.pathway", "kegg.pathway:hsa04660")),
        ("http://identifiers.org/reactome/REACT_6932.3", ("reactome", "reactome:REACT_6932.3")),
        ("http://identifiers.org/mesh/D018805", ("mesh", "mesh:D018805")),
        ("urn:miriam:doid:DOID%3A+0060075", ("doid", "DOID:0060075")),
        ("http://identifiers.org/efo/0000311", ("efo", "EFO:0000311")),
        ("http://identifiers.org/ncit/C94498", ("ncit", "NCIT:C94498")),
        ("http://identifiers.org/bto/BTO:0000801", ("bto", "BTO:0000801")),
        ("http://identifiers.org/mim/605384", ("mim", "OMIM:605384")),
        ("urn:miriam:omim:605384", ("mim", "OMIM:605384")),
        ("http://identifiers.org/ensembl/ENSG00000115415", ("ensembl", "ensembl:ENSG00000115415")),
        ("http://identifiers.org/interpro/IPR001217", ("interpro", "interpro:IPR001217")),
        ("http://identifiers.org/obi/OBI_0302894", ("obi", "OBI:0302894")),
    ],
)
def test_parse_resource(uri: str, expected: tuple[str, str]) -> None:
    assert parse_resource(uri) == expected


@pytest.mark.parametrize(
    "uri",
    [
        "#",
        "",
        "not a uri",
        "http://example.org/CL:0000625",
        "http://identifiers.org/",
        "http://identifiers.org/go/GO:12",  # too short for GO
        "http://identifiers.org/taxonomy/human",
        "http://identifiers.org/sbo/C48228",  # an NCIt code under the SBO collection
        "urn:miriam:pubmed:not-a-number",
    ],
)
def test_parse_resource_rejects_garbage(uri: str) -> None:
    assert parse_resource(uri) is None


@pytest.mark.parametrize(
    ("accession", "facet"),
    [
        ("taxonomy:9606", Facet.ORGANISM),
        ("taxonomy:10090", Facet.ORGANISM),
        ("taxonomy:40674", Facet.ORGANISM),
        ("taxonomy:11676", Facet.PATHOGEN),
        ("taxonomy:11320", Facet.PATHOGEN),
        ("taxonomy:1313", Facet.PATHOGEN),
        ("taxonomy:999999999", Facet.OTHER),  # not in the taxon table: not guessed
        ("CL:0000625", Facet.CELL_TYPE),
        ("BTO:0000801", Facet.CELL_TYPE),
        ("CHEBI:16412", Facet.MOLECULE),
        ("uniprot:P05231", Facet.MOLECULE),
        ("interpro:IPR001217", Facet.MOLECULE),
        ("GO:0006954", Facet.PROCESS),
        ("GO:0005634", Facet.OTHER),  # a cellular component, marked in labels.tsv
        ("kegg.pathway:hsa04660", Facet.PROCESS),
        ("DOID:9744", Facet.DISEASE),
        ("EFO:0000311", Facet.DISEASE),
        ("NCIT:C9305", Facet.DISEASE),
        ("OMIM:605384", Facet.DISEASE),
        ("SBO:0000179", Facet.OTHER),
    ],
)
def test_facet_of(accession: str, facet: Facet) -> None:
    assert facet_of(accession) is facet


def test_labels_come_from_the_table_then_the_element_name() -> None:
    curated = term_from_uri("http://identifiers.org/uniprot/P05231")
    assert curated is not None and curated.label == "Interleukin-6"
    assert curated.label_source == "curated"
    named = term_from_uri(
        "http://identifiers.org/ncit/C28347", qualifier="bqbiol:is", element="s", element_name="X"
    )
    assert named is not None and (named.label, named.label_source) == ("X", "element-name")
    part = term_from_uri(  # the element only contains the term: its name is not the label
        "http://identifiers.org/ncit/C28347",
        qualifier="bqbiol:hasPart",
        element="s",
        element_name="X",
    )
    assert part is not None and part.label == ""
    assert term_from_uri("http://identifiers.org/pubmed/1") is None  # a reference, not a term


def test_terms_keep_elements_and_drop_repeats(shared: Path) -> None:
    model = read_model(shared / "biomodels-immune/BIOMD0000000714/BIOMD0000000714.xml")
    terms = terms_of(model)
    keys = [(t.accession, t.element) for t in terms]
    assert len(keys) == len(set(keys))
    assert ("taxonomy:9606", "") in keys and ("GO:0006955", "") in keys
    assert any(t.element == "P" for t in terms)


def test_entry_from_an_annotation_free_antimony_model() -> None:
    model = read_antimony("model decay\n  S = 10; J0: S -> ; k*S; k = 0.1\nend")
    entry = entry_from_model(
        model,
        id="decay",
        alias=default_alias("decay", None, set()),
        model_format="antimony",
        provenance=Provenance(source="user import"),
    )
    assert (entry.alias, entry.title, entry.time_unit, entry.terms) == ("decay", "decay", "", ())
    assert entry.citation.pubmed == "" and entry.diseases == ()
    assert {(q.id, q.kind, q.value) for q in entry.quantities} >= {
        ("S", "species", 10.0),
        ("k", "parameter", 0.1),
    }
    assert Entry.from_dict(entry.to_dict()) == entry


def test_entry_from_an_annotated_biomodels_file(shared: Path) -> None:
    model = read_model(shared / "biomodels-immune/BIOMD0000000093/BIOMD0000000093.xml")
    entry = entry_from_model(
        model, id="y", alias="yamada2003", model_format="sbml", provenance=Provenance(source="t")
    )
    assert entry.citation.pubmed == "12527385"
    assert entry.title == model.name
    units = {q.id: q.unit for q in entry.quantities}
    assert units["R"] == "nanomole / volume"  # substance redefined as nM; volume undeclared
    assert readable_unit(model, "nM_per_second") == "nanomole / (litre * second)"
    assert any(t.accession == "kegg.pathway:mmu04630" for t in entry.terms)


def test_default_alias() -> None:
    assert default_alias("Reynolds", 2006, set()) == "reynolds2006"
    assert default_alias("Reynolds", 2006, {"reynolds2006"}) == "reynolds2006a"
    assert default_alias("Reynolds", 2006, {"reynolds2006", "reynolds2006a"}) == "reynolds2006b"
    assert default_alias("Hernández-Vargas", 2012, set()) == "hernandez-vargas2012"
    assert default_alias("den Breems", 2015, set()) == "denbreems2015"
    assert default_alias("my_model", None, set()) == "my_model"
    assert default_alias("!!!", None, set()) == "model"
    taken = {"x"} | {f"x{c}" for c in "abcdefghijklmnopqrstuvwxyz"}
    assert default_alias("x", None, taken) == "xaa"
