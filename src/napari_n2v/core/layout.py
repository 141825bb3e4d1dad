"""How an array in the user's axes maps onto (sample, channel, spatial) blocks, without moving data.

Reads and writes go through plain indexing, so numpy, dask and zarr arrays all work and only the block
being processed is ever in memory.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from napari_n2v.core.axes import validate_axes
from napari_n2v.core.errors import N2VError


@dataclass(frozen=True)
class Layout:
    axes: str
    shape: tuple[int, ...]
    sample_letters: str  # axes iterated over as independent samples (S, T and, for a 2D model, Z)
    spatial_letters: str  # 'YX' or 'ZYX'

    @classmethod
    def create(cls, axes: str, shape: Sequence[int], is_3d: bool) -> Layout:
        ax = validate_axes(axes, shape)
        if is_3d and "Z" not in ax:
            raise N2VError(
                f"this is a 3D model but the image axes {ax!r} have no Z: give a Z-stack "
                "(e.g. axes 'ZYX'), or use a 2D model."
            )
        spatial = "ZYX" if is_3d else "YX"
        samples = "".join(a for a in ax if a in "STZ" and a not in spatial)
        return cls(ax, tuple(int(s) for s in shape), samples, spatial)

    def _dim(self, a: str) -> int:
        return self.shape[self.axes.index(a)]

    @property
    def n_samples(self) -> int:
        return math.prod(self._dim(a) for a in self.sample_letters)

    @property
    def n_channels(self) -> int:
        return self._dim("C") if "C" in self.axes else 1

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        return tuple(self._dim(a) for a in self.spatial_letters)

    def index(self, sample: int, spatial: Sequence[slice]) -> tuple[int | slice, ...]:
        """The index into the user's array for flat ``sample`` and ``spatial`` slices."""
        s_idx = (
            np.unravel_index(sample, [self._dim(a) for a in self.sample_letters])
            if self.sample_letters
            else ()
        )
        by_letter: dict[str, int | slice] = dict(
            zip(self.sample_letters, (int(i) for i in s_idx), strict=True)
        )
        by_letter.update(zip(self.spatial_letters, spatial, strict=True))
        return tuple(by_letter.get(a, slice(None)) for a in self.axes)

    @property
    def _block_letters(self) -> str:
        return "".join(a for a in self.axes if a not in self.sample_letters)

    def to_block(self, piece: np.ndarray) -> np.ndarray:
        """A piece read with :meth:`index` -> (C, *spatial)."""
        letters = self._block_letters
        if "C" not in letters:
            piece, letters = piece[None], "C" + letters
        return piece.transpose([letters.index(a) for a in "C" + self.spatial_letters])

    def from_block(self, block: np.ndarray) -> np.ndarray:
        """(C, *spatial) -> the piece to assign at :meth:`index`."""
        letters = self._block_letters
        src = "C" + self.spatial_letters
        if "C" not in letters:
            return block[0].transpose([self.spatial_letters.index(a) for a in letters])
        return block.transpose([src.index(a) for a in letters])


def guess_axes(ndim: int, is_3d: bool, rgb: bool = False) -> str:
    """A default axes string for ``ndim`` dims: 'YX', 'ZYX'/'SYX', 'TZYX'/'STYX', with 'C' last for RGB."""
    base = {2: "YX", 3: "ZYX" if is_3d else "SYX", 4: "TZYX" if is_3d else "STYX"}
    n = ndim - (1 if rgb else 0)
    if n not in base:
        raise N2VError(
            f"cannot guess the axes of a {ndim}-dimensional image: give them explicitly."
        )
    return base[n] + ("C" if rgb else "")
