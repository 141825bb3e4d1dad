"""The one entry point of the benchmarks (benchmarks/README.md).

    python -m benchmarks list                              # the suites and what they need
    python -m benchmarks run SUITE [--quick] [--out PATH] [SUITE's options; --help lists them]
    python -m benchmarks report [--check]                  # results/*.json -> docs/benchmarks.md

``run`` writes one result file (``harness/results.py``), by default ``results/SUITE.json``, or
``SUITE.quick.json`` for a ``--quick`` smoke run (numbers meaningless; git ignores it).
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
from pathlib import Path

from benchmarks.harness.basics import RESULTS_DIR, Timer, loadavg, log
from benchmarks.harness.machine import machine_block
from benchmarks.harness.results import SCHEMA, write_result
from benchmarks.suites import SUITES


def run_suite(name: str, argv: list[str]) -> Path:
    """Run suite ``name`` with its command-line options ``argv``; returns the result file."""
    module = importlib.import_module(f"benchmarks.suites.{name}")
    p = argparse.ArgumentParser(
        prog=f"python -m benchmarks run {name}",
        description=module.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="a smoke run: tiny sizes, meaningless")
    p.add_argument("--out", type=Path, help="result file (default: benchmarks/results/SUITE.json)")
    if hasattr(module, "add_args"):
        module.add_args(p)
    args = p.parse_args(argv)
    out = args.out = args.out or RESULTS_DIR / f"{name}{'.quick' if args.quick else ''}.json"
    command = shlex.join(["python", "-m", "benchmarks", "run", name, *argv])
    record = {"suite": name, "schema": SCHEMA, "quick": args.quick, "command": command,
              "machine": machine_block()}  # fmt: skip
    with Timer() as t:
        record["result"] = module.run(args)
    settings = {k: v for k, v in vars(args).items() if k != "out"}  # as the suite resolved them
    record.update(settings=settings, elapsed_s=round(t.s, 1), loadavg_end=loadavg())
    log(f"wrote {write_result(record, out)}")
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    cmd, rest = (argv[0], argv[1:]) if argv else ("--help", [])
    if cmd in ("-h", "--help"):
        print(__doc__)
    elif cmd == "list":
        for name, what in SUITES.items():
            print(f"{name:16} {what}")
    elif cmd == "run" and rest and rest[0] in SUITES:
        run_suite(rest[0], rest[1:])
    elif cmd == "run":
        print(f"run which suite? one of: {', '.join(SUITES)}", file=sys.stderr)
        return 2
    elif cmd == "report":
        from benchmarks.report.build import main as report_main

        return report_main(rest)
    else:
        print(f"unknown command {cmd!r}: list, run or report (see --help)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
