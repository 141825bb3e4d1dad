"""Report sections of the side-by-side suites: speed, quality, time to quality."""

from __future__ import annotations

from typing import Any

from benchmarks.harness.peer import PEER_VERSION
from benchmarks.report.fmt import f, rid, section, table, x

PEER = f"CAREamics {PEER_VERSION}"
SPEED = [  # (part, key, what, decimals)
    ("2d", "steady_patches_per_s", "2D training, patches/s (64×64, batch 16)", 1),
    ("2d", "predict_mpix_per_s", "2D prediction, MPix/s (1024²)", 2),
    ("2d", "peak_rss_mb", "2D peak RSS, MiB (train + predict)", 0),
    ("3d", "steady_patches_per_s", "3D training, patches/s (16×64×64, batch 4, 32 filters)", 2),
    ("3d", "predict_mpix_per_s", "3D prediction, MVox/s (32×256×256)", 3),
    ("3d", "peak_rss_mb", "3D peak RSS, MiB", 0),
]


def _path(r: dict[str, Any]) -> str:
    """Which precision our side ran: ``fp32``/``bf16`` when asked, else ``auto`` (the machine's)."""
    return str(r["result"].get("precision", "auto"))


def speed(runs: list[dict[str, Any]]) -> list[str]:
    rows = []
    for dim, key, what, nd in SPEED:
        for r in runs:
            v = r["result"]["ratios"].get(f"{dim}_{key}")
            if v:
                ours, peer = f(v["ours"], nd), f(v["peer"], nd)
                width = r["result"]["runs"][dim]["ours"][0].get("n_filters", 32)
                label = what if width == 32 else f"{what}; ours at its default {width} filters"
                rows.append([label, _path(r), ours, peer, x(v["ours_over_peer"]), rid(r)])
    for r in runs:
        v = r["result"]["ratios"].get("e2e_wall_s")
        if v:
            what = f"command start → denoised 512² output, {r['settings']['e2e_steps']} steps, s"
            less = f"{x(v['peer_over_ours'])} less time"
            rows.append([what, _path(r), f(v["ours"], 1), f(v["peer"], 1), less, rid(r)])
        q = r["result"]["ratios"].get("e2e_psnr")
        if q and q.get("ours") is not None:
            gap = f"{q['ours'] - q['peer']:+.2f} dB" if q.get("peer") is not None else ""
            what = "… PSNR of that output, dB (σ=25, Set12 08)"
            rows.append([what, _path(r), f(q["ours"]), f(q.get("peer")), gap, rid(r)])
    intro = (
        f"napari-n2v against {PEER} on the CPU with the same patch and batch (the rate rows: the same "
        "U-Net, depth 2, 32 filters; the end-to-end rows: each tool's default network for the "
        "precision it runs); each tool a fresh process, alternating; medians of the repeats; "
        "training rates leave validation steps out for both. *path*: our precision, `auto` "
        "(bf16 autocast where the CPU has native bf16, see the run's instruction set) or `fp32` "
        "(asked for with `--precision fp32`: the path of a CPU without bf16). The peer: fp32."
    )
    head = ["measure", "path", "napari-n2v", PEER, "ours / peer", "run"]
    return section("Speed (CPU)", intro, table(head, rows), runs)


def _psnr(d: dict[str, Any], tool: str) -> str:
    return f(d[tool]["psnr"]) if tool in d else ""


