"""Provenance and safety of the twin record: every update is a version, history replays to the
same posterior, recommendations change nothing until approved, a rejected file stores
nothing, and a process killed mid-update leaves the record consistent."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from immunetwin.errors import InvalidInputError, PatientDataError
from immunetwin.twin.demo import demo_patient
from immunetwin.twin.service import TwinService, read_timeline
from immunetwin.twin.store import TwinStore


@pytest.fixture
def service(tmp_path: Path) -> TwinService:
    service = TwinService(TwinStore.open(tmp_path / "twins.sqlite"))
    service.create("t", "viral_pneumonia", demo_patient().until(2.5), size=40, seed=3)
    return service


def _versions(service: TwinService) -> list[int]:
    return [e["version"] for e in service.store.history("t") if e["event"] == "version"]


def test_updates_are_versions_and_history_replays_to_the_same_posterior(
    service: TwinService,
) -> None:
    patient = demo_patient()
    service.assimilate("t", patient.after(2.5).until(3.5), method="enkf", seed=1)
    service.assimilate("t", patient.after(3.5).until(4.5), method="pf", seed=2)
    assert _versions(service) == [1, 2, 3]
    assert service.replay("t") == [(1, True), (2, True), (3, True)]


def test_recommendations_change_nothing_until_approved(service: TwinService) -> None:
    constraints = {"antiviral": {"allowed_days": [3, 3], "dose_scales": [1.0]}}
    before = service.store.version("t")
    recommendation, results = service.recommend(
        "t", ["antiviral"], constraints=constraints, exposure_weight=0.0, members=3
    )
    assert _versions(service) == [1]
    unchanged = service.store.version("t")
    assert unchanged.inputs["timeline"] == before.inputs["timeline"]
    assert unchanged.inputs["timeline"]["interventions"] == []
    best = results[0]
    done = service.approve("t", recommendation, "Dr Ada")
    if best.regimens:
        assert done["version"] == 2
        record = service.store.version("t").inputs["timeline"]["interventions"]
        assert len(record) == sum(len(r.times) for r in best.regimens)
        assert {i["drug"] for i in record} == {r.drug for r in best.regimens}
    else:
        assert done["version"] is None and _versions(service) == [1]


def test_a_rejected_file_stores_nothing(service: TwinService, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    good = demo_patient().after(2.5).until(3.5)
    good.to_csv(bad)
    lines = bad.read_text().splitlines()
    lines[-1] = lines[-1].replace(lines[-1].split(",")[4], "-5", 1)  # negative value
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(PatientDataError, match="line"):
        service.assimilate("t", read_timeline(bad))
    with pytest.raises(PatientDataError):
        service.create("t2", "viral_pneumonia", read_timeline(bad))
    assert _versions(service) == [1]
    assert [row["name"] for row in service.store.names()] == ["t"]


def test_killed_mid_update_leaves_the_record_consistent(tmp_path: Path) -> None:
    database = tmp_path / "twins.sqlite"
    service = TwinService(TwinStore.open(database))
    service.create("k", "viral_pneumonia", demo_patient().until(2.5), size=40, seed=3)
    data = tmp_path / "day3.csv"
    demo_patient().after(2.5).until(3.5).to_csv(data)
    command = [
        sys.executable,
        "-m",
        "immunetwin.cli.main",
        "twin",
        "assimilate",
        "k",
        "--data",
        str(data),
        "--db",
        str(database),
    ]
    for delay in (0.5, 1.5, 3.0):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        with sqlite3.connect(database) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        versions = [e["version"] for e in service.store.history("k") if e["event"] == "version"]
        assert versions == list(range(1, len(versions) + 1))
        service.store.version("k")  # the latest version loads whole


def test_a_fitted_population_becomes_the_twins_prior_and_replays(tmp_path: Path) -> None:
    import math

    service = TwinService(TwinStore.open(tmp_path / "twins.sqlite"))
    # a narrow population around a doubled CD8 expansion rate, as calibrate.population writes
    population = {
        "parameters": {"cd8_r_E": {"scale": "log10", "mean": math.log10(4.0), "sd": 0.01}}
    }
    version = service.create(
        "pop", "viral_pneumonia", demo_patient().until(1.5), size=40, population=population
    )
    assert version.summary["cd8_r_E"]["median"] == pytest.approx(4.0, rel=0.1)
    assert service.store.version("pop").inputs["population"] == population
    assert service.replay("pop") == [(1, True)]
    with pytest.raises(InvalidInputError, match="log-normal"):
        service.create(
            "bad",
            "viral_pneumonia",
            demo_patient().until(1.5),
            size=40,
            population={"parameters": {"cd8_r_E": {"scale": "lin", "mean": 2, "sd": 0.1}}},
        )
