"""Our engine against libroadrunner on shared/biomodels-immune.

The rules (horizons, criterion, KNOWN) live in ``immunetwin.check.agreement``. The full set is
``@pytest.mark.slow`` (``make agreement``); a representative subset runs in CI.
Models in ``KNOWN`` are expected failures (strict: a fix turns them into XPASS, which
fails, so the entry gets removed).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from immunetwin.catalog.entry import Agreement
from immunetwin.catalog.simulatability import verdict
from immunetwin.check.agreement import (
    KNOWN,
    MISSING_ROADRUNNER,
    RTOL,
    AgreementResult,
    compare_with_roadrunner,
    index_rows,
    roadrunner_version,
)


def test_without_roadrunner_says_so(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    import immunetwin.check.agreement as agreement

    monkeypatch.setattr(agreement, "roadrunner_version", lambda: None)
    result = compare_with_roadrunner(data_dir / "bad" / "algebraic_rule.xml")
    assert result.status == "not_checked"
    assert verdict(result) is Agreement.NOT_CHECKED
    assert result.detail == MISSING_ROADRUNNER


needs_roadrunner = pytest.mark.skipif(roadrunner_version() is None, reason=MISSING_ROADRUNNER)

FOLDER = Path(__file__).resolve().parents[2].parent / "shared" / "biomodels-immune"

# CI subset: every category of INDEX.tsv, all SBML levels, species-less models, rate rules,
# time events, a state event, events with delays (the has_delay = event-delay models 0534, 0536,
# 0620, 0928), an event exactly on an output time and the equality trigger time == 20.
SUBSET = (
    "BIOMD0000000093",  # other: JAK/STAT, L2V1, 34 species, local parameters
    "BIOMD0000000123",  # immune-cell-regulation: tiny compartments (tolerance scaling)
    "BIOMD0000000238",  # other: no species, parameters under rate rules
    "BIOMD0000000381",  # autoimmune: species under rate rules
    "BIOMD0000000463",  # infection-viral: L3V1, 19 assignment rules
    "BIOMD0000000534",  # autoimmune: 4 dosing events with delay, 2688 h horizon
    "BIOMD0000000536",  # autoimmune: 13 dosing events with delay
    "BIOMD0000000620",  # inflammation-sepsis: event with delay, 24 rate rules
    "BIOMD0000000681",  # inflammation-sepsis: 'time > 22' on an output time
    "BIOMD0000000711",  # infection-viral: state event V < 0
    "BIOMD0000000791",  # vaccine: time event
    "BIOMD0000000806",  # tumour-immune: 6 time events
    "BIOMD0000000924",  # infection-bacterial: L3V2
    "BIOMD0000000928",  # inflammation-sepsis: time == 20 with delay 0
)


def _all_ids() -> list[str]:
    if not (FOLDER / "INDEX.tsv").is_file():
        return ["no-shared-data"]  # the `shared` fixture skips
    return [row["id"] for row in index_rows(FOLDER)]


def _params(ids: list[str] | tuple[str, ...]) -> list[object]:
    return [
        pytest.param(i, marks=pytest.mark.xfail(reason=KNOWN[i], strict=True)) if i in KNOWN else i
        for i in ids
    ]


def _check(shared: Path, model_id: str) -> AgreementResult:
    path = shared / "biomodels-immune" / model_id / f"{model_id}.xml"
    result = compare_with_roadrunner(path)
    if result.status == "unsupported":
        assert result.feature, f"{model_id}: UnsupportedFeatureError names no feature"
        return result
    assert result.status == "agree", (
        f"{model_id} ({result.status}, horizon {result.horizon:g}, "
        f"max error {result.max_rel_error:.3g} > {RTOL:g}): {result.detail}"
    )
    return result


@needs_roadrunner
@pytest.mark.parametrize("model_id", _params(SUBSET))
def test_agrees_with_roadrunner(shared: Path, model_id: str) -> None:
    _check(shared, model_id)


@needs_roadrunner
@pytest.mark.slow
@pytest.mark.parametrize("model_id", _params(_all_ids()))
def test_every_model_agrees_with_roadrunner(shared: Path, model_id: str) -> None:
    _check(shared, model_id)


ALGEBRAIC = """<?xml version="1.0" encoding="UTF-8"?>
<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">
  <model id="algebraic">
    <listOfParameters>
      <parameter id="x" value="1" constant="false"/>
    </listOfParameters>
    <listOfRules>
      <algebraicRule>
        <math xmlns="http://www.w3.org/1998/Math/MathML">
          <apply><minus/><ci> x </ci><cn> 2 </cn></apply>
        </math>
      </algebraicRule>
    </listOfRules>
  </model>
</sbml>
"""


@needs_roadrunner
def test_unsupported_feature_is_named(tmp_path: Path) -> None:
    path = tmp_path / "algebraic.xml"
    path.write_text(ALGEBRAIC)
    result = compare_with_roadrunner(path)
    assert result.status == "unsupported"
    assert result.feature == "algebraicRule"