def quality(runs: list[dict[str, Any]]) -> list[str]:
    bsd, detail, means, diffs = [], [], [], []
    with_tools = [r for r in runs if "ours" in r["result"].get("set12_self", {})]
    for r in reversed(runs):  # newest first within each group
        a, b = r["result"].get("bsd68"), r["result"].get("set12_self")
        if a and "ours" in a:
            what = f"BSD68 ({a['test_images']} images), trained on Train400, {a['budget_s']:g} s"
            steps = f"{a['peer']['run']['steps']} / {a['ours']['run']['steps']}"
            cells = [_psnr(a, t) for t in ("input", "peer", "ours")]
            bsd.append([what, *cells, "", steps, rid(r)])
        if a and "bm3d" in a:
            what = f"BSD68, first {a['bm3d']['images']} images"
            bsd.append([what, f(a["same_subset"]["input"]), "", "", _psnr(a, "bm3d"), "", rid(r)])
        if not b:
            continue
        how = f"{b['budget_s']:g} s" if b.get("budget_s") else f"{b['steps']} steps"
        how = f"{how}, seed {r.get('settings', {}).get('seed', 1)}" if "ours" in b else "BM3D alone"
        if with_tools and r is with_tools[-1]:
            for im in b["per_image"]:
                cells = [_psnr(im, t) for t in ("input", "peer", "ours", "bm3d")]
                steps = f"{im['peer']['steps']} / {im['ours']['steps']}"
                detail.append([f"Set12 {im['image']}, {how}", *cells, steps, rid(r)])
        names = ", ".join(n.removesuffix(".png") for n in b["images"])
        cells = [_psnr(b, t) for t in ("input", "peer", "ours", "bm3d")]
        means.append([f"**Set12 {names}, mean**, {how}", *cells, "", rid(r)])
        if "ours" in b and "peer" in b:
            diffs.append(b["ours"]["psnr"] - b["peer"]["psnr"])
    intro = (
        "PSNR (dB) against the clean image at an equal wall-clock training budget (setup "
        f"included), σ=25 on the 0..255 scale, the N2V paper's protocol; {PEER} and ours with "
        "their defaults, patch 64×64, batch 16; Set12 images self-trained. BM3D is told σ (an "
        "oracle advantage)."
    )
    head = ["task", "input", PEER, "napari-n2v", "BM3D", "steps peer / ours", "run"]
    body = table(head, bsd + detail + means)
    if diffs:
        body += [
            "",
            f"Set12 means, ours − peer over the {len(diffs)} runs: {min(diffs):+.2f} to "
            f"{max(diffs):+.2f} dB. Published N2V on BSD68: 27.71 dB (paper) after ~2 h of GPU "
            "training; the GPU section has this engine's BSD68 curve.",
        ]
    return section("Quality", intro, body, runs)


def _reach(h: dict[str, Any]) -> tuple[str, str, str]:
    """(first mark reaching the peer's PSNR, ours' PSNR there, peer budget / that mark)."""
    if not h["reached"]:
        return (
            f"not reached (best {f(h['ours_best_psnr'])} at {h['ours_best_mark_s']:g} s)",
            "–",
            "–",
        )
    ratio = f"**{x(h['budget_ratio'])}**"
    return f"{h['ours_mark_s']:g} s ({h['ours_steps']} steps)", f(h["ours_psnr_at_mark"]), ratio


def time_to_quality(runs: list[dict[str, Any]]) -> list[str]:
    rows = []
    for r in runs:
        res, tasks = r["result"], []
        if "3d" in res:
            shape = "×".join(map(str, res["3d"]["shape"]))
            what = f"3D {shape}, σ=25 (input {f(res['3d']['input_psnr'])} dB)"
            tasks.append((what, res["3d"]))
        for im in res.get("2d", {}).get("per_image", []):
            what = f"2D Set12 {im['image']} (input {f(im['input_psnr'])} dB)"
            tasks.append((what, im))
        prec = (r.get("settings") or {}).get("precision")
        for what, t in tasks:
            what += f", ours in {prec}" if prec and prec != "auto" else ""
            h = t["headline"]
            mark, there, ratio = _reach(h)
            peer = f"{h['peer_budget_s']:g} s ({h['peer_steps']} steps)"
            full = f"{f(h['ours_psnr_full_budget'])} ({h['ours_budget_s']:g} s)"
            rows.append([what, peer, f(h["peer_psnr"]), mark, there, full, ratio, rid(r)])
    intro = (
        "How long ours, with default settings, takes to reach the PSNR (dB) the peer reaches in "
        "its budget. One training run per tool and task; the PSNR curve comes from snapshots "
        "taken during that run (the model a stop would return), denoised after it. The peer: 3D "
        "patch 16×64×64, batch 4; 2D patch 64×64, batch 16; 50 steps per epoch; its PSNR is the "
        "better of its in-memory weights and its default prediction. Both curves are in the "
        "result files (`curve`)."
    )
    head = ["task", "peer budget", "peer PSNR", "ours: first mark reaching it", "ours PSNR there"]
    head += ["ours at its full budget", "peer budget / ours' time", "run"]
    return section("Time to quality (CPU)", intro, table(head, rows), runs)
