"""Zarr stores for results larger than memory: create, open, show lazily, clean up.

Qt-free; used by the Predict widget and by the CLI. A prediction given ``out=`` a zarr array writes it
tile by tile, so peak memory is about one input tile plus one output tile whatever the image size.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from napari_n2v.core.errors import N2VError

#: Target size of one output chunk (bytes): big enough for few files, small enough to stream.
CHUNK_BYTES = 8 * 2**20
TEMP_PREFIX = "napari-n2v-"


def is_lazy(data: Any) -> bool:
    """True for a dask or zarr array (data that may not fit in memory); False for numpy."""
    if isinstance(data, np.ndarray):
        return False
    mod = type(data).__module__
    return mod.startswith(("dask.", "zarr."))


def default_chunks(
    shape: Sequence[int], n_spatial: int = 2, itemsize: int = 4, max_bytes: int = CHUNK_BYTES
) -> tuple[int, ...]:
    """Chunks of one plane (or one volume) by leading dims, the spatial dims cut to ``max_bytes``.

    Parameters
    ----------
    shape
        Array shape; its last ``n_spatial`` dims are spatial (any channel axis is kept whole).
    n_spatial
        How many trailing dims may be split (2 for ``YX``; 3 for ``ZYX`` or for RGB ``YXC``, whose
        small channel dim is never the largest and so stays whole). Leading dims get chunk 1.
    itemsize
        Bytes per element.
    max_bytes
        Largest chunk in bytes (approximately; never less than one row).

    Returns
    -------
    tuple of int
        1 for every leading dim, then the spatial chunk sizes (halved, largest first, until they fit).
    """
    shape = tuple(int(s) for s in shape)
    lead = len(shape) - n_spatial
    if lead < 0:
        raise N2VError(f"shape {shape} has fewer than {n_spatial} dims.")
    chunks = [1] * lead + list(shape[lead:])
    while math.prod(chunks) * itemsize > max_bytes:
        i = max(range(lead, len(shape)), key=lambda k: chunks[k])
        if chunks[i] <= 64:
            break
        chunks[i] = math.ceil(chunks[i] / 2)
    return tuple(chunks)


def temp_store_path(prefix: str = TEMP_PREFIX) -> Path:
    """A fresh, empty temporary directory path for a zarr store (the caller removes it)."""
    return Path(tempfile.mkdtemp(prefix=prefix, suffix=".zarr"))


def create_zarr_like(
    path_or_store: str | Path | Any,
    shape: Sequence[int],
    chunks: Sequence[int] | None = None,
    dtype: Any = np.float32,
    *,
    n_spatial: int = 2,
    overwrite: bool = False,
) -> Any:
    """Create an empty zarr array to receive a prediction.

    Parameters
    ----------
    path_or_store
        Directory path (``.zarr``) or any zarr store (e.g. ``zarr.storage.MemoryStore()``).
        An existing non-empty directory is refused unless ``overwrite``.
    shape
        Shape of the result (the input's shape).
    chunks
        Chunk shape; None: :func:`default_chunks`.
    dtype
        Element type (the engine predicts float32).
    n_spatial
        Number of trailing spatial dims used by the default chunks.
    overwrite
        Replace an existing store.

    Returns
    -------
    zarr.Array
        Writable, filled with zeros where never written.
    """
    import zarr

    shape = tuple(int(s) for s in shape)
    if chunks is None:
        chunks = default_chunks(shape, n_spatial, np.dtype(dtype).itemsize)
    chunks = tuple(min(int(c), max(1, s)) for c, s in zip(chunks, shape, strict=True))
    store = path_or_store
    if isinstance(path_or_store, (str, Path)):
        path = Path(path_or_store)
        if path.exists() and any(path.iterdir()) and not overwrite:
            raise N2VError(
                f"{path} already exists and is not empty; choose a new path or overwrite."
            )
        store = str(path)
    return zarr.create_array(
        store, shape=shape, chunks=chunks, dtype=dtype, fill_value=0, overwrite=overwrite
    )


def as_dask(arr: Any) -> Any:
    """Wrap a zarr (or any chunked) array as a dask array with the array's own chunks, lazily."""
    import dask.array as da

    if type(arr).__module__.startswith("dask."):
        return arr
    if type(arr).__module__.startswith("zarr."):
        return da.from_zarr(arr)
    chunks = getattr(arr, "chunks", None) or "auto"
    return da.from_array(arr, chunks=chunks, asarray=False, fancy=False, lock=False)


def remove_store(path: str | Path | None) -> None:
    """Delete a zarr directory store if it exists (used for cancelled or discarded results)."""
    if path is None:
        return
    p = Path(path)
    if p.exists():
        shutil.rmtree(p, ignore_errors=True)
