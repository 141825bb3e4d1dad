"""Fresh child processes whose own peak memory is the measurement (memory and scale-out suites)."""

from __future__ import annotations

import math
import re
import subprocess
import sys

from benchmarks.harness.basics import Timer
from benchmarks.harness.peer import child_env

#: Prepended to a child's code: prints the child's own peak RSS on exit, even after sys.exit().
_PEAK_ON_EXIT = (
    "import atexit as _a, resource as _r, sys as _s\n"
    "_a.register(lambda: print('PEAK_RSS_KB', _r.getrusage(_r.RUSAGE_SELF).ru_maxrss,"
    " file=_s.stderr, flush=True))\n"
)
#: The command line (``napari-n2v ARGS``) in-process, through the one internal entry
#: ``engine.cli_main``.
CLI = "import sys\nfrom benchmarks import engine\nsys.exit(engine.cli_main(sys.argv[1:]))\n"


def run_python(
    code: str, args: list[str], env: dict[str, str] | None = None, timeout: float | None = None
) -> tuple[float, str, float]:
    """Run ``python -c code args`` fresh; (seconds, stdout + stderr, the child's peak RSS in MiB).
    Raises RuntimeError with the output's tail when the child fails."""
    cmd = [sys.executable, "-c", _PEAK_ON_EXIT + code, *args]
    with Timer() as t:
        p = subprocess.run(cmd, capture_output=True, text=True, env=child_env(env), timeout=timeout)
    text = p.stdout + p.stderr
    if p.returncode != 0:
        raise RuntimeError(f"child failed ({p.returncode}): {' '.join(args)}\n{text[-3000:]}")
    kb = re.findall(r"PEAK_RSS_KB (\d+)", text)
    return t.s, text, int(kb[-1]) / 1024 if kb else math.nan


def bar_rate(text: str) -> float | None:
    """The last ``patch/s=N`` of the command line's progress bar, or None."""
    rates = re.findall(r"patch/s=(\d+)", text)
    return float(rates[-1]) if rates else None
