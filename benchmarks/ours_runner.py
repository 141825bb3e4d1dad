"""Run our engine (napari_n2v.core) once and print one JSON line — the twin of ``peer_runner.py``.

Same command-line as ``peer_runner.py`` so that speed/quality/sweep build one argument list for both:

    .venv/bin/python benchmarks/ours_runner.py --data noisy.npy --axes YX --batch 16 --steps 200 \
        --predict big.npy --out denoised.npy

Training: ``Trainer.run()`` is drained; with ``--budget-s T`` ``Trainer.stop()`` is called once T seconds
have passed since ``run()`` started (the step in flight finishes) and the returned model is used.
``--steps`` sets ``TrainConfig.steps`` (the length of the learning-rate schedule); with only a budget it
defaults to a large number. Throughput: patches / time over the steps after ``--warmup``.

``--marks 30,60,...`` (seconds since training started) records a PSNR-over-time curve from this one run:
at the first step past each mark the state the run would return if stopped then is kept (a reference to
the validation-best weights, which the trainer copies anyway, plus a CPU copy of the current weights: a
state_dict copy, timed as ``snapshot_s``). Only after training are they resolved and scored: a stop
validates the current weights and returns them if they beat the best validation loss (``Trainer.run``);
that validation is redone here on the run's own validation set, rebuilt from its seed (checked against
the trainer's recorded best loss: ``val_check_rel_err``). Each mark's model denoises the first
``--predict`` array; ``--marks-ref clean.npy`` adds the PSNR, ``--marks-out x.npz`` keeps the outputs.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

T_START = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from common import emit, peak_rss_mb  # noqa: E402


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", required=True, help=".npy training array")
    p.add_argument("--axes", required=True, help="axes of --data: YX, SYX, ZYX, SZYX")
    p.add_argument("--patch", type=int, nargs="+", default=None, help="default: TrainConfig's")
    p.add_argument("--batch", type=int, default=None, help="default: TrainConfig's (per device)")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--budget-s", type=float, default=None)
    p.add_argument("--steps-per-epoch", type=int, default=None)
    p.add_argument("--stack", default="none", help="accepted for symmetry with peer_runner; unused")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument(
        "--masked-pct", type=float, default=None, help="masked pixels in %% of the patch"
    )
    p.add_argument(
        "--masked-pixels", type=int, default=None, help="masked pixels per patch (count)"
    )
    p.add_argument("--n2v2", action="store_true")
    p.add_argument("--val-patches", type=int, default=None, help="default: TrainConfig's")
    p.add_argument("--precision", default=None, help="auto | fp32 | bf16 (default: TrainConfig's)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--predict", nargs="*", default=[])
    p.add_argument("--predict-axes", default=None)
    p.add_argument("--predict-repeats", type=int, default=1)
    p.add_argument("--out", nargs="*", default=[])
    p.add_argument("--threads", type=int, default=None)
    p.add_argument(
        "--filters", type=int, default=None, help="U-Net filters (TrainConfig.n_filters)"
    )
    p.add_argument("--marks", default=None, help="comma-separated seconds: a curve (see above)")
    p.add_argument("--marks-ref", default=None, help=".npy clean image: PSNR of each mark's output")
    p.add_argument("--marks-out", default=None, help=".npz: each mark's output (keys m0, m1, ...)")
    return p.parse_args()


def main() -> None:
    a = _parse()
    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    from napari_n2v.core.config import PredictConfig, TrainConfig
    from napari_n2v.core.prediction import predict
    from napari_n2v.core.training import Trainer, TrainEvent

    t_imported = time.perf_counter()
    data = np.load(a.data).astype(np.float32)
    kw: dict = {}
    if a.patch:
        kw["patch_size"] = tuple(a.patch)
    if a.batch:
        kw["batch_size"] = a.batch
    if a.steps_per_epoch:
        kw["steps_per_epoch"] = a.steps_per_epoch
    if a.lr is not None:
        kw["learning_rate"] = a.lr
    if a.precision:
        kw["precision"] = a.precision
    if a.filters:
        kw["n_filters"] = a.filters
    if a.val_patches:
        kw["val_patches"] = a.val_patches
    steps = a.steps or (10**6 if a.budget_s else TrainConfig().steps)
    cfg = TrainConfig(axes=a.axes.upper(), steps=steps, n2v2=a.n2v2, seed=a.seed, **kw)
    if a.masked_pixels is not None:
        cfg = cfg.replace(masked_pixels=a.masked_pixels)
    elif a.masked_pct is not None:
        cfg = cfg.replace(
            masked_pixels=max(1, round(math.prod(cfg.resolved_patch_size) * a.masked_pct / 100))
        )

    t0 = (
        time.perf_counter()
    )  # like the peer's budget: from the call that starts training (setup included)
    trainer = Trainer(data, cfg)
    gen = trainer.run()
    events: list[TrainEvent] = []
    stamps: list[float] = []
    stopped = False
    marks = sorted(float(x) for x in a.marks.split(",")) if a.marks else []
    snaps: list[dict] = []
    snap_s = 0.0
    try:
        while True:
            ev = next(gen)
            if isinstance(ev, TrainEvent):
                stamps.append(time.perf_counter())
                events.append(ev)
                if marks and stamps[-1] - t0 >= marks[0]:
                    ts = time.perf_counter()
                    snap = _snapshot(trainer, ev, stamps[-1] - t0)
                    while marks and stamps[-1] - t0 >= marks[0]:
                        snaps.append({**snap, "mark_s": marks.pop(0)})
                    snap_s += time.perf_counter() - ts
                if a.budget_s is not None and not stopped and stamps[-1] - t0 >= a.budget_s:
                    trainer.stop()
                    stopped = True
    except StopIteration as fin:
        model = fin.value
    t_trained = time.perf_counter()
    train_s = t_trained - t0
    batch = cfg.batch_size or _batch_of(model)
    n = len(stamps)
    w = min(a.warmup, max(0, n - 2))
    # steady state: time between step w and the last step (includes validation, as the peer's does not:
    # the per-step cost of our validation is small and counted; see README)
    steady = (n - 1 - w) * batch / (stamps[-1] - stamps[w]) if n - 1 > w else None
    # the same without the steps that ran a validation (the peer's per-batch timing leaves validation out)
    dur = [(stamps[k] - stamps[k - 1], events[k].val_loss is None) for k in range(w + 1, n)]
    kept = [d for d, no_val in dur if no_val]
    steady_no_val = len(kept) * batch / sum(kept) if kept else None
    res = {
        "tool": "napari-n2v",
        "engine_sha1": _engine_sha1(),
        "axes": cfg.axes,
        "data_shape": list(data.shape),
        "patch": list(cfg.resolved_patch_size),
        "batch": batch,
        "masked_pixels": cfg.resolved_masked_pixels(),
        "lr": cfg.learning_rate,
        "n2v2": cfg.n2v2,
        "steps": n,
        "patches": n * batch,
        "train_s": train_s,
        "steady_patches_per_s": steady,
        "steady_excl_val_patches_per_s": steady_no_val,
        "overall_patches_per_s": n * batch / train_s,
        "import_s": t_imported - T_START,
        "torch_threads": torch.get_num_threads(),
        "last_val_loss": next(
            (e.val_loss for e in reversed(events) if e.val_loss is not None), None
        ),
        "best_val_loss": events[-1].best_val_loss if events else None,
        "final_lr": events[-1].lr if events else None,
        "n_filters": trainer.config.n_filters,  # as resolved for the device
        "effective_patch": list(trainer.data.patch),
        "effective_masked_pixels": trainer.data.n_masked,
    }
    del data
    pred_axes = a.predict_axes
    times, pix = [], 0
    for i, path in enumerate(a.predict):
        img = np.load(path).astype(np.float32)
        best = math.inf
        for _ in range(max(1, a.predict_repeats)):
            t = time.perf_counter()
            out = predict(model, img, pred_axes or ("ZYX" if cfg.is_3d else "YX"), PredictConfig())
            best = min(best, time.perf_counter() - t)
        times.append(best)
        pix += img.size
        if i < len(a.out):
            np.save(a.out[i], np.asarray(out, dtype=np.float32))
    if a.predict:
        res["predict_s"] = float(sum(times))
        res["predict_mpix_per_s"] = pix / 1e6 / sum(times)
    if a.marks:  # after the timed prediction, which it leaves as it was
        t = time.perf_counter()
        res["marks"] = _resolve_marks(a, trainer, snaps, model, n)
        res["snapshot_s"], res["marks_resolve_s"] = snap_s, time.perf_counter() - t
    res["total_s"] = time.perf_counter() - T_START
    res["peak_rss_mb"] = peak_rss_mb()
    emit(res)


def _snapshot(trainer, ev, t: float) -> dict:
    """What a stop now would start from: the best validated weights (the trainer's own copy, kept by
    reference: it is replaced, never changed in place) and a CPU copy of the current weights."""
    best = trainer._best
    cur = {k: v.detach().to("cpu", copy=True) for k, v in trainer._net.state_dict().items()}
    return {
        "t_s": t,
        "steps": ev.step,
        "lr": ev.lr,
        "best_state": best.best_state,
        "best_val": best.best_val,
        "validated_now": best.last_step == ev.step,
        "current": cur,
    }


def _resolve_marks(a: argparse.Namespace, trainer, snaps: list[dict], final, n_steps: int) -> list:
    """Per mark: the model a stop there would return (as ``Trainer.run`` decides), its output on the
    first ``--predict`` array and, with ``--marks-ref``, its PSNR (and that of the current weights)."""
    import torch
    from common import psnr

    from napari_n2v.core.config import PredictConfig
    from napari_n2v.core.model import build_unet
    from napari_n2v.core.prediction import predict

    cfg = trainer.config
    img = np.load(a.predict[0]).astype(np.float32)
    ref = np.load(a.marks_ref).astype(np.float32) if a.marks_ref else None
    axes = a.predict_axes or ("ZYX" if cfg.is_3d else "YX")
    validator: list = []  # built on first use
    outs: dict[int, np.ndarray] = {}

    def run(state) -> np.ndarray:
        if id(state) not in outs:
            if state is final:
                model = final
            else:
                net = build_unet(cfg, trainer.data.channels)
                net.load_state_dict(state)
                model = trainer._wrap(net.eval())
            with torch.no_grad():
                outs[id(state)] = np.asarray(predict(model, img, axes, PredictConfig()), np.float32)
        return outs[id(state)]

    rows, check = [], None
    for s in snaps:
        row = {k: s[k] for k in ("mark_s", "t_s", "steps", "lr", "best_val")}
        hist = [h for h in trainer._best.history if h["step"] <= s["steps"]]
        row["best_step"] = next(
            (
                h["step"]
                for h in hist
                if s["best_val"] is not None and h["val_loss"] == s["best_val"]
            ),
            None,
        )
        cur_val = None
        if s["steps"] == n_steps:  # the run's own stop: the model it returned
            chosen, state = "returned", final
        elif s["best_state"] is None:  # nothing validated yet: a stop validates and keeps these
            chosen, state = "current", s["current"]
        elif s["validated_now"]:  # this step was validated: the best includes it
            chosen, state = "best", s["best_state"]
        else:
            if not validator:
                validator.append(_validator(trainer))
            validate = validator[0]
            if check is None:  # does the rebuilt validation set reproduce the trainer's losses?
                v = validate(s["best_state"])
                check = abs(v - s["best_val"]) / max(abs(s["best_val"]), 1e-12)
            cur_val = validate(s["current"])
            better = math.isfinite(cur_val) and cur_val < s["best_val"]
            chosen, state = ("current", s["current"]) if better else ("best", s["best_state"])
        row.update(chosen=chosen, current_val=cur_val)
        if ref is not None:
            row["psnr"] = psnr(ref, run(state))
            row["psnr_current"] = psnr(ref, run(s["current"]))
            if s["best_state"] is not None:
                row["psnr_best_validated"] = psnr(ref, run(s["best_state"]))
        rows.append(row)
    if a.marks_out:
        np.savez_compressed(
            a.marks_out,
            **{
                f"m{i}": run(_state_of(s, r, final))
                for i, (s, r) in enumerate(zip(snaps, rows, strict=True))
            },
        )
    for r in rows:
        r["val_check_rel_err"] = check
    return rows


def _state_of(s: dict, row: dict, final):
    return {"returned": final, "current": s["current"], "best": s["best_state"]}[row["chosen"]]


def _validator(trainer):
    """``validate(state) -> loss`` on the run's validation set, rebuilt as ``Trainer.run`` builds it
    (same seed, patches, masking, batch and precision)."""
    from napari_n2v.core.model import build_unet
    from napari_n2v.core.step import StepRunner, val_sampler

    cfg, d = trainer.config, trainer.data
    runner = StepRunner.for_config(
        build_unet(cfg, d.channels), d, cfg, trainer.device, trainer.batch_size
    )
    seed = cfg.seed + 1
    val = runner.make_val(val_sampler(d, seed), cfg.val_patches, seed)

    def validate(state) -> float:
        runner.net.load_state_dict(state)
        return runner.validate(val)

    return validate


def _engine_sha1() -> str:
    """Hash of napari_n2v/core/*.py as imported: the engine changes between runs while it is developed."""
    import hashlib

    import napari_n2v.core as core

    h = hashlib.sha1()
    for f in sorted(Path(core.__file__).parent.glob("*.py")):
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def _batch_of(model) -> int:
    from napari_n2v.core.device import default_batch_size, resolve_device

    return default_batch_size(resolve_device(model.config.device), model.is_3d)


if __name__ == "__main__":
    main()
