"""Peak memory of streamed prediction on a stack larger than memory budgets (not a test).

Creates an uncompressed uint16 zarr stack of >= 4 GB on disk (default 64 × 4096 × 8192, chunked one
1024 × 1024 block per chunk, filled cheaply from a few noisy blocks in a child process so the fill does not
count), trains a small 2D model for a few steps, then streams the first ``--max-planes`` planes through
:func:`napari_n2v.core.prediction.predict_iter` into a float32 zarr output. Prints one JSON line::

    {"input_gb": 4.29, "planes": 2, "predicted_gb": 0.13, "baseline_rss_gb": ..., "peak_rss_gb": ...,
     "mpix_per_s": ..., ...}

``peak_rss_gb`` is the process's lifetime peak (``ru_maxrss``); the target is < 1.5 GB. Both stores are
deleted afterwards unless ``--keep``. Run::

    .venv/bin/python benchmarks/predict_memory.py --max-planes 2
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np


def _rss_gb() -> float:
    """Peak resident set size of this process so far, in GB (Linux reports KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib * 1024 / 1e9 if sys.platform != "darwin" else kib / 1e9


def _current_rss_gb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 1e9


def fill_store(path: str, shape: tuple[int, ...], chunk: int, seed: int = 0) -> None:
    """Write every chunk of a new uint16 zarr array from a pool of 4 noisy blocks (child process)."""
    import zarr

    z = zarr.create_array(
        path, shape=shape, chunks=(1, chunk, chunk), dtype="uint16", compressors=None,
        fill_value=0, overwrite=True,
    )  # fmt: skip
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:chunk, :chunk]
    blobs = 2000 + 1500 * (np.sin(yy / 23.0) * np.cos(xx / 31.0) > 0.3)
    pool = [
        np.clip(blobs + rng.normal(0, 400, blobs.shape), 0, 65535).astype(np.uint16)
        for _ in range(4)
    ]
    k = 0
    for p in range(shape[0]):
        for y in range(0, shape[1], chunk):
            for x in range(0, shape[2], chunk):
                z[p, y : y + chunk, x : x + chunk] = pool[k % 4]
                k += 1


def _disk_gb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e9


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default="/tmp", help="where the big stores go (needs ~5 GB free)")
    ap.add_argument("--shape", type=int, nargs=3, default=(64, 4096, 8192), metavar=("Z", "Y", "X"))
    ap.add_argument("--chunk", type=int, default=1024, help="YX chunk edge of the input store")
    ap.add_argument("--max-planes", type=int, default=2, help="predict only the first K planes")
    ap.add_argument("--tile", type=int, default=None, help="tile edge (default: the engine's)")
    ap.add_argument("--train-steps", type=int, default=20)
    ap.add_argument("--keep", action="store_true", help="keep the stores")
    args = ap.parse_args(argv)

    from napari_n2v.core import lazy_io
    from napari_n2v.core.config import PredictConfig, TrainConfig
    from napari_n2v.core.image_io import read_image
    from napari_n2v.core.prediction import predict_iter
    from napari_n2v.core.training import train

    shape = tuple(args.shape)
    root = Path(args.dir)
    src, dst = root / "n2v_bench_input.zarr", root / "n2v_bench_output.zarr"
    t0 = time.perf_counter()
    child = mp.get_context("spawn").Process(target=fill_store, args=(str(src), shape, args.chunk))
    child.start()
    child.join()
    if child.exitcode:
        raise SystemExit(f"filling the input store failed (exit {child.exitcode})")
    fill_s = time.perf_counter() - t0
    try:
        image = read_image(src, "SYX").data
        crop = np.asarray(image[0, :256, :256])
        model = train(crop, TrainConfig(axes="YX", steps=args.train_steps, patch_size=(64, 64),
                                        val_patches=4, steps_per_epoch=10, seed=0))  # fmt: skip
        k = min(args.max_planes, shape[0])
        lazy = lazy_io.as_dask(image)[:k]  # the first K planes, still read tile by tile
        out = lazy_io.create_zarr_like(dst, lazy.shape, overwrite=True)
        tile = (args.tile, args.tile) if args.tile else None
        config = PredictConfig(tile_shape=tile)
        baseline = _current_rss_gb()
        t1 = time.perf_counter()
        gen = predict_iter(model, lazy, "ZYX", config, out=out)
        last = None
        for last in gen:  # noqa: B007 - drain; the last event holds the tile count
            pass
        predict_s = time.perf_counter() - t1
        check = np.asarray(out[k - 1, -8:, -8:])
        mpix = k * shape[1] * shape[2] / 1e6
        result = {
            "input_gb": round(image.nbytes / 1e9, 3),
            "input_disk_gb": round(_disk_gb(src), 3),
            "shape": list(shape),
            "planes": k,
            "predicted_gb": round(k * shape[1] * shape[2] * 2 / 1e9, 3),
            "baseline_rss_gb": round(baseline, 3),
            "peak_rss_gb": round(_rss_gb(), 3),
            "mpix_per_s": round(mpix / predict_s, 3),
            "predict_s": round(predict_s, 1),
            "fill_s": round(fill_s, 1),
            "tiles": last.total if last is not None else 0,
            "output_finite": bool(np.isfinite(check).all() and check.any()),
        }
    finally:
        if not args.keep:
            shutil.rmtree(src, ignore_errors=True)
            shutil.rmtree(dst, ignore_errors=True)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
