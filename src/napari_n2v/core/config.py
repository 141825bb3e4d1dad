"""Frozen, validated configurations: the one source of truth for every default.

Widgets and the CLI read their defaults from here (``TrainConfig()``'s fields), never duplicate them.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

from .axes import validate_axes
from .errors import N2VError

DEFAULT_PATCH_2D = (64, 64)
DEFAULT_PATCH_3D = (16, 64, 64)
#: Fraction of patch pixels masked per patch when ``masked_pixels`` is None. The anchors (juglab n2v,
#: CAREamics) use ~0.2%; the N2V paper 1.6% (64 of 64x64). At equal wall-clock on this project's CPU,
#: 0.5% (20 of 64x64) beat 0.2% by 0.8 dB on Set12 (benchmarks/sweep.py), and 1.6% on 32x32 patches
#: gained 11 dB where 0.2% gained 2 in the same steps (tests/core/test_training.py): more supervised
#: pixels per step pay on short, CPU-sized runs.
DEFAULT_MASKED_FRACTION = 0.005
STRATEGIES = ("uniform", "median")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def _tuple(v: Any) -> tuple[int, ...] | None:
    if v is None:
        return None
    if isinstance(v, int):
        return (v,)
    return tuple(int(x) for x in v)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a Noise2Void training run.

    Parameters
    ----------
    axes
        Axes of the training array, letters from ``STCZYX``. ``Z`` means 3D training; ``S``/``T`` are
        independent samples (frames), ``C`` channels.
    patch_size
        Spatial patch shape ``(Y, X)`` or ``(Z, Y, X)``; each a multiple of ``2**depth``. One number
        means the same size on every spatial axis (a square in 2D, a cube in 3D).
        None: 64×64 in 2D, 16×64×64 in 3D (shrunk to fit a small image, with a warning event).
    masked_pixels
        Blind-spot pixels per patch (N). None: 0.5% of the patch's pixels (20 of 64×64), at least 1.
    steps
        Optimiser steps.
    batch_size
        Patches per step. None: a per-device default (see :func:`napari_n2v.core.device.default_batch_size`).
    """

    axes: str = "YX"
    patch_size: tuple[int, ...] | None = None
    masked_pixels: int | None = None
    steps: int = 1000
    batch_size: int | None = None
    learning_rate: float = 4e-4
    steps_per_epoch: int = 50
    val_fraction: float = 0.1
    val_patches: int = 128  # 32 picked worse models (BSD68: anti-correlated with PSNR)
    augment: bool = True
    n2v2: bool = False
    strategy: str | None = None
    neighbor_radius: int = 5
    struct_axis: str | None = None
    struct_span: int = 2
    depth: int = 2
    n_filters: int = 32
    kernel_size: int = 3
    batch_norm: bool = True
    seed: int | None = None
    device: str = "auto"
    precision: str = "auto"
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "axes", validate_axes(self.axes))
        set_(self, "patch_size", _tuple(self.patch_size))
        n_sp = self.n_spatial
        if self.patch_size is not None and len(self.patch_size) == 1:  # one number: square / cube
            set_(self, "patch_size", self.patch_size * n_sp)
        if self.patch_size is not None:
            if len(self.patch_size) != n_sp:
                want = "(Z, Y, X)" if self.is_3d else "(Y, X)"
                raise N2VError(
                    f"patch_size {self.patch_size} has {len(self.patch_size)} value(s) but axes "
                    f"{self.axes!r} need {n_sp}: give {want}."
                )
            m = 2**self.depth
            for p in self.patch_size:
                if p < 2 * m or p % m:
                    raise N2VError(
                        f"patch_size {self.patch_size}: each size must be a multiple of {m} "
                        f"(2**depth, depth={self.depth}) and at least {2 * m}; e.g. "
                        f"{tuple(max(2 * m, p - p % m) for p in self.patch_size)}."
                    )
        if self.steps < 1:
            raise N2VError(f"steps must be at least 1 (got {self.steps}).")
        if self.batch_size is not None and self.batch_size < 1:
            raise N2VError(f"batch_size must be at least 1 (got {self.batch_size}).")
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise N2VError(f"learning_rate must be a positive number (got {self.learning_rate}).")
        if self.steps_per_epoch < 1:
            raise N2VError("steps_per_epoch must be at least 1.")
        if not 0 <= self.val_fraction <= 0.5:
            raise N2VError(f"val_fraction must be between 0 and 0.5 (got {self.val_fraction}).")
        if self.val_patches < 1:
            raise N2VError("val_patches must be at least 1.")
        if self.strategy is not None and self.strategy not in STRATEGIES:
            raise N2VError(f"strategy must be one of {STRATEGIES} (got {self.strategy!r}).")
        if self.neighbor_radius < 1:
            raise N2VError("neighbor_radius must be at least 1.")
        if self.struct_axis is not None:
            sa = self.struct_axis.upper()
            if sa not in self.axes or sa not in "ZYX":
                raise N2VError(
                    f"struct_axis {self.struct_axis!r} must be one of the spatial axes of "
                    f"{self.axes!r} (Y or X{', Z' if self.is_3d else ''})."
                )
            set_(self, "struct_axis", sa)
            if self.struct_span < 1:
                raise N2VError("struct_span must be at least 1.")
        if not 1 <= self.depth <= 5:
            raise N2VError(f"depth must be between 1 and 5 (got {self.depth}).")
        if self.n_filters < 1:
            raise N2VError("n_filters must be at least 1.")
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise N2VError(f"kernel_size must be odd (got {self.kernel_size}).")
        if self.precision not in PRECISIONS:
            raise N2VError(f"precision must be one of {PRECISIONS} (got {self.precision!r}).")
        if self.masked_pixels is not None:
            if self.masked_pixels < 1:
                raise N2VError(f"masked_pixels must be at least 1 (got {self.masked_pixels}).")
            n_px = math.prod(self.resolved_patch_size)
            limit = max(1, n_px // 4)
            if self.masked_pixels > limit:
                raise N2VError(
                    f"masked_pixels={self.masked_pixels} is too many for a {self.resolved_patch_size} "
                    f"patch ({n_px} pixels): use at most {limit} (a quarter of the patch); the "
                    f"default is {self.default_masked_pixels()}."
                )

    # --- derived values -------------------------------------------------------------------------
    @property
    def is_3d(self) -> bool:
        return "Z" in self.axes

    @property
    def n_spatial(self) -> int:
        return 3 if self.is_3d else 2

    @property
    def resolved_patch_size(self) -> tuple[int, ...]:
        if self.patch_size is not None:
            return self.patch_size
        return DEFAULT_PATCH_3D if self.is_3d else DEFAULT_PATCH_2D

    def default_masked_pixels(self, patch_size: tuple[int, ...] | None = None) -> int:
        n_px = math.prod(patch_size or self.resolved_patch_size)
        return max(1, round(n_px * DEFAULT_MASKED_FRACTION))

    def resolved_masked_pixels(self, patch_size: tuple[int, ...] | None = None) -> int:
        if self.masked_pixels is not None:
            return self.masked_pixels
        return self.default_masked_pixels(patch_size)

    @property
    def resolved_strategy(self) -> str:
        if self.strategy is not None:
            return self.strategy
        return "median" if self.n2v2 else "uniform"

    # --- serialisation --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["patch_size"] = list(self.patch_size) if self.patch_size else None
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise N2VError(f"unknown TrainConfig field(s): {', '.join(unknown)}.")
        return cls(**d)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class PredictConfig:
    """How to run a trained model over an image.

    ``tile_shape``/``overlap`` are spatial (``(Y, X)`` or ``(Z, Y, X)``; one number means the same on
    every spatial axis). ``tile_shape`` is the largest
    tile: each axis is covered by as few, evenly sized tiles as fit under it (None: 1024×1024 in 2D,
    32×256×256 in 3D). ``overlap`` is the context discarded at each tile side; None takes the model's
    receptive field, so a tiled result equals an untiled one.
    """

    tile_shape: tuple[int, ...] | None = None
    overlap: tuple[int, ...] | None = None
    batch_size: int | None = None
    device: str = "auto"
    precision: str = "auto"
    tta: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "tile_shape", _tuple(self.tile_shape))
        object.__setattr__(self, "overlap", _tuple(self.overlap))
        if self.tile_shape is not None and any(t < 1 for t in self.tile_shape):
            raise N2VError(f"tile_shape must be positive (got {self.tile_shape}).")
        if self.overlap is not None and any(o < 0 for o in self.overlap):
            raise N2VError(f"overlap must not be negative (got {self.overlap}).")
        if self.batch_size is not None and self.batch_size < 1:
            raise N2VError("batch_size must be at least 1.")
        if self.precision not in PRECISIONS:
            raise N2VError(f"precision must be one of {PRECISIONS} (got {self.precision!r}).")

    def replace(self, **changes: Any) -> PredictConfig:
        return dataclasses.replace(self, **changes)
