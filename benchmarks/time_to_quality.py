"""Time to quality: how long our defaults take to reach the PSNR the peer (CAREamics) reaches in its budget.

One training run per tool and task, each a fresh process (``ours_runner.py`` / ``peer_runner.py`` with
``--marks``): at wall-clock marks during that run the model the tool would return if stopped there is
kept cheaply (a state_dict copy; ours: the validation-best weights, or the current ones where a stop would
keep those; the peer: its current weights, which ``CAREamist`` holds when stopped), and only after the
budget is spent are the snapshots denoised and scored against the clean image. So each tool gives a
PSNR-over-time curve from a single run, its clock undisturbed.

* ``3d``: the synthetic 32×128×128 stack of blurred points (``common.synthetic_3d``), σ=25 noise (seed 1),
  self-trained and denoised. Ours with DEFAULT settings (no patch/batch/filter flags, precision auto);
  the peer as ``speed.py`` runs it in 3D (patch 16×64×64, batch 4, 50 steps per epoch, its own defaults
  otherwise), stacked ``--peer-stack-3d`` times along S so that an epoch holds 50 real steps
  (CAREamics cuts 8 patches from this volume and keeps 8 for validation: with 2 copies an epoch would be
  2 steps, and its learning-rate scheduler, patience 10 epochs, would fire within 20 steps).
* ``2d``: single noisy Set12 images (σ=25, seed 2000+i, as in ``quality.py``), each self-trained; ours
  with defaults, the peer with ``quality.py``'s settings (patch 64×64, batch 16, 50 steps per epoch).

Headline: 3D — the peer's PSNR at its budget (598 s) and the first mark at which ours reaches it (or
"not reached" and ours' best); 2D — per image, the peer's PSNR at 60 s and the first ours mark that
reaches it. The peer's target is the higher of its curve's last point (in-memory weights) and its
default prediction (``CAREamist.predict``, "last" checkpoint). The load average is recorded at the start,
before each run and at the end: a loaded machine is recognisable.

    .venv/bin/python benchmarks/time_to_quality.py                    # 3D (300 s + 598 s) and 2D (3 × 2 × 60 s)
    .venv/bin/python benchmarks/time_to_quality.py --parts 2d --set12 02
    .venv/bin/python benchmarks/time_to_quality.py --quick            # smoke run (seconds; numbers meaningless)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    add_noise,
    emit,
    image_paths,
    load_png,
    log,
    machine,
    psnr,
    synthetic_3d,
)
from speed import run_tool

MARKS = {
    ("3d", "ours"): [30, 60, 90, 120, 180, 240, 300],
    ("3d", "peer"): [60, 120, 180, 300, 450, 598],
    ("2d", "ours"): [5, 10, 15, 20, 30, 45, 60],
    ("2d", "peer"): [15, 30, 45, 60],
}
#: CAREamics cuts 8 patches from the 32×128×128 volume at 16×64×64 and holds 8 out for validation:
#: 26 copies give ≥ 50 steps × batch 4 training patches, so an epoch is 50 real steps.
PEER_STACK_3D = 26


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def marks_for(task: str, tool: str, budget: float) -> list[float]:
    """The default marks below the budget, plus the budget; four even marks when the budget is short."""
    m = [float(x) for x in MARKS[(task, tool)] if x < budget] + [float(budget)]
    if len(m) < 3:
        m = [round(budget * k / 4, 3) for k in (1, 2, 3, 4)]
    return m


def curve_run(
    tool: str,
    tag: str,
    data: Path,
    clean: np.ndarray,
    ref: Path,
    axes: str,
    budget: float,
    marks: list[float],
    extra: list[str],
    seed: int,
    tmp: Path,
) -> dict:
    """One training run of ``tool`` with a PSNR curve at ``marks``; the final output scored too."""
    out = tmp / f"{tag}_{tool}_final.npy"
    args = [
        "--data",
        str(data),
        "--axes",
        axes,
        "--budget-s",
        str(budget),
        "--seed",
        str(seed),
        "--predict",
        str(data),
        "--predict-axes",
        axes,
        "--out",
        str(out),
        "--marks",
        ",".join(f"{m:g}" for m in marks),
        "--marks-ref",
        str(ref),
        *extra,
    ]
    before = loadavg()
    r = run_tool(tool, args, timeout=3 * budget + 1200)
    final = psnr(clean, np.load(out))
    curve = [
        {
            "mark_s": m["mark_s"],
            "t_s": m["t_s"],
            "steps": m["steps"],
            "psnr": m["psnr"],
            **{
                k: m[k]
                for k in ("psnr_current", "psnr_best_validated", "chosen", "lr", "epoch")
                if k in m
            },
        }
        for m in r.pop("marks")
    ]
    log(
        f"[{tag}] {tool}: "
        + ", ".join(f"{c['mark_s']:g}s/{c['steps']}st {c['psnr']:.2f}" for c in curve)
        + f"; final output {final:.2f} dB (load {before[0]:.2f})"
    )
    return {
        "budget_s": budget,
        "curve": curve,
        "final_psnr": final,  # the tool's own output after the run (--predict)
        "loadavg_before": before,
        "run": r,
    }


def first_reaching(curve: list[dict], target: float) -> dict | None:
    return next((c for c in curve if c["psnr"] >= target), None)


def headline(ours: dict, peer: dict) -> dict:
    """The peer's PSNR at its budget and the first of our marks that reaches it."""
    peer_curve_end = peer["curve"][-1]["psnr"] if peer["curve"] else None
    cands = [v for v in (peer_curve_end, peer["final_psnr"]) if v is not None]
    target = max(cands)
    hit = first_reaching(ours["curve"], target)
    best = max(ours["curve"], key=lambda c: c["psnr"]) if ours["curve"] else None
    return {
        "peer_budget_s": peer["budget_s"],
        "peer_psnr": target,
        "peer_psnr_curve_end": peer_curve_end,
        "peer_psnr_default_predict": peer["final_psnr"],
        "peer_steps": peer["run"]["steps"],
        "ours_budget_s": ours["budget_s"],
        "ours_psnr_full_budget": ours["final_psnr"],
        "ours_steps_full_budget": ours["run"]["steps"],
        # call to returned model: the budget plus the step in flight and the stop's validation
        "ours_train_s_full_budget": ours["run"]["train_s"],
        "peer_train_s": peer["run"]["train_s"],
        "reached": hit is not None,
        "ours_mark_s": hit["mark_s"] if hit else None,
        "ours_t_s": hit["t_s"] if hit else None,
        "ours_steps": hit["steps"] if hit else None,
        "ours_psnr_at_mark": hit["psnr"] if hit else None,
        "ours_best_psnr": best["psnr"] if best else None,
        "ours_best_mark_s": best["mark_s"] if best else None,
        # how much less wall-clock ours needed: peer budget / ours' first reaching mark
        "budget_ratio": peer["budget_s"] / hit["mark_s"] if hit else None,
        "ours_minus_peer_full_db": ours["final_psnr"] - target,
    }


