"""GPU speed of our engine, and the quality the CUDA path reaches.

Sections (``gpu_parts.py``): the engine's training rate at the default batch and at 512; PSNR on
the package's nuclei samples after a short budget (``napari_n2v.psnr``); prediction MPix/s at the
default and at larger tiles. ``--parts`` adds ``batch`` (nuclei PSNR at equal time for two batch
sizes) and ``bsd68`` (the paper's protocol: PSNR against training time).

Self-contained except ``bsd68`` (benchmark data). Every section runs under the ``--deadline`` (a
section that would not fit is skipped and says so) and the result so far is rewritten to
``<out>.partial.json`` after each one, so a cut-off run still leaves its numbers. ``--quick`` runs a
tiny version on the CPU: a check of the suite, not a measurement.
"""

from __future__ import annotations

import argparse
import time
import traceback
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from benchmarks.harness.basics import Timer, log
from benchmarks.harness.results import write_result
from benchmarks.suites import gpu_parts as gp

PARTS = ("train", "predict", "batch", "bsd68")


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--parts", default="train,predict", help=f"subset of {','.join(PARTS)}")
    p.add_argument("--deadline", type=float, default=420, help="seconds for the whole run")
    p.add_argument("--bsd68-s", type=float, default=150, help="bsd68: training seconds")


class Sections:
    """Runs sections under a deadline, records errors instead of dying, saves after each one."""

    def __init__(self, res: dict[str, Any], deadline_s: float, save_to: Path | None) -> None:
        self.res, self.end, self.save_to = res, time.perf_counter() + deadline_s, save_to

    def __call__(self, name: str, need_s: float, fn: Any, *args: Any, **kw: Any) -> Any:
        if self.end - time.perf_counter() < need_s:
            self.res.setdefault("skipped", []).append(f"{name} (needs ~{need_s:.0f} s)")
            return None
        log(f"{name} ...")
        try:
            with Timer() as t:
                val = fn(*args, **kw)
        except Exception as e:  # one failure must not cost the other numbers
            self.res.setdefault("errors", {})[name] = f"{type(e).__name__}: {e}"
            traceback.print_exc()
            return None
        if isinstance(val, dict):  # a trained model stays out of the result
            self.res[name] = {**{k: v for k, v in val.items() if k != "model"}, "section_s": t.s}
        else:
            self.res[name] = val
        if self.save_to is not None:
            write_result(self.res, self.save_to)
        return val


FULL = SimpleNamespace(b2=128, b3=32, img2=(1024, 1024), steps=400, steps_b512=150, warm=20,
                       warm_b512=10, nuclei_2d_s=25, nuclei_3d_s=35, batch_s=20, spe=25,
                       big2=(4096, 4096), vol=(2, 4, 4), tile2=(1024, 1024), tile2b=(2048, 2048),
                       tile3=(64, 512, 512), reps=2, patch3=None)  # fmt: skip
QUICK = SimpleNamespace(b2=8, b3=2, img2=(256, 256), steps=6, steps_b512=6, warm=2, warm_b512=2,
                        nuclei_2d_s=2, nuclei_3d_s=2, batch_s=2, spe=2, big2=(512, 512),
                        vol=(1, 2, 2), tile2=(256, 256), tile2b=(256, 256), tile3=(8, 64, 64),
                        reps=1, patch3=(8, 32, 32))  # fmt: skip


def run(a: argparse.Namespace) -> dict[str, Any]:
    import numpy as np
    import torch

    import napari_n2v as n2v
    from benchmarks import engine

    if not a.quick and not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU here: --quick checks the suite on the CPU")
    z, dev_name = (QUICK, "cpu") if a.quick else (FULL, "cuda")
    torch.backends.cudnn.benchmark = not a.quick
    res: dict[str, Any] = {"device": engine.describe_device(dev_name)}
    partial_file = a.out.with_suffix(".partial.json") if getattr(a, "out", None) else None
    sec, parts = Sections(res, a.deadline, partial_file), a.parts.split(",")
    n2, c2 = n2v.load_sample("2d", seed=0)
    n3, c3 = n2v.load_sample("3d", seed=0)
    if a.quick:
        n3, c3 = n3[:8, :64, :64], c3[:8, :64, :64]
    rate = partial(gp.train_rate, device=dev_name)
    nuclei = partial(rate, steps_per_epoch=z.spe)
    p3 = {"patch_size": z.patch3} if z.patch3 else {}
    t2 = t3 = None
    if "train" in parts or "predict" in parts:
        img2 = gp.synthetic(z.img2, seed=1)
        t2 = sec("train_2d", 30, rate, img2, "YX", steps=z.steps, warmup=z.warm)
        sec("train_2d_b512", 30, rate, img2, "YX", steps=z.steps_b512, batch=4 * z.b2,
            warmup=z.warm_b512)  # fmt: skip
        sec("psnr_nuclei_2d", 40, nuclei, n2, "YX", budget_s=z.nuclei_2d_s, clean=c2,
            learning_rate=1e-3)  # fmt: skip
        t3 = sec("psnr_nuclei_3d", 50, nuclei, n3, "ZYX", budget_s=z.nuclei_3d_s, clean=c3,
                 learning_rate=1e-3, warmup=10, **p3)  # fmt: skip
    if "predict" in parts and t2 is not None:
        predict = partial(gp.predict_rate, t2["model"], gp.synthetic(z.big2, seed=2), "YX", z.reps)
        sec("predict_2d_default", 20, predict)
        sec("predict_2d_tile1024_b8", 20, predict, tile_shape=z.tile2, batch_size=8)
        sec("predict_2d_tile2048_b4", 20, predict, tile_shape=z.tile2b, batch_size=4)
    if "predict" in parts and t3 is not None:
        vol = np.tile(n3, z.vol)  # 64×1024×1024 on the GPU
        predict = partial(gp.predict_rate, t3["model"], vol, "ZYX", z.reps)
        sec("predict_3d_default", 30, predict)
        sec("predict_3d_tile64x512_b2", 30, predict, tile_shape=z.tile3, batch_size=2)
    if "batch" in parts:  # equal time, two batch sizes: the defaults from data
        for b in (128, 512):
            sec(f"psnr_nuclei_2d_b{b}", 30, nuclei, n2, "YX", batch=b if z is FULL else z.b2,
                budget_s=z.batch_s, clean=c2)  # fmt: skip
        for b in (32, 128):
            sec(f"psnr_nuclei_3d_b{b}", 35, nuclei, n3, "ZYX", batch=b if z is FULL else z.b3,
                budget_s=z.batch_s + 5, clean=c3, warmup=1, **p3)  # fmt: skip
    if "bsd68" in parts:
        budget = 3 if a.quick else a.bsd68_s
        marks = [m for m in (15, 30, 60, 100, 150, 200, 300, 450, 600) if m < budget] + [budget]
        sec("bsd68_curve", budget + 60, gp.bsd68_curve, a.quick, dev_name, budget, marks)
    if dev_name == "cuda":
        res["peak_gpu_mem_gb"] = torch.cuda.max_memory_allocated() / 2**30
    if partial_file is not None:  # the whole result goes to --out now
        partial_file.unlink(missing_ok=True)
    return res
