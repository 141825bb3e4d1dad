"""``gpu.py``'s network sections: the bare U-Net's training rate (eager, and torch.compile'd in a child
process), the upper bound for the engine; and the engine's training step taken apart."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
from gpu_common import Run, sync


# --- bare network ----------------------------------------------------------------------------------
def net_rate(
    n_dim: int, batch: int, patch: tuple[int, ...], dev, steps: int, bf16: bool, compile_: bool
) -> dict:
    """Bare U-Net forward + backward + Adam step in the engine's layout: the upper bound for training."""
    import torch

    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.model import build_unet

    net = build_unet(TrainConfig(axes="ZYX" if n_dim == 3 else "YX"), 1).to(dev)
    fmt = torch.channels_last if n_dim == 2 else torch.contiguous_format
    net = net.to(memory_format=fmt).train()
    fwd = torch.compile(net) if compile_ else net
    opt = torch.optim.Adam(net.parameters(), 1e-4)
    x = torch.randn(batch, 1, *patch, device=dev).contiguous(memory_format=fmt)

    def one() -> None:
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            y = fwd(x)
        loss = (y.float() - x).square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    t = time.perf_counter()
    one()
    sync(dev)
    first = time.perf_counter() - t
    for _ in range(3):
        one()
    sync(dev)
    t = time.perf_counter()
    for _ in range(steps):
        one()
    sync(dev)
    return {
        "batch": batch,
        "patches_per_s": batch * steps / (time.perf_counter() - t),
        "first_step_s": first,
    }


def compiled_child(smoke: bool) -> None:
    """Child process: torch.compile'd bare network (killed by the parent if compiling takes too long)."""
    import torch

    dev = torch.device("cpu" if smoke else "cuda")
    n = 3 if smoke else 50
    res = {
        "b128": net_rate(2, 128 if not smoke else 8, (64, 64), dev, n, True, True),
        "b512": net_rate(2, 512 if not smoke else 8, (64, 64), dev, n, True, True),
    }
    print(json.dumps(res))


def compiled(script: str, smoke: bool, compile_timeout: float, run: Run) -> dict:
    """torch.compile on the bare network, in a child process (``script --compiled-child``) so a slow
    compile can be cut off."""
    t = time.perf_counter()
    cmd = [sys.executable, script, "--compiled-child"] + (["--smoke"] if smoke else [])
    limit = min(compile_timeout, run.left() - 5)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return {"timed_out_after_s": limit}
    if p.returncode != 0:
        return {"failed": p.stderr[-2000:]}
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["wall_s"] = time.perf_counter() - t
    return out


# --- the engine's step, taken apart ----------------------------------------------------------------
def step_parts(img: np.ndarray, batch: int, device: str, steps: int) -> dict:
    """ms per call of: patch cutting, masking, the engine's step (loss read every step, i.e. a host
    sync), the same step with the loss left on the device; plus the bare network at the same batch."""
    import torch

    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.data import DevicePatchSampler, PatchSampler
    from napari_n2v.core.device import resolve_device
    from napari_n2v.core.model import build_unet
    from napari_n2v.core.step import StepRunner
    from napari_n2v.core.train_setup import prepare_data

    cfg = TrainConfig(axes="YX", batch_size=batch, device=device)
    dev = resolve_device(device)
    d = prepare_data(img, cfg)
    runner = StepRunner(
        build_unet(cfg, d.channels),
        d,
        strategy=cfg.resolved_strategy,
        radius=cfg.neighbor_radius,
        struct_span=cfg.struct_span,
        learning_rate=cfg.learning_rate,
        precision=cfg.precision,
        device=dev,
        batch_size=batch,
        steps_per_epoch=cfg.steps_per_epoch,
    )
    cls = DevicePatchSampler if dev.type == "cuda" else None
    rng = np.random.default_rng(0)
    sampler = (
        cls(d.data, d.train_region, d.patch, True, rng, dev)
        if cls
        else PatchSampler(d.data, d.train_region, d.patch, True, rng)
    )
    gen = torch.Generator(device=dev).manual_seed(0)

    def timed(fn, n: int) -> float:
        for _ in range(3):
            fn()
        sync(dev)
        t = time.perf_counter()
        for _ in range(n):
            fn()
        sync(dev)
        return (time.perf_counter() - t) / n * 1e3

    x = sampler.sample(batch)
    x = x if isinstance(x, torch.Tensor) else torch.from_numpy(x).to(dev)
    out = {
        "batch": batch,
        "sample_ms": timed(lambda: sampler.sample(batch), steps),
        "mask_ms": timed(lambda: runner.masker(x, gen), steps),
        "step_read_each_ms": timed(lambda: float(runner.step(sampler, gen)), steps),
        "step_queued_ms": timed(lambda: runner.step(sampler, gen), steps),
    }
    net = runner.net

    def bare() -> None:
        with runner.amp():
            y = net(x.contiguous(memory_format=runner.fmt))
        loss = (y.float() - x).square().mean()
        runner.opt.zero_grad(set_to_none=True)
        loss.backward()
        runner.opt.step()

    out["bare_net_ms"] = timed(bare, steps)
    return out
