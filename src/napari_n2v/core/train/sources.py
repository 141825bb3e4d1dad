"""Training on many images at once (a folder of files, several layers) without loading them.

Each image stays where it is (numpy, a memory-mapped TIFF, a zarr array) behind a :class:`CanonicalView`
that reads only the block asked for in canonical ``(S, C, *spatial)`` order. Patches are drawn across all
images in proportion to their size; normalisation statistics stream over an even subsample; validation
uses held-out images when there are enough (``val_fraction`` of them, at least one), else a held-out
region of each. Memory: what one batch of patches and one statistics slab need, not the data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from napari_n2v.core.errors import N2VError
from napari_n2v.core.layout import Layout
from napari_n2v.core.train.data import (
    STATS_PIXELS,
    PatchSampler,
    Region,
    check_dtype,
)

#: Largest slab read at once while streaming the statistics (bytes).
SLAB_BYTES = 32 * 2**20


class CanonicalView:
    """An array in any axes seen as ``(S, C, *spatial)``; indexing ``[s, :, *spatial_slices]`` reads
    just that block (S and T folded into one sample index). Nothing is loaded up front."""

    def __init__(self, array: Any, axes: str, name: str = "image") -> None:
        self.array, self.name = array, name
        self.layout = Layout.create(axes, array.shape, "Z" in axes.upper())
        lay = self.layout
        self.shape = (lay.n_samples, lay.n_channels, *lay.spatial_shape)
        self.dtype = np.dtype(array.dtype)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __getitem__(self, key: tuple[Any, ...]) -> np.ndarray:
        s, _channels, *spatial = key
        spatial += [slice(None)] * (self.ndim - 2 - len(spatial))
        piece = np.asarray(self.array[self.layout.index(int(s), spatial)])
        return self.layout.to_block(piece)  # (C, *spatial)


class MultiPatchSampler:
    """Random patches from several (view, region) parts, each part drawn in proportion to its pixels;
    the same interface as :class:`PatchSampler` (``sample(batch)`` -> float32 (B, C, *patch))."""

    def __init__(
        self,
        parts: Sequence[tuple[CanonicalView, Region]],
        patch: Sequence[int],
        augment: bool,
        rng: np.random.Generator,
    ) -> None:
        self.rng, self.patch = rng, tuple(patch)
        self.names = [v.name for v, _ in parts]
        self.samplers = [PatchSampler(v, r, patch, augment, rng) for v, r in parts]  # type: ignore[arg-type]
        w = np.array([(r.s1 - r.s0) * math.prod(r.shape()) for _, r in parts], dtype=np.float64)
        self.p = w / w.sum()
        self.channels = int(parts[0][0].shape[1])

    def sample(self, batch: int) -> np.ndarray:
        which = self.rng.choice(len(self.samplers), size=batch, p=self.p)
        out = np.empty((batch, self.channels, *self.patch), dtype=np.float32)
        for k in np.unique(which):
            idx = np.flatnonzero(which == k)
            out[idx] = self.samplers[k].sample(len(idx))
            if not np.isfinite(out[idx]).all():
                raise N2VError(
                    f"{self.names[k]} contains NaN or infinite values: replace them (e.g. with the "
                    "image's median) or leave this file out."
                )
        return out


@dataclass
class SourceSet:
    """Training and validation parts of several images; :meth:`sampler` cuts patches from either."""

    train: list[tuple[CanonicalView, Region]]
    val: list[tuple[CanonicalView, Region]]

    def sampler(
        self, which: str, patch: Sequence[int], augment: bool, rng: np.random.Generator
    ) -> MultiPatchSampler:
        return MultiPatchSampler(self.train if which == "train" else self.val, patch, augment, rng)


def _slabs(view: CanonicalView) -> list[tuple[int, slice]]:
    """(sample, slice of the first spatial axis) units of at most ``SLAB_BYTES`` covering the view."""
    s, c, first, *rest = view.shape
    per_row = max(1, c * math.prod(rest) * view.dtype.itemsize)
    rows = max(1, SLAB_BYTES // per_row)
    return [(i, slice(a, min(a + rows, first))) for i in range(s) for a in range(0, first, rows)]


def stream_stats(
    views: Sequence[CanonicalView], max_pixels: int = STATS_PIXELS
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std over an even subsample of all views (slab by slab, float64, merged with
    Chan's formula); reads about ``4 * max_pixels`` pixels per channel at most, whatever the data size."""
    c = views[0].shape[1]
    units = [(v, s, sl) for v in views for s, sl in _slabs(v)]
    px = [math.prod(v.shape[3:]) * (sl.stop - sl.start) for v, _, sl in units]
    total = sum(px)
    keep = max(1, min(len(units), math.ceil(len(units) * 4 * max_pixels / total)))
    chosen = sorted(set(np.linspace(0, len(units) - 1, keep).round().astype(int).tolist()))
    stride = max(1, math.ceil(sum(px[i] for i in chosen) / max_pixels))
    n, mean, m2 = 0, np.zeros(c), np.zeros(c)
    for i in chosen:
        v, s, sl = units[i]
        block = v[(s, slice(None), sl)].reshape(c, -1)[:, (i * 7) % stride :: stride]
        x = block.astype(np.float64)
        if not np.isfinite(x).all():
            raise N2VError(
                f"{v.name} contains NaN or infinite values (sample {s}): replace them (e.g. with the "
                "image's median) or leave this file out."
            )
        k = x.shape[1]
        if k == 0:
            continue
        bm = x.mean(axis=1)
        bm2 = ((x - bm[:, None]) ** 2).sum(axis=1)
        delta = bm - mean
        mean = mean + delta * k / (n + k)
        m2 = m2 + bm2 + delta**2 * n * k / (n + k)
        n += k
    std = np.sqrt(m2 / max(n, 1))
    if np.any(std == 0) or not np.all(np.isfinite(std)):
        raise N2VError(
            "the images are constant (zero variance in at least one channel): nothing to denoise."
        )
    return mean.astype(np.float32), std.astype(np.float32)


def to_views(
    images: Sequence[Any], axes: str, names: Sequence[str] | None, what: str
) -> list[CanonicalView]:
    """Each image as a :class:`CanonicalView`, with its dtype, axes and channel count checked."""
    views = []
    for i, img in enumerate(images):
        name = names[i] if names else f"{what} {i + 1} of {len(images)}"
        if not hasattr(img, "shape"):
            raise N2VError(f"{name} is not an array.")
        if 0 in tuple(img.shape):
            raise N2VError(f"{name} is empty (shape {tuple(img.shape)}).")
        check_dtype(img.dtype)
        try:
            views.append(CanonicalView(img, axes, name))
        except N2VError as err:
            raise N2VError(f"{name} (shape {tuple(img.shape)}): {err}") from err
    chans = {v.shape[1] for v in views}
    if len(chans) > 1:
        raise N2VError(f"the {what}s have different numbers of channels {sorted(chans)}.")
    return views
