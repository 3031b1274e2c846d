"""``immunetwin twin ...`` on the shipped demo patient, as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

from test_cli import immunetwin

from immunetwin.twin.demo import demo_patient


def test_twin_commands_end_to_end(tmp_path: Path) -> None:
    patient = demo_patient()
    first, later = tmp_path / "first.csv", tmp_path / "later.csv"
    patient.until(2.5).to_csv(first)
    patient.after(2.5).until(3.5).to_csv(later)
    db = ["--db", tmp_path / "twins.sqlite"]

    created = json.loads(
        immunetwin(
            "twin",
            "create",
            "p1",
            "--model",
            "viral_pneumonia",
            "--patient",
            first,
            "--size",
            "60",
            *db,
            "--json",
        ).stdout
    )
    assert created["version"] == 1 and created["day"] > 2

    plot = tmp_path / "p1.png"
    forecast = json.loads(
        immunetwin("twin", "forecast", "p1", "--horizon", "5", "--plot", plot, *db, "--json").stdout
    )
    assert plot.exists() and set(forecast["outcomes"]) >= {"il6_above_70"}
    assert len(forecast["quantities"]["il6"]["band90"]) == 2

    updated = json.loads(
        immunetwin(
            "twin", "assimilate", "p1", "--data", later, "--method", "pf", *db, "--json"
        ).stdout
    )
    assert updated["version"] == 2 and updated["assimilated"] > 0

    constraints = tmp_path / "constraints.yaml"
    constraints.write_text("antiviral:\n  allowed_days: [4, 4]\n  dose_scales: [1.0]\n")
    optimised = json.loads(
        immunetwin(
            "twin",
            "optimise",
            "p1",
            "--drug",
            "antiviral",
            "--constraints",
            constraints,
            "--horizon",
            "6",
            *db,
            "--json",
        ).stdout
    )
    recommendation = optimised["recommendation"]
    assert {c["name"] for c in optimised["compared"]} >= {
        "no further treatment",
        "antiviral x1 from day 4",
    }

    approved = json.loads(
        immunetwin(
            "twin", "approve", "p1", str(recommendation), "--by", "Dr Ada", *db, "--json"
        ).stdout
    )
    assert approved["approved_by"] == "Dr Ada"
    # approving puts the recommended doses into the record as a new version (none if the
    # recommendation is no further treatment)
    expected = 2 if approved["version"] is None else 3
    history = json.loads(immunetwin("twin", "history", "p1", *db, "--json").stdout)
    assert [e["event"] for e in history].count("version") == expected
    assert any(e.get("approved_by") == "Dr Ada" for e in history)
    listed = json.loads(immunetwin("twin", "list", *db, "--json").stdout)
    assert listed[0]["name"] == "p1" and listed[0]["versions"] == expected

    missing = immunetwin("twin", "forecast", "nobody", "--horizon", "3", *db, check=False)
    assert missing.returncode == 1 and "p1" in missing.stderr
    stale = immunetwin("twin", "assimilate", "p1", "--data", later, *db, check=False)
    assert stale.returncode == 1 and "error:" in stale.stderr
