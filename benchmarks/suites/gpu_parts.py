"""What the GPU suite measures (``suites/gpu.py`` lists the sections): the card's matrix rate and
the network's FLOPs (the limits), the bare U-Net's training rate (the upper bound), the engine's
training and prediction rates, and PSNR after a time budget (nuclei samples, BSD68)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from benchmarks import engine
from benchmarks.harness.basics import noisy_set, psnr


def sync(dev: Any) -> None:
    import torch

    if dev.type == "cuda":
        torch.cuda.synchronize()


def synthetic(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Smooth random structure (box-blurred noise) + Gaussian noise σ=25, float32 on 0..225."""
    rng = np.random.default_rng(seed)
    x: np.ndarray = rng.random(shape).astype(np.float32)
    for ax in range(len(shape)):  # a cumulative-sum box filter, twice per axis
        k = max(1, min(8, shape[ax] // 4))
        for _ in range(2):
            c = np.cumsum(x, axis=ax)
            x = (np.roll(c, -k, axis=ax) - np.roll(c, k, axis=ax)) / (2 * k)
    x = (x - x.min()) / (np.ptp(x) + 1e-6) * 200
    return (x + rng.normal(0, 25, shape)).astype(np.float32)


def matmul_tflops(dev: Any, n: int, reps: int) -> float:
    """bf16 n×n matrix products per second, in TFLOP/s: the card's practical limit."""
    import torch

    a, b = (torch.randn(n, n, device=dev, dtype=torch.bfloat16) for _ in range(2))
    for _ in range(3):
        a @ b
    sync(dev)
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    sync(dev)
    return 2 * n**3 * reps / (time.perf_counter() - t) / 1e12


def forward_flops(n_dim: int, patch: tuple[int, ...]) -> float:
    """FLOPs of one forward pass of the default U-Net on one patch (torch's counter, 2 per MAC)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    import napari_n2v as n2v

    net = engine.build_unet(n2v.TrainConfig(axes="ZYX" if n_dim == 3 else "YX"), 1).eval()
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        net(torch.zeros(1, 1, *patch))
    return float(fc.get_total_flops())


def net_rate(
    n_dim: int, batch: int, patch: tuple[int, ...], dev: Any, steps: int, bf16: bool
) -> dict[str, Any]:
    """Bare U-Net forward + backward + Adam in the engine's layout: the upper bound for training."""
    import torch

    import napari_n2v as n2v

    net = engine.build_unet(n2v.TrainConfig(axes="ZYX" if n_dim == 3 else "YX"), 1).to(dev)
    fmt = torch.channels_last if n_dim == 2 else torch.contiguous_format
    net = net.to(memory_format=fmt).train()
    opt = torch.optim.Adam(net.parameters(), 1e-4)
    x = torch.randn(batch, 1, *patch, device=dev).contiguous(memory_format=fmt)

    def one() -> None:
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            y = net(x)
        loss = (y.float() - x).square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(4):
        one()
    sync(dev)
    t = time.perf_counter()
    for _ in range(steps):
        one()
    sync(dev)
    return {"batch": batch, "patches_per_s": batch * steps / (time.perf_counter() - t)}


def train_rate(image: np.ndarray, axes: str, device: str, steps: int = 100_000,
               batch: int | None = None, warmup: int = 2, budget_s: float | None = None,
               clean: np.ndarray | None = None, **extra: Any) -> dict[str, Any]:  # fmt: skip
    """The engine end to end (``Trainer``: events, validation, lagged loss read-out): steady
    patches/s; with ``clean``, the PSNR (``napari_n2v.psnr``) of the returned model's output."""
    import napari_n2v as n2v

    spe = extra.pop("steps_per_epoch", max(steps // 4, 1))
    cfg = n2v.TrainConfig(
        axes=axes,
        steps=steps,
        batch_size=batch,
        device=device,
        seed=1,
        steps_per_epoch=spe,
        **extra,
    )
    tr = n2v.Trainer(image, cfg)
    stamps: list[float] = []
    gen = tr.run()
    t0 = time.perf_counter()
    try:
        while True:
            if isinstance(next(gen), n2v.TrainEvent):
                stamps.append(time.perf_counter())
                if budget_s is not None and stamps[-1] - t0 > budget_s:
                    tr.stop()
    except StopIteration as fin:
        model = fin.value
    b, n = tr.batch_size, len(stamps)
    w = max(0, min(warmup, n - 2))
    rate = (n - 1 - w) * b / (stamps[-1] - stamps[w]) if n - 1 > w else None
    train_s = time.perf_counter() - t0
    res: dict[str, Any] = {"axes": axes, "batch": b, "steps": n, "patch": list(tr.data.patch)}
    res.update(steady_patches_per_s=rate, train_s=train_s)
    if clean is not None:
        den = n2v.predict(model, image, axes)
        res.update(psnr_noisy=n2v.psnr(image, clean), psnr_n2v=n2v.psnr(den, clean))
    res["model"] = model
    return res


def predict_rate(
    model: Any, image: np.ndarray, axes: str, repeats: int, **pc: Any
) -> dict[str, Any]:
    """The engine's prediction MPix/s (MVox/s in 3D), best of ``repeats`` full calls."""
    import napari_n2v as n2v

    cfg = n2v.PredictConfig(**pc)
    n2v.predict(
        model, image[tuple(slice(0, min(n, 256)) for n in image.shape)], axes, cfg
    )  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        n2v.predict(model, image, axes, cfg)
        best = min(best, time.perf_counter() - t)
    config = {k: list(v) if isinstance(v, tuple) else v for k, v in pc.items()}
    return {
        "shape": list(image.shape),
        "config": config,
        "s": best,
        "mpix_per_s": image.size / 1e6 / best,
    }


def bsd68_curve(quick: bool, device: str, budget_s: float, marks: list[float]) -> dict[str, Any]:
    """The paper's protocol on the GPU: train on the 400 noisy Train400 images, denoise the 68 noisy
    BSD68 images with the kept (best-validated) and the current model at each mark (seconds of
    training; scoring pauses the clock): PSNR against wall-clock (8-bit protocol)."""
    import napari_n2v as n2v

    train = np.stack([n for _, _, n in noisy_set("Train400", 8 if quick else None)])
    test = noisy_set("BSD68", 4 if quick else None)
    # one S×321×481 stack (portrait images transposed; PSNR does not mind): one call per score
    clean = [c.T if c.shape[0] > c.shape[1] else c for _, c, _ in test]
    noisy = np.stack([n.T if n.shape[0] > n.shape[1] else n for _, _, n in test])

    def score(model: Any) -> float:
        den = n2v.predict(model, noisy, "SYX")
        return float(np.mean([psnr(c, d) for c, d in zip(clean, den, strict=True)]))

    tr = n2v.Trainer(train, n2v.TrainConfig(axes="SYX", steps=10_000_000, device=device, seed=1))
    curve, todo, steps, train_s, t0 = [], sorted(marks), 0, 0.0, time.perf_counter()
    for ev in tr.run():
        if not isinstance(ev, n2v.TrainEvent):
            continue
        steps, now = ev.step, train_s + (time.perf_counter() - t0)
        if todo and now >= todo[0] and tr.best_model is not None:
            todo.pop(0)
            curve.append(
                {
                    "train_s": now,
                    "steps": steps,
                    "psnr": score(tr.best_model),
                    "psnr_current": score(tr.current_model),
                    "lr": ev.lr,
                }
            )
            train_s, t0 = now, time.perf_counter()
        if now >= budget_s:
            tr.stop()
    input_psnr = float(np.mean([psnr(c, n) for c, n in zip(clean, noisy, strict=True)]))
    return {
        "input_psnr": input_psnr,
        "curve": curve,
        "batch": tr.batch_size,
        "steps": steps,
        "patches": steps * tr.batch_size,
    }
