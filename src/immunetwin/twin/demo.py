"""The twin loop end to end on the shipped synthetic patient, day by day, with an HTML report.

A SARS-CoV-2-like pneumonia patient (``data/demo_patient.csv``, simulated from known
parameters, so the report can show how close the twin gets) arrives with three days of data.
The twin is created from them, then each new day's measurements are assimilated; before and
after each update the twin forecasts a week ahead (fan charts). On day 4 the twin compares
the allowed regimens of an antiviral, a corticosteroid and an anti-IL-6R antibody and records
the best as a recommendation awaiting a person's approval. Everything is stored in a twin
record (SQLite) whose history closes the report.
"""

from __future__ import annotations

import html
import time
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from immunetwin.twin.patient import PatientTimeline
from immunetwin.twin.report import fan_chart
from immunetwin.twin.service import TwinService
from immunetwin.twin.store import TwinStore

NAME = "demo-patient"
CREATE_AFTER = 3  # days of data the twin starts from
LAST_DAY = 7
RECOMMEND_ON = 4
CONSTRAINTS = {
    "antiviral": {"allowed_days": [4, 5], "dose_scales": [1.0]},
    "corticosteroid": {"allowed_days": [4, 5], "dose_scales": [1.0, 2.0]},
    "anti_il6": {"allowed_days": [4, 5], "dose_scales": [1.0]},
}


def demo_patient() -> PatientTimeline:
    path = resources.files("immunetwin.twin") / "data" / "demo_patient.csv"
    with resources.as_file(path) as file:
        return PatientTimeline.from_csv(file)


def _day(timeline: PatientTimeline, first: float, last: float) -> PatientTimeline:
    return timeline.after(first).until(last) if first >= 0 else timeline.until(last)


def run(out: Path, *, size: int = 300) -> Path:
    """Run the loop, write ``out/twin-report.html`` (+ PNGs, twins.sqlite); return the
    report's path."""
    out.mkdir(parents=True, exist_ok=True)
    database = out / "twins.sqlite"
    database.unlink(missing_ok=True)  # the demo starts a fresh record each run
    service = TwinService(TwinStore.open(database))
    patient = demo_patient()
    sections: list[str] = []
    begin = time.perf_counter()

    first = patient.until(CREATE_AFTER - 0.5)
    version = service.create(NAME, "viral_pneumonia", first, size=size, seed=1)
    sections.append(
        f"<h2>Day {CREATE_AFTER - 1}: twin created</h2><p>From {len(first.observations)} "
        f"measurements of days 0-{CREATE_AFTER - 1} by {html.escape(version.method)}.</p>"
        + _summary_table(version.summary)
    )
    print(f"twin created from days 0-{CREATE_AFTER - 1} ({len(first.observations)} measurements)")
    for day in range(CREATE_AFTER, LAST_DAY + 1):
        forecast_id, before, _ = service.forecast(NAME, 7.0)
        chart_before = fan_chart(
            before,
            out / f"forecast_day{day}_before.png",
            title=f"before day {day}: forecast {forecast_id}",
            observations=patient.until(day - 0.5).observations,
        )
        new = patient.after(day - 0.5).until(day + 0.5)
        result = service.assimilate(NAME, new, method="enkf", seed=day)
        _, after, _ = service.forecast(NAME, 7.0)
        chart_after = fan_chart(
            after,
            out / f"forecast_day{day}_after.png",
            title=f"after day {day}",
            observations=patient.until(day + 0.5).observations,
        )
        alerts = "".join(
            f"<p class='alert'>ALERT: {html.escape(a['quantity'])} = {a['value']:.4g} on day "
            f"{a['day']:g} outside the forecast's 95% band {np.round(a['band95'], 3).tolist()}"
            "</p>"
            for a in result.alerts
        )
        outcomes = ", ".join(f"P({k}) = {p:.2f}" for k, p in after.outcomes.items())
        sections.append(
            f"<h2>Day {day}: {result.assimilated} new measurements</h2>{alerts}"
            f"<p>Outcomes after the update: {html.escape(outcomes)}</p>"
            f"<img src='{chart_before.name}'><img src='{chart_after.name}'>"
        )
        print(
            f"day {day}: assimilated {result.assimilated}, {len(result.alerts)} alert(s); "
            f"{outcomes}"
        )
        if day == RECOMMEND_ON:
            sections.append(_recommendation(service, out))
    sections.append(_history(service))
    wall = time.perf_counter() - begin
    report = out / "twin-report.html"
    report.write_text(_page(sections, wall), encoding="utf-8")
    print(f"wrote {report} ({wall:.0f} s)")
    return report


