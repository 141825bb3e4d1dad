"""Peak memory (RSS of the whole process, each part a fresh child process) on data larger than the
network's working set.

* ``stack``: training (5 steps, batch 16) on an in-memory uint16 T×4096×4096 stack of
  ``--stack-gb``: peak RSS over the stack's size;
* ``folder``: ``napari-n2v train`` on a folder of uncompressed uint16 TIFFs read from disk (256 MB
  files, ``--folder-gb`` in all), with the RSS of importing torch and the engine alone beside it;
* ``stream``: streamed prediction (``predict_iter`` into a zarr store) of the first ``--planes``
  planes of a Z×Y×X uint16 zarr (``--stream-shape``, 1024² chunks), after a few training steps on
  a crop. The data goes to ``--tmp`` and is removed afterwards.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness.basics import argv, log
from benchmarks.harness.child import CLI, bar_rate, run_python

STACK = """
import sys, numpy as np, napari_n2v as n2v
gb = float(sys.argv[1])
stack = np.empty((max(1, int(gb * 2**30 / (2 * 4096 * 4096))), 4096, 4096), np.uint16)
rng = np.random.default_rng(0)
for i in range(len(stack)):
    stack[i] = rng.integers(0, 4000, (4096, 4096), dtype=np.uint16)
for ev in n2v.Trainer(stack, n2v.TrainConfig(axes="TYX", steps=5, batch_size=16)).run():
    pass
print("STACK_BYTES", stack.nbytes)
"""
STREAM = """
import sys, time, numpy as np, zarr, napari_n2v as n2v
from benchmarks import engine
src, dst, planes = sys.argv[1], sys.argv[2], int(sys.argv[3])
image = zarr.open_array(src, mode="r")
cfg = n2v.TrainConfig(axes="YX", steps=20, patch_size=(64, 64), val_patches=4, steps_per_epoch=10,
                      seed=0)
model = n2v.train(np.asarray(image[0, :256, :256]), cfg)
lazy = engine.as_dask(image)[:planes]
out = engine.create_zarr_like(dst, lazy.shape, overwrite=True)
t = time.perf_counter()
for _ in n2v.predict_iter(model, lazy, "ZYX", n2v.PredictConfig(), out=out):
    pass
finite = bool(np.isfinite(out[planes - 1, -8:, -8:]).all())
print("STREAM_S", time.perf_counter() - t, "FINITE", finite)
"""
IMPORT_ONLY = "import torch, napari_n2v as n2v\nn2v.Trainer\n"


def add_args(p: argparse.ArgumentParser) -> None:
    add = p.add_argument
    add("--parts", default="stack,folder,stream", help="subset of stack,folder,stream")
    add("--stack-gb", type=float, default=2.0, help="stack: GiB of uint16 in memory")
    add("--folder-gb", default="2,20", help="folder: GB of TIFFs, one run per size")
    add("--steps", type=int, default=60, help="folder: training steps")
    add("--stream-shape", type=int, nargs=3, default=[64, 4096, 8192], metavar=("Z", "Y", "X"))
    add("--planes", type=int, default=2, help="stream: planes to predict")
    add("--tmp", type=Path, default=Path("/tmp/n2v-bench-memory"), help="where the data goes")


def run(a: argparse.Namespace) -> dict[str, Any]:
    if a.quick:
        vars(a).update(
            stack_gb=0.1, folder_gb="0.25", steps=5, stream_shape=[2, 1024, 2048], planes=1
        )
    a.tmp.mkdir(parents=True, exist_ok=True)
    res: dict[str, Any] = {}
    try:
        for part, fn in (("stack", stack), ("folder", folder), ("stream", stream)):
            if part in a.parts:
                res[part] = fn(a)
                log(part, res[part])
    finally:
        shutil.rmtree(a.tmp, ignore_errors=True)
    return res


def stack(a: argparse.Namespace) -> dict[str, Any]:
    _, text, rss = run_python(STACK, [str(a.stack_gb)])
    size = int(text.split("STACK_BYTES")[1].split()[0]) / 2**20
    return {"stack_mb": round(size), "peak_rss_mb": round(rss), "ratio": rss / size}


def folder(a: argparse.Namespace) -> dict[str, Any]:
    res: dict[str, Any] = {"import_only_rss_mb": round(run_python(IMPORT_ONLY, [])[2])}
    for gb in (float(x) for x in a.folder_gb.split(",")):
        files = make_folder(a.tmp / "folder", gb)
        args = argv("train", *files, "--out", a.tmp / "m.n2v.safetensors", "--overwrite --steps",
                    a.steps, "--batch 16 --patch 64 --device cpu --seed 0")  # fmt: skip
        dt, text, rss = run_python(CLI, args)
        gb_disk = round(sum(f.stat().st_size for f in files) / 1e9, 2)
        res[f"{gb:g}_gb"] = {"files": len(files), "gb": gb_disk, "peak_rss_mb": round(rss),
                             "seconds": round(dt, 1), "patches_per_s": bar_rate(text)}  # fmt: skip
    return res


def make_folder(path: Path, gb: float) -> list[Path]:
    """uint16 TYX TIFFs of 256 MB each (128 frames of 1024²), uncompressed (memory-mapped by the
    engine), written frame by frame; existing files are reused."""
    import tifffile

    path.mkdir(parents=True, exist_ok=True)
    frame = np.random.default_rng(0).poisson(300, (1024, 1024)).astype(np.uint16)
    files = [path / f"night_{k:03d}.tif" for k in range(max(1, round(gb * 4)))]
    for k, f in enumerate(files):
        if not f.exists():
            with tifffile.TiffWriter(f) as tw:
                data = (np.roll(frame, k * 7 + j, axis=1) for j in range(128))
                tw.write(data, shape=(128, 1024, 1024), dtype=np.uint16, metadata={"axes": "TYX"})
    return files


def stream(a: argparse.Namespace) -> dict[str, Any]:
    """Fill the input store cheaply (4 noisy blocks repeated) here, then measure a fresh child."""
    import zarr

    src, dst, (z, h, w) = a.tmp / "in.zarr", a.tmp / "out.zarr", a.stream_shape
    store = zarr.create_array(str(src), shape=(z, h, w), chunks=(1, 1024, 1024), dtype="uint16",
                              compressors=None, fill_value=0, overwrite=True)  # fmt: skip
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:1024, :1024]
    blobs = 2000 + 1500 * (np.sin(yy / 23.0) * np.cos(xx / 31.0) > 0.3)
    pool = [
        (blobs + rng.normal(0, 400, blobs.shape)).clip(0, 65535).astype(np.uint16) for _ in "abcd"
    ]
    corners = [(p, y, x) for p in range(z) for y in range(0, h, 1024) for x in range(0, w, 1024)]
    for k, (p, y, x) in enumerate(corners):
        store[p, y : y + 1024, x : x + 1024] = pool[k % 4][: h - y, : w - x]
    planes = min(a.planes, z)
    _, text, rss = run_python(STREAM, [str(src), str(dst), str(planes)])
    secs = float(text.split("STREAM_S")[1].split()[0])
    return {"shape": [z, h, w], "input_gb": round(z * h * w * 2 / 1e9, 2), "planes": planes,
            "peak_rss_mb": round(rss), "mpix_per_s": planes * h * w / 1e6 / secs,
            "output_finite": "FINITE True" in text}  # fmt: skip
