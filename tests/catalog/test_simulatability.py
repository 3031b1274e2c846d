"""Simulatability reports: feature detection, check_model outcomes, the shipped reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import immunetwin.check.agreement as agreement
from immunetwin.catalog.entry import Agreement
from immunetwin.catalog.simulatability import (
    FEATURES,
    SHIPPED_REPORTS,
    check_model,
    features_used,
    read_reports,
    report_from_dict,
    report_to_dict,
)
from immunetwin.check.agreement import MISSING_ROADRUNNER, RTOL, roadrunner_version
from immunetwin.formats import read_antimony, read_sbml_string

HAS_ROADRUNNER = roadrunner_version() is not None
MODELS = Path(__file__).resolve().parents[2] / "src/immunetwin/catalog/data/models"

BASE = "compartment c = 1; species A in c; A = 1; R: A -> ; k*A; k = 0.1;"

# feature -> Antimony lines added to BASE (function definitions go before the model)
ANTIMONY = {
    "events": "at (time > 5): k = 0.2;",
    "time-events": "at (time > 5): k = 0.2;",
    "state-events": "at (A < 0.5): k = 0.3;",
    "delayed-events": "at 2 after (time > 1): k = 0.4;",
    "event-priorities": "at (time > 1), priority = 2: k = 0.4;",
    "non-persistent-triggers": "at (time > 1), persistent = false: k = 0.4;",
    "rate-rules": "x' = 1; x = 0;",
    "assignment-rules": "y := 2*k;",
    "initial-assignments": "j = 2*k;",
    "function-definitions": "z = f(k);",
    "piecewise": "y := piecewise(1, time > 2, 0);",
    "hasOnlySubstanceUnits": "substanceOnly species B in c; B = 1;",
    "boundary-species": "species $B in c; B = 1;",
    "multiple-compartments": "compartment d = 2;",
    "variable-compartments": "compartment d = 2; d' = 0.1;",
    "non-unit-stoichiometry": "R2: 2 A -> ; k*A;",
}

SBML = """<?xml version="1.0" encoding="UTF-8"?>
<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">
  <model id="m">
    <listOfCompartments>
      <compartment id="c" spatialDimensions="3" size="1" constant="true"/>
    </listOfCompartments>
    <listOfSpecies>
      <species id="A" compartment="c" initialConcentration="1" hasOnlySubstanceUnits="false"
        boundaryCondition="false" constant="{constant}"/>
    </listOfSpecies>
    <listOfParameters>
      <parameter id="k" value="0.1" constant="true"/>
    </listOfParameters>
    <listOfReactions>
      <reaction id="R" reversible="false">
        <listOfReactants>
          <speciesReference species="A" stoichiometry="1" constant="true"/>
        </listOfReactants>
        <kineticLaw>
          <math xmlns="http://www.w3.org/1998/Math/MathML">{law}</math>
          {local}
        </kineticLaw>
      </reaction>
    </listOfReactions>
  </model>
