"""The completion marker of a zarr directory store: written last, after every chunk, into the store's
attributes (``zarr.json`` of an array or of an OME-Zarr group; ``.zattrs`` in zarr format 2).

A store at its final name without the marker was written by an interrupted run (or by a version
before atomic writes): ``--out-dir`` runs treat it as not done. Our writers produce arrays
(:func:`napari_n2v.core.io.lazy_io.create_zarr_like`, tagged by ``image_io.tag_zarr``); groups are marked
on the root group the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import N2VError

#: The attribute that says a store is complete.
MARKER = "napari_n2v_complete"


def _open(store_path: str | Path, mode: str) -> Any:
    import zarr

    return zarr.open(str(store_path), mode=mode)  # type: ignore[arg-type]


def mark_complete(store_path: str | Path) -> None:
    """Record that the zarr store at ``store_path`` is complete: call it after the last chunk is
    written (inside :func:`napari_n2v.core.io.atomic.atomic_write`, on the temporary store)."""
    try:
        node = _open(store_path, "r+")
    except Exception as err:  # zarr raises several unrelated types for a missing or broken store
        raise N2VError(
            f"cannot mark {store_path} complete: it is not a zarr store ({err})"
        ) from err
    node.attrs[MARKER] = True


def is_complete(store_path: str | Path) -> bool:
    """Whether ``store_path`` is a zarr store that carries the completion marker (False for a
    missing path, a folder that is not a zarr store, or a store written by an interrupted run)."""
    if not Path(store_path).is_dir():
        return False
    try:
        node = _open(store_path, "r")
    except Exception:  # not a zarr store, or a broken one: not complete either way
        return False
    return node.attrs.get(MARKER) is True
