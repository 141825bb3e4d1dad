"""The GPU suite's measurements (``suites/gpu.py`` runs them as sections): the engine's training
and prediction rates, and PSNR after a time budget (nuclei samples, BSD68)."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from benchmarks.harness.basics import Timer, bsd68_protocol, psnr


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


def train_rate(image: np.ndarray, axes: str, device: str, steps: int = 100_000,
               batch: int | None = None, warmup: int = 2, budget_s: float | None = None,
               clean: np.ndarray | None = None, **extra: Any) -> dict[str, Any]:  # fmt: skip
    """The engine end to end (``Trainer``: events, validation, lagged loss read-out): steady
    patches/s; with ``clean``, the PSNR (``napari_n2v.psnr``) of the returned model's output."""
    import napari_n2v as n2v

    extra.setdefault("steps_per_epoch", max(steps // 4, 1))
    cfg = n2v.TrainConfig(axes=axes, steps=steps, batch_size=batch, device=device, seed=1, **extra)
    tr, stamps = n2v.Trainer(image, cfg), list[float]()
    gen, t0 = tr.run(), time.perf_counter()
    try:
        while True:
            if isinstance(next(gen), n2v.TrainEvent):
                stamps.append(time.perf_counter())
                if budget_s is not None and stamps[-1] - t0 > budget_s:
                    tr.stop()
    except StopIteration as fin:
        model = fin.value
    b, n, train_s = tr.batch_size, len(stamps), time.perf_counter() - t0
    w = max(0, min(warmup, n - 2))
    rate = (n - 1 - w) * b / (stamps[-1] - stamps[w]) if n - 1 > w else None
    res: dict[str, Any] = {"axes": axes, "batch": b, "steps": n, "patch": list(tr.data.patch),
                           "steady_patches_per_s": rate, "train_s": train_s}  # fmt: skip
    if clean is not None:
        den = n2v.predict(model, image, axes)
        res.update(psnr_noisy=n2v.psnr(image, clean), psnr_n2v=n2v.psnr(den, clean))
    return {**res, "model": model}


def predict_rate(
    model: Any, image: np.ndarray, axes: str, repeats: int, **pc: Any
) -> dict[str, Any]:
    """The engine's prediction MPix/s (MVox/s in 3D), best of ``repeats`` full calls."""
    import napari_n2v as n2v

    cfg = n2v.PredictConfig(**pc)
    n2v.predict(model, image[tuple(slice(0, 256) for _ in image.shape)], axes, cfg)  # warm-up
    best = math.inf
    for _ in range(repeats):
        with Timer() as t:
            n2v.predict(model, image, axes, cfg)
        best = min(best, t.s)
    config = {k: list(v) if isinstance(v, tuple) else v for k, v in pc.items()}
    return {"shape": list(image.shape), "config": config, "s": best,
            "mpix_per_s": image.size / 1e6 / best}  # fmt: skip


def bsd68_curve(quick: bool, device: str, budget_s: float, marks: list[float]) -> dict[str, Any]:
    """The paper's protocol on the GPU: train on the 400 noisy Train400 images, denoise the 68 noisy
    BSD68 images with the kept (best-validated) and the current model at each mark (seconds of
    training; scoring pauses the clock): PSNR against wall-clock (8-bit protocol)."""
    import napari_n2v as n2v

    train, clean, noisy = bsd68_protocol(8 if quick else None, 4 if quick else None)

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
            curve.append({"train_s": now, "steps": steps, "psnr": score(tr.best_model),
                          "psnr_current": score(tr.current_model), "lr": ev.lr})  # fmt: skip
            train_s, t0 = now, time.perf_counter()
        if now >= budget_s:
            tr.stop()
    input_psnr = float(np.mean([psnr(c, n) for c, n in zip(clean, noisy, strict=True)]))
    return {"input_psnr": input_psnr, "curve": curve, "batch": tr.batch_size, "steps": steps,
            "patches": steps * tr.batch_size}  # fmt: skip
