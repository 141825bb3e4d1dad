"""Result files: one JSON object per suite run, the report's only input.

Layout of a result file (``schema`` 1)::

    {"suite": "speed", "schema": 1, "command": "python -m benchmarks run speed --parts 2d",
     "quick": false, "machine": {...machine_block() at the start...}, "loadavg_end": [...],
     "elapsed_s": 180.2, "settings": {...the suite's arguments...}, "result": {...run()'s dict...}}

Runs converted from before this harness add ``"original_command"`` (the retired script's command
line; git history holds the script) and ``"note"``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.harness.basics import RESULTS_DIR, jsonable

SCHEMA = 1


def write_result(record: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, sort_keys=True, default=jsonable) + "\n")
    return path


def load_results(folder: Path = RESULTS_DIR) -> list[dict[str, Any]]:
    """Every result file in ``folder`` (other JSON skipped), oldest first, each with ``_file``."""
    runs = []
    for p in sorted(folder.glob("*.json")):
        try:
            rec = json.loads(p.read_text())
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and rec.get("schema") == SCHEMA and "suite" in rec:
            rec["_file"] = p.name
            runs.append(rec)
    return sorted(runs, key=lambda r: (r["machine"].get("date", ""), r["_file"]))


def of_suite(runs: list[dict[str, Any]], suite: str) -> list[dict[str, Any]]:
    """The full (not ``--quick``) runs of one suite, oldest first."""
    return [r for r in runs if r["suite"] == suite and not r.get("quick")]
