"""The side-by-side runner: ours and the peer (CAREamics) as fresh processes, alternating.

Ours runs in this interpreter's venv (``runners/ours.py``), the peer in its own venv made by
``benchmarks/install_peer.sh`` (``runners/peer.py``; ``$N2V_PEER_PY`` overrides the interpreter).
Alternating the order lets both see the same machine load; the suites report medians and ratios.
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path
from typing import Any

from benchmarks.harness.basics import REPO_ROOT, last_json_line, log
from benchmarks.harness.child import spawn

PEER_VERSION = "0.3.5"  # the CAREamics release install_peer.sh pins


def peer_python() -> str:
    """The peer venv's interpreter; exits with what to do when it is missing."""
    p = os.environ.get("N2V_PEER_PY") or str(REPO_ROOT / ".peer-venv" / "bin" / "python")
    if not Path(p).exists():
        raise SystemExit(
            f"peer venv not found ({p}): run benchmarks/install_peer.sh or set N2V_PEER_PY"
        )
    return p


def run_tool(tool: str, args: list[str], timeout: float = 1200) -> dict[str, Any]:
    """Run one runner (``ours`` or ``peer``) in a fresh process; its JSON plus ``wall_s`` (spawn to
    exit). Ours' steady rate is the one without validation steps, as the peer's per-batch timing."""
    exe = sys.executable if tool == "ours" else peer_python()
    secs, out, _ = spawn([exe, "-m", f"benchmarks.runners.{tool}", *args], timeout=timeout)
    res = {**last_json_line(out), "wall_s": secs}
    if res.get("steady_excl_val_patches_per_s"):
        res["steady_incl_val_patches_per_s"] = res["steady_patches_per_s"]
        res["steady_patches_per_s"] = res["steady_excl_val_patches_per_s"]
    return res


def alternate(
    reps: int,
    args: list[str],
    label: str,
    extra: dict[str, list[str]] | None = None,
    tools: tuple[str, ...] = ("ours", "peer"),
) -> dict[str, list[dict[str, Any]]]:
    """``reps`` pairs of runs with the same ``args`` (+ ``extra[tool]``), the order alternating;
    ``tools=("ours",)`` runs ours alone."""
    runs: dict[str, list[dict[str, Any]]] = {t: [] for t in tools}
    keys = ("steady_patches_per_s", "predict_mpix_per_s", "peak_rss_mb", "wall_s")
    for r in range(reps):
        for tool in tools if r % 2 == 0 else tools[::-1]:
            res = run_tool(tool, args + (extra or {}).get(tool, []))
            shown = [f"{k}={res[k]:.3g}" for k in keys if isinstance(res.get(k), (int, float))]
            log(f"[{label}] rep {r} {tool}: " + ", ".join(shown))
            runs[tool].append(res)
    return runs


def median(runs: list[dict[str, Any]], key: str) -> float | None:
    v = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
    return statistics.median(v) if v else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def other(tool: str) -> str:
    return "peer" if tool == "ours" else "ours"