def pair(
    tag: str,
    data: Path,
    clean: np.ndarray,
    ref: Path,
    axes: str,
    budgets: dict[str, float],
    extras: dict[str, list[str]],
    task: str,
    first: str,
    a: argparse.Namespace,
    tmp: Path,
) -> dict:
    res: dict = {}
    for tool in (first, "peer" if first == "ours" else "ours"):
        res[tool] = curve_run(
            tool,
            tag,
            data,
            clean,
            ref,
            axes,
            budgets[tool],
            marks_for(task, tool, budgets[tool]),
            extras[tool],
            a.seed,
            tmp,
        )
    res["headline"] = headline(res["ours"], res["peer"])
    h = res["headline"]
    log(
        f"[{tag}] peer {h['peer_psnr']:.2f} dB at {h['peer_budget_s']:g} s; ours "
        + (
            f"reaches it at {h['ours_mark_s']:g} s ({h['ours_psnr_at_mark']:.2f} dB)"
            if h["reached"]
            else f"does not reach it (best {h['ours_best_psnr']:.2f} dB)"
        )
        + f", {h['ours_psnr_full_budget']:.2f} dB at its full {h['ours_budget_s']:g} s"
    )
    return res


def part_3d(a: argparse.Namespace, tmp: Path) -> dict:
    clean = synthetic_3d()
    noisy = add_noise(clean, seed=1)
    np.save(tmp / "vol.npy", noisy)
    np.save(tmp / "vol_clean.npy", clean)
    peer_extra = [
        "--patch",
        "16",
        "64",
        "64",
        "--batch",
        "4",
        "--steps-per-epoch",
        "50",
        "--stack",
        str(a.peer_stack_3d),
    ]
    res = pair(
        "3d",
        tmp / "vol.npy",
        clean,
        tmp / "vol_clean.npy",
        "ZYX",
        {"ours": a.budget_3d_ours, "peer": a.budget_3d_peer},
        {"ours": [], "peer": peer_extra},
        "3d",
        a.first,
        a,
        tmp,
    )
    return {"shape": list(clean.shape), "input_psnr": psnr(clean, noisy), **res}


