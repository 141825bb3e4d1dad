"""A large array cut into blocks with a halo for the workers of a cluster: what each reads and writes."""

from __future__ import annotations

import itertools
from collections.abc import Sequence


def plan_blocks(
    shape: Sequence[int], axes: str, is_3d: bool, m: int, halo: Sequence[int], block: Sequence[int]
) -> tuple[tuple[int, ...], list[tuple[tuple, tuple]]]:
    """Output chunks and (read, write) slices per block, in the array's own axes.

    Sample axes (S, T; Z for a 2D model) get blocks of 1, channels stay whole, spatial axes are cut
    into ``block`` (rounded up to ``m``) and read with ``halo`` more on each side, clipped at the
    image: a block starts on a multiple of ``m``, so each pixel sees the context a tile would give it.
    """
    from napari_n2v.core.layout import Layout
    from napari_n2v.core.predict.tiling import round_up

    lay = Layout.create(axes, shape, is_3d)
    sizes = dict(zip(lay.spatial_letters, block, strict=True))
    halos = dict(zip(lay.spatial_letters, halo, strict=True))
    chunks, ranges = [], []
    for a, n in zip(lay.axes, shape, strict=True):
        if a in lay.spatial_letters:
            b = min(n, round_up(sizes[a], m))
            h = round_up(halos[a], m)
        else:
            b, h = (n, 0) if a == "C" else (1, 0)
        chunks.append(b)
        ranges.append([(s, min(s + b, n), h, n) for s in range(0, n, b)])
    plans = []
    for combo in itertools.product(*ranges):
        write = tuple(slice(s, e) for s, e, _, _ in combo)
        read = tuple(slice(max(0, s - h), min(n, e + h)) for s, e, h, n in combo)
        plans.append((read, write))
    return tuple(chunks), plans
