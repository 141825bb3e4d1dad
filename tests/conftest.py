"""Shared fixtures: small synthetic images (no downloads), tiny fast training settings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


def blobs(shape: tuple[int, ...], n: int = 12, seed: int = 0) -> np.ndarray:
    """A smooth structured image in [0, 1]: a sum of Gaussian blobs."""
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.arange(s, dtype=np.float32) for s in shape], indexing="ij")
    out = np.zeros(shape, np.float32)
    for _ in range(n):
        c = [rng.uniform(0, s) for s in shape]
        r = rng.uniform(2, max(3, min(shape) / 4))
        d2 = sum((g - ci) ** 2 for g, ci in zip(grids, c, strict=True))
        out += rng.uniform(0.5, 1.0) * np.exp(-d2 / (2 * r**2))
    return out / out.max()


def psnr(x: np.ndarray, ref: np.ndarray) -> float:
    return float(10 * np.log10((ref.max() - ref.min()) ** 2 / np.mean((x - ref) ** 2)))


#: TrainConfig settings that make a run take a second: a model to save, export or judge, not to use.
TINY = dict(
    steps=2, batch_size=2, n_filters=4, val_patches=2, steps_per_epoch=2, seed=0, device="cpu"
)


def disc(size: int = 72, seed: int = 0) -> np.ndarray:
    """A bright disc on a background with Gaussian noise (σ 20), float32."""
    yy, xx = np.mgrid[:size, :size]
    clean = 100 + 80 * (np.hypot(yy - size / 2, xx - size / 2) < size / 4)
    return (clean + np.random.default_rng(seed).normal(0, 20, clean.shape)).astype(np.float32)


@pytest.fixture(scope="session")
def tiny_model():
    """A tiny 2D model ("disc model") trained on :func:`disc`, and that image. Shared: do not change."""
    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.train.trainer import train

    img = disc()
    return train(img, TrainConfig(axes="YX", patch_size=(16, 16), **TINY), name="disc model"), img


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
