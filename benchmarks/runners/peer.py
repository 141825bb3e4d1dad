"""Run the peer (CAREamics N2V) once and print one JSON line. Runs INSIDE the peer venv
(``benchmarks/install_peer.sh``), where napari_n2v is not installed; same command line as ours.

    .peer-venv/bin/python -m benchmarks.runners.peer --data noisy.npy --axes YX --steps 200

``--budget-s``: a callback stops training once the budget has passed since ``CAREamist.train`` was
called. The steady rate counts per-batch timings after ``--warmup`` (validation and epoch boundaries
excluded). ``--stack auto`` repeats a single image along a new S axis so that one CAREamics epoch
holds at least ``steps_per_epoch × batch`` patches (an epoch of a 512² image is otherwise 56
patches, and the ReduceLROnPlateau scheduler, patience 10 epochs, cuts the learning rate within ~110
steps). ``--marks``: a CPU copy of the network's weights at each mark (what CAREamist holds if
stopped there) denoises the first ``--predict`` array after training.
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import contextlib  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import warnings  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.harness import runner_args  # noqa: E402
from benchmarks.harness.basics import peak_rss_mb, print_json_line, psnr  # noqa: E402


def stacked(data: np.ndarray, axes: str, a: Any, patch: list[int]) -> tuple[np.ndarray, str]:
    """``--stack``: copies of a single image along a new S axis (see the module docstring)."""
    if "S" in axes or a.stack == "none":
        return data, axes
    n_est = max(1, math.prod(max(1, s // p - 1) for s, p in zip(data.shape, patch, strict=False)))
    k = int(a.stack) if a.stack != "auto" else math.ceil(a.steps_per_epoch * a.batch / n_est)
    return np.repeat(data[None], max(1, k), axis=0), "S" + axes


def clock_callback(a: Any) -> Any:
    """A Lightning callback: per-step timing, the wall-clock budget and the marks' snapshots."""
    from lightning.pytorch.callbacks import Callback

    class Clock(Callback):
        t0 = tb = snapshot_s = 0.0
        epoch_steps = None

        def __init__(self) -> None:
            self.step_times: list[float] = []
            self.n_patches: list[int] = []
            self.snaps: list[dict[str, Any]] = []
            self.todo = runner_args.marks(a)

        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            self.epoch_steps = trainer.num_training_batches

        def on_train_batch_start(self, *args: Any) -> None:
            self.tb = time.perf_counter()

        def on_train_batch_end(
            self, trainer: Any, module: Any, out: Any, batch: Any, i: Any
        ) -> None:
            now = time.perf_counter()
            self.step_times.append(now - self.tb)
            x: Any = batch[0] if isinstance(batch, (list, tuple)) else batch
            shape = getattr(getattr(x, "data", x), "shape", None)
            self.n_patches.append(int(shape[0]) if shape else a.batch)
            if self.todo and now - self.t0 >= self.todo[0]:
                ts = time.perf_counter()
                state = {
                    k: v.detach().to("cpu", copy=True) for k, v in module.model.state_dict().items()
                }
                lr = float(trainer.optimizers[0].param_groups[0]["lr"])
                snap = {"t_s": now - self.t0, "steps": len(self.step_times), "state": state,
                        "epoch": trainer.current_epoch, "lr": lr}  # fmt: skip
                while self.todo and now - self.t0 >= self.todo[0]:
                    self.snaps.append({**snap, "mark_s": self.todo.pop(0)})
                self.snapshot_s += time.perf_counter() - ts
            if a.budget_s is not None and now - self.t0 >= a.budget_s:
                trainer.should_stop = True

    return Clock()


