"""The command line both runners share: a suite builds one argument list for ours and the peer.

    python -m benchmarks.runners.ours --data noisy.npy --axes YX --batch 16 --steps 200 \\
        --predict big.npy --out denoised.npy

Training stops after ``--steps`` or, with ``--budget-s T``, at the first step T seconds after the
call that starts training (setup included; the step in flight finishes). Throughput counts the steps
after ``--warmup``. ``--marks 30,60`` keeps the model a stop would return at those seconds and
scores each on the first ``--predict`` array after training (``--marks-ref clean.npy``): a
PSNR-over-time curve from one run. Unset options mean the tool's own default.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.harness.basics import Timer, psnr

#: Options only our engine has; the peer's runner refuses them.
OURS_ONLY = ("masked_pixels", "val_patches", "precision", "filters")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse a runner's command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add = p.add_argument
    add("--data", required=True, help=".npy training array")
    add("--axes", required=True, help="axes of --data: YX, SYX, ZYX, SZYX")
    add("--patch", type=int, nargs="+", help="patch size (default: the tool's)")
    add("--batch", type=int, help="batch size (default: the tool's)")
    add("--steps", type=int, help="training steps")
    add("--budget-s", type=float, help="training seconds instead of (or before) --steps")
    add("--steps-per-epoch", type=int, help="steps per epoch (the peer's num_steps)")
    add("--stack", default="auto", help="peer: auto | none | K copies of a single image along S")
    add("--warmup", type=int, default=5, help="steps left out of the steady rate")
    add("--lr", type=float, help="learning rate")
    add("--masked-pct", type=float, help="masked pixels, %% of the patch")
    add("--n2v2", action="store_true", help="N2V2 instead of N2V")
    add("--seed", type=int, default=1, help="training seed (> 0: CAREamics needs it)")
    add("--predict", nargs="*", default=[], help=".npy images to denoise after training")
    add("--predict-axes", help="axes of the --predict arrays (default YX / ZYX)")
    add("--predict-repeats", type=int, default=1, help="time predict() N times, keep the best")
    add("--out", nargs="*", default=[], help=".npy outputs, one per --predict")
    add("--ref", help=".npy clean image: the PSNR (8-bit peak) of the first --predict output")
    add("--threads", type=int, help="torch threads")
    add("--marks", help="comma-separated seconds: a PSNR-over-time curve")
    add("--marks-ref", help=".npy clean image: the PSNR of each mark's output")
    add("--marks-out", help=".npz: each mark's output (keys m0, m1, ...)")
    add("--masked-pixels", type=int, help="ours: masked pixels per patch (a count)")
    add("--val-patches", type=int, help="ours: validation patches")
    add("--precision", help="ours: auto | fp32 | bf16")
    add("--filters", type=int, help="ours: U-Net filters of the first level")
    return p.parse_args(argv)


def marks(a: argparse.Namespace) -> list[float]:
    """``--marks`` as sorted seconds."""
    return sorted(float(x) for x in a.marks.split(",")) if a.marks else []


def predict_all(a: argparse.Namespace, fn: Callable[[np.ndarray], np.ndarray]) -> dict[str, Any]:
    """``fn`` on every ``--predict`` array, timed (the best of ``--predict-repeats`` calls), the
    outputs saved to ``--out``: ``predict_s`` and ``predict_mpix_per_s`` ({} without arrays)."""
    times, pix, extra = [], 0, {}
    for i, path in enumerate(a.predict):
        img = np.load(path).astype(np.float32)
        best = math.inf
        for _ in range(max(1, a.predict_repeats)):
            with Timer() as t:
                out = fn(img)
            best = min(best, t.s)
        times.append(best)
        pix += img.size
        if i < len(a.out):
            np.save(a.out[i], np.asarray(out, dtype=np.float32))
        if i == 0 and a.ref:
            extra["psnr"] = psnr(np.load(a.ref), np.asarray(out))
    if not times:
        return {}
    return {"predict_s": sum(times), "predict_mpix_per_s": pix / 1e6 / sum(times), **extra}
