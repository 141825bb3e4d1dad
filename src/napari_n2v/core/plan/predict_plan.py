"""Settle a prediction once: axes, device and precision, tile, context (halo), tiles per pass."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from napari_n2v.core.axes import per_axis
from napari_n2v.core.config import PredictConfig
from napari_n2v.core.errors import N2VError
from napari_n2v.core.layout import Layout, guess_axes
from napari_n2v.core.model.denoiser import Denoiser
from napari_n2v.core.plan.machine import Machine, resolve_machine
from napari_n2v.core.predict import memory_plan as mp
from napari_n2v.core.predict.tiling import (
    DEFAULT_TILE_2D,
    DEFAULT_TILE_3D,
    Tile,
    balanced_tile,
    clip_to_image,
    round_up,
    tile_grid,
)

#: Warn when tiles make the network compute each pixel more than this many times (halo overhead).
TILE_OVERHEAD_WARN = 3.0


@dataclass(frozen=True)
class PredictPlan:
    """How one image is predicted: its layout, the machine, the tiles and how many go per pass."""

    layout: Layout
    machine: Machine
    tile: tuple[int, ...]  # the balanced tile (spatial, padded to the network's multiple)
    halo: tuple[int, ...]  # context per side
    padded: tuple[int, ...]  # spatial shape rounded up to the network's multiple
    tiles: tuple[Tile, ...]
    batch: int  # tiles per pass

    @property
    def total(self) -> int:
        """Tiles over all samples."""
        return self.layout.n_samples * len(self.tiles)


def resolve_axes(model: Denoiser, shape: Sequence[int], axes: str | None, rgb: bool = False) -> str:
    """The axes given, else the model's when the dimensions agree, else the engine's guess."""
    if axes is not None:
        return axes
    if len(model.axes) == len(shape):
        return model.axes
    return guess_axes(len(shape), model.is_3d, rgb)


def plan_prediction(
    model: Denoiser, shape: Sequence[int], axes: str | None, config: PredictConfig
) -> PredictPlan:
    """Check the image's shape against the model and settle every open prediction default."""
    shape = tuple(shape)
    layout = Layout.create(resolve_axes(model, shape, axes), shape, model.is_3d)
    if layout.n_channels != model.n_channels:
        fix = (  # with a C axis already, naming it again changes nothing
            f"use a model trained on {layout.n_channels}-channel data like this"
            if "C" in layout.axes
            else "use a model trained on this kind of data, or give the channel axis as 'C'"
        )
        raise N2VError(
            f"the model was trained on {model.n_channels} channel(s) but the image has "
            f"{layout.n_channels} (axes {layout.axes!r}, shape {shape}): {fix}."
        )
    n_sp = len(layout.spatial_letters)
    letters = ", ".join(layout.spatial_letters)
    tile_shape = per_axis(config.tile_shape, n_sp, f"tile_shape ({letters})")
    overlap = per_axis(config.overlap, n_sp, f"overlap ({letters})")
    m = 2**model.config.depth
    halo = tuple(round_up(o, m) for o in (overlap or model.halo))
    padded = tuple(round_up(n, m) for n in layout.spatial_shape)
    machine = resolve_machine(config.device, config.precision, n_sp)
    largest, auto_batch = mp.predict_plan(  # grown with free GPU memory; a given tile is kept
        machine.device, model, padded, machine.amp_dtype, tile=tile_shape, halo=halo
    )
    tile = balanced_tile(padded, largest, halo, m)
    clipped = (clip_to_image(t, layout.spatial_shape) for t in tile_grid(padded, tile, halo))
    tiles = tuple(t for t in clipped if t is not None)
    _warn_small_tiles(tiles, padded, tile, halo)
    return PredictPlan(layout, machine, tile, halo, padded, tiles, config.batch_size or auto_batch)


def _warn_small_tiles(
    tiles: Sequence[Tile], padded: Sequence[int], tile: Sequence[int], halo: Sequence[int]
) -> None:
    """Tiles much smaller than their context recompute most pixels: say so, with a better size."""
    if len(tiles) < 2:
        return
    computed = len(tiles) * math.prod(tile)
    overhead = computed / math.prod(padded)
    if overhead > TILE_OVERHEAD_WARN:
        better = tuple(min(n, max(t, 8 * h)) for n, t, h in zip(padded, tile, halo, strict=True))
        warnings.warn(
            f"tiles of {tuple(tile)} need {tuple(halo)} pixels of context on each side, so the "
            f"{len(tiles)} tiles compute each pixel {overhead:.1f} times: use larger tiles "
            f"(e.g. {','.join(map(str, better))}) unless memory is short.",
            UserWarning,
            stacklevel=4,
        )


def describe_predict_defaults() -> dict[str, str]:
    """What each open prediction setting means, in words, for the CLI help."""
    t2, t3 = (",".join(map(str, t)) for t in (DEFAULT_TILE_2D, DEFAULT_TILE_3D))
    return {
        "tile": f"{t2} in 2D, {t3} in 3D; on a GPU as large as its free memory allows",
        "batch": f"1 on a CPU; on a GPU as many as free memory allows, up to {mp.MAX_PREDICT_BATCH} "
        f"({mp.GPU_PREDICT_BATCH} when free memory is unknown)",
    }
