"""Speed against the peer (CAREamics): the same U-Net (depth 2, 32 filters), patch, batch, machine.

Ours and the peer run as fresh processes, alternating (``harness/peer.py``). Parts:

* ``2d``: training patches/s (steady state, 64×64, batch 16) on a noisy Set12 08.png (512²), then
  prediction MPix/s on a 1024² image (best of two full ``predict`` calls), peak RSS of the process;
* ``3d``: the same with 16×64×64 patches, batch 4, on the package's nuclei volume (32×256×256, noise
  10% of its range); ours with 32 filters like the peer (our CPU default is 16);
* ``e2e``: command start to denoised output (spawn, imports, load, train N steps, predict, save
  .npy) on the 512² image.

Result: ``runs[part][tool]`` (each runner's JSON) and ``ratios`` of the medians.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness.basics import add_noise, argv, noisy_set
from benchmarks.harness.peer import alternate, median, peer_python, ratio

PARTS = ("2d", "3d", "e2e")


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--parts", default="2d,3d,e2e", help="comma-separated subset of 2d,3d,e2e")
    p.add_argument("--reps", type=int, default=2, help="alternating ours/peer pairs per part")
    p.add_argument("--train-steps", type=int, default=60, help="steps of the 2D rate runs")
    p.add_argument("--train-steps-3d", type=int, default=10, help="steps of the 3D rate runs")
    p.add_argument("--e2e-steps", type=int, default=100, help="steps of the command-to-output runs")
    p.add_argument("--ours-only", action="store_true", help="no peer: our figures alone, no ratios")
    p.add_argument("--precision", help="ours: auto | fp32 | bf16 (fp32 measures the path of a CPU "
                   "without native bf16 on any CPU)")  # fmt: skip


def run(a: argparse.Namespace) -> dict[str, Any]:
    if a.quick:
        a.reps, a.train_steps, a.train_steps_3d, a.e2e_steps = 1, 8, 4, 8
    tools = ("ours",) if a.ours_only else ("ours", "peer")
    if not a.ours_only:
        peer_python()  # stop before any work when the peer's venv is missing
    parts = [p for p in a.parts.split(",") if p]
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise SystemExit(f"--parts: unknown {sorted(unknown)} (choose from {', '.join(PARTS)})")
    tmp = Path(tempfile.mkdtemp(prefix="n2v_speed_"))
    [(_, clean, noisy)] = noisy_set("Set12", names=["08"])
    np.save(tmp / "img512.npy", noisy)
    np.save(tmp / "clean512.npy", clean)
    np.save(tmp / "img1024.npy", add_noise(np.tile(clean, (2, 2)), seed=2))
    np.save(tmp / "vol.npy", volume())
    img512, img1024, vol = tmp / "img512.npy", tmp / "img1024.npy", tmp / "vol.npy"
    c2d = "--axes YX --patch 64 64 --batch 16 --steps-per-epoch 50"
    c3d = "--axes ZYX --patch 16 64 64 --batch 4 --steps-per-epoch 50 --warmup 2"
    args = {
        "2d": argv("--data", img512, c2d, "--steps", a.train_steps, "--predict", img1024,
                   "--predict-repeats 2"),
        "3d": argv("--data", vol, c3d, "--steps", a.train_steps_3d, "--predict", vol,
                   "--predict-repeats 2"),
        "e2e": argv("--data", img512, c2d, "--steps", a.e2e_steps, "--predict", img512, "--out",
                    tmp / "out.npy", "--ref", tmp / "clean512.npy"),
    }  # fmt: skip
    # --stack 2: two copies of the volume give the peer 16 batches per epoch without inflating its
    # RSS; --filters 32: the peer's width for the rate rows (our CPU default is 16); e2e: defaults
    prec = ["--precision", a.precision] if a.precision else []
    extra = {"2d": {"peer": [], "ours": ["--filters", "32", *prec]},
             "3d": {"peer": ["--stack", "2"], "ours": ["--filters", "32", *prec]},
             "e2e": {"peer": [], "ours": prec}}  # fmt: skip
    runs = {p: alternate(a.reps, args[p], p, extra.get(p), tools) for p in parts}
    if a.ours_only:
        return {"runs": runs, "ratios": {}}
    ratios: dict[str, Any] = {}
    for dim in ("2d", "3d"):
        for key in ("steady_patches_per_s", "predict_mpix_per_s", "peak_rss_mb"):
            if dim in runs:
                o, p = median(runs[dim]["ours"], key), median(runs[dim]["peer"], key)
                ratios[f"{dim}_{key}"] = {"ours": o, "peer": p, "ours_over_peer": ratio(o, p)}
    if "e2e" in runs:
        o, p = median(runs["e2e"]["ours"], "wall_s"), median(runs["e2e"]["peer"], "wall_s")
        ratios["e2e_wall_s"] = {"ours": o, "peer": p, "peer_over_ours": ratio(p, o)}
        o, p = median(runs["e2e"]["ours"], "psnr"), median(runs["e2e"]["peer"], "psnr")
        ratios["e2e_psnr"] = {"ours": o, "peer": p}
    return {"precision": a.precision or "auto", "runs": runs, "ratios": ratios}


def volume() -> np.ndarray:
    """The package's clean nuclei volume (32×256×256) + Gaussian noise at 10% of its range."""
    import napari_n2v as n2v

    _, clean = n2v.load_sample("3d")
    clean = clean.astype(np.float32)
    return add_noise(clean, seed=3, sigma=0.1 * float(clean.max() - clean.min()))
