"""Run our engine once and print one JSON line: the twin of ``runners/peer.py`` (same command line,
``benchmarks/harness/runner_args.py``).

    python -m benchmarks.runners.ours --data noisy.npy --axes YX --steps 200 --predict noisy.npy

``Trainer.run()`` is drained; with ``--budget-s`` ``Trainer.stop()`` is called at the first step
past the budget and the returned (validation-best) model is used. ``--steps`` sets
``TrainConfig.steps`` (the length of the learning-rate schedule); with only a budget it defaults to
a large number.
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import hashlib  # noqa: E402
import math  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.harness import runner_args  # noqa: E402
from benchmarks.harness.basics import peak_rss_mb, print_json_line  # noqa: E402


def config(a: Any, n2v: Any) -> Any:
    """The TrainConfig the arguments ask for (unset options: the engine's defaults)."""
    kw: dict[str, Any] = {}
    for flag, field in (
        ("patch", "patch_size"),
        ("batch", "batch_size"),
        ("lr", "learning_rate"),
        ("steps_per_epoch", "steps_per_epoch"),
        ("precision", "precision"),
        ("filters", "n_filters"),
        ("val_patches", "val_patches"),
    ):
        v = getattr(a, flag)
        if v is not None:
            kw[field] = tuple(v) if flag == "patch" else v
    steps = a.steps or (10**6 if a.budget_s else n2v.TrainConfig().steps)
    cfg = n2v.TrainConfig(axes=a.axes.upper(), steps=steps, n2v2=a.n2v2, seed=a.seed, **kw)
    if a.masked_pixels is not None:
        return cfg.replace(masked_pixels=a.masked_pixels)
    if a.masked_pct is not None:
        n = math.prod(cfg.resolved_patch_size) * a.masked_pct / 100
        return cfg.replace(masked_pixels=max(1, round(n)))
    return cfg


def rates(stamps: list[float], events: list[Any], batch: int, warmup: int) -> dict[str, Any]:
    """Steady patches/s between step ``warmup`` and the last step, with and without the steps that
    ran a validation (the peer's per-batch timing leaves validation out)."""
    n = len(stamps)
    w = min(warmup, max(0, n - 2))
    if n - 1 <= w:
        return {"steady_patches_per_s": None, "steady_excl_val_patches_per_s": None}
    kept = [stamps[k] - stamps[k - 1] for k in range(w + 1, n) if events[k].val_loss is None]
    steady = (n - 1 - w) * batch / (stamps[-1] - stamps[w])
    no_val = len(kept) * batch / sum(kept) if kept else None
    return {"steady_patches_per_s": steady, "steady_excl_val_patches_per_s": no_val}


def main() -> None:
    a = runner_args.parse()
    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    import napari_n2v as n2v
    from benchmarks.runners.ours_marks import Marks

    t_imported = time.perf_counter()
    data = np.load(a.data).astype(np.float32)
    cfg = config(a, n2v)
    t0 = time.perf_counter()  # like the peer's budget: from the call that starts training
    trainer = n2v.Trainer(data, cfg)
    marks = Marks(trainer, runner_args.marks(a), t0)
    gen, events, stamps, stopped = trainer.run(), [], [], False
    try:
        while True:
            ev = next(gen)
            if isinstance(ev, n2v.TrainEvent):
                stamps.append(time.perf_counter())
                events.append(ev)
                marks.maybe_snapshot(ev, stamps[-1])
                if a.budget_s is not None and not stopped and stamps[-1] - t0 >= a.budget_s:
                    trainer.stop()
                    stopped = True
    except StopIteration as fin:
        model = fin.value
    train_s = time.perf_counter() - t0
    batch, n = trainer.batch_size, len(stamps)
    vals = [e.val_loss for e in events if e.val_loss is not None]
    res: dict[str, Any] = {
        "tool": "napari-n2v", "engine_sha1": engine_sha1(), "axes": cfg.axes,
        "data_shape": list(data.shape), "patch": list(cfg.resolved_patch_size), "batch": batch,
        "masked_pixels": cfg.resolved_masked_pixels(), "lr": cfg.learning_rate, "n2v2": cfg.n2v2,
        "steps": n, "patches": n * batch, "train_s": train_s,
        **rates(stamps, events, batch, a.warmup),
        "overall_patches_per_s": n * batch / train_s, "import_s": t_imported - T_START,
        "torch_threads": torch.get_num_threads(), "last_val_loss": vals[-1] if vals else None,
        "best_val_loss": events[-1].best_val_loss if events else None,
        "final_lr": events[-1].lr if events else None, "n_filters": trainer.config.n_filters,
        "effective_patch": list(trainer.data.patch),
        "effective_masked_pixels": trainer.data.n_masked,
    }  # fmt: skip
    del data
    axes = a.predict_axes or ("ZYX" if cfg.is_3d else "YX")
    pcfg = n2v.PredictConfig(precision=a.precision or "auto")  # the path training took
    res.update(runner_args.predict_all(a, lambda img: n2v.predict(model, img, axes, pcfg)))
    if a.marks:  # after the timed prediction, which it leaves as it was
        t = time.perf_counter()
        res["marks"] = marks.resolve(a, model, n, axes)
        res["snapshot_s"], res["marks_resolve_s"] = marks.snapshot_s, time.perf_counter() - t
    res["total_s"] = time.perf_counter() - T_START
    res["peak_rss_mb"] = peak_rss_mb()
    print_json_line(res)


def engine_sha1() -> str:
    """Hash of the engine's sources as imported (napari_n2v/core/**.py): the engine changes between
    runs while it is developed, and a result should say which engine it measured."""
    import napari_n2v

    h = hashlib.sha1()
    for f in sorted((Path(napari_n2v.__file__).parent / "core").rglob("*.py")):
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


if __name__ == "__main__":
    main()
