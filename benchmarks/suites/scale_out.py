"""Scale-out: a zarr volume predicted in one process vs on ``--cluster local:N`` (dask
LocalCluster), and DDP training with 1 vs 2 ranks on the CPU (gloo), through the real command line
in fresh processes. (The NCCL path on a GPU machine: ``bash benchmarks/gpu_ddp_check.sh``.)

* ``predict``: an untrained default model (throughput does not depend on the weights) denoises a
  uint16 Z×Y×X zarr of ``--zarr-gb`` (as float32): ``--model-axes ZYX`` a 3D model, ``YX`` a 2D one
  plane by plane; one process, then the cluster with ``--block``; the two outputs are compared.
* ``ddp``: ``torchrun --nproc-per-node K -m napari_n2v train`` on 4 small TIFFs, K = 1 (2 threads)
  and 2 (1 thread each): patches/s per rank from the progress bar.
"""

from __future__ import annotations

import argparse
import math
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import engine
from benchmarks.harness.basics import argv, log
from benchmarks.harness.child import CLI, bar_rate, run_python, spawn


def add_args(p: argparse.ArgumentParser) -> None:
    add = p.add_argument
    add("--parts", default="predict,ddp", help="subset of predict,ddp")
    add("--zarr-gb", type=float, default=2.0, help="predict: volume size as float32")
    add("--model-axes", default="YX", help="predict: ZYX (3D model) or YX (2D, plane by plane)")
    add("--workers", type=int, default=2, help="predict: LocalCluster workers")
    add("--block", default="1024,1024", help="predict: the cluster's block (per spatial axis)")
    add("--device", default="cpu", help="predict: cpu, or cuda on a GPU machine")
    add("--ddp-steps", type=int, default=40)
    add("--tmp", type=Path, default=Path("/tmp/n2v-bench-scale-out"), help="where the data goes")


def run(a: argparse.Namespace) -> dict[str, Any]:
    if a.quick:
        a.zarr_gb, a.ddp_steps = 0.02, 6
        a.block = "128,128" if a.model_axes == "YX" else "16,128,128"
    a.tmp.mkdir(parents=True, exist_ok=True)
    res: dict[str, Any] = {}
    try:
        if "predict" in a.parts:
            res["predict_3d_model" if a.model_axes == "ZYX" else "predict_2d_model"] = predict(a)
        if "ddp" in a.parts:
            res["ddp_cpu_gloo"] = ddp(a)
    finally:
        shutil.rmtree(a.tmp, ignore_errors=True)
    return res


def make_model(path: Path, axes: str) -> Path:
    """The default architecture, untrained, saved as a model file."""
    import torch

    import napari_n2v as n2v

    torch.manual_seed(0)
    cfg = n2v.TrainConfig(axes=axes, device="cpu")
    net = engine.build_unet(cfg, 1).eval()
    model = n2v.N2VModel(cfg, net, np.array([300.0], "f4"), np.array([60.0], "f4"))
    model.save(path, overwrite=True)
    return path


def make_zarr(path: Path, gb: float) -> tuple[int, ...]:
    """A uint16 ZYX zarr of about ``gb`` GB as float32, written slab by slab."""
    side = 1024 if gb >= 0.5 else 256
    shape = (max(8, round(gb * 2**30 / 4 / side / side)), side, side)
    arr = engine.create_zarr_like(
        path, shape, chunks=(16, 256, 256), dtype=np.uint16, overwrite=True
    )
    rng = np.random.default_rng(0)
    for z0 in range(0, shape[0], 16):
        arr[z0 : z0 + 16] = rng.poisson(300, (min(16, shape[0] - z0), side, side)).astype(np.uint16)
    engine.tag_zarr(arr, "ZYX", None, None)
    return shape


def predict(a: argparse.Namespace) -> dict[str, Any]:
    import zarr

    model = make_model(a.tmp / f"m{len(a.model_axes)}d.n2v.safetensors", a.model_axes)
    shape = make_zarr(a.tmp / "vol.zarr", a.zarr_gb)
    vox, cl = math.prod(shape), f"cluster_local_{a.workers}"
    res: dict[str, Any] = {"model": "2D" if a.model_axes == "YX" else "3D", "shape": list(shape),
                           "gb_float32": round(vox * 4 / 2**30, 3)}  # fmt: skip
    base = argv("predict", model, a.tmp / "vol.zarr", "--device", a.device, "--overwrite")
    cluster = argv("--cluster", f"local:{a.workers}", "--block", a.block)
    for key, extra in (("single_process", []), (cl, cluster)):
        dt, text, rss = run_python(CLI, [*base, "--out", str(a.tmp / f"{key}.zarr"), *extra])
        rate = round(vox / dt / 1e6, 3)
        res[key] = {"seconds": round(dt, 1), "mvox_per_s": rate, "peak_rss_mb": round(rss)}
        log(key, res[key])
    m = re.findall(r"workers' peak RSS: ([\d, ]+) MB", text)
    res[cl]["worker_peak_rss_mb"] = [int(x) for x in m[-1].split(",")] if m else []
    x, y = (zarr.open_array(str(a.tmp / f"{key}.zarr")) for key in ("single_process", cl))
    diff = max(float(np.abs(x[z : z + 8] - y[z : z + 8]).max()) for z in range(0, shape[0], 8))
    res[cl].update(block=a.block, max_abs_diff_vs_single=diff)
    return res


def ddp(a: argparse.Namespace) -> dict[str, Any]:
    folder = a.tmp / "ddp"
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for k in range(4):
        frames = rng.poisson(300, (8, 256, 256)).astype(np.uint16)
        engine.write_image(folder / f"f{k}.tif", frames, "TYX")
    res = {}
    for k in (1, 2):
        threads = max(1, 2 // k)
        cmd = argv(Path(sys.executable), "-m torch.distributed.run --nproc-per-node", k,
                   "-m napari_n2v train", folder, "--out", a.tmp / f"ddp{k}.n2v.safetensors",
                   "--overwrite --batch 16 --patch 64 --seed 0 --device cpu --steps",
                   a.ddp_steps)  # fmt: skip
        secs, out, err = spawn(cmd, {"OMP_NUM_THREADS": str(threads)})
        per_rank = bar_rate(out + err) or math.nan
        res[f"ranks_{k}"] = {"patches_per_s_per_rank": per_rank, "seconds": round(secs, 1),
                             "patches_per_s_total": per_rank * k,
                             "omp_threads_per_rank": threads}  # fmt: skip
        log("ddp", k, res[f"ranks_{k}"])
    return res
