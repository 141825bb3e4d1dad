"""Axes strings over S, T, C, Z, Y, X: validation and moving data to canonical order.

Canonical order is ``(S, C, Y, X)`` for 2D and ``(S, C, Z, Y, X)`` for 3D. ``S`` (samples) and ``T`` (time)
both become the sample axis; if both are present they are merged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload

import numpy as np

from napari_n2v.core.errors import N2VError

VALID = "STCZYX"


def validate_axes(axes: str, shape: Sequence[int] | None = None) -> str:
    """Return ``axes`` upper-cased after checking letters, duplicates, Y/X presence and (optionally) shape."""
    if not isinstance(axes, str) or not axes:
        raise N2VError("axes must be a non-empty string such as 'YX', 'ZYX' or 'TYX'.")
    ax = axes.upper()
    bad = sorted({a for a in ax if a not in VALID})
    if bad:
        raise N2VError(
            f"axes {axes!r} contain unknown letter(s) {', '.join(bad)}; use only S, T, C, Z, Y, X "
            "(S = samples, T = time, C = channels, Z = depth)."
        )
    dup = sorted({a for a in ax if ax.count(a) > 1})
    if dup:
        raise N2VError(
            f"axes {axes!r} repeat the letter(s) {', '.join(dup)}; each axis may appear once."
        )
    if "Y" not in ax or "X" not in ax:
        raise N2VError(f"axes {axes!r} must contain both Y and X.")
    if shape is not None and len(shape) != len(ax):
        raise N2VError(
            f"axes {axes!r} name {len(ax)} dimension(s) but the image has {len(shape)} "
            f"(shape {tuple(shape)}); give one letter per dimension."
        )
    return ax


def to_canonical(data: np.ndarray, axes: str) -> np.ndarray:
    """Move ``data`` (numpy or dask) with ``axes`` to ``(S, C, [Z,] Y, X)``; returns a view where possible."""
    ax = validate_axes(axes, data.shape)
    # Fold T into S: put S then T first and reshape.
    order = [ax.index(a) for a in "STCZYX" if a in ax]
    data = data.transpose(order)
    present = [a for a in "STCZYX" if a in ax]
    shape = dict(zip(present, data.shape, strict=True))
    s = shape.get("S", 1) * shape.get("T", 1)
    c = shape.get("C", 1)
    spatial = [shape[a] for a in "ZYX" if a in shape]
    return data.reshape((s, c, *spatial))


@overload
def per_axis(values: None, n: int, what: str) -> None: ...
@overload
def per_axis(values: Sequence[int], n: int, what: str) -> tuple[int, ...]: ...
def per_axis(values: Sequence[int] | None, n: int, what: str) -> tuple[int, ...] | None:
    """One number for every spatial axis, or one per axis: ``(64,)`` -> ``(64,) * n``; a wrong count is
    an N2VError naming ``what`` (e.g. 'tile_shape', '--block')."""
    if values is None:
        return None
    values = tuple(int(v) for v in values)
    if len(values) == 1:
        return values * n
    if len(values) != n:
        raise N2VError(f"{what} {values} needs one value or {n} (one per spatial axis).")
    return values
