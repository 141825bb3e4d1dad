"""Image quality against a clean reference (for the demo, benchmarks and users' own checks)."""

from __future__ import annotations

import numpy as np


def psnr(x: np.ndarray, clean: np.ndarray) -> float:
    """PSNR in dB with the clean image's range (max - min) as the peak."""
    rng = float(clean.max() - clean.min())
    return float(10 * np.log10(rng**2 / np.mean((x.astype(np.float64) - clean) ** 2)))
