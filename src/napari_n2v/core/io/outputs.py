"""Image outputs planned and written so that nothing is lost: checked before any work, written under a
temporary name beside the target (with its lock held for the whole run), moved into place when
complete, and judged done or not on a rerun.

The writing itself is :func:`napari_n2v.core.io.atomic.atomic_write`; this module puts image outputs
(TIFF written at the end, zarr streamed tile by tile) and long runs (training) on it:

- :func:`check_output` before any work: an existing output (a zarr store left incomplete is named
  as such), the folder, write permission, free space, a live run writing the same output;
- :func:`image_output` around the work: the lock is taken at the start, so a second run aimed at the
  same output is refused at once; a zarr store gets its completion marker last;
- :func:`output_state` on a rerun: ``"done"``, ``"incomplete"`` (a store without the marker: redo
  it) or ``"missing"``;
- :func:`hold_for_run` keeps a model output to one training run while it trains.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from napari_n2v.core.errors import N2VError
from napari_n2v.core.io.atomic import atomic_write, check_writable, describe_os_error
from napari_n2v.core.io.image_io import check_output_suffix, tag_zarr, write_image
from napari_n2v.core.io.lazy_io import create_zarr_like
from napari_n2v.core.io.lock import Note, acquire, lock_path, release
from napari_n2v.core.io.store_marker import is_complete, mark_complete

#: Suffix of the pseudo target whose lock keeps an output to one training run.
RUN_SUFFIX = ".run"


def nbytes(shape: Sequence[int], dtype: Any = np.float32) -> int:
    """Bytes of an array of ``shape`` and ``dtype``: the size estimate of an uncompressed output."""
    return math.prod(int(s) for s in shape) * np.dtype(dtype).itemsize


def is_store(path: Path) -> bool:
    """Whether ``path`` names a zarr output (a directory store)."""
    return Path(path).suffix.lower() == ".zarr"


def output_state(path: str | Path) -> str:
    """``"missing"``, ``"done"``, or ``"incomplete"``: a zarr store without the completion marker
    (written by an interrupted run, or before writes were atomic) at the final name."""
    path = Path(path)
    if not os.path.lexists(path):
        return "missing"
    if is_store(path) and path.is_dir() and not is_complete(path):
        return "incomplete"
    return "done"


def check_output(
    path: str | Path, overwrite: bool, *, size_hint: int | None = None, flag: str = "--out"
) -> Path:
    """Refuse, before any work, an output that cannot be written: an existing one without
    ``overwrite`` (a zarr store left incomplete says so), a missing or read-only folder, too little
    free space for ``size_hint`` bytes, a live run writing it. One-line N2VErrors naming ``flag``."""
    path = Path(path).expanduser()
    state = output_state(path)
    if state == "incomplete" and not overwrite:
        raise N2VError(
            f"{path} exists but is incomplete (an interrupted run left it): add --overwrite to "
            f"replace it, or choose another {flag}."
        )
    if state != "missing" and not overwrite:
        raise N2VError(f"{path} already exists: choose another {flag}, or add --overwrite.")
    return check_writable(path, overwrite=overwrite, is_dir=is_store(path), size_hint=size_hint)


def check_folder(folder: str | Path) -> Path:
    """Refuse, before any work, an output folder that is a file or cannot be written in (one-line
    N2VError); it need not exist yet if its parent does."""
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise N2VError(f"{folder} is a file, not a folder: choose another output folder")
    check_writable(folder / ".napari-n2v-check", make_parents=True)
    return folder


@dataclass
class ImageOutput:
    """An image output being written: ``array`` is the zarr array to stream tiles into (None for a
    TIFF: call :meth:`write` with the whole result). ``tmp`` is where it is written until complete."""

    path: Path
    tmp: Path
    axes: str
    scale: dict[str, float] | None
    unit: str | None
    array: Any = None
    written: bool = False

    def write(self, data: np.ndarray) -> None:
        """Write the whole result (a TIFF, or a zarr given as an array at the end)."""
        if self.array is not None:
            self.array[...] = data
        else:
            write_image(self.path, data, self.axes, scale=self.scale, unit=self.unit, into=self.tmp)
        self.written = True


@contextmanager
def image_output(
    path: str | Path,
    shape: Sequence[int],
    axes: str,
    *,
    scale: dict[str, float] | None = None,
    unit: str | None = None,
    overwrite: bool = False,
    n_spatial: int = 2,
    chunks: Sequence[int] | None = None,
    note: Note | None = None,
) -> Iterator[ImageOutput]:
    """Write an image output completely or not at all (see the module doc).

    Parameters
    ----------
    path
        The output: ``.tif``/``.tiff`` (written by :meth:`ImageOutput.write`) or ``.zarr`` (a float32
        array of ``shape`` at a temporary name, tagged with ``axes``, to stream into).
    overwrite
        Replace an existing output, only once the new one is complete.
    n_spatial, chunks
        The zarr array's chunking (:func:`napari_n2v.core.io.lazy_io.create_zarr_like`).
    note
        Receives one-line notes (a stale lock taken over, a folder restored); default: logging.

    The checks (folder, permission, free space for a float32 ``shape``, a live run writing it) run
    and the lock is taken before the block starts. On a normal exit a store gets its completion
    marker and the output is moved into place; on any exception the temporary is removed, an
    existing output stays as it was, and OS errors a user can fix become one-line N2VErrors.
    """
    path = check_output_suffix(Path(path).expanduser())
    store = is_store(path)
    size = nbytes(shape)
    with atomic_write(path, overwrite=overwrite, is_dir=store, size_hint=size, note=note) as tmp:
        out = ImageOutput(path, tmp, axes, scale, unit)
        if store:
            out.array = create_zarr_like(tmp, shape, chunks, n_spatial=n_spatial)
            tag_zarr(out.array, axes, scale, unit)
        yield out
        if store:
            mark_complete(tmp)
        elif not out.written:
            raise RuntimeError(f"image_output({path}): the result was never written")


class _Abandoned(Exception):
    """Thrown into a held output that is given up."""


class HeldOutput:
    """An :func:`image_output` held open across calls (e.g. while a cluster's workers write the
    blocks of ``.sink.tmp``): :meth:`complete` it (marker, move into place) or :meth:`abandon` it
    (the temporary is removed, an existing output kept)."""

    def __init__(self, path: str | Path, shape: Sequence[int], axes: str, **kw: Any) -> None:
        self._stack = ExitStack()
        self.sink: ImageOutput = self._stack.enter_context(image_output(path, shape, axes, **kw))

    def complete(self) -> None:
        self._stack.close()

    def abandon(self) -> None:
        self._stack.__exit__(_Abandoned, _Abandoned(), None)


def _holder_pid(lock: Path) -> str:
    try:
        return str(json.loads(lock.read_text()).get("pid", "?"))
    except (OSError, ValueError, AttributeError):
        return "?"


@contextmanager
def hold_for_run(target: str | Path, note: Note | None = None) -> Iterator[None]:
    """Keep ``target`` (a model file) to this run while it trains: a second run aimed at it is
    refused at its start rather than after hours. The lock is ``<target>.run.lock``; one left by a
    killed run is taken over."""
    target = Path(target).expanduser()
    pseudo = target.with_name(target.name + RUN_SUFFIX)
    say = note or logging.getLogger(__name__).warning
    try:
        token = acquire(pseudo, say)
    except N2VError:
        lock = lock_path(pseudo)
        raise N2VError(
            f"another run is training into {target} (pid {_holder_pid(lock)}): wait for it or "
            f"choose another --out (if no run is, delete {lock})"
        ) from None
    except OSError as err:
        raise describe_os_error(err, target.parent) from err
    try:
        yield
    finally:
        release(pseudo, token)
