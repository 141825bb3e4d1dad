"""Time to quality: how long our defaults take to reach the PSNR the peer reaches in its budget.

One training run per tool and task, each a fresh process with ``--marks``: a PSNR-over-time curve
from that one run, its clock undisturbed (``runners/ours_marks.py``; the peer keeps its current
weights, which ``CAREamist`` holds when stopped).

* ``3d``: the synthetic 32×128×128 stack of blurred points (``basics.synthetic_3d``), σ=25 (seed 1),
  self-trained and denoised. Ours with DEFAULT settings; the peer as the speed suite runs it in 3D
  (patch 16×64×64, batch 4, 50 steps per epoch), stacked 26 times along S so that an epoch holds
  50 real steps (CAREamics cuts 8 patches from this volume and keeps 8 for validation).
* ``2d``: single noisy Set12 images, self-trained; ours with defaults, the peer with the quality
  suite's settings (patch 64×64, batch 16, 50 steps per epoch).

Headline per task: the peer's PSNR at its budget (the higher of its curve's end and its default
prediction from the "last" checkpoint) and the first mark at which ours reaches it.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness.basics import add_noise, argv, loadavg, log, noisy_set, psnr, synthetic_3d
from benchmarks.harness.peer import other, peer_python, run_tool

MARKS = {
    ("3d", "ours"): [30, 60, 90, 120, 180, 240, 300],
    ("3d", "peer"): [60, 120, 180, 300, 450, 598],
    ("2d", "ours"): [5, 10, 15, 20, 30, 45, 60],
    ("2d", "peer"): [15, 30, 45, 60],
}
PEER_3D = "--patch 16 64 64 --batch 4 --steps-per-epoch 50 --stack 26".split()
PEER_2D = "--patch 64 64 --batch 16 --steps-per-epoch 50".split()
CURVE = ("mark_s", "t_s", "steps", "psnr", "psnr_current", "psnr_best_validated", "chosen", "lr")


def add_args(p: argparse.ArgumentParser) -> None:
    add = p.add_argument
    add("--parts", default="3d,2d", help="comma-separated subset of 3d,2d")
    add("--budget-3d", type=float, nargs=2, default=[300.0, 598.0], metavar=("OURS", "PEER"))
    add("--budget-2d", type=float, nargs=2, default=[60.0, 60.0], metavar=("OURS", "PEER"))
    add("--set12", nargs="+", default=["02", "05", "08"], help="Set12 images (2d)")
    add("--seed", type=int, default=1, help="training seed of both tools (> 0)")
    add("--first", choices=("ours", "peer"), default="ours", help="who runs first")
    add("--precision", help="ours: auto | fp32 | bf16 (fp32: a CPU without bf16's path)")


def marks_for(task: str, tool: str, budget: float) -> list[float]:
    """The default marks below the budget plus the budget; four even marks for a short budget."""
    m = [float(x) for x in MARKS[(task, tool)] if x < budget] + [float(budget)]
    return m if len(m) >= 3 else [round(budget * k / 4, 3) for k in (1, 2, 3, 4)]


def curve_run(tool: str, task: str, files: dict[str, Path], budget: float, a: Any, tag: str) -> Any:
    """One training run of ``tool`` with a PSNR curve at the marks; its own final output scored."""
    axes = "ZYX" if task == "3d" else "YX"
    data, out = files["data"], files["data"].with_name(f"{files['data'].stem}_{tool}_out.npy")
    marks = ",".join(f"{m:g}" for m in marks_for(task, tool, budget))
    args = argv("--data", data, "--axes", axes, "--budget-s", budget, "--seed", a.seed,
                "--predict", data, "--predict-axes", axes, "--out", out, "--marks", marks,
                "--marks-ref", files["clean"])  # fmt: skip
    if tool == "peer":
        args += PEER_3D if task == "3d" else PEER_2D
    elif a.precision:
        args += ["--precision", a.precision]
    res: dict[str, Any] = {"budget_s": budget, "loadavg_before": loadavg()}
    res["run"] = r = run_tool(tool, args, timeout=3 * budget + 1200)
    res["curve"] = curve = [{k: m[k] for k in CURVE if k in m} for m in r.pop("marks")]
    res["final_psnr"] = psnr(np.load(files["clean"]), np.load(out))
    log(f"[{tag}] {tool}: " + ", ".join(f"{c['mark_s']:g}s {c['psnr']:.2f}" for c in curve))
    return res


def headline(ours: dict[str, Any], peer: dict[str, Any]) -> dict[str, Any]:
    """The peer's PSNR at its budget and the first of our marks that reaches it."""
    end = peer["curve"][-1]["psnr"] if peer["curve"] else None
    target = max(v for v in (end, peer["final_psnr"]) if v is not None)
    hit = next((c for c in ours["curve"] if c["psnr"] >= target), None)
    best = max(ours["curve"], key=lambda c: c["psnr"])
    return {
        "peer_budget_s": peer["budget_s"], "peer_psnr": target, "peer_psnr_curve_end": end,
        "peer_psnr_default_predict": peer["final_psnr"], "peer_steps": peer["run"]["steps"],
        "ours_budget_s": ours["budget_s"], "ours_psnr_full_budget": ours["final_psnr"],
        "ours_best_psnr": best["psnr"], "ours_best_mark_s": best["mark_s"],
        "reached": hit is not None, "ours_mark_s": hit and hit["mark_s"],
        "ours_steps": hit and hit["steps"], "ours_psnr_at_mark": hit and hit["psnr"],
        "budget_ratio": peer["budget_s"] / hit["mark_s"] if hit else None,
    }  # fmt: skip


