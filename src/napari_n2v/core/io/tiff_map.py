"""Read a TIFF without loading it: memory-mapped when it is stored contiguously (uncompressed), else
page/tile by page/tile through tifffile's zarr view. For training on folders larger than memory.

A memory map counts the pages it has touched in the process's resident memory (RSS) until it is unmapped,
even though the kernel could drop them: random patches from a 20 GB folder would slowly make RSS 20 GB.
The maps of all :class:`MappedTiff` are therefore re-opened after every :data:`REMAP_BYTES` read through
any of them, which returns those pages to the page cache, so RSS stays bounded whatever the folder's size
and number of files.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

import numpy as np

#: Bytes read through all memory maps together before they are all re-opened (bounds the RSS they add,
#: whatever the number of files).
REMAP_BYTES = 256 * 2**20
_OPEN: weakref.WeakSet[MappedTiff] = weakref.WeakSet()
_READ = [0]  # bytes read through the maps since they were last dropped


class MappedTiff:
    """A read-only, numpy-indexable view of a contiguous TIFF series (``shape``, ``dtype``, ``[...]``)."""

    def __init__(self, path: Path, offset: int, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.path, self.offset = Path(path), int(offset)
        self.shape, self.dtype = tuple(int(s) for s in shape), np.dtype(dtype)
        self._map: np.memmap | None = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def _open(self) -> np.memmap:
        if _READ[0] > REMAP_BYTES:  # unmap every file: their touched pages leave this process's RSS
            for m in list(_OPEN):
                m._map = None
            _READ[0] = 0
        if self._map is None:
            self._map = np.memmap(
                self.path, dtype=self.dtype, mode="r", offset=self.offset, shape=self.shape
            )
            _OPEN.add(self)
        return self._map

    def __getitem__(self, key: Any) -> np.ndarray:
        out = np.array(self._open()[key])  # a copy: nothing returned keeps the map alive
        _READ[0] += out.nbytes
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self[...].astype(dtype) if dtype is not None else self[...]

    def __getstate__(self) -> dict[str, Any]:  # picklable (e.g. to a worker process): re-maps there
        return {**self.__dict__, "_map": None}

    def __repr__(self) -> str:
        return f"MappedTiff({self.path.name!r}, shape={self.shape}, dtype={self.dtype})"


def open_tiff_lazily(tif: Any, path: Path) -> Any:
    """The first series of an open ``tifffile.TiffFile`` as a lazy array: a :class:`MappedTiff` when the
    pixels are stored contiguously, else a zarr array over tifffile's store (which keeps the file open)."""
    series = tif.series[0]
    offset = series.dataoffset
    if offset is not None:
        return MappedTiff(path, offset, tuple(series.shape), series.dtype)
    import tifffile
    import zarr

    handle = tifffile.TiffFile(path)  # the zarr view reads through this handle while training
    arr = zarr.open(handle.series[0].aszarr(), mode="r")
    object.__setattr__(arr, "_n2v_tiff", handle)  # keep the file open as long as the array
    return arr
