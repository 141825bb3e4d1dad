"""Run the peer (CAREamics N2V) once and print one JSON line. Runs INSIDE the peer venv.

    .peer-venv/bin/python benchmarks/peer_runner.py --data noisy.npy --axes YX --batch 16 --steps 200 \
        --predict big.npy --out denoised.npy

Training: ``--steps N`` (Lightning ``max_steps``) or ``--budget-s T`` (a callback sets ``should_stop``
once T seconds have passed since ``CAREamist.train`` was called; the step in flight finishes).
Throughput is taken from per-batch timings (``on_train_batch_start`` → ``on_train_batch_end`` of the
steps after ``--warmup``, validation and epoch boundaries excluded) and also over the whole fit.
``--stack auto`` repeats a single image along a new S axis so that one CAREamics epoch holds at least
``steps_per_epoch × batch`` patches (otherwise an epoch of a 512² image is 56 patches, and the
ReduceLROnPlateau scheduler, patience 10 epochs, cuts the learning rate within ~110 steps).

``--marks 30,60,...`` (seconds since ``train`` was called) records a PSNR-over-time curve from this one
run: at the first step past each mark a CPU copy of the network's current weights is kept (a state_dict
copy, timed as ``snapshot_s``) — the weights ``CAREamist`` holds in memory if training stops there. After
training (and after the ordinary ``--predict``, which uses CAREamics' default, its "last" checkpoint)
each copy is loaded into the network and denoises the first ``--predict`` array through
``CAREamist.predict`` with the in-memory weights; ``--marks-ref clean.npy`` adds the PSNR.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import tempfile
import time
import warnings
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
    p.add_argument(
        "--patch", type=int, nargs="+", default=None, help="default 64 64 (2D) / 16 64 64 (3D)"
    )
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--budget-s", type=float, default=None)
    p.add_argument("--steps-per-epoch", type=int, default=50)
    p.add_argument("--stack", default="auto", help="auto | none | K (copies of a single image)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--lr", type=float, default=None, help="default: CAREamics' own (1e-4)")
    p.add_argument("--masked-pct", type=float, default=None, help="default: CAREamics' own (0.2%%)")
    p.add_argument("--n2v2", action="store_true")
    p.add_argument("--seed", type=int, default=1, help="CAREamics wants a seed > 0")
    p.add_argument("--predict", nargs="*", default=[], help=".npy images to denoise after training")
    p.add_argument(
        "--predict-axes", default=None, help="axes of the --predict arrays (default YX/ZYX)"
    )
    p.add_argument(
        "--predict-repeats", type=int, default=1, help="time predict() this many times, keep best"
    )
    p.add_argument("--out", nargs="*", default=[], help=".npy outputs, one per --predict")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--marks", default=None, help="comma-separated seconds: a curve (see above)")
    p.add_argument("--marks-ref", default=None, help=".npy clean image: PSNR of each mark's output")
    p.add_argument("--marks-out", default=None, help=".npz: each mark's output (keys m0, m1, ...)")
    return p.parse_args()


def main() -> None:
    a = _parse()
    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    warnings.filterwarnings("ignore")
    import logging

    logging.getLogger("lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    from careamics import CAREamist
    from careamics.config.factories.n2v_factory import create_advanced_n2v_config
    from lightning.pytorch.callbacks import Callback

    t_imported = time.perf_counter()
    data = np.load(a.data).astype(np.float32)
    axes = a.axes.upper()
    is_3d = "Z" in axes
    patch = a.patch or ([16, 64, 64] if is_3d else [64, 64])
    if "S" not in axes and a.stack != "none":
        sp = data.shape
        n_est = max(
            1, math.prod(max(1, s // p - 1) for s, p in zip(sp, patch, strict=False))
        )  # stratified ≥ this
        k = int(a.stack) if a.stack != "auto" else math.ceil(a.steps_per_epoch * a.batch / n_est)
        data = np.repeat(data[None], max(1, k), axis=0)
        axes = "S" + axes
    kw: dict = {}
    if a.lr is not None:
        kw["optimizer_params"] = {"lr": a.lr}
    if a.masked_pct is not None:
        kw["masked_pixel_percentage"] = a.masked_pct
    trainer_params = {"max_steps": a.steps if a.steps else -1, "enable_model_summary": False}
    cfg = create_advanced_n2v_config(
        experiment_name="bench",
        data_type="array",
        axes=axes,
        patch_size=patch,
        batch_size=a.batch,
        num_epochs=100000,
        num_steps=a.steps_per_epoch,
        use_n2v2=a.n2v2,
        model_params={"depth": 2, "num_channels_init": 32},
        trainer_params=trainer_params,
        seed=a.seed,
        **kw,
    )

    class Clock(Callback):
        """Per-step timing and the wall-clock budget."""

        def __init__(self) -> None:
            self.t0 = 0.0
            self.step_times: list[float] = []
            self.n_patches: list[int] = []
            self._tb = 0.0
            self.marks = sorted(float(x) for x in a.marks.split(",")) if a.marks else []
            self.snaps: list[dict] = []
            self.snapshot_s = 0.0
            self.epoch_steps = None

        def on_train_start(self, trainer, pl_module):
            self.epoch_steps = trainer.num_training_batches

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            self._tb = time.perf_counter()

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            now = time.perf_counter()
            self.step_times.append(now - self._tb)
            x = batch[0] if isinstance(batch, (list, tuple)) else batch
            try:
                self.n_patches.append(int(x.data.shape[0] if hasattr(x, "data") else x.shape[0]))
            except Exception:
                self.n_patches.append(a.batch)
            if self.marks and now - self.t0 >= self.marks[0]:
                ts = time.perf_counter()
                state = {
                    k: v.detach().to("cpu", copy=True)
                    for k, v in pl_module.model.state_dict().items()
                }
                snap = {
                    "t_s": now - self.t0,
                    "steps": len(self.step_times),
                    "epoch": trainer.current_epoch,
                    "lr": float(trainer.optimizers[0].param_groups[0]["lr"]),
                    "state": state,
                }
                while self.marks and now - self.t0 >= self.marks[0]:
                    self.snaps.append({**snap, "mark_s": self.marks.pop(0)})
                self.snapshot_s += time.perf_counter() - ts
            if a.budget_s is not None and now - self.t0 >= a.budget_s:
                trainer.should_stop = True

    clock = Clock()
    work = tempfile.mkdtemp(prefix="peer_bench_")
    with contextlib.redirect_stdout(sys.stderr):
        cam = CAREamist(cfg, work_dir=work, callbacks=[clock], enable_progress_bar=False)
        clock.t0 = time.perf_counter()
        cam.train(train_data=data)
        t_trained = time.perf_counter()
    train_s = t_trained - clock.t0
    st = (
        np.array(clock.step_times[a.warmup :])
        if len(clock.step_times) > a.warmup
        else np.array(clock.step_times)
    )
    npt = (
        np.array(clock.n_patches[a.warmup :])
        if len(clock.n_patches) > a.warmup
        else np.array(clock.n_patches)
    )
    steps = len(clock.step_times)
    res = {
        "tool": "careamics",
        "version": __import__("careamics").__version__,
        "axes": axes,
        "data_shape": list(data.shape),
        "patch": patch,
        "batch": a.batch,
        "steps": steps,
        "patches": int(sum(clock.n_patches)),
        "train_s": train_s,
        "steady_patches_per_s": float(npt.sum() / st.sum()) if st.size else None,
        "overall_patches_per_s": float(sum(clock.n_patches) / train_s),
        "import_s": t_imported - T_START,
        "torch_threads": torch.get_num_threads(),
        "num_workers": cam.config.data_config.num_workers,
        "epoch_steps": clock.epoch_steps,
    }
    del data
    pred_axes = a.predict_axes or ("ZYX" if is_3d else "YX")
    times, pix = [], 0
    for i, path in enumerate(a.predict):
        img = np.load(path).astype(np.float32)
        best = math.inf
        for _ in range(max(1, a.predict_repeats)):
            t = time.perf_counter()
            with contextlib.redirect_stdout(sys.stderr):
                out, _ = cam.predict(img, axes=pred_axes, data_type="array")
            best = min(best, time.perf_counter() - t)
        times.append(best)
        pix += img.size
        if i < len(a.out):
            np.save(a.out[i], np.asarray(out[0], dtype=np.float32).reshape(img.shape))
    if a.predict:
        res["predict_s"] = float(sum(times))
        res["predict_mpix_per_s"] = pix / 1e6 / sum(times)
    if a.marks:
        t = time.perf_counter()
        res["marks"] = _resolve_marks(a, cam, clock.snaps, pred_axes)
        res["snapshot_s"], res["marks_resolve_s"] = clock.snapshot_s, time.perf_counter() - t
    res["total_s"] = time.perf_counter() - T_START
    res["peak_rss_mb"] = peak_rss_mb()
    with contextlib.suppress(Exception):
        import shutil

        shutil.rmtree(work)
    emit(res)


def _resolve_marks(a: argparse.Namespace, cam, snaps: list[dict], axes: str) -> list[dict]:
    """Each mark's weights, loaded into the network, denoise the first ``--predict`` array."""
    from common import psnr

    img = np.load(a.predict[0]).astype(np.float32)
    ref = np.load(a.marks_ref).astype(np.float32) if a.marks_ref else None
    # CAREamist.predict loads its "last" checkpoint file unless told otherwise; with no checkpoint
    # Lightning predicts with the weights in memory, which are what each mark set
    cam._get_default_ckpt = lambda checkpoint: checkpoint
    outs: dict[int, np.ndarray] = {}
    rows = []
    for s in snaps:
        key = id(s["state"])
        if key not in outs:
            cam.model.model.load_state_dict(s["state"])
            with contextlib.redirect_stdout(sys.stderr):
                out, _ = cam.predict(img, axes=axes, data_type="array")
            outs[key] = np.asarray(out[0], dtype=np.float32).reshape(img.shape)
        row = {k: s[k] for k in ("mark_s", "t_s", "steps", "epoch", "lr")}
        if ref is not None:
            row["psnr"] = psnr(ref, outs[key])
        rows.append(row)
    if a.marks_out:
        np.savez_compressed(
            a.marks_out, **{f"m{i}": outs[id(s["state"])] for i, s in enumerate(snaps)}
        )
    return rows


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
