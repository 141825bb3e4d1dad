"""Fresh child processes: their environment, their output, their own peak memory."""

from __future__ import annotations

import math
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from benchmarks.harness.basics import REPO_ROOT, Timer

#: Prepended to a child's code: prints the child's own peak RSS on exit, even after sys.exit().
_PEAK_ON_EXIT = (
    "import atexit as _a, resource as _r, sys as _s\n"
    "_a.register(lambda: print('PEAK_RSS_KB', _r.getrusage(_r.RUSAGE_SELF).ru_maxrss,"
    " file=_s.stderr, flush=True))\n"
)
#: The command line (``napari-n2v ARGS``) in-process, through ``engine.cli_main``.
CLI = "import sys\nfrom benchmarks import engine\nsys.exit(engine.cli_main(sys.argv[1:]))\n"


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment with the worktree's ``src`` and root first on PYTHONPATH (absolute paths, so
    a child finds ``benchmarks`` and the engine under test from any working directory)."""
    old = [str(Path(p).resolve()) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    path = [str(REPO_ROOT / "src"), str(REPO_ROOT), *old]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path), **(extra or {})}


def spawn(
    cmd: list[str], env: dict[str, str] | None = None, timeout: float | None = None
) -> tuple[float, str, str]:
    """Run ``cmd`` in ``child_env(env)``: (seconds, stdout, stderr); a RuntimeError with the
    output's tail when it fails."""
    with Timer() as t:
        p = subprocess.run(cmd, capture_output=True, text=True, env=child_env(env), timeout=timeout)
    if p.returncode != 0:
        tail = (p.stdout + p.stderr)[-3000:]
        raise RuntimeError(f"failed ({p.returncode}): {shlex.join(cmd)[-500:]}\n{tail}")
    return t.s, p.stdout, p.stderr


def run_python(
    code: str, args: list[str], env: dict[str, str] | None = None, timeout: float | None = None
) -> tuple[float, str, float]:
    """``python -c code args`` fresh: (seconds, stdout + stderr, the child's peak RSS in MiB)."""
    secs, out, err = spawn([sys.executable, "-c", _PEAK_ON_EXIT + code, *args], env, timeout)
    kb = re.findall(r"PEAK_RSS_KB (\d+)", err)
    return secs, out + err, int(kb[-1]) / 1024 if kb else math.nan


def bar_rate(text: str) -> float | None:
    """The last ``patch/s=N`` of the command line's progress bar."""
    rates = re.findall(r"patch/s=(\d+)", text)
    return float(rates[-1]) if rates else None
