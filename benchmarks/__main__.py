"""The one entry point of the benchmarks.

    python -m benchmarks list                              # the suites and what they need
    python -m benchmarks run SUITE [--quick] [--out PATH] [SUITE's options]
    python -m benchmarks run SUITE --help                  # a suite's own options
    python -m benchmarks report                            # results/*.json -> docs/benchmarks.md

``run`` writes one result file (``harness/results.py``): by default
``benchmarks/results/SUITE.json``, or ``SUITE.quick.json`` for a ``--quick`` smoke run (numbers
meaningless; git ignores it). Progress goes to stderr. Run from the repository root with this
project's venv (``PYTHONPATH=src .venv/bin/python -m benchmarks ...`` to measure a checkout that is
not installed).
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
import time
from pathlib import Path

from benchmarks.harness.basics import RESULTS_DIR, log
from benchmarks.harness.machine import machine_block
from benchmarks.harness.results import SCHEMA, write_result
from benchmarks.suites import SUITES


def run_suite(name: str, argv: list[str]) -> Path:
    """Run suite ``name`` with its command-line options ``argv``; returns the result file."""
    module = importlib.import_module(SUITES[name][0])
    p = argparse.ArgumentParser(
        prog=f"python -m benchmarks run {name}",
        description=module.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--quick", action="store_true", help="a smoke run: tiny sizes, numbers meaningless"
    )
    p.add_argument("--out", type=Path, help="result file (default: benchmarks/results/SUITE.json)")
    if hasattr(module, "add_args"):
        module.add_args(p)
    args = p.parse_args(argv)
    out = args.out = args.out or RESULTS_DIR / f"{name}{'.quick' if args.quick else ''}.json"
    machine = machine_block()
    t0 = time.perf_counter()
    result = module.run(args)
    settings = {k: v for k, v in vars(args).items() if k != "out"}  # as the suite resolved them
    record = {
        "suite": name,
        "schema": SCHEMA,
        "quick": args.quick,
        "machine": machine,
        "command": shlex.join(["python", "-m", "benchmarks", "run", name, *argv]),
        "settings": settings,
        "result": result,
        "elapsed_s": round(time.perf_counter() - t0, 1),
        "loadavg_end": machine_block()["loadavg"],
    }
    log(f"wrote {write_result(record, out)}")
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd == "list":
        for name, (_, what) in SUITES.items():
            print(f"{name:16} {what}")
        return 0
    if cmd == "run":
        if not rest or rest[0] not in SUITES:
            print(f"run which suite? one of: {', '.join(SUITES)}", file=sys.stderr)
            return 2
        run_suite(rest[0], rest[1:])
        return 0
    if cmd == "report":
        from benchmarks.report.build import main as report_main

        return report_main(rest)
    print(
        f"unknown command {cmd!r}: list, run or report (python -m benchmarks --help)",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
