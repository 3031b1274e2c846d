"""Write src/immunetwin/catalog/data/simulatability.json: one report per shipped model.

Each model runs through ``immunetwin.catalog.simulatability.check_model`` (our engine to the
natural horizon, then libroadrunner for agreement), so the catalogue can show simulatability
without re-running 140 models at install time. Models are the catalogue's own files
(``catalog/data/models/<id>.xml`` or ``.ant``) and, for any BioModels entry not copied there
yet, ``shared/biomodels-immune/<id>/<id>.xml``; the entry id is the file stem. The output has
sorted keys and rounded errors, so a rerun on the same versions changes nothing.

Usage: ``python scripts/build_simulatability.py [ID ...] [--out FILE]`` (IDs: refresh only
those entries of an existing file).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

from immunetwin.catalog.entry import Agreement, Simulatability
from immunetwin.catalog.simulatability import (
    SHIPPED_REPORTS,
    check_model,
    read_reports,
    report_to_dict,
)
from immunetwin.check.agreement import index_rows

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "src/immunetwin/catalog/data/models"
SHARED = ROOT.parent / "shared" / "biomodels-immune"
_SUFFIXES = (".xml", ".ant")


def model_files() -> dict[str, Path]:
    """Entry id -> model file: the catalogue's own copy where there is one, else shared's."""
    files: dict[str, Path] = {}
    if (SHARED / "INDEX.tsv").is_file():
        for row in index_rows(SHARED):
            files[row["id"]] = SHARED / row["id"] / f"{row['id']}.xml"
    if MODELS.is_dir():
        for path in sorted(MODELS.iterdir()):
            if path.is_file() and path.suffix.lower() in _SUFFIXES:
                files[path.stem] = path
    return dict(sorted(files.items()))


def summary(reports: dict[str, Simulatability]) -> str:
    """Counts for the log: simulates / agree / tolerance-limited / disagree / ... ."""
    counts = Counter(r.agreement.value for r in reports.values() if r.simulates)
    unsupported = sum(1 for r in reports.values() if not r.simulates and r.unsupported)
    failed = sum(1 for r in reports.values() if not r.simulates and not r.unsupported)
    parts = [f"{len(reports)} models", f"simulates {sum(counts.values())}"]
    parts += [f"{a.value} {counts[a.value]}" for a in Agreement if counts[a.value]]
    return ", ".join([*parts, f"unsupported {unsupported}", f"failed {failed}"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ids", nargs="*", help="refresh only these entries")
    parser.add_argument("--out", type=Path, default=SHIPPED_REPORTS)
    args = parser.parse_args(argv)

    files = model_files()
    unknown = sorted(set(args.ids) - set(files))
    if unknown:
        parser.error(f"no model file for {', '.join(unknown)}; known: {len(files)} entries")
    reports = read_reports(args.out) if args.ids and args.out.is_file() else {}
    for entry_id in args.ids or list(files):
        started = time.perf_counter()
        report = check_model(files[entry_id], model_id=entry_id)
        reports[entry_id] = report
        outcome = report.agreement.value if report.simulates else "does not simulate"
        seconds = time.perf_counter() - started
        print(f"{entry_id:28s} {outcome:18s} {seconds:6.1f} s", file=sys.stderr, flush=True)
    data = {key: report_to_dict(reports[key]) for key in sorted(reports)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(summary(reports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
