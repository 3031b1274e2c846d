"""Run every reproduction claim through the engine and record its status for the seed.

Writes ``src/immunetwin/catalog/data/reproduction_status.json`` (claim id -> status and
measured value). The shipped catalogue shows these records; ``immunetwin models check`` re-runs
the claims live, and ``tests/catalog/test_reproduce.py`` fails if a recorded status no longer
matches a live run.

Usage: python scripts/build_reproduction_status.py
"""

from __future__ import annotations

import json
from pathlib import Path

from immunetwin.catalog.reproduce import claims, run_claim

TARGET = (
    Path(__file__).resolve().parents[1]
    / "src"
    / "immunetwin"
    / "catalog"
    / "data"
    / "reproduction_status.json"
)


def main() -> None:
    records = {}
    for claim in claims():
        result = run_claim(claim)
        records[claim.id] = {"status": result.status.value, "measured": result.measured}
        print(f"{result.status.value:<11} {claim.id}")
    TARGET.write_text(json.dumps(records, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {TARGET} ({len(records)} claims)")


if __name__ == "__main__":
    main()
