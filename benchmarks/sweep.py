"""Defaults from data: sweep masked pixels, learning rate and batch size, and N2V vs N2V2, on Set12
self-training at an equal wall-clock budget (ours only).

One factor at a time around the current defaults (``TrainConfig()``), each run a fresh process training on
one noisy Set12 image (σ=25, seed 2000+i) for ``--budget`` seconds and denoising it. Reports mean PSNR/SSIM
over the images, steps reached, and a checkerboard score: the power of the error image (denoised − clean)
at the period-2 and period-4 frequencies (the U-Net's pooling grid) over the median power around each
(1 ≈ no checkerboard; ≫ 1 a visible one). Writes ``results/sweep.json``, ``docs/images/bench_sweep.png``
and ``docs/images/bench_n2v_vs_n2v2.png`` (noisy | N2V | N2V2 crops).

    .venv/bin/python benchmarks/sweep.py                        # 30 s × 2 images × 10 settings
    .venv/bin/python benchmarks/sweep.py --budget 60 --images 02 05 08
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    BENCH_DIR,
    REPO_ROOT,
    add_noise,
    emit,
    image_paths,
    load_png,
    log,
    machine,
    psnr,
    ssim,
)
from speed import peer_python, run_tool


def checkerboard_score(den: np.ndarray, clean: np.ndarray) -> float:
    err = den.astype(np.float64) - clean
    err -= err.mean()
    h, w = err.shape
    pw = np.abs(np.fft.fft2(err)) ** 2
    scores = []
    for fy in (0, h // 4, h // 2, 3 * h // 4):
        for fx in (0, w // 4, w // 2, 3 * w // 4):
            if fy == 0 and fx == 0:
                continue
            ys = [(fy + d) % h for d in range(-3, 4)]
            xs = [(fx + d) % w for d in range(-3, 4)]
            nb = pw[np.ix_(ys, xs)].copy()
            nb[3, 3] = np.nan
            scores.append(pw[fy, fx] / np.nanmedian(nb))
    return float(np.mean(scores))


def settings(a: argparse.Namespace) -> list[tuple[str, str, list[str]]]:
    from napari_n2v.core.config import TrainConfig

    d = TrainConfig()
    base_m = d.default_masked_pixels()
    out = [("default", f"masked {base_m}, lr {d.learning_rate:g}, batch 16, N2V", [])]
    out += [("masked_pixels", str(m), ["--masked-pixels", str(m)]) for m in a.masked if m != base_m]
    out += [
        ("learning_rate", f"{lr:g}", ["--lr", str(lr)]) for lr in a.lrs if lr != d.learning_rate
    ]
    out += [("batch_size", str(b), ["--batch", str(b)]) for b in a.batches if b != 16]
    out += [("variant", "N2V2", ["--n2v2"])]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--budget", type=float, default=30.0)
    ap.add_argument("--images", nargs="+", default=["02", "08"])
    ap.add_argument("--masked", type=int, nargs="+", default=[4, 8, 20, 41], help="per 64×64 patch")
    ap.add_argument("--lrs", type=float, nargs="+", default=[1e-4, 4e-4, 1e-3, 2e-3])
    ap.add_argument("--batches", type=int, nargs="+", default=[8, 16, 32])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--save", default="sweep")
    a = ap.parse_args()
    if a.quick:
        a.budget, a.images, a.masked, a.lrs, a.batches = 3, ["01"], [8, 20], [4e-4], [16]
    tmp = Path(tempfile.mkdtemp(prefix="n2v_sweep_"))
    names = [f"{s.zfill(2)}.png" for s in a.images]
    imgs = []
    for p in image_paths("Set12"):
        if p.name in names:
            i = int(p.stem)
            clean = load_png(p)
            noisy = add_noise(clean, seed=2000 + i)
            np.save(tmp / f"s{i}.npy", noisy)
            imgs.append((i, p.name, clean, noisy))
    rows = []
    t0 = time.perf_counter()
    for factor, value, extra in settings(a):
        per = []
        for i, name, clean, _noisy in imgs:
            out = tmp / f"o{i}.npy"
            r = run_tool(
                "ours",
                [
                    "--data",
                    str(tmp / f"s{i}.npy"),
                    "--axes",
                    "YX",
                    "--patch",
                    "64",
                    "64",
                    "--budget-s",
                    str(a.budget),
                    "--seed",
                    str(a.seed),
                    "--predict",
                    str(tmp / f"s{i}.npy"),
                    "--out",
                    str(out),
                    *extra,
                ],
            )
            den = np.load(out)
            per.append(
                {
                    "image": name,
                    "psnr": psnr(clean, den),
                    "ssim": ssim(clean, den),
                    "checkerboard": checkerboard_score(den, clean),
                    "steps": r["steps"],
                    "batch": r["batch"],
                    "masked_pixels": r["masked_pixels"],
                    "lr": r["lr"],
                }
            )
            if factor in ("default", "variant") and i == imgs[-1][0]:
                np.save(tmp / f"crop_{factor}.npy", den)
        row = {
            "factor": factor,
            "value": value,
            "per_image": per,
            **{
                k: float(np.mean([p[k] for p in per]))
                for k in ("psnr", "ssim", "checkerboard", "steps")
            },
        }
        rows.append(row)
        log(
            f"[sweep] {factor}={value}: {row['psnr']:.2f} dB, checkerboard {row['checkerboard']:.1f}, "
            f"{row['steps']:.0f} steps"
        )
    best = {}
    default = rows[0]
    for factor in ("masked_pixels", "learning_rate", "batch_size", "variant"):
        cands = [default] + [r for r in rows if r["factor"] == factor]
        top = max(cands, key=lambda r: r["psnr"])
        best[factor] = {
            "best": top["value"],
            "psnr": top["psnr"],
            "gain_over_default_db": top["psnr"] - default["psnr"],
        }
    result = {
        "benchmark": "sweep",
        "machine": machine(),
        "settings": vars(a),
        "rows": rows,
        "best": best,
        "input_psnr": float(np.mean([psnr(c, n) for _, _, c, n in imgs])),
        "elapsed_s": time.perf_counter() - t0,
    }
    save = None if a.quick else (a.save or None)
    emit(result, save)
    if save:
        _crops(imgs[-1], tmp)
        subprocess.run([peer_python(), str(BENCH_DIR / "plots.py"), save], check=False)


def _crops(img: tuple, tmp: Path) -> None:
    """noisy | N2V | N2V2 crops (128×128, shown 2×) of the last image, as an 8-bit PNG."""
    from PIL import Image

    _, _name, clean, noisy = img
    h, w = clean.shape
    y, x = h // 2 - 64, w // 2 - 64
    tiles = [noisy] + [np.load(tmp / f"crop_{k}.npy") for k in ("default", "variant")] + [clean]
    row = np.concatenate(
        [np.clip(t[y : y + 128, x : x + 128], 0, 255) for t in tiles], axis=1
    ).astype(np.uint8)
    im = Image.fromarray(row).resize((row.shape[1] * 2, row.shape[0] * 2), Image.NEAREST)
    out = REPO_ROOT / "docs" / "images" / "bench_n2v_vs_n2v2.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    im.save(out, optimize=True)


if __name__ == "__main__":
    main()
