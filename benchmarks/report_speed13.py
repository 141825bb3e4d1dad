"""Markdown sections for docs/benchmarks.md from ``results/time_to_quality.json`` and ``results/sweep_3d.json``
(issue #13), in ``report.py``'s style; ``report.py`` calls them.

    .venv/bin/python benchmarks/report_speed13.py [result.json ...]   # prints the sections (for a look)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS_DIR


def f(v, nd: int = 2, suffix: str = "") -> str:
    return "–" if v is None else f"{v:.{nd}f}{suffix}"


def _load(r: dict) -> str:
    a, b = r.get("loadavg_start"), r.get("loadavg_end")
    return f"load average {a[0]:.2f} at the start, {b[0]:.2f} at the end" if a and b else ""


def _row(task: str, h: dict) -> str:
    reach = (
        f"{h['ours_mark_s']:g} s ({h['ours_steps']} steps)"
        if h["reached"]
        else f"not reached (best {f(h['ours_best_psnr'])} dB at {h['ours_best_mark_s']:g} s)"
    )
    ratio = f"{h['budget_ratio']:.1f}×" if h.get("budget_ratio") else "–"
    return (
        f"| {task} | {h['peer_budget_s']:g} s ({h['peer_steps']} steps) | {f(h['peer_psnr'])} | {reach} | "
        f"{f(h['ours_psnr_at_mark'])} | {f(h['ours_psnr_full_budget'])} ({h['ours_budget_s']:g} s) | "
        f"{ratio} |"
    )


def _curve(c: list[dict]) -> str:
    return ", ".join(f"{x['mark_s']:g} s: {x['psnr']:.2f}" for x in c)


def time_to_quality_section(result: dict) -> str:
    """Time for our defaults to reach the peer's PSNR at its budget: 3D stack and Set12 images."""
    m = result["machine"]
    out = [
        f"Started {m['date']}, {m['cpu']}, {m['cores']} cores, torch {m['torch']}; "
        f"{result['elapsed_s'] / 60:.0f} min in all, {_load(result)}. One training run per tool and task "
        "(a fresh process each); the PSNR curve comes from snapshots taken during that run (a state_dict "
        "copy at each mark: ours the model a stop would return, the peer its current weights), denoised "
        "after the budget. Ours with default settings; CAREamics 0.3.5 with patch 16×64×64 / 64×64, "
        "batch 4 / 16, 50 steps per epoch, its own defaults otherwise. The peer's PSNR is the better of "
        'its in-memory weights and its default prediction ("last" checkpoint).\n',
        "| task | peer budget | peer PSNR (dB) | ours: first mark reaching it | ours PSNR there | "
        "ours PSNR at its full budget | peer budget / ours' time |",
        "|---|---|---|---|---|---|---|",
    ]
    curves = []
    d3 = result.get("3d")
    if d3:
        out.append(_row(f"3D {'×'.join(map(str, d3['shape']))}, σ=25", d3["headline"]))
        curves.append(("3D", d3))
    d2 = result.get("2d")
    if d2:
        for r in d2["per_image"]:
            out.append(_row(f"2D Set12 {r['image']}", r["headline"]))
            curves.append((f"2D {r['image']}", r))
    if d3:
        h = d3["headline"]
        out.append(
            f"\n3D input PSNR {f(d3['input_psnr'])} dB. Ours returned its model "
            f"{f(h.get('ours_train_s_full_budget'), 0)} s after the call for a {h['ours_budget_s']:g} s budget "
            f"(the step in flight and the stop's validation), the peer {f(h.get('peer_train_s'), 0)} s for "
            f"{h['peer_budget_s']:g} s."
        )
    if d2:
        s = d2["summary"]
        by = (
            f"all {s['images']} reached within {s['all_reached_by_s']:g} s"
            if s.get("all_reached_by_s") is not None
            else f"{s['reached']} of {s['images']} reached"
        )
        out.append(
            f"\n2D: {by}; mean PSNR at the full budget: CAREamics {f(s['mean_peer_psnr'])} dB, "
            f"napari-n2v {f(s['mean_ours_psnr_full_budget'])} dB."
        )
    out.append("\nThe curves (mark: PSNR dB):\n\n| task | tool | curve |\n|---|---|---|")
    for name, x in curves:
        for t, lab in (("ours", "napari-n2v"), ("peer", "CAREamics")):
            out.append(f"| {name} | {lab} | {_curve(x[t]['curve'])} |")
    return "\n".join(out)


def sweep_3d_section(result: dict) -> str:
    """The 3D defaults sweep at equal wall-clock: one row per configuration."""
    s, d = result["settings"], result["defaults"]
    out = [
        f"Finished {result['machine']['date']}: the {'×'.join(map(str, result['shape']))} synthetic stack "
        f"(σ=25, input {f(result['input_psnr'])} dB), {s['budget']:g} s of training per run, one seed "
        f"({s['seed']}), {_load(result)}. Defaults: patch {d['patch']}, batch {d['batch']}, "
        f"{d['filters']} filters, masked {d['masked']} of the patch. Δ against the mean of the "
        f"{sum(r['factor'] == 'default' for r in result['rows'])} default runs "
        f"(spread {f(result['base_psnr_spread'])} dB).\n",
        "| configuration | steps | patches/s | PSNR (dB) | Δ vs default |",
        "|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        name = r["value"] if r["factor"] in ("default", "combo") else f"{r['factor']} {r['value']}"
        if r["factor"] == "combo":
            name = f"combo: {name}"
        out.append(
            f"| {name} | {r['steps']} | {f(r['patches_per_s'], 2)} | {f(r['psnr'])} | "
            f"{r['delta_db']:+.2f} dB |"
        )
    if result.get("best"):
        out.append("\n| factor | best value | its PSNR | Δ vs default |\n|---|---|---|---|")
        for k, v in result["best"].items():
            out.append(f"| {k} | {v['best']} | {f(v['psnr'])} | {v['delta_db']:+.2f} dB |")
    return "\n".join(out)


SECTIONS = {"time_to_quality": time_to_quality_section, "sweep_3d": sweep_3d_section}

if __name__ == "__main__":  # the given JSON files, else results/{time_to_quality,sweep_3d}.json
    files = [Path(x) for x in sys.argv[1:]] or [RESULTS_DIR / f"{k}.json" for k in SECTIONS]
    for p in files:
        if p.exists():
            r = json.loads(p.read_text())
            print(SECTIONS[r["benchmark"]](r) + "\n")
