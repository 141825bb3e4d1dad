"""Noisy nuclei samples for napari's File > Open Sample menu, and for the CLI demo.

The clean image is the bundled ``data/nuclei3d.tif`` (32×256×256 uint16 ZYX). The noisy image adds seeded,
realistic noise to it: Poisson-like shot noise plus Gaussian read noise whose sigma is 15% of the clean
data's 1–99 percentile range. Nothing here imports napari, so :func:`load_sample` is cheap for scripts.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import numpy as np

from napari_n2v.core.errors import N2VError

#: Gaussian noise sigma, as a fraction of the clean image's 1–99 percentile range.
NOISE_FRACTION = 0.15
_KINDS = ("2d", "3d")


def _clean_stack() -> np.ndarray:
    """The bundled clean nuclei stack, ``(Z, Y, X)`` uint16."""
    import tifffile

    ref = resources.files("napari_n2v") / "data" / "nuclei3d.tif"
    with resources.as_file(ref) as path:
        return tifffile.imread(path)


def add_noise(clean: np.ndarray, seed: int | None = 0) -> np.ndarray:
    """Return ``clean`` with seeded shot noise and Gaussian noise, as float32.

    Parameters
    ----------
    clean
        Any real-valued array.
    seed
        Seed of the random generator (None: not reproducible).

    Returns
    -------
    numpy.ndarray
        float32 array of ``clean``'s shape. Shot noise has variance proportional to the signal above
        the 1st percentile; the Gaussian sigma is :data:`NOISE_FRACTION` of the 1–99 percentile range.
    """
    rng = np.random.default_rng(seed)
    img = clean.astype(np.float32)
    lo, hi = np.percentile(img, (1, 99))
    span = float(hi - lo) or 1.0
    sigma = NOISE_FRACTION * span
    # Shot noise: a photon count of ~20 at the 99th percentile, i.e. low light.
    gain = span / 20.0
    signal = np.clip(img - lo, 0, None) / gain
    shot = (rng.poisson(signal).astype(np.float32) - signal) * gain
    noisy = img + shot + rng.normal(0.0, sigma, size=img.shape).astype(np.float32)
    return noisy.astype(np.float32)


def load_sample(kind: str = "3d", seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Load the bundled nuclei image and a noisy copy of it.

    Parameters
    ----------
    kind
        ``"3d"`` for the whole ``(32, 256, 256)`` ZYX stack, ``"2d"`` for its middle plane ``(256, 256)``.
    seed
        Seed of the noise.

    Returns
    -------
    noisy, clean
        Both float32 and of the same shape.
    """
    k = str(kind).lower()
    if k not in _KINDS:
        raise N2VError(f"kind must be '2d' or '3d' (got {kind!r}).")
    clean = _clean_stack()
    if k == "2d":
        clean = clean[clean.shape[0] // 2]
    clean = np.ascontiguousarray(clean, dtype=np.float32)
    return add_noise(clean, seed=seed), clean


def _layer_data(kind: str) -> list[tuple[Any, dict[str, Any], str]]:
    noisy, clean = load_sample(kind, seed=0)
    lo, hi = (float(v) for v in np.percentile(clean, (0.5, 99.8)))
    axis_labels = ("y", "x") if kind == "2d" else ("z", "y", "x")
    common = {"contrast_limits": (lo, hi), "colormap": "gray", "axis_labels": axis_labels}
    tag = kind.upper()
    return [
        (clean, {"name": f"nuclei {tag} (clean reference)", "visible": False, **common}, "image"),
        (noisy, {"name": f"nuclei {tag} (noisy)", **common}, "image"),
    ]


def noisy_nuclei_2d() -> list[tuple[Any, dict[str, Any], str]]:
    """napari sample: a noisy 256×256 nuclei plane and its clean reference (hidden)."""
    return _layer_data("2d")


def noisy_nuclei_3d() -> list[tuple[Any, dict[str, Any], str]]:
    """napari sample: a noisy 32×256×256 nuclei stack and its clean reference (hidden)."""
    return _layer_data("3d")
