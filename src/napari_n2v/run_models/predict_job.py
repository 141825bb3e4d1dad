"""The Predict widget's background job: a plain generator over values (no Qt, no layers).

``run_prediction`` wraps :func:`napari_n2v.core.predict.prediction.predict_iter`: it optionally creates the zarr
store the result streams into, yields the engine's progress events, and returns a :class:`PredictOutput`
with display hints computed off the main thread.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_n2v.core.config import PredictConfig
from napari_n2v.core.io import lazy_io

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.core.model.denoiser import Denoiser

#: At most this many pixels are read back to set the contrast limits of a lazy result.
_SAMPLE_PIXELS = 4 * 2**20
#: Contrast limits are these percentiles of the result: robust to a few extreme pixels.
PERCENTILES = (0.1, 99.9)


@dataclass(frozen=True)
class PredictOutput:
    """What the worker returns to the main thread.

    Attributes
    ----------
    data
        The result: a numpy array, or a dask array reading the zarr store lazily.
    contrast_limits
        ``(low, high)`` from the data (robust percentiles; a strided sample of a lazy result).
    store
        The zarr directory holding the result, or None when it is in memory.
    residual
        ``noisy - denoised`` (lazy when the result is), or None when it was not asked for.
    residual_limits
        Contrast limits of the residual, symmetric around 0.
    """

    data: Any
    contrast_limits: tuple[float, float]
    store: Path | None = None
    residual: Any = None
    residual_limits: tuple[float, float] = (-1.0, 1.0)


def contrast_limits(data: Any, n_spatial: int = 2) -> tuple[float, float]:
    """The :data:`PERCENTILES` of ``data`` (of a lazy array: of a strided sample of a few frames).

    Parameters
    ----------
    data
        numpy, zarr or dask array.
    n_spatial
        Trailing dims treated as the spatial ones when sampling a lazy array.

    Returns
    -------
    tuple of float
        ``(low, high)`` with ``high > low``.
    """
    if lazy_io.is_lazy(data):
        data = lazy_io.as_dask(data)
        lead = data.ndim - n_spatial
        idx: list[Any] = []
        for s in data.shape[:lead]:
            idx.append(np.unique(np.linspace(0, s - 1, min(s, 4)).round().astype(int)).tolist())
        n_frames = math.prod(len(i) for i in idx) or 1
        per_dim = (_SAMPLE_PIXELS / n_frames) ** (1 / max(1, n_spatial))
        for s in data.shape[lead:]:
            idx.append(slice(None, None, max(1, math.ceil(s / per_dim))))
        sample = np.asarray(_take(data, idx))
    else:
        sample = np.asarray(data)
    finite = sample[np.isfinite(sample)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(finite, PERCENTILES))
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def _take(data: Any, idx: list[Any]) -> np.ndarray:
    """Orthogonal indexing of a dask array: the slices at once, then each list of indices in turn."""
    out = data[tuple(i if isinstance(i, slice) else slice(None) for i in idx)]
    for d, i in enumerate(idx):
        if not isinstance(i, slice):
            out = out[(slice(None),) * d + (i,)]
    return out.compute() if hasattr(out, "compute") else out


def residual_of(noisy: Any, denoised: Any, n_spatial: int = 2) -> tuple[Any, tuple[float, float]]:
    """``noisy - denoised`` as float32 (a lazy dask array when either is lazy) and contrast limits
    symmetric around 0 (from the :data:`PERCENTILES` of its magnitude)."""
    if lazy_io.is_lazy(noisy) or lazy_io.is_lazy(denoised):
        residual = lazy_io.as_dask(noisy).astype(np.float32) - lazy_io.as_dask(denoised)
    else:
        residual = np.asarray(noisy, dtype=np.float32) - np.asarray(denoised, dtype=np.float32)
    lo, hi = contrast_limits(residual, n_spatial)
    reach = max(abs(lo), abs(hi))
    return residual, (-reach, reach)


def run_prediction(
    model: Denoiser,
    data: Any,
    axes: str,
    config: PredictConfig,
    out_path: Path | None = None,
    residual: bool = False,
) -> Generator[Any, None, PredictOutput]:
    """Predict ``data``; yield the engine's progress events; return the result and display hints.

    Parameters
    ----------
    model
        What denoises: an :class:`~napari_n2v.core.model.n2v_model.N2VModel`.
    data
        numpy, dask or zarr array with ``axes``.
    axes
        Checked axes string, one letter per dim of ``data``.
    config
        Tile, overlap, batch size, TTA.
    out_path
        Directory of a new zarr store to stream the result into (peak memory ~ a few tiles), shown
        lazily afterwards; None keeps the result in memory. The store is removed if prediction fails.
    residual
        Also return ``data - result`` (:func:`residual_of`), to check what was removed.

    Returns
    -------
    PredictOutput
    """
    out = yield from _run(model, data, axes, config, out_path)
    if not residual:
        return out
    n_spatial = len(axes) - min(axes.index(a) for a in ("ZYX" if model.is_3d else "YX"))
    diff, limits = residual_of(data, out.data, n_spatial)
    return dataclasses.replace(out, residual=diff, residual_limits=limits)


def _run(
    model: Denoiser, data: Any, axes: str, config: PredictConfig, out_path: Path | None
) -> Generator[Any, None, PredictOutput]:
    from napari_n2v.core.predict.prediction import predict_iter

    if out_path is None:
        result = yield from predict_iter(model, data, axes, config)
        return PredictOutput(result, contrast_limits(result))
    # Chunks: one frame for each leading dim; the spatial block (with any trailing C) is split.
    n_split = len(axes) - min(axes.index(a) for a in ("ZYX" if model.is_3d else "YX"))
    out = lazy_io.create_zarr_like(out_path, data.shape, n_spatial=n_split)
    try:
        yield from predict_iter(model, data, axes, config, out=out)
    except BaseException:
        lazy_io.remove_store(out_path)
        raise
    lazy = lazy_io.as_dask(out)
    return PredictOutput(lazy, contrast_limits(lazy, n_split), Path(out_path))