def pair(task: str, name: str, clean: np.ndarray, noisy: np.ndarray, first: str,
         a: argparse.Namespace, tmp: Path) -> dict[str, Any]:  # fmt: skip
    """Both tools' curves on one task and the headline."""
    tag, budgets = (task, a.budget_3d) if task == "3d" else (f"2d {name}", a.budget_2d)
    files = {"data": tmp / f"{name}.npy", "clean": tmp / f"{name}_clean.npy"}
    np.save(files["data"], noisy)
    np.save(files["clean"], clean)
    res: dict[str, Any] = {"input_psnr": psnr(clean, noisy)}
    for tool in (first, other(first)):
        res[tool] = curve_run(tool, task, files, budgets[tool == "peer"], a, tag)
    res["headline"] = h = headline(res["ours"], res["peer"])
    log(f"[{tag}] peer {h['peer_psnr']:.2f} dB at {h['peer_budget_s']:g} s; ours reaches it at "
        f"{h['ours_mark_s'] or '(not reached)'} s")  # fmt: skip
    return res


def run(a: argparse.Namespace) -> dict[str, Any]:
    peer_python()  # stop before any work when the peer's venv is missing
    if a.quick:
        a.budget_3d, a.budget_2d, a.set12 = [8.0, 10.0], [4.0, 4.0], ["01"]
    tmp = Path(tempfile.mkdtemp(prefix="n2v_ttq_"))
    res: dict[str, Any] = {"loadavg_start": loadavg()}
    if "3d" in a.parts:
        clean = synthetic_3d()
        pr = pair("3d", "vol", clean, add_noise(clean, seed=1), a.first, a, tmp)
        res["3d"] = {"shape": list(clean.shape), **pr}
    if "2d" in a.parts:
        rows = []
        for j, (name, clean, noisy) in enumerate(noisy_set("Set12", names=a.set12)):
            first = a.first if j % 2 == 0 else other(a.first)
            rows.append({"image": name, **pair("2d", name, clean, noisy, first, a, tmp)})
        res["2d"] = {"per_image": rows}
    res["loadavg_end"] = loadavg()
    return res
