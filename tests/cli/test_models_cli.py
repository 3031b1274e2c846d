"""``immunetwin models ...`` and catalogue ids in place of model files, through the real
console script, against a private catalogue (``--db``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import immunetwin, read_csv

GROWTH = """
model growth
  species X = 1;
  J: -> X; r*X*(1 - X/K)
  r = 1; K = 10;
end
"""


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("cli-catalog") / "catalog.sqlite")


def test_list_search_show_contract(db: str) -> None:
    listed = json.loads(immunetwin("models", "list", "--json", "--db", db).stdout)
    assert len(listed) >= 143
    assert set(listed[0]) >= {"id", "alias", "title", "year", "category", "curation_status"}
    category = ("--category", "inflammation-sepsis")
    sepsis = json.loads(immunetwin("models", "list", *category, "--json", "--db", db).stdout)
    assert sepsis and all(e["category"] == "inflammation-sepsis" for e in sepsis)

    hits = json.loads(
        immunetwin(
            "models", "search", "acute inflamation", "--limit", "3", "--json", "--db", db
        ).stdout
    )
    assert "reynolds2006" in [h["alias"] for h in hits]
    assert set(hits[0]) >= {"id", "alias", "title", "year", "score"}
    assert hits == sorted(hits, key=lambda h: -h["score"])

    shown = json.loads(immunetwin("models", "show", "reynolds2006", "--json", "--db", db).stdout)
    assert shown["id"] == "BIOMD0000000714" and shown["schema_version"] == 1
    assert shown["citation"]["pubmed"] and shown["simulatability"]["simulates"] is True
    assert {r["status"] for r in shown["reproductions"]} == {"reproduced"}
    assert shown["versions"] == [1]
    text = immunetwin("models", "show", "reynolds2006", "--db", db).stdout
    assert "reynolds2006" in text and "reproduces:" in text


def test_filters_and_errors(db: str) -> None:
    hits = json.loads(
        immunetwin(
            "models", "search", "infection", "--organism", "human", "--json", "--db", db
        ).stdout
    )
    assert hits
    missing = immunetwin("models", "show", "no-such-model", "--db", db, check=False)
    assert missing.returncode == 1 and "UnknownIdentifierError" in missing.stderr
    usage = immunetwin("models", "check", "--db", db, check=False)
    assert usage.returncode == 2 and "--all" in usage.stderr


def test_import_export_check_and_run_by_alias(db: str, tmp_path: Path) -> None:
    source = tmp_path / "growth.ant"
    source.write_text(GROWTH)
    [imported] = json.loads(
        immunetwin("models", "import", source, "--alias", "mygrowth", "--json", "--db", db).stdout
    )
    assert (imported["action"], imported["version"], imported["simulates"]) == ("created", 1, True)
    clash = immunetwin(
        "models", "import", source, "--alias", "reynolds2006", "--db", db, check=False
    )
    assert clash.returncode == 1 and "DuplicateEntryError" in clash.stderr

    out = tmp_path / "growth.xml"
    immunetwin("models", "export", "mygrowth", "--format", "sbml", "--out", out, "--db", db)
    assert "<sbml" in out.read_text()

    [report] = json.loads(
        immunetwin("models", "check", "nowak1996", "--no-reference", "--json", "--db", db).stdout
    )
    assert report["simulates"] and report["curation_status"] == "reproduced"

    csv_text = immunetwin(
        "simulate", "mygrowth", "--end", "2", "--points", "3", env={"IMMUNETWIN_DB": db}
    ).stdout
    header, values = read_csv(csv_text)
    assert header == ["time", "X"] and values[-1, 1] > values[0, 1]


@pytest.mark.slow
def test_check_all_reports_every_entry(db: str) -> None:
    """``make catalogue``: every entry checked live against libroadrunner (about 20 s)."""
    reports = json.loads(immunetwin("models", "check", "--all", "--json", "--db", db).stdout)
    assert len(reports) >= 143
    for report in reports:
        assert report["simulates"] or report["reason"], report["id"]
    agreeing = [r for r in reports if r["agreement"] in ("agree", "tolerance-limited")]
    assert len(agreeing) >= 0.9 * len(reports)
    claims = [c for r in reports for c in r["reproductions"]]
    assert claims and all(
        c["status"] == ("failed" if c["documented_failure"] else "reproduced") for c in claims
    )