def _summary_table(summary: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{v['median']:.4g}</td>"
        f"<td>{v['interval90'][0]:.4g} - {v['interval90'][1]:.4g}</td></tr>"
        for k, v in summary.items()
        if isinstance(v, dict)
    )
    return f"<table><tr><th>parameter</th><th>median</th><th>90% interval</th></tr>{rows}</table>"


def _recommendation(service: TwinService, out: Path) -> str:
    recommendation, results = service.recommend(
        NAME, ["antiviral", "corticosteroid", "anti_il6"], constraints=CONSTRAINTS, members=8
    )
    chart = _harm_chart(results, out / "regimens.png")
    rows = "".join(
        f"<tr><td>{html.escape(r.name)}</td><td>{r.expected_harm:.4f}</td>"
        f"<td>{r.expected_peak_damage:.3f}</td><td>{r.beats_no_treatment:.0%}</td>"
        f"<td>{r.outcomes.get('il6_above_70', float('nan')):.2f}</td></tr>"
        for r in results[:10]
    )
    print(f"recommendation {recommendation}: {results[0].name} (awaiting approval)")
    return (
        f"<h2>Day {RECOMMEND_ON}: regimen comparison</h2>"
        f"<p>Recommendation {recommendation}: <b>{html.escape(results[0].name)}</b>. It is "
        "<b>not</b> part of the patient's record until a person approves it: "
        f"<code>immunetwin twin approve {NAME} {recommendation} --by NAME "
        f"--db {html.escape(str(out / 'twins.sqlite'))}</code></p>"
        "<table><tr><th>regimen</th><th>expected harm</th><th>expected peak damage</th>"
        "<th>better than none in</th><th>P(IL-6 &gt; 70)</th></tr>"
        f"{rows}</table><img src='{chart.name}'>"
    )


def _harm_chart(results: list[Any], path: Path) -> Path:
    from immunetwin.plotting import pyplot

    plt = pyplot()

    shown = results[:10]
    fig, axis = plt.subplots(figsize=(8, 0.35 * len(shown) + 1.2))
    axis.barh([r.name for r in shown][::-1], [r.expected_harm for r in shown][::-1])
    axis.set_xlabel("expected harm (peak damage + 0.005 x exposure)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _history(service: TwinService) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(e['at'])}</td><td>{html.escape(e['event'])}</td>"
        f"<td>{e.get('version', '')}</td><td>{html.escape(_describe(e))}</td></tr>"
        for e in service.store.history(NAME)
    )
    return (
        "<h2>Stored history</h2><table><tr><th>when</th><th>event</th><th>twin version</th>"
        f"<th>what</th></tr>{rows}</table>"
    )


def _describe(event: dict[str, Any]) -> str:
    if event["event"] == "version":
        return f"{event['method']} ({event['code_version']}); data {event['data']}"
    if event["event"] == "forecast":
        return f"forecast {event['id']}, {event['horizon']} days"
    state = event["approved_by"] or "awaiting approval"
    return f"recommendation {event['id']}: {event['content']['recommended']['name']} ({state})"


def _page(sections: list[str], wall: float) -> str:
    style = (
        "body{font-family:sans-serif;max-width:1200px;margin:2em auto}img{max-width:100%}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px}"
        ".alert{color:#b00;font-weight:bold}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>immunetwin: twin report"
        f"</title><style>{style}</style></head><body><h1>Patient twin: SARS-CoV-2-like "
        "pneumonia (synthetic patient DEMO-0001)</h1><p>Synthetic data simulated from known "
        "parameters (see data/demo_patient.csv). Forecast bands: 50% and 90%; dots: "
        f"measurements. Run time {wall:.0f} s.</p>" + "".join(sections) + "</body></html>"
    )
