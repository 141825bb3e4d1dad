"""GPU speed of our engine: training patches/s and prediction MPix/s on CUDA (bf16 autocast, channels_last:
the engine's defaults there), plus the bare network's forward+backward rate as an upper bound.
Self-contained (synthetic noisy images + the package's nuclei volume; no benchmark data needed), < 8 min.

    .venv/bin/python benchmarks/gpu.py               # on a machine with an NVIDIA GPU
    .venv/bin/python benchmarks/gpu.py --smoke       # a tiny CPU run that checks the script works

Prints one JSON line; saves ``results/gpu.json`` (``results/gpu_smoke.json`` with --smoke).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO_ROOT, emit, machine


def _sync(dev) -> None:
    import torch

    if dev.type == "cuda":
        torch.cuda.synchronize()


def synthetic(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Smooth random structure (sum of blurred blobs) + Gaussian noise, float32."""
    rng = np.random.default_rng(seed)
    x = rng.random(shape).astype(np.float32)
    for ax in range(len(shape)):  # cheap separable blur: cumulative-sum box filter, twice
        for _ in range(2):
            c = np.cumsum(x, axis=ax)
            k = max(1, min(8, shape[ax] // 4))
            x = (np.roll(c, -k, axis=ax) - np.roll(c, k, axis=ax)) / (2 * k)
    x = (x - x.min()) / (np.ptp(x) + 1e-6) * 200
    return (x + rng.normal(0, 25, shape)).astype(np.float32)


def train_rate(
    image: np.ndarray, axes: str, steps: int, batch: int | None, device: str, warmup: int
) -> dict:
    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.training import Trainer, TrainEvent

    cfg = TrainConfig(
        axes=axes,
        steps=steps,
        batch_size=batch,
        device=device,
        seed=1,
        steps_per_epoch=max(steps // 4, 1),
    )
    tr = Trainer(image, cfg)
    stamps, gen = [], tr.run()
    t0 = time.perf_counter()
    try:
        while True:
            ev = next(gen)
            if isinstance(ev, TrainEvent):
                stamps.append(time.perf_counter())
    except StopIteration as fin:
        model = fin.value
    b = tr.batch_size
    w = min(warmup, len(stamps) - 2)
    rate = (len(stamps) - 1 - w) * b / (stamps[-1] - stamps[w])
    return {
        "axes": axes,
        "batch": b,
        "steps": len(stamps),
        "patch": list(cfg.resolved_patch_size),
        "steady_patches_per_s": rate,
        "train_s": time.perf_counter() - t0,
        "model": model,
    }


def predict_rate(model, image: np.ndarray, axes: str, repeats: int, **pc) -> dict:
    from napari_n2v.core.config import PredictConfig
    from napari_n2v.core.prediction import predict

    cfg = PredictConfig(**pc)
    predict(model, image[tuple(slice(0, min(n, 256)) for n in image.shape)], axes, cfg)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        predict(model, image, axes, cfg)
        best = min(best, time.perf_counter() - t)
    return {
        "shape": list(image.shape),
        "config": {k: v for k, v in pc.items()},
        "s": best,
        "mpix_per_s": image.size / 1e6 / best,
    }


def net_rate(
    n_dim: int, batch: int, patch: tuple[int, ...], device, steps: int, bf16: bool
) -> float:
    """Bare U-Net forward + backward + Adam step, the engine's layout; an upper bound for training."""
    import torch

    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.model import build_unet

    net = build_unet(TrainConfig(axes="ZYX" if n_dim == 3 else "YX"), 1).to(device)
    fmt = torch.channels_last if n_dim == 2 else torch.contiguous_format
    net = net.to(memory_format=fmt).train()
    opt = torch.optim.Adam(net.parameters(), 1e-4)
    x = torch.randn(batch, 1, *patch, device=device).contiguous(memory_format=fmt)
    ts = []
    for _ in range(steps + 3):
        _sync(device)
        t = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            y = net(x)
        loss = (y.float() - x).square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        _sync(device)
        ts.append(time.perf_counter() - t)
    return batch / float(np.median(ts[3:]))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--smoke", action="store_true", help="tiny CPU run: checks the script, numbers meaningless"
    )
    ap.add_argument("--steps-2d", type=int, default=400)
    ap.add_argument("--steps-3d", type=int, default=150)
    ap.add_argument("--save", default=None)
    a = ap.parse_args()
    import torch

    from napari_n2v.core.device import describe_device, resolve_device

    t_all = time.perf_counter()
    if a.smoke:
        device, steps2, steps3, big2, big3, reps = "cpu", 6, 3, (512, 512), (16, 128, 128), 1
    else:
        if not torch.cuda.is_available():
            raise SystemExit("no CUDA GPU here: run with --smoke for a CPU check of the script.")
        device, steps2, steps3, big2, big3, reps = (
            "cuda",
            a.steps_2d,
            a.steps_3d,
            (4096, 4096),
            (64, 1024, 1024),
            2,
        )
        torch.backends.cudnn.benchmark = True
    dev = resolve_device(device)
    res: dict = {
        "benchmark": "gpu",
        "smoke": a.smoke,
        "machine": machine(),
        "device": describe_device(device),
    }
    if dev.type == "cuda":
        res["gpu"] = torch.cuda.get_device_name(dev)
        torch.cuda.reset_peak_memory_stats()

    img2 = synthetic((1024, 1024) if not a.smoke else (256, 256), seed=1)
    t2 = train_rate(img2, "YX", steps2, None, device, warmup=min(20, steps2 // 3))
    m2 = t2.pop("model")
    res["train_2d"] = t2
    res["net_only_2d_bf16"] = net_rate(2, t2["batch"], (64, 64), dev, 5 if a.smoke else 50, True)
    res["net_only_2d_fp32"] = net_rate(2, t2["batch"], (64, 64), dev, 5 if a.smoke else 50, False)
    big = synthetic(big2, seed=2)
    res["predict_2d"] = predict_rate(m2, big, "YX", reps)
    res["predict_2d_tile1024_b8"] = predict_rate(
        m2, big, "YX", reps, tile_shape=(1024, 1024), batch_size=8
    )

    import tifffile

    vol = tifffile.imread(REPO_ROOT / "src" / "napari_n2v" / "data" / "nuclei3d.tif").astype(
        np.float32
    )
    vol = vol + np.random.default_rng(3).normal(0, 0.1 * float(np.ptp(vol)), vol.shape).astype(
        np.float32
    )
    if a.smoke:
        vol = vol[:, :128, :128]
    t3 = train_rate(vol, "ZYX", steps3, None, device, warmup=min(10, steps3 // 3))
    m3 = t3.pop("model")
    res["train_3d"] = t3
    res["net_only_3d_bf16"] = net_rate(
        3, t3["batch"], (16, 64, 64), dev, 3 if a.smoke else 20, True
    )
    vol_big = np.tile(
        vol,
        (
            max(1, big3[0] // vol.shape[0]),
            max(1, big3[1] // vol.shape[1]),
            max(1, big3[2] // vol.shape[2]),
        ),
    )
    res["predict_3d"] = predict_rate(m3, vol_big, "ZYX", reps)
    if dev.type == "cuda":
        res["peak_gpu_mem_gb"] = torch.cuda.max_memory_allocated() / 2**30
    res["elapsed_s"] = time.perf_counter() - t_all
    emit(res, a.save or ("gpu_smoke" if a.smoke else "gpu"))


if __name__ == "__main__":
    main()