def part_2d(a: argparse.Namespace, tmp: Path) -> dict:
    names = [f"{s.zfill(2)}.png" for s in a.set12]
    paths = [p for p in image_paths("Set12") if p.name in names]
    peer_extra = ["--patch", "64", "64", "--batch", "16", "--steps-per-epoch", "50"]
    rows = []
    for j, p in enumerate(paths):
        i = int(p.stem)
        clean = load_png(p)
        noisy = add_noise(clean, seed=2000 + i)
        np.save(tmp / f"s{i}.npy", noisy)
        np.save(tmp / f"s{i}_clean.npy", clean)
        first = a.first if j % 2 == 0 else ("peer" if a.first == "ours" else "ours")
        res = pair(
            f"2d {p.name}",
            tmp / f"s{i}.npy",
            clean,
            tmp / f"s{i}_clean.npy",
            "YX",
            {"ours": a.budget_2d_ours, "peer": a.budget_2d_peer},
            {"ours": [], "peer": peer_extra},
            "2d",
            first,
            a,
            tmp,
        )
        rows.append(
            {"image": p.name, "shape": list(clean.shape), "input_psnr": psnr(clean, noisy), **res}
        )
    hs = [r["headline"] for r in rows]
    reached = [h for h in hs if h["reached"]]
    summary = {
        "images": len(rows),
        "reached": len(reached),
        # every image reached by then (the slowest image), or None if one was not reached
        "all_reached_by_s": max(h["ours_mark_s"] for h in hs)
        if hs and len(reached) == len(hs)
        else None,
        "mean_peer_psnr": float(np.mean([h["peer_psnr"] for h in hs])) if hs else None,
        "mean_ours_psnr_full_budget": float(np.mean([h["ours_psnr_full_budget"] for h in hs]))
        if hs
        else None,
    }
    return {"per_image": rows, "summary": summary}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--parts", default="3d,2d", help="comma-separated subset of 3d,2d")
    ap.add_argument("--budget-3d-ours", type=float, default=300.0)
    ap.add_argument("--budget-3d-peer", type=float, default=598.0)
    ap.add_argument("--budget-2d-ours", type=float, default=60.0)
    ap.add_argument("--budget-2d-peer", type=float, default=60.0)
    ap.add_argument("--set12", nargs="+", default=["02", "05", "08"], help="Set12 images (2d)")
    ap.add_argument("--peer-stack-3d", type=int, default=PEER_STACK_3D, help="see the docstring")
    ap.add_argument("--seed", type=int, default=1, help="training seed (both tools; > 0)")
    ap.add_argument("--first", choices=("ours", "peer"), default="ours", help="who runs first")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--save", default="time_to_quality")
    a = ap.parse_args()
    if a.quick:
        a.budget_3d_ours, a.budget_3d_peer, a.budget_2d_ours, a.budget_2d_peer = 8, 10, 4, 4
        a.set12 = ["01"]
    parts = {p.strip() for p in a.parts.split(",") if p.strip()}
    tmp = Path(tempfile.mkdtemp(prefix="n2v_ttq_"))
    result: dict = {
        "benchmark": "time_to_quality",
        "machine": machine(),
        "settings": vars(a),
        "loadavg_start": loadavg(),
    }
    t0 = time.perf_counter()
    if "3d" in parts:
        result["3d"] = part_3d(a, tmp)
    if "2d" in parts:
        result["2d"] = part_2d(a, tmp)
    result["loadavg_end"] = loadavg()
    result["elapsed_s"] = time.perf_counter() - t0
    emit(result, None if a.quick else (a.save or None))


if __name__ == "__main__":
    main()
