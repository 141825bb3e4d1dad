"""How to run a trained model over an image: the frozen, validated prediction settings."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from napari_n2v.core.config_fields import PRECISIONS, _f, _tuple, check_ranges
from napari_n2v.core.errors import N2VError


@dataclass(frozen=True)
class PredictConfig:
    """How to run a trained model over an image.

    ``tile_shape``/``overlap`` are spatial (``(Y, X)`` or ``(Z, Y, X)``; one number means the same on
    every spatial axis). ``tile_shape`` is the largest tile: each axis is covered by as few, evenly
    sized tiles as fit under it (None: 512×512 in 2D, 32×256×256 in 3D on a CPU; on a GPU the largest
    that fits its free memory, see :func:`napari_n2v.core.predict.memory_plan.predict_plan`). ``overlap`` is
    the context discarded at each tile side; None takes the model's receptive field, so a tiled
    result equals an untiled one.
    """

    tile_shape: tuple[int, ...] | None = _f(
        None,
        "Tile",
        "largest tile; one number for every axis or one per axis; default 512x512, 3D 32x256x256 "
        "(on a GPU: as large as its free memory allows)",
        lo=1,
        hi=8192,
        step=32,
        unit="px",
    )
    overlap: tuple[int, ...] | None = _f(
        None,
        "Overlap",
        "context discarded at each tile side; default the model's receptive field",
        lo=0,
        hi=1024,
        unit="px",
    )
    batch_size: int | None = _f(
        None, "Tiles per batch", "default 1 on a CPU; on a GPU from its free memory", lo=1
    )
    device: str = _f("auto", "Device", "auto, cpu, cuda, cuda:N or mps")
    precision: str = _f("auto", "Precision", "auto, fp32, bf16 or fp16", choices=PRECISIONS)
    tta: bool = _f(
        False, "TTA", "average the 8 flips/rotations (8x slower; +0.2 to +0.8 dB in the benchmarks)"
    )
    blend: bool = _f(
        True,
        "Blend with input",
        "keep the share of the noisy input that the training measured to lower the error "
        "(the model's blend weight); off: the network's output alone",
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "tile_shape", _tuple(self.tile_shape))
        object.__setattr__(self, "overlap", _tuple(self.overlap))
        if self.tile_shape is not None and any(t < 1 for t in self.tile_shape):
            raise N2VError(f"tile_shape must be positive (got {self.tile_shape}).")
        if self.overlap is not None and any(o < 0 for o in self.overlap):
            raise N2VError(f"overlap must not be negative (got {self.overlap}).")
        check_ranges(self, skip=("tile_shape", "overlap"))

    def replace(self, **changes: Any) -> PredictConfig:
        return dataclasses.replace(self, **changes)
