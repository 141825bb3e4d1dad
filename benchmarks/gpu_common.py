"""Shared parts of ``gpu.py``: device sync, synthetic images, the card's matrix rate and the network's FLOPs
(the limits), the section runner that rewrites the JSON after each section, and the summary against the
limits."""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

import numpy as np

T0 = time.perf_counter()


def sync(dev) -> None:
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


# --- limits ----------------------------------------------------------------------------------------
def matmul_tflops(dev, dtype_name: str, n: int, reps: int) -> float:
    import torch

    dtype = getattr(torch, dtype_name)
    a = torch.randn(n, n, device=dev, dtype=dtype)
    b = torch.randn(n, n, device=dev, dtype=dtype)
    for _ in range(3):
        a @ b
    sync(dev)
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    sync(dev)
    return 2 * n**3 * reps / (time.perf_counter() - t) / 1e12


def forward_flops(n_dim: int, patch: tuple[int, ...]) -> float:
    """Convolution/matmul FLOPs of one forward pass of the default U-Net on one patch (2 per MAC)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.model import build_unet

    net = build_unet(TrainConfig(axes="ZYX" if n_dim == 3 else "YX"), 1).eval()
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        net(torch.zeros(1, 1, *patch))
    return float(fc.get_total_flops())


# --- driver ----------------------------------------------------------------------------------------
class Run:
    """Runs sections under a deadline, records errors instead of dying, rewrites the JSON each time."""

    def __init__(self, res: dict, deadline_s: float, out: Path | None) -> None:
        self.res, self.deadline, self.out = res, deadline_s, out

    def left(self) -> float:
        return self.deadline - (time.perf_counter() - T0)

    def __call__(self, name: str, need_s: float, fn, *args, **kw):
        if self.left() < need_s:
            self.res.setdefault("skipped", []).append(f"{name} (needs ~{need_s:.0f} s)")
            self.save()
            return None
        t = time.perf_counter()
        print(f"[{time.perf_counter() - T0:6.1f} s] {name} ...", file=sys.stderr, flush=True)
        try:
            val = fn(*args, **kw)
        except Exception as e:  # record and go on: one failure must not cost the other numbers
            self.res.setdefault("errors", {})[name] = f"{type(e).__name__}: {e}"
            traceback.print_exc()
            val = None
        if isinstance(val, dict):
            self.res[name] = {k: v for k, v in val.items() if k != "model"}
            self.res[name]["section_s"] = time.perf_counter() - t
        elif val is not None:
            self.res[name] = val
        self.save()
        return val

    def save(self) -> None:
        self.res["elapsed_s"] = time.perf_counter() - T0
        if self.out is not None:
            self.out.write_text(json.dumps(self.res, default=str, indent=1))


def summary(res: dict) -> dict:
    """The full run's rates against the limits: TFLOP/s, % of the bf16 matmul rate, % of the bare net."""

    def g(*keys):
        v = res
        for k in keys:
            if not isinstance(v, dict) or k not in v:
                return None
            v = v[k]
        return v

    fl2, peak = g("flops_fwd_per_patch_2d"), g("matmul_bf16_tflops")
    summ = {}
    for name in ("train_2d", "train_2d_b512", "net_eager_2d_b128", "net_eager_2d_b512"):
        r = g(name, "steady_patches_per_s") or g(name, "patches_per_s")
        if r and fl2:
            summ[f"{name}_tflops"] = r * 3 * fl2 / 1e12  # forward + backward ≈ 3 forwards
            if peak:
                summ[f"{name}_pct_of_bf16_matmul"] = 100 * r * 3 * fl2 / 1e12 / peak
    for name in ("train_2d", "train_2d_b512"):
        r = g(name, "steady_patches_per_s")
        bare = g("net_eager_2d_b512" if name.endswith("b512") else "net_eager_2d_b128")
        if r and bare:
            summ[f"{name}_pct_of_bare_net"] = 100 * r / bare["patches_per_s"]
    r = g("predict_2d_default", "mpix_per_s")
    if r and fl2:
        summ["predict_2d_default_tflops"] = r * 1e6 * fl2 / (64 * 64) / 1e12
    return summ
