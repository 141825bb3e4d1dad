"""Engine speed and memory against this machine's limits (issue: the engine's speed and memory targets).

Prints one JSON line. Each figure is measured here, in this run:
  train_patches_per_s[fp32|bf16][batch]  default 2D U-Net, 64x64 patches, steady state
  pipeline_fraction                      (patch cutting + masking) / whole step, at batch 16
  predict_mpix_per_s[fp32|bf16]          2048x2048 image, default tiles
  psnr_fp32 / psnr_bf16                  same seed and steps on the noisy nuclei 2D sample
  first_step_s                           fresh process: interpreter start -> first training step
  peak_rss_ratio                         peak RSS / size of a uint16 stack while training on it

Usage: python benchmarks/engine_limits.py [--quick] [--stack-gb 2.0]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np


def _steady_rate(image, axes, steps, **cfg_kw):
    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.training import Trainer, TrainEvent

    tr = Trainer(
        image, TrainConfig(axes=axes, steps=steps, steps_per_epoch=10_000, seed=0, **cfg_kw)
    )
    times = []
    for ev in tr.run():
        if isinstance(ev, TrainEvent):
            times.append(time.perf_counter())
    dts = np.diff(times)[3:]  # skip warm-up
    return tr.batch_size / float(np.median(dts))


def train_speed(quick: bool) -> dict:
    from napari_n2v import load_sample

    noisy, _ = load_sample("2d")
    out = {}
    for prec in ("fp32", "bf16"):
        for b in (16, 32) if not quick else (16,):
            out[f"{prec}_b{b}"] = round(
                _steady_rate(noisy, "YX", 25, batch_size=b, precision=prec), 1
            )
    return out


def pipeline_fraction() -> float:
    import torch

    from napari_n2v import load_sample
    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.data import PatchSampler
    from napari_n2v.core.masking import Masker
    from napari_n2v.core.train_setup import prepare_data

    noisy, _ = load_sample("2d")
    d = prepare_data(noisy, TrainConfig(axes="YX"))
    sampler = PatchSampler(d.data, d.train_region, d.patch, True, np.random.default_rng(0))
    masker = Masker(d.patch, d.n_masked)
    gen = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for _ in range(50):
        x = torch.from_numpy(sampler.sample(16))
        masker((x - 1) / 2, gen)
    per_step = (time.perf_counter() - t0) / 50
    step = 16 / _steady_rate(noisy, "YX", 25, batch_size=16)
    return round(per_step / step, 4)


def predict_speed() -> dict:
    from napari_n2v.core.config import PredictConfig, TrainConfig
    from napari_n2v.core.model import build_unet
    from napari_n2v.core.n2v_model import N2VModel
    from napari_n2v.core.prediction import predict

    cfg = TrainConfig()
    model = N2VModel(
        cfg, build_unet(cfg, 1).eval(), np.zeros(1, np.float32), np.ones(1, np.float32)
    )
    img = np.random.default_rng(0).normal(0, 1, (2048, 2048)).astype(np.float32)
    out = {}
    for prec in ("fp32", "bf16"):
        predict(model, img[:512, :512], "YX", PredictConfig(precision=prec))  # warm-up
        t0 = time.perf_counter()
        predict(model, img, "YX", PredictConfig(precision=prec))
        out[prec] = round(img.size / 1e6 / (time.perf_counter() - t0), 3)
    return out


def psnr_precisions(steps: int) -> dict:
    from napari_n2v import load_sample, psnr
    from napari_n2v.core.config import PredictConfig, TrainConfig
    from napari_n2v.core.prediction import predict
    from napari_n2v.core.training import train

    noisy, clean = load_sample("2d")
    out = {}
    for prec in ("fp32", "bf16"):
        model = train(
            noisy, TrainConfig(axes="YX", steps=steps, seed=0, precision=prec, learning_rate=1e-3)
        )
        out[prec] = round(
            psnr(predict(model, noisy, "YX", PredictConfig(precision=prec)), clean), 3
        )
    return out


_FIRST_STEP = """
import time, psutil, os
t_start = psutil.Process(os.getpid()).create_time()
import numpy as np
from napari_n2v.core.config import TrainConfig
from napari_n2v.core.training import Trainer, TrainEvent
img = np.random.default_rng(0).integers(0, 4000, (512, 512)).astype(np.uint16)
for ev in Trainer(img, TrainConfig(axes="YX", steps=1)).run():
    if isinstance(ev, TrainEvent):
        print(time.time() - t_start)
        break
"""

_MEMORY = """
import resource, sys, numpy as np
from napari_n2v.core.config import TrainConfig
from napari_n2v.core.training import Trainer, TrainEvent
gb = float(sys.argv[1])
z = max(1, int(gb * 2**30 / (2 * 4096 * 4096)))
stack = np.empty((z, 4096, 4096), np.uint16)
rng = np.random.default_rng(0)
for i in range(z):
    stack[i] = rng.integers(0, 4000, (4096, 4096), dtype=np.uint16)
for ev in Trainer(stack, TrainConfig(axes="TYX", steps=5, batch_size=16)).run():
    pass
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(stack.nbytes, peak)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--stack-gb", type=float, default=2.0)
    ap.add_argument("--psnr-steps", type=int, default=300)
    a = ap.parse_args()
    res: dict = {"benchmark": "engine_limits"}
    res["train_patches_per_s"] = train_speed(a.quick)
    res["pipeline_fraction"] = pipeline_fraction()
    res["predict_mpix_per_s"] = predict_speed()
    first = subprocess.run(
        [sys.executable, "-c", _FIRST_STEP], capture_output=True, text=True, check=True
    )
    res["first_step_s"] = round(float(first.stdout.split()[-1]), 2)
    mem = subprocess.run(
        [sys.executable, "-c", _MEMORY, str(a.stack_gb)], capture_output=True, text=True, check=True
    )
    size, peak = (int(v) for v in mem.stdout.split())
    res["stack_gb"] = round(size / 2**30, 2)
    res["peak_rss_ratio"] = round(peak / size, 3)
    if not a.quick:
        res["psnr_nuclei2d"] = psnr_precisions(a.psnr_steps)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
