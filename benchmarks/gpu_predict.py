"""``gpu.py``'s prediction sections: the engine's prediction rate (MPix/s, best of a few repeats) on
large 2D and 3D images, at the default and at larger tiles."""

from __future__ import annotations

import time

import numpy as np
from gpu_common import Run, synthetic


def predict_rate(model, image: np.ndarray, axes: str, repeats: int, **pc) -> dict:
    from napari_n2v.core.config import PredictConfig
    from napari_n2v.core.prediction import predict

    cfg = PredictConfig(**pc)
    predict(model, image[tuple(slice(0, min(n, 256)) for n in image.shape)], axes, cfg)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        predict(model, image, axes, cfg)
        best = min(best, time.perf_counter() - t)
    return {
        "shape": list(image.shape),
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in pc.items()},
        "s": best,
        "mpix_per_s": image.size / 1e6 / best,
    }


def predictions(run: Run, s: bool, t2: dict | None, t3: dict | None, n3: np.ndarray) -> None:
    """The full run's prediction sections, with the models of its 2D and 3D training sections."""
    reps = 1 if s else 2
    if t2 is not None:
        m2 = t2["model"]
        big = synthetic((512, 512) if s else (4096, 4096), seed=2)
        run("predict_2d_default", 20, predict_rate, m2, big, "YX", reps)
        run(
            "predict_2d_tile1024_b8", 20, predict_rate, m2, big, "YX", reps,
            tile_shape=(256, 256) if s else (1024, 1024), batch_size=8,
        )  # fmt: skip
        run(
            "predict_2d_tile2048_b4", 20, predict_rate, m2, big, "YX", reps,
            tile_shape=(256, 256) if s else (2048, 2048), batch_size=4,
        )  # fmt: skip
    if t3 is not None:
        m3 = t3["model"]
        vol = np.tile(n3, (1, 2, 2) if s else (2, 4, 4))  # 64×1024×1024 on the GPU
        run("predict_3d_default", 30, predict_rate, m3, vol, "ZYX", reps)
        run(
            "predict_3d_tile64x512_b2", 30, predict_rate, m3, vol, "ZYX", reps,
            tile_shape=(8, 64, 64) if s else (64, 512, 512), batch_size=2,
        )  # fmt: skip