def main() -> None:
    a = runner_args.parse()
    given = [o for o in runner_args.OURS_ONLY if getattr(a, o) is not None]
    if given:
        raise SystemExit(f"the peer has no option {given}: leave them to ours")
    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    warnings.filterwarnings("ignore")
    for name in ("lightning", "lightning.pytorch"):
        logging.getLogger(name).setLevel(logging.ERROR)
    import careamics
    from careamics import CAREamist
    from careamics.config.factories.n2v_factory import create_advanced_n2v_config

    t_imported = time.perf_counter()
    a.batch, a.steps_per_epoch = a.batch or 16, a.steps_per_epoch or 50
    axes = a.axes.upper()
    patch = a.patch or ([16, 64, 64] if "Z" in axes else [64, 64])
    data, axes = stacked(np.load(a.data).astype(np.float32), axes, a, patch)
    kw: dict[str, Any] = {"optimizer_params": {"lr": a.lr}} if a.lr is not None else {}
    if a.masked_pct is not None:
        kw["masked_pixel_percentage"] = a.masked_pct
    cfg = create_advanced_n2v_config(
        experiment_name="bench", data_type="array", axes=axes, patch_size=patch,
        batch_size=a.batch, num_epochs=100000, num_steps=a.steps_per_epoch, use_n2v2=a.n2v2,
        model_params={"depth": 2, "num_channels_init": 32}, seed=a.seed,
        trainer_params={"max_steps": a.steps or -1, "enable_model_summary": False}, **kw,
    )  # fmt: skip
    clock = clock_callback(a)
    work = tempfile.mkdtemp(prefix="peer_bench_")
    with contextlib.redirect_stdout(sys.stderr):
        cam = CAREamist(cfg, work_dir=work, callbacks=[clock], enable_progress_bar=False)
        clock.t0 = time.perf_counter()
        cam.train(train_data=data)
    train_s = time.perf_counter() - clock.t0
    w = a.warmup if len(clock.step_times) > a.warmup else 0
    st, npt = np.array(clock.step_times[w:]), np.array(clock.n_patches[w:])
    res: dict[str, Any] = {
        "tool": "careamics", "version": careamics.__version__, "axes": axes, "patch": patch,
        "data_shape": list(data.shape), "batch": a.batch, "steps": len(clock.step_times),
        "patches": int(sum(clock.n_patches)), "train_s": train_s,
        "steady_patches_per_s": float(npt.sum() / st.sum()) if st.size else None,
        "overall_patches_per_s": float(sum(clock.n_patches) / train_s),
        "import_s": t_imported - T_START, "torch_threads": torch.get_num_threads(),
        "num_workers": cam.config.data_config.num_workers, "epoch_steps": clock.epoch_steps,
    }  # fmt: skip
    del data
    pred_axes = a.predict_axes or ("ZYX" if "Z" in axes else "YX")
    res.update(runner_args.predict_all(a, lambda img: predict(cam, img, pred_axes)))
    if a.marks:
        t = time.perf_counter()
        res["marks"] = resolve_marks(a, cam, clock.snaps, pred_axes)
        res["snapshot_s"], res["marks_resolve_s"] = clock.snapshot_s, time.perf_counter() - t
    res["total_s"] = time.perf_counter() - T_START
    res["peak_rss_mb"] = peak_rss_mb()
    shutil.rmtree(work, ignore_errors=True)
    print_json_line(res)


def predict(cam: Any, img: np.ndarray, axes: str) -> np.ndarray:
    """``CAREamist.predict`` on one array, as float32 of the input's shape."""
    with contextlib.redirect_stdout(sys.stderr):
        out, _ = cam.predict(img, axes=axes, data_type="array")
    return np.asarray(out[0], dtype=np.float32).reshape(img.shape)


def resolve_marks(a: Any, cam: Any, snaps: list[dict[str, Any]], axes: str) -> list[dict[str, Any]]:
    """Each mark's weights, loaded into the network, denoise the first ``--predict`` array."""
    img = np.load(a.predict[0]).astype(np.float32)
    ref = np.load(a.marks_ref).astype(np.float32) if a.marks_ref else None
    # CAREamist.predict loads its "last" checkpoint unless told otherwise; without one, Lightning
    # predicts with the weights in memory, which are what each mark set
    cam._get_default_ckpt = lambda checkpoint: checkpoint
    outs: dict[int, np.ndarray] = {}
    rows = []
    for s in snaps:
        if id(s["state"]) not in outs:
            cam.model.model.load_state_dict(s["state"])
            outs[id(s["state"])] = predict(cam, img, axes)
        row = {k: s[k] for k in ("mark_s", "t_s", "steps", "epoch", "lr")}
        if ref is not None:
            row["psnr"] = psnr(ref, outs[id(s["state"])])
        rows.append(row)
    if a.marks_out:
        arrays: dict[str, Any] = {f"m{i}": outs[id(s["state"])] for i, s in enumerate(snaps)}
        np.savez_compressed(a.marks_out, **arrays)
    return rows


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
