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


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
