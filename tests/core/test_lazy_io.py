"""Zarr output stores for streamed prediction (no Qt)."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import zarr

from napari_n2v.core.errors import N2VError
from napari_n2v.core.io import lazy_io
from napari_n2v.core.io.image_io import read_image


def test_is_lazy() -> None:
    assert not lazy_io.is_lazy(np.zeros(3))
    assert lazy_io.is_lazy(da.zeros(3))
    assert lazy_io.is_lazy(zarr.zeros((3,)))


def test_default_chunks_one_frame_and_bounded() -> None:
    chunks = lazy_io.default_chunks((64, 4096, 8192), n_spatial=2, itemsize=4)
    assert chunks[0] == 1
    assert np.prod(chunks) * 4 <= lazy_io.CHUNK_BYTES
    assert lazy_io.default_chunks((5, 100, 120)) == (1, 100, 120)
    # RGB: the channel dim stays whole.
    assert lazy_io.default_chunks((2048, 2048, 3), n_spatial=3)[-1] == 3
    with pytest.raises(N2VError):
        lazy_io.default_chunks((10,), n_spatial=2)


def test_create_write_read_remove(tmp_path) -> None:
    path = tmp_path / "out.zarr"
    z = lazy_io.create_zarr_like(path, (3, 40, 50))
    assert z.shape == (3, 40, 50) and z.dtype == np.float32 and z.chunks == (1, 40, 50)
    z[1, 10:20, 5:15] = 7.0
    lazy = lazy_io.as_dask(read_image(path, "SYX").data)
    assert isinstance(lazy, da.Array) and lazy.chunks[0] == (1, 1, 1)
    assert float(lazy.sum().compute()) == 7.0 * 100
    with pytest.raises(N2VError, match="not empty"):
        lazy_io.create_zarr_like(path, (3, 40, 50))
    assert lazy_io.create_zarr_like(path, (2, 2), overwrite=True).shape == (2, 2)
    lazy_io.remove_store(path)
    assert not path.exists()
    lazy_io.remove_store(path)  # absent: no error
    lazy_io.remove_store(None)


def test_memory_store_and_explicit_chunks() -> None:
    z = lazy_io.create_zarr_like(zarr.storage.MemoryStore(), (10, 10), chunks=(4, 100))
    assert z.chunks == (4, 10)


def test_open_zarr_errors(tmp_path) -> None:
    with pytest.raises(N2VError, match="no such file"):
        read_image(tmp_path / "missing.zarr")
    zarr.open_group(str(tmp_path / "group.zarr"), mode="w")
    with pytest.raises(N2VError, match="group"):
        read_image(tmp_path / "group.zarr")


def test_temp_store_path_is_fresh() -> None:
    a, b = lazy_io.temp_store_path(), lazy_io.temp_store_path()
    try:
        assert a != b and a.is_dir() and not any(a.iterdir())
        z = lazy_io.create_zarr_like(a, (4, 4))  # an empty existing folder is fine
        z[:] = 1
    finally:
        lazy_io.remove_store(a)
        lazy_io.remove_store(b)
