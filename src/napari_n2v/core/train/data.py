"""Training data: input checks, normalisation statistics, a leakage-free validation split and on-the-fly
patch sampling with flips/rotations. No patch set is ever materialised: memory stays ~ the image itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from napari_n2v.core.errors import N2VError


def check_dtype(dtype: Any) -> None:
    """Accept integer and real float images; refuse bool and complex with a clear message."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        raise N2VError("the image is boolean (a mask?): Noise2Void needs an intensity image.")
    if dt.kind == "c":
        raise N2VError("the image is complex-valued: give its magnitude or real part instead.")
    if dt.kind not in "uif":
        raise N2VError(f"unsupported image dtype {dt}: use an integer or float image.")


def check_finite(data: np.ndarray, what: str = "the image") -> None:
    """Refuse NaN/Inf pixels (checked plane by plane, so no full-size temporary)."""
    if data.dtype.kind != "f":
        return
    for s in range(data.shape[0]):
        if not np.isfinite(data[s]).all():
            raise N2VError(
                f"{what} contains NaN or infinite values (first in sample {s}): replace them, e.g. "
                "with the image's median, before training."
            )


#: Pixels per channel used for the normalisation statistics (an even subsample of larger data).
STATS_PIXELS = 2**24


def channel_stats(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of canonical data (S, C, ...), accumulated in float64 sample by sample
    over an even subsample of at most :data:`STATS_PIXELS` pixels per channel (fast on huge stacks)."""
    c = data.shape[1]
    n = np.zeros(c)
    s1 = np.zeros(c)
    s2 = np.zeros(c)
    stride = max(1, math.ceil(data.size / c / STATS_PIXELS))
    for s in range(data.shape[0]):
        plane = data[s].reshape(c, -1)[:, stride // 2 :: stride].astype(np.float64)
        n += plane.shape[1]
        s1 += plane.sum(axis=1)
        s2 += (plane**2).sum(axis=1)
    mean = s1 / n
    std = np.sqrt(np.maximum(s2 / n - mean**2, 0.0))
    if np.any(std == 0) or not np.all(np.isfinite(std)):
        raise N2VError(
            "the image is constant (zero variance in at least one channel): there is nothing to denoise."
        )
    return mean.astype(np.float32), std.astype(np.float32)


@dataclass(frozen=True)
class Region:
    """A box of canonical data that patches may be cut from: samples [s0, s1) and spatial slices."""

    s0: int
    s1: int
    spatial: tuple[slice, ...]

    def shape(self) -> tuple[int, ...]:
        return tuple(sl.stop - sl.start for sl in self.spatial)


def fit_patch(patch: Sequence[int], spatial: Sequence[int], m: int) -> tuple[int, ...]:
    """Shrink patch dims larger than the image to the largest multiple of ``m`` that fits."""
    return tuple(min(p, (n // m) * m) for p, n in zip(patch, spatial, strict=True))


def split_regions(
    n_samples: int, spatial: Sequence[int], patch: Sequence[int], val_fraction: float
) -> tuple[Region, Region | None, str | None]:
    """Split into training and held-out validation regions that share no pixel.

    Whole samples are held out when there are enough; otherwise a band at the end of the longest of
    Y/X. Returns (train, val or None, message); val None means validate on the training region.
    """
    full = tuple(slice(0, n) for n in spatial)
    if val_fraction <= 0:
        return Region(0, n_samples, full), None, None
    n_val = math.ceil(n_samples * val_fraction)
    if n_samples >= 2 and n_samples - n_val >= 1:
        return Region(0, n_samples - n_val, full), Region(n_samples - n_val, n_samples, full), None
    # one sample: a band along the longest in-plane axis
    d = max(range(len(spatial) - 2, len(spatial)), key=lambda i: spatial[i])
    band = max(patch[d], math.ceil(spatial[d] * val_fraction))
    if spatial[d] - band >= patch[d]:
        tr = list(full)
        va = list(full)
        tr[d] = slice(0, spatial[d] - band)
        va[d] = slice(spatial[d] - band, spatial[d])
        return Region(0, n_samples, tuple(tr)), Region(0, n_samples, tuple(va)), None
    msg = (
        "the image is too small to hold out a validation region of one patch: validation uses the "
        "training data (add a validation image or more frames for an honest validation loss)."
    )
    return Region(0, n_samples, full), None, msg


class Sampler(Protocol):
    """Anything that cuts training or validation patches: ``sample(batch)`` -> (B, C, *patch)."""

    def sample(self, batch: int) -> Any: ...


class PatchSampler:
    """Cuts random patches (with random flips / 90° rotations) from canonical data (S, C, *spatial).

    ``data`` may be a numpy array (any dtype) or memory-mapped; patches come out as float32 numpy
    (B, C, *patch), not yet normalised.
    """

    def __init__(
        self,
        data: np.ndarray,
        region: Region,
        patch: Sequence[int],
        augment: bool,
        rng: np.random.Generator,
    ) -> None:
        self.data, self.region, self.patch = data, region, tuple(patch)
        self.rng = rng
        self.augment = augment
        self.rotate = augment and patch[-1] == patch[-2]
        room = [n - p for n, p in zip(region.shape(), self.patch, strict=True)]
        if min(room) < 0:
            raise N2VError(f"patch {self.patch} is larger than the region {region.shape()}.")
        self._room = np.array(room) + 1

    def _draw(self, batch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sample indices, patch origins and augmentation ops (0..7: bit 0 flip X, 1 flip Y, 2 swap)."""
        rng, reg = self.rng, self.region
        s = rng.integers(reg.s0, reg.s1, size=batch)
        starts = (rng.random((batch, len(self.patch))) * self._room).astype(int)
        starts += np.array([sl.start for sl in reg.spatial])
        ops = rng.integers(0, 8, size=batch) if self.augment else np.zeros(batch, int)
        if not self.rotate:
            ops &= 3
        return s, starts, ops

    def sample(self, batch: int) -> np.ndarray:
        s, starts, ops = self._draw(batch)
        out = np.empty((batch, self.data.shape[1], *self.patch), dtype=np.float32)
        for i in range(batch):
            idx = tuple(slice(a, a + p) for a, p in zip(starts[i], self.patch, strict=True))
            key = (s[i], slice(None), *idx)
            p = self.data[key]
            op = int(ops[i])
            if op & 1:
                p = p[..., ::-1]
            if op & 2:
                p = p[..., ::-1, :]
            if op & 4:
                p = np.swapaxes(p, -1, -2)
            out[i] = p
        return out


class DevicePatchSampler(PatchSampler):
    """The same patches as :class:`PatchSampler` (same ``rng`` draws), cut from a float32 copy of the
    data kept on the training device: no host-to-device copy per step (used on GPUs when it fits)."""

    def __init__(
        self,
        data: np.ndarray,
        region: Region,
        patch: Sequence[int],
        augment: bool,
        rng: np.random.Generator,
        device: torch.device,
    ) -> None:
        super().__init__(data, region, patch, augment, rng)
        self.device = device
        self.tensor = torch.empty(data.shape, dtype=torch.float32, device=device)
        for i in range(data.shape[0]):  # plane by plane: no full-size float copy on the host
            self.tensor[i] = torch.from_numpy(np.asarray(data[i], dtype=np.float32))
        self._ar = [torch.arange(p, device=device) for p in self.patch]

    def sample(self, batch: int) -> torch.Tensor:  # type: ignore[override]
        """One gather with per-patch index grids (flips and the X/Y swap folded into the indices):
        a single non-blocking host-to-device copy and no device synchronisation per batch."""
        s, starts, ops = self._draw(batch)
        nd = len(self.patch)
        packed = np.concatenate([s[:, None], starts, ops[:, None]], axis=1).astype(np.int64)
        t = torch.from_numpy(packed).to(self.device, non_blocking=True)
        op = t[:, -1]
        vec = []  # per-axis index vectors (B, P_d), reversed where that axis is flipped
        for d in range(nd):
            ar = self._ar[d][None, :]
            bit = {nd - 1: 1, nd - 2: 2}.get(d)
            if bit is not None:
                ar = torch.where((op & bit).bool()[:, None], self.patch[d] - 1 - ar, ar)
            vec.append(t[:, 1 + d, None] + ar)

        def along(v: torch.Tensor, d: int) -> torch.Tensor:  # (B, P_d) -> broadcastable on axis d
            shape = [batch] + [1] * nd
            shape[d + 1] = v.shape[1]
            return v.reshape(shape)

        idx = [t[:, 0].reshape(batch, *[1] * nd)] + [along(v, d) for d, v in enumerate(vec)]
        if self.rotate:  # out[..., i, j] = patch[..., j, i] where the swap bit is set
            swap = (op & 4).bool().reshape(batch, *[1] * nd)
            y, x = vec[-2], vec[-1]
            idx[-2] = torch.where(swap, along(y, nd - 1), idx[-2])
            idx[-1] = torch.where(swap, along(x, nd - 2), idx[-1])
        out = self.tensor.movedim(1, -1)[tuple(idx)]  # (B, *patch, C)
        return out.movedim(-1, 1).contiguous()  # (B, C, *patch)
