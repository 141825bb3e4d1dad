"""Draw docs/images/bench_<name>.png from benchmarks/results/<name>.json (needs matplotlib: run it with
the peer venv's python, which has it; the benchmark scripts call it themselves).

    .peer-venv/bin/python benchmarks/plots.py speed quality sweep
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = Path(__file__).resolve().parent
IMG = HERE.parent / "docs" / "images"


def _save(fig, name: str) -> None:
    IMG.mkdir(parents=True, exist_ok=True)
    path = IMG / f"bench_{name}.png"
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


def speed(r: dict, name: str = "speed") -> None:
    rat = r["ratios"]
    items = [
        ("2D training\npatches/s", "2d_steady_patches_per_s", "ours_over_peer", 2),
        ("2D prediction\nMPix/s", "2d_predict_mpix_per_s", "ours_over_peer", 5),
        ("3D training\npatches/s", "3d_steady_patches_per_s", "ours_over_peer", None),
        ("3D prediction\nMPix/s", "3d_predict_mpix_per_s", "ours_over_peer", None),
        ("command to output\n(peer time / ours)", "e2e_wall_s", "peer_over_ours", 3),
        ("peak RSS 2D\n(peer / ours)", "2d_peak_rss_mb", "inv", None),
    ]
    labels, vals, targets = [], [], []
    for lab, key, kind, tgt in items:
        if key not in rat:
            continue
        v = rat[key]
        val = (v["peer"] / v["ours"]) if kind == "inv" and v.get("ours") else v.get(kind)
        labels.append(lab)
        vals.append(val or 0)
        targets.append(tgt)
    fig, ax = plt.subplots(figsize=(8, 3.6))
    bars = ax.bar(
        range(len(vals)),
        vals,
        color=[
            "tab:green" if v >= (t or 1) else "tab:orange"
            for v, t in zip(vals, targets, strict=False)
        ],
    )
    for i, (v, t) in enumerate(zip(vals, targets, strict=False)):
        ax.text(i, v, f"{v:.2f}×", ha="center", va="bottom", fontsize=9)
        if t:
            ax.plot([i - 0.4, i + 0.4], [t, t], "k--", lw=1)
    ax.axhline(1, color="grey", lw=0.8)
    ax.set_xticks(range(len(vals)), labels, fontsize=8)
    ax.set_ylabel("napari-n2v / CAREamics (higher is better)")
    ax.set_title(
        "Speed vs CAREamics 0.3.5, same U-Net/patch/batch, CPU (dashed: target)", fontsize=10
    )
    del bars
    _save(fig, name)


def quality(r: dict, name: str = "quality") -> None:
    parts = [
        (k, t)
        for k, t in (
            ("bsd68", "BSD68 σ=25 (train Train400)"),
            ("set12_self", "Set12 self-training"),
        )
        if k in r
    ]
    fig, axes = plt.subplots(
        1,
        len(parts) + (1 if r.get("bsd68", {}).get("ours_by_budget") else 0),
        figsize=(4.2 * (len(parts) + 1), 3.6),
        squeeze=False,
    )
    for ax, (k, title) in zip(axes[0], parts, strict=False):
        d = r[k]
        names = [n for n in ("input", "peer", "ours", "bm3d") if n in d]
        vals = [d[n]["psnr"] for n in names]
        ax.bar(names, vals, color=["grey", "tab:blue", "tab:green", "tab:purple"][: len(names)])
        for i, v in enumerate(vals):
            ax.text(i, v, f"{v:.2f}", ha="center", va="bottom", fontsize=9)
        ax.set_ylim(min(vals) - 1, max(vals) + 1.5)
        ax.set_ylabel("PSNR (dB)")
        b = d.get("budget_s")
        how = f"{b:g} s training each" if b else f"{d.get('steps')} steps each"
        ax.set_title(
            f"{title}\n{how}" + (" (BM3D: subset)" if k == "bsd68" and "bm3d" in d else ""),
            fontsize=9,
        )
    if r.get("bsd68", {}).get("ours_by_budget"):
        ax = axes[0][-1]
        pts = sorted(
            [(x["steps"], x["psnr"], x["budget_s"]) for x in r["bsd68"]["ours_by_budget"]]
            + [
                (
                    r["bsd68"]["ours"]["run"]["steps"],
                    r["bsd68"]["ours"]["psnr"],
                    r["bsd68"]["budget_s"],
                )
            ]
        )
        ax.plot(
            [p[0] for p in pts], [p[1] for p in pts], "o-", color="tab:green", label="ours (CPU)"
        )
        for p in pts:
            ax.annotate(
                f"{p[2]:g} s", (p[0], p[1]), fontsize=7, xytext=(3, -10), textcoords="offset points"
            )
        pr = r["bsd68"]["peer"]
        ax.plot(
            [pr["run"]["steps"]],
            [pr["psnr"]],
            "s",
            color="tab:blue",
            label=f"CAREamics (CPU, {r['bsd68']['budget_s']:g} s)",
        )
        ax.axhline(
            r["published"]["n2v_paper_bsd68"], color="k", ls="--", lw=1, label="N2V paper, ~2 h GPU"
        )
        ax.set_xscale("log")
        ax.set_xlabel("training steps reached (batch 16; the load varied)")
        ax.set_ylabel("BSD68 PSNR (dB)")
        ax.legend(fontsize=8)
        ax.set_title("BSD68 PSNR vs steps reached in the budget", fontsize=9)
    _save(fig, name)


def sweep(r: dict, name: str = "sweep") -> None:
    rows = r["rows"]
    default = rows[0]
    factors = ["masked_pixels", "learning_rate", "batch_size", "variant"]
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.2), sharey=True)
    dflt_val = {
        "masked_pixels": str(default["per_image"][0]["masked_pixels"]),
        "learning_rate": f"{default['per_image'][0]['lr']:g}",
        "batch_size": str(default["per_image"][0]["batch"]),
        "variant": "N2V",
    }
    for ax, f in zip(axes, factors, strict=False):
        pts = [(dflt_val[f], default["psnr"], True)] + [
            (x["value"], x["psnr"], False) for x in rows if x["factor"] == f
        ]
        try:
            pts.sort(key=lambda p: float(p[0]))
        except ValueError:
            pass
        ax.bar(
            [p[0] for p in pts],
            [p[1] for p in pts],
            color=["tab:green" if p[2] else "tab:blue" for p in pts],
        )
        for i, p in enumerate(pts):
            ax.text(i, p[1], f"{p[1]:.2f}", ha="center", va="bottom", fontsize=8)
        ax.set_title(f.replace("_", " ") + " (green: current default)", fontsize=9)
    lo = min(x["psnr"] for x in rows)
    hi = max(x["psnr"] for x in rows)
    axes[0].set_ylim(lo - 0.5, hi + 0.4)
    axes[0].set_ylabel(f"mean PSNR (dB), {r['settings']['budget']:g} s each")
    _save(fig, name)


def main() -> None:
    for name in sys.argv[1:] or ["speed", "quality", "sweep"]:
        p = HERE / "results" / f"{name}.json"
        if not p.exists():
            print(f"skip {name}: {p} missing")
            continue
        {"speed": speed, "quality": quality, "sweep": sweep}[name.split("_")[0]](
            json.loads(p.read_text()), name
        )


if __name__ == "__main__":
    main()
