"""Frozen, validated configurations: the one source of truth for every default.

Widgets and the CLI read their defaults from here (``TrainConfig()``'s fields), never duplicate them.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

from napari_n2v.core.axes import validate_axes
from napari_n2v.core.config_fields import PRECISIONS, _f, _tuple, check_ranges
from napari_n2v.core.config_fields import (
    field_info as field_info,  # re-exported: forms read it from here
)
from napari_n2v.core.errors import N2VError
from napari_n2v.core.predict_config import (
    PredictConfig as PredictConfig,  # re-exported: its old home
)

DEFAULT_PATCH_2D = (64, 64)
DEFAULT_PATCH_3D = (16, 64, 64)
#: Fraction of patch pixels masked per patch when ``masked_pixels`` is None: between the anchors'
#: ~0.2% (juglab n2v, CAREamics) and the paper's 1.6%; chosen by the defaults sweeps at equal wall-clock
#: (`python -m benchmarks run sweep`: 1% beat 0.5% in 2D at 30 s and 120 s and in 3D; docs/benchmarks.md).
DEFAULT_MASKED_FRACTION = 0.01
STRATEGIES = ("uniform", "median")
#: The most steps a run may ask for; a run on a time budget alone gets this many (it stops on time).
MAX_STEPS = 10_000_000


def max_masked_pixels(patch: tuple[int, ...]) -> int:
    """The most blind-spot pixels a patch may have: a quarter of its pixels (at least 1)."""
    return max(1, math.prod(patch) // 4)


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
        Blind-spot pixels per patch (N). None: 1% of the patch's pixels (41 of 64×64), at least 1.
    blind_spot
        What the network may not see around each masked pixel: ``"auto"`` (chosen from the noise by
        :func:`napari_n2v.inspect_noise`), ``"pixel"``, a box ``"3x3"``/``"5x5"``/``"3x3x3"`` or a line
        ``"1x5"`` (sizes per spatial axis in (Z)YX order). The trained model records what was used.
    steps
        Optimiser steps.
    time_limit_s
        Wall-clock budget in seconds (None: none); the run stops at the first step past it, keeping
        the best model, as a Stop does.
    batch_size
        Patches per step. None: the machine's default (see :mod:`napari_n2v.core.plan.defaults`).
    n_filters
        Filters in the U-Net's first level. None: 32, or 16 for 3D on a CPU (see
        :mod:`napari_n2v.core.plan.defaults`); the trained model records the number used.
    """

    axes: str = _f("YX", "Axes", "letters from STCZYX, one per dimension; Z means 3D training")
    patch_size: tuple[int, ...] | None = _f(
        None,
        "Patch",
        "patch shape (Y, X) or (Z, Y, X), each a multiple of 2**depth (4 at depth 2) and at least "
        "twice that; one number means a square (2D) or cube (3D); default 64x64, 3D 16x64x64; "
        "shrunk to fit a small image",
        lo=8,
        hi=1024,
        step=8,
        unit="px",
    )
    masked_pixels: int | None = _f(
        None,
        "Masked pixels",
        "blind-spot pixels per patch; at most a quarter of the patch; default 1% of the patch "
        "(41 of 64x64)",
        lo=1,
    )
    steps: int = _f(1000, "Steps", "optimiser steps", lo=1, hi=MAX_STEPS, step=100)
    time_limit_s: float | None = _f(
        None,
        "Time budget",
        "stop after this many seconds of training and keep the best model (with steps: whichever "
        "comes first)",
        lo=1,
        unit="s",
    )
    batch_size: int | None = _f(
        None, "Batch", "patches per step; default by device (CPU 16 in 2D, 4 in 3D)", lo=1, hi=4096
    )
    learning_rate: float = _f(
        4e-4, "Learning rate", "Adam's start rate; halved on plateaus", lo=0, step=1e-4
    )
    steps_per_epoch: int = _f(50, "Validate every", "steps between validations", lo=1, unit="steps")
    val_fraction: float = _f(
        0.1,
        "Validation share",
        "share of the image held out for validation",
        lo=0,
        hi=0.5,
        step=0.05,
    )
    val_patches: int = _f(128, "Validation patches", "patches in the validation set", lo=1)
    augment: bool = _f(True, "Augment", "random flips and 90° rotations of the patches")
    n2v2: bool = _f(False, "N2V2", "blur-pool, no top skip, median replacement: no checkerboard")
    strategy: str | None = _f(
        None, "Replacement", "uniform neighbour or median of the neighbours", choices=STRATEGIES
    )
    neighbor_radius: int = _f(
        5, "Neighbour radius", "how far a masked pixel's replacement is drawn from", lo=1, hi=32
    )
    struct_axis: str | None = _f(
        None, "structN2V axis", "mask a line along this axis (structured noise)", choices="ZYX"
    )
    struct_span: int = _f(2, "structN2V span", "pixels masked each side along the line", lo=1)
    blind_spot: str = _f(
        "auto",
        "Blind spot",
        "auto: chosen from the noise (a box for camera noise that is correlated between "
        "neighbours, one pixel for white noise); pixel; a box such as 3x3, 5x5 or 3x3x3; a line "
        "such as 1x5 (along X) or 5x1 (along Y): sizes per spatial axis in (Z)YX order",
    )
    depth: int = _f(2, "Depth", "U-Net levels; patches must be multiples of 2**depth", lo=1, hi=5)
    n_filters: int | None = _f(
        None,
        "Filters",
        "filters in the first U-Net level; default 32; on a CPU 16 for 3D, and for 2D without native bf16",
        lo=1,
        hi=512,
    )
    kernel_size: int = _f(3, "Kernel", "convolution kernel size (odd)", lo=1, hi=9, step=2)
    batch_norm: bool = _f(True, "Batch norm", "batch normalisation in the U-Net")
    seed: int | None = _f(None, "Seed", "random seed for repeatable runs; default random", lo=0)
    device: str = _f("auto", "Device", "auto, cpu, cuda, cuda:N or mps")
    precision: str = _f("auto", "Precision", "auto, fp32, bf16 or fp16", choices=PRECISIONS)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "axes", validate_axes(self.axes))
        if isinstance(self.struct_axis, str):
            set_(self, "struct_axis", self.struct_axis.upper())
        check_ranges(self, skip=("patch_size", "learning_rate"))
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
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise N2VError(f"learning_rate must be a positive number (got {self.learning_rate}).")
        if self.struct_axis is not None:
            sa = self.struct_axis.upper()
            if sa not in self.axes or sa not in "ZYX":
                raise N2VError(
                    f"struct_axis {self.struct_axis!r} must be one of the spatial axes of "
                    f"{self.axes!r} (Y or X{', Z' if self.is_3d else ''})."
                )
            set_(self, "struct_axis", sa)
        from napari_n2v.core.noise.footprint import format_blind_spot, parse_blind_spot

        box = parse_blind_spot(self.blind_spot, n_sp)  # raises for a bad or a 3D spec on 2D data
        set_(self, "blind_spot", "auto" if box is None else format_blind_spot(box))
        line = self.struct_line()
        if line is not None and box is not None and box != line and any(e > 1 for e in box):
            raise N2VError(
                f"give either struct_axis (structN2V's line) or blind_spot={self.blind_spot!r}, "
                "not both: a line is also a blind spot, e.g. '1x5' along X."
            )
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise N2VError(f"kernel_size must be odd (got {self.kernel_size}).")
        if self.masked_pixels is not None:
            n_px = math.prod(self.resolved_patch_size)
            limit = max_masked_pixels(self.resolved_patch_size)
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

    def struct_line(self) -> tuple[int, ...] | None:
        """structN2V's line as a blind-spot box (extents per spatial axis), or None."""
        if self.struct_axis is None:
            return None
        letters = "ZYX"[-self.n_spatial :]
        return tuple(2 * self.struct_span + 1 if a == self.struct_axis else 1 for a in letters)

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
