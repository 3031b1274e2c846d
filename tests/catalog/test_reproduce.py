"""Published numbers recomputed from the shipped model files (one test per claim), and the
checks that make those tests able to fail: wrong values fail, malformed claims are refused."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from immunetwin.catalog._claims import Target, evaluate, last_digit_unit, parse_claim
from immunetwin.catalog.entry import CurationNote, Entry, ReproductionStatus
from immunetwin.catalog.reproduce import (
    DATA,
    MODELS,
    claim,
    claims,
    claims_for,
    load_claims,
    model_path,
    run_claim,
)
from immunetwin.catalog.seed import seed_entries
from immunetwin.errors import InvalidInputError, UnknownIdentifierError
from immunetwin.formats import read_model
from immunetwin.ir import Model


@pytest.mark.parametrize("claim_id", [c.id for c in claims()])
def test_claim(claim_id: str) -> None:
    item = claim(claim_id)
    result = run_claim(item)
    assert result.test == f"tests/catalog/test_reproduce.py::test_claim[{claim_id}]"
    if item.expect_failure:  # a documented discrepancy must stay visible
        assert result.status is ReproductionStatus.FAILED, result.measured
    else:
        assert result.status is ReproductionStatus.REPRODUCED, result.measured
    # the status the shipped catalogue shows is the one a live run gives
    shown = {r.claim: r for e in seed_entries() for r in e.reproductions}
    assert shown[claim_id].status is result.status


def test_claims_read_the_models_shipped_in_the_package() -> None:
    for item in claims():
        assert model_path(item.entry).parent == MODELS


def test_a_wrong_expected_value_fails() -> None:
    septic = claim("reynolds2006.septic-death")
    wrong = tuple(
        dataclasses.replace(t, text="5.94") if t.name == "P" else t for t in septic.values
    )
    result = run_claim(dataclasses.replace(septic, values=wrong))
    assert result.status is ReproductionStatus.FAILED
    assert "expected 5.94" in result.measured


def test_a_wrong_threshold_fails() -> None:
    threshold = claim("perelson1993.critical-burst-size")
    wrong = (dataclasses.replace(threshold.values[0], text="700"),)
    assert run_claim(dataclasses.replace(threshold, values=wrong)).status.value == "failed"


def test_a_peak_outside_its_window_fails() -> None:
    peak = claim("baccam2006.viral-peak")
    result = run_claim(dataclasses.replace(peak, window=(3.0, 4.0)))
    assert result.status is ReproductionStatus.FAILED
    assert "outside window" in result.measured


_GOOD: dict[str, Any] = {
    "id": "demo.claim",
    "entry": "baccam2006",
    "description": "d",
    "source": "s",
    "expected": "e",
    "compute": {"kind": "expression", "formula": "24/k", "value": "6"},
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"entry": ""}, "entry"),
        ({"compute": {"kind": "integrate"}}, "kind"),
        ({"compute": {"kind": "simulate", "values": {"V": "1"}}}, "time"),
        ({"compute": {"kind": "expression", "formula": "24/k", "value": 6}}, "value"),
        (
            {
                "compute": {
                    "kind": "threshold",
                    "parameter": "k",
                    "bracket": [2, 1],
                    "guess": {},
                    "value": "1",
                }
            },
            "bracket",
        ),
        (
            {"compute": {"kind": "expression", "formula": "24/k", "value": "__import__('os')"}},
            "value",
        ),
    ],
)
def test_a_malformed_claim_names_the_claim_and_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError, match=rf"demo\.claim.*'{field}'"):
        parse_claim({**_GOOD, **change})


def test_a_claim_naming_a_missing_id_is_refused() -> None:
    item = parse_claim({**_GOOD, "compute": {**_GOOD["compute"], "parameters": {"kk": 1.0}}})
    with pytest.raises(InvalidInputError, match=r"demo\.claim.*'parameters'.*'kk'"):
        run_claim(item)


def test_bad_toml_and_unknown_claims_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "claims.toml"
    path.write_text("[[claim]]\nid = \n")
    with pytest.raises(InvalidInputError, match="not valid TOML"):
        load_claims(path)
    with pytest.raises(UnknownIdentifierError):
        claim("no.such.claim")


def test_precision_follows_the_stated_digits() -> None:
    assert last_digit_unit("0.635") == pytest.approx(1e-3)
    assert last_digit_unit("2.44e6") == pytest.approx(1e4)
    assert last_digit_unit("774") == 1.0
    assert Target("N", "0.635").agrees(0.6354, {})
    assert not Target("N", "0.635").agrees(0.637, {})
    assert Target("x", "b/c").agrees(1.0, {"b": 0.1, "c": 0.1})


def test_formulas_accept_arithmetic_only() -> None:
    assert evaluate("24*log(2)/c", {"c": 24.0}) == pytest.approx(0.693147, rel=1e-6)
    for bad in ("__import__('os')", "c.real", "[c]", "c if c else 1"):
        with pytest.raises(InvalidInputError):
            evaluate(bad, {"c": 1.0})


def test_every_classic_entry_matches_its_file_and_claims() -> None:
    entries = [Entry.from_dict(d) for d in json.loads((DATA / "classics.json").read_text())]
    assert {e.alias for e in entries} >= {"baccam2006", "nowak1996", "hancioglu2007-corrected"}
    for entry in entries:
        path = DATA / entry.provenance.file
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry.provenance.sha256
        assert entry.citation.doi and entry.citation.pubmed and entry.time_unit
        assert {r.claim for r in entry.reproductions} == {c.id for c in claims_for(entry.id)}
        assert entry.curation_status.value == "reproduced"
    corrected = next(e for e in entries if e.id == "BIOMD0000000711_corrected")
    assert corrected.provenance.derived_from == "BIOMD0000000711"
    assert [n.kind for n in corrected.curation_notes] == ["correction"]


def test_curation_notes_record_the_hancioglu_discrepancy() -> None:
    notes = json.loads((DATA / "curation.json").read_text())
    parsed = [CurationNote(**n) for n in notes["BIOMD0000000711"]]
    assert any(n.kind == "discrepancy" and "aE" in n.text for n in parsed)
    assert any(c.expect_failure for c in claims_for("BIOMD0000000711"))


def test_the_corrected_hancioglu_differs_only_in_the_local_ae() -> None:
    original = read_model(model_path("BIOMD0000000711"))
    corrected = read_model(model_path("BIOMD0000000711_corrected"))

    def local(model: Model) -> dict[str, float | None]:
        return {f"{r.id}.{p.id}": p.value for r in model.reactions for p in r.local_parameters}

    def rest(model: Model) -> Model:
        return dataclasses.replace(model, reactions=(), id="", name="", notes="", annotations=())

    assert local(original) == {"Degradation_of_Effector_cells__E.aE": 0.1}
    assert local(corrected) == {"Degradation_of_Effector_cells__E.aE": 0.4}
    assert rest(original) == rest(corrected)
    assert [dataclasses.replace(r, local_parameters=()) for r in original.reactions] == [
        dataclasses.replace(r, local_parameters=()) for r in corrected.reactions
    ]
