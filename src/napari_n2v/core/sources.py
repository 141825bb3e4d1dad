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
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import TrainConfig
from .data import STATS_PIXELS, PatchSampler, Region, check_dtype, fit_patch, split_regions
from .errors import N2VError
from .layout import Layout

if TYPE_CHECKING:
    from .n2v_model import N2VModel
    from .train_setup import TrainData

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


def _views(images: Sequence[Any], axes: str, names: Sequence[str] | None, what: str) -> list:
    views = []
    for i, img in enumerate(images):
        name = names[i] if names else f"{what} {i + 1} of {len(images)}"
        if not hasattr(img, "shape") or 0 in tuple(img.shape):
            raise N2VError(f"{name} is not a non-empty array.")
        check_dtype(img.dtype)
        try:
            views.append(CanonicalView(img, axes, name))
        except N2VError as err:
            raise N2VError(f"{name} (shape {tuple(img.shape)}): {err}") from err
    chans = {v.shape[1] for v in views}
    if len(chans) > 1:
        raise N2VError(f"the {what}s have different numbers of channels {sorted(chans)}.")
    return views


def prepare_sources(
    images: Sequence[Any],
    config: TrainConfig,
    *,
    val_image: Any = None,
    model: N2VModel | None = None,
    names: Sequence[str] | None = None,
) -> TrainData:
    """:func:`napari_n2v.core.train_setup.prepare_data` for several images (same axes, any sizes)."""
    from .train_setup import TrainData

    views = _views(images, config.axes, names, "image")
    m = 2**config.depth
    smallest = tuple(min(v.shape[2 + d] for v in views) for d in range(config.n_spatial))
    if min(smallest) < m:
        raise N2VError(
            f"the smallest image is {smallest} pixels: training needs at least {m} along each "
            "spatial axis; leave the small images out."
        )
    messages: list[str] = []
    want = config.resolved_patch_size
    patch = fit_patch(want, smallest, m)
    if patch != want:
        messages.append(
            f"patch {want} is larger than the smallest image {smallest}: using {patch}."
        )
    n_masked = config.resolved_masked_pixels(patch)

    def whole(v: CanonicalView) -> Region:
        return Region(0, v.shape[0], tuple(slice(0, n) for n in v.shape[2:]))

    train: list[tuple[CanonicalView, Region]] = []
    val: list[tuple[CanonicalView, Region]] = []
    n_val = round(len(views) * config.val_fraction)
    if val_image is not None:
        vals = val_image if isinstance(val_image, list | tuple) else [val_image]
        val_views = _views(vals, config.axes, None, "validation image")
        if val_views[0].shape[1] != views[0].shape[1]:
            raise N2VError("the validation image's channels differ from the training images'.")
        train = [(v, whole(v)) for v in views]
        val = [(v, whole(v)) for v in val_views]
    elif n_val >= 1 and len(views) - n_val >= 1:
        train = [(v, whole(v)) for v in views[:-n_val]]
        val = [(v, whole(v)) for v in views[-n_val:]]
        messages.append(f"validation on {n_val} held-out image(s) of {len(views)}.")
    else:
        for v in views:
            tr, va, msg = split_regions(v.shape[0], v.shape[2:], patch, config.val_fraction)
            train.append((v, tr))
            val.append((v, va or tr))
            if msg and msg not in messages:
                messages.append(msg)
    if model is not None:
        if model.n_channels != views[0].shape[1]:
            raise N2VError(
                f"the model has {model.n_channels} channel(s) but the images {views[0].shape[1]}."
            )
        mean, std = model.mean, model.std
    else:
        mean, std = stream_stats(views)
    names_ = "ZYX"[-config.n_spatial :]
    struct_dim = names_.index(config.struct_axis) if config.struct_axis else None
    first = views[0]
    data = TrainData(
        first,
        first,
        whole(first),
        whole(first),
        patch,
        n_masked,
        mean,
        std,
        struct_dim,
        messages,
    )
    data.sources = SourceSet(train, val)
    return data