</sbml>
"""
LAW = "<apply><times/><ci>k</ci><ci>A</ci></apply>"
AVOGADRO = (
    "<apply><times/><ci>k</ci><ci>A</ci><apply><divide/>"
    '<csymbol encoding="text" definitionURL="http://www.sbml.org/sbml/symbols/avogadro">'
    "N</csymbol><cn>6.02214179e23</cn></apply></apply>"
)
LOCAL = '<listOfLocalParameters><localParameter id="k" value="0.2"/></listOfLocalParameters>'

# feature -> SBML (constructs Antimony does not write directly)
SBML_CASES = {
    "local-parameters": SBML.format(constant="false", law=LAW, local=LOCAL),
    "csymbol-avogadro": SBML.format(constant="false", law=AVOGADRO, local=""),
    # a constant species must not be a reactant, so the reaction consumes nothing here
    "constant-species": SBML.format(constant="true", law=LAW, local="").replace(
        '<speciesReference species="A" stoichiometry="1" constant="true"/>', ""
    ),
}

# feature -> file of tests/data/bad that the reader refuses for it
REFUSED = {
    "algebraic-rules": ("algebraic_rule.xml", "algebraicRule"),
    "delay": ("delay.xml", "delay()"),
    "fast-reactions": ("fast_reaction.xml", "fast reaction"),
}


def _antimony(extra: str) -> str:
    functions = "function f(a)\n  a*2\nend\n" if "f(" in extra else ""
    return f"{functions}model m()\n  {BASE}\n  {extra}\nend\n"


def test_every_feature_name_is_tested() -> None:
    assert set(ANTIMONY) | set(SBML_CASES) | set(REFUSED) == set(FEATURES)


def test_plain_model_uses_no_feature() -> None:
    assert features_used(read_antimony(_antimony(""))) == ()


@pytest.mark.parametrize("feature", sorted(ANTIMONY))
def test_features_in_antimony(feature: str) -> None:
    used = features_used(read_antimony(_antimony(ANTIMONY[feature])))
    assert feature in used
    assert list(used) == [name for name in FEATURES if name in used]  # stable order


@pytest.mark.parametrize("feature", sorted(SBML_CASES))
def test_features_in_sbml(feature: str) -> None:
    assert feature in features_used(read_sbml_string(SBML_CASES[feature]))


def test_time_and_state_events_are_told_apart() -> None:
    timed = features_used(read_antimony(_antimony(ANTIMONY["time-events"])))
    state = features_used(read_antimony(_antimony(ANTIMONY["state-events"])))
    assert "state-events" not in timed and "time-events" not in state


@pytest.mark.parametrize("feature", sorted(REFUSED))
def test_refused_feature_is_named(data_dir: Path, feature: str) -> None:
    name, raw = REFUSED[feature]
    report = check_model(data_dir / "bad" / name)
    assert not report.simulates
    assert report.unsupported == (feature,)
    assert feature in report.features
    assert raw in report.reason and "used by element" in report.reason
    assert report.agreement is Agreement.NOT_CHECKED


def test_supported_model_simulates_and_agrees(tmp_path: Path) -> None:
    path = tmp_path / "decay.ant"
    path.write_text(_antimony(ANTIMONY["time-events"]))
    report = check_model(path)
    assert report.simulates and report.reason == ""
    assert report.features == ("events", "time-events")
    assert report.horizon == 100.0
    assert report.checked_with.startswith("immunetwin ")
    if HAS_ROADRUNNER:
        assert report.agreement is Agreement.AGREE
        assert report.max_rel_error is not None and report.max_rel_error <= RTOL
        assert "libroadrunner" in report.checked_with
    else:
        assert report.agreement is Agreement.NOT_CHECKED


def test_model_object_and_explicit_horizon() -> None:
    model = read_antimony(_antimony(ANTIMONY["rate-rules"]))
    report = check_model(model, horizon=5.0, with_reference=False)
    assert report.simulates and report.horizon == 5.0
    assert report.agreement is Agreement.NOT_CHECKED
    assert report.max_rel_error is None


def test_without_roadrunner_the_report_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agreement, "roadrunner_version", lambda: None)
    report = check_model(read_antimony(_antimony("")))
    assert report.simulates
    assert report.agreement is Agreement.NOT_CHECKED
    assert report.detail == MISSING_ROADRUNNER
    assert "libroadrunner" not in report.checked_with


@pytest.mark.parametrize(
    "name", ["truncated.xml", "binary_garbage.xml", "empty.xml", "broken_antimony.ant"]
)
def test_broken_file_is_a_report(data_dir: Path, name: str) -> None:
    report = check_model(data_dir / "bad" / name)
    assert not report.simulates
    assert report.reason and report.unsupported == ()


def test_missing_file_and_unknown_format_are_reports(tmp_path: Path) -> None:
    assert "no SBML file" in check_model(tmp_path / "absent.xml").reason
    other = tmp_path / "model.csv"
    other.write_text("a,b\n")
    assert not check_model(other).simulates


def test_failed_run_gives_the_status() -> None:
    blow_up = read_antimony("model m()\n  x' = x^2; x = 1\nend\n")  # x = 1/(1 - t)
    report = check_model(blow_up, horizon=2.0)
    assert not report.simulates
    assert report.reason.split(":")[0] in {"integration_failed", "nonfinite", "event_limit"}


def test_report_round_trips_through_json() -> None:
    report = check_model(read_antimony(_antimony(ANTIMONY["events"])), horizon=10.0)
    data = json.loads(json.dumps(report_to_dict(report)))
    assert report_from_dict(data) == report_from_dict(report_to_dict(report))
    assert data["agreement"] == report.agreement.value


# --- the shipped reports ---------------------------------------------------------------------


def _shipped_files(shared: Path | None) -> dict[str, Path]:
    """Entry id -> model file, as scripts/build_simulatability.py finds them."""
    files: dict[str, Path] = {}
    folder = None if shared is None else shared / "biomodels-immune"
    if folder is not None and (folder / "INDEX.tsv").is_file():
        for row in agreement.index_rows(folder):
            files[row["id"]] = folder / row["id"] / f"{row['id']}.xml"
    if MODELS.is_dir():
        files |= {p.stem: p for p in MODELS.iterdir() if p.suffix in (".xml", ".ant")}
    return files


def test_shipped_reports_cover_the_models_and_mostly_agree() -> None:
    reports = read_reports(SHIPPED_REPORTS)
    shared = Path(__file__).resolve().parents[3] / "shared"
    files = _shipped_files(shared if shared.is_dir() else None)
    assert set(files) <= set(reports), sorted(set(files) - set(reports))
    biomodels = [r for key, r in reports.items() if key.startswith("BIOMD")]
    assert len(biomodels) >= 140
    good = [
        r
        for r in biomodels
        if r.simulates and r.agreement in (Agreement.AGREE, Agreement.TOLERANCE_LIMITED)
    ]
    assert len(good) >= 0.9 * len(biomodels)
    for key, report in reports.items():
        assert report.simulates or report.reason, key
        assert report.horizon is not None and report.horizon > 0, key
    assert list(reports) == sorted(reports)


LIVE = (
    "BIOMD0000000534",  # delayed dosing events, 2688 h horizon
    "BIOMD0000000711_corrected",  # derived entry: horizon from BIOMD0000000711's row
    "BIOMD0000000778",  # tolerance-limited (KNOWN)
    "BIOMD0000000924",  # L3V2
    "baccam2006",  # hand-encoded Antimony
)


@pytest.mark.skipif(not HAS_ROADRUNNER, reason=MISSING_ROADRUNNER)
@pytest.mark.parametrize("entry_id", LIVE)
def test_live_check_matches_shipped_report(shared: Path, entry_id: str) -> None:
    path = _shipped_files(shared).get(entry_id)
    if path is None:
        pytest.skip(f"{entry_id} is not shipped")
    shipped = read_reports(SHIPPED_REPORTS)[entry_id]
    live = check_model(path, model_id=entry_id)
    assert (live.simulates, live.agreement) == (shipped.simulates, shipped.agreement)
    assert (live.features, live.unsupported) == (shipped.features, shipped.unsupported)
    assert live.horizon == shipped.horizon
    if live.agreement is Agreement.AGREE:
        assert live.max_rel_error is not None and live.max_rel_error <= RTOL
