"""``gpu.py``'s training sections: the engine end to end (``Trainer``: events, validation, lagged loss
readout) in patches/s, with nuclei PSNR after a time budget; the tuning runs (loss-readout lag, batch size
at equal time); and the BSD68 PSNR-against-time curve."""

from __future__ import annotations

import sys
import time

import numpy as np
from gpu_common import Run, synthetic

from napari_n2v import load_sample, psnr


# --- the engine end to end -------------------------------------------------------------------------
def train_rate(
    image: np.ndarray,
    axes: str,
    steps: int,
    batch: int | None,
    device: str,
    warmup: int,
    budget_s: float | None = None,
    clean: np.ndarray | None = None,
    lag: int | None = None,
    **extra,
) -> dict:
    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.prediction import predict
    from napari_n2v.core.training import Trainer, TrainEvent

    cfg = TrainConfig(
        axes=axes,
        steps=steps,
        batch_size=batch,
        device=device,
        seed=1,
        steps_per_epoch=extra.pop("steps_per_epoch", max(steps // 4, 1)),
        **extra,
    )
    tr = Trainer(image, cfg)
    if lag is not None:
        tr.lag = lag
    stamps, gen = [], tr.run()
    t0 = time.perf_counter()
    try:
        while True:
            ev = next(gen)
            if isinstance(ev, TrainEvent):
                stamps.append(time.perf_counter())
                if budget_s is not None and stamps[-1] - t0 > budget_s:
                    tr.stop()
    except StopIteration as fin:
        model = fin.value
    b = tr.batch_size
    w = min(warmup, len(stamps) - 2)
    res = {
        "axes": axes,
        "batch": b,
        "steps": len(stamps),
        "patch": list(cfg.resolved_patch_size),
        "lag": tr.lag,
        "steady_patches_per_s": (len(stamps) - 1 - w) * b / (stamps[-1] - stamps[w]),
        "first_step_s": stamps[0] - t0,
        "train_s": time.perf_counter() - t0,
    }
    if clean is not None:
        t = time.perf_counter()
        den = predict(model, image, axes)
        res.update(
            predict_s=time.perf_counter() - t,
            psnr_noisy=psnr(image, clean),
            psnr_n2v=psnr(den, clean),
        )
    res["model"] = model
    return res


def tuning(run: Run, s: bool, dev_name: str) -> None:
    """Engine rate against the loss-readout lag, and nuclei PSNR at equal time for two batch sizes."""
    img2 = synthetic((256, 256) if s else (1024, 1024), seed=1)
    for lag in (0, 1, 2, 3):
        run(f"train_2d_lag{lag}", 15, train_rate, img2, "YX", 6 if s else 400, None, dev_name,
            2 if s else 20, lag=lag)  # fmt: skip
    run("bsd68_curve", 60 if s else 240, bsd68_curve, s, dev_name, 3 if s else 200,
        [1, 2] if s else [15, 30, 60, 100, 150, 200])  # fmt: skip
    n2, c2 = load_sample("2d", seed=0)
    n3, c3 = load_sample("3d", seed=0)
    if s:
        n3, c3 = n3[:8, :64, :64], c3[:8, :64, :64]
    for b in (128, 512):
        run(f"psnr_nuclei_2d_b{b}", 30, train_rate, n2, "YX", 100_000, 8 if s else b, dev_name, 2,
            budget_s=2 if s else 20, clean=c2, steps_per_epoch=5 if s else 25)  # fmt: skip
    for b in (32, 128):
        run(f"psnr_nuclei_3d_b{b}", 35, train_rate, n3, "ZYX", 100_000, 2 if s else b, dev_name, 1,
            budget_s=2 if s else 25, clean=c3, steps_per_epoch=2 if s else 25,
            patch_size=(8, 32, 32) if s else None)  # fmt: skip


def bsd68_curve(s: bool, dev_name: str, budget_s: float, marks: list[float]) -> dict:
    """The paper's BSD68 protocol on the GPU: train on the 400 noisy Train400 images (σ=25), denoise
    the 68 noisy BSD68 images with the best model so far at each mark (seconds of training): PSNR
    against wall-clock, for the extrapolation the CPU runs cannot give. Needs the benchmark data
    (``$N2V_DATA`` or ../shared/data)."""
    from common import add_noise, image_paths, load_png

    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.prediction import predict
    from napari_n2v.core.training import Trainer, TrainEvent

    train = np.stack(
        [
            add_noise(load_png(q), seed=i)
            for i, q in enumerate(image_paths("Train400", 8 if s else None))
        ]
    )
    clean = [load_png(q) for q in image_paths("BSD68", 4 if s else None)]
    noisy = [add_noise(c, seed=1000 + i) for i, c in enumerate(clean)]
    # one S×321×481 stack (portrait images transposed; PSNR does not mind): one predict call per score
    clean = np.stack([c.T if c.shape[0] > c.shape[1] else c for c in clean])
    noisy = np.stack([n.T if n.shape[0] > n.shape[1] else n for n in noisy])

    def score(model) -> float:
        den = predict(model, noisy, "SYX")
        return float(np.mean([psnr255(d, c) for d, c in zip(den, clean, strict=True)]))

    cfg = TrainConfig(axes="SYX", steps=10_000_000, device=dev_name, seed=1)
    tr = Trainer(train, cfg)
    out: dict = {
        "input_psnr": float(np.mean([psnr255(n, c) for n, c in zip(noisy, clean, strict=True)]))
    }
    curve, todo, gen, steps = [], sorted(marks), tr.run(), 0
    t0 = time.perf_counter()
    train_s = 0.0  # wall-clock of training only (scoring pauses the clock)
    for ev in gen:
        if not isinstance(ev, TrainEvent):
            continue
        steps = ev.step
        now = train_s + (time.perf_counter() - t0)
        if todo and now >= todo[0] and tr.best_model is not None:
            todo.pop(0)
            ts = time.perf_counter()
            curve.append(
                {
                    "train_s": now,
                    "steps": steps,
                    "psnr": score(tr.best_model),
                    "psnr_current": score(tr.current_model),
                    "lr": ev.lr,
                }
            )
            print(f"  BSD68 {curve[-1]}", file=sys.stderr, flush=True)
            train_s, t0 = now, time.perf_counter()
            curve[-1]["score_s"] = t0 - ts
        if now >= budget_s:
            tr.stop()
    final = tr.best_model  # the model train() would return: the best validated one
    if final is not None:
        now = train_s + (time.perf_counter() - t0)
        curve.append({"train_s": now, "steps": steps, "psnr": score(final), "final": True})
    out.update(curve=curve, batch=tr.batch_size, steps=steps, patches=steps * tr.batch_size)
    return out


def psnr255(x: np.ndarray, clean: np.ndarray) -> float:
    """PSNR with a fixed 255 peak (the BSD68 protocol), not ``napari_n2v.psnr``'s clean-range peak."""
    return float(20 * np.log10(255) - 10 * np.log10(np.mean((x.astype(np.float64) - clean) ** 2)))
