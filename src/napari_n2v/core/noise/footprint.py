"""The blind-spot spec shared by noise analysis, training and the CLI.

Grammar (case-insensitive, surrounding spaces ignored)::

    spec   := "auto" | "pixel" | box
    box    := odd ("x" odd){1,2}          e.g. "3x3", "5x5", "1x5", "5x1", "3x3x3", "1x1x5"
    odd    := 1 | 3 | 5 | ... | 15

* ``"auto"``: let :func:`napari_n2v.core.noise.inspect_noise` choose from the noisy data itself.
* ``"pixel"``: the classic Noise2Void blind spot, the masked pixel alone (same as ``"1x1"``).
* a box: the masked pixel and every pixel of a box centred on it are hidden from the network. Extents
  are given per spatial axis in ``(Z)YX`` order, so ``"1x5"`` is a line along X (extent 1 in Y, 5 in
  X) and ``"5x1"`` a line along Y. A 2-number box on 3D data applies in-plane (Z extent 1); a
  3-number box on 2D data is an error.

A box of extent ``2*r + 1`` along an axis hides the neighbours up to ``r`` pixels away, which is what
noise correlated over ``r`` pixels along that axis needs (see :func:`choose_blind_spot`).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np

from ..errors import N2VError

if TYPE_CHECKING:
    from .report import NoiseReport

#: Largest extent :func:`parse_blind_spot` accepts along any axis.
MAX_SPEC_EXTENT = 15
#: Largest extent :func:`choose_blind_spot` recommends: wider boxes hide too much of the context the
#: network predicts from.
MAX_CHOSEN_EXTENT = 7

_EXAMPLES = "'auto', 'pixel', '3x3', '1x5' (a line along X) or '3x3x3'"


def parse_blind_spot(spec: str, n_spatial: int) -> tuple[int, ...] | None:
    """Read a blind-spot spec for data with ``n_spatial`` (2 or 3) spatial axes.

    Parameters
    ----------
    spec : str
        See the module docstring for the grammar.
    n_spatial : int
        2 for YX data, 3 for ZYX data.

    Returns
    -------
    tuple of int or None
        ``None`` for ``"auto"``; otherwise one odd extent per spatial axis in ``(Z)YX`` order, all
        ones for ``"pixel"``, a leading 1 (Z) added to a 2-number box on 3D data.

    Raises
    ------
    N2VError
        For anything else, a 3-number box on 2D data, or an even, zero or too large extent.
    """
    if n_spatial not in (2, 3):
        raise ValueError(f"n_spatial must be 2 or 3, not {n_spatial}")
    if not isinstance(spec, str):
        raise N2VError(f"blind spot must be a string such as {_EXAMPLES}, not {spec!r}.")
    text = spec.strip().lower().replace("×", "x").replace(" ", "")
    if text == "auto":
        return None
    if text == "pixel":
        return (1,) * n_spatial
    parts = text.split("x")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise N2VError(f"blind spot {spec!r} is not understood; use {_EXAMPLES}.")
    extent = tuple(int(p) for p in parts)
    if len(extent) > n_spatial:
        raise N2VError(
            f"blind spot {spec!r} has 3 extents (ZYX) but the data are 2D; give two, e.g. '3x3'."
        )
    bad = [e for e in extent if e < 1 or e % 2 == 0 or e > MAX_SPEC_EXTENT]
    if bad:
        raise N2VError(
            f"blind spot {spec!r}: extents must be odd numbers from 1 to {MAX_SPEC_EXTENT} "
            f"(the box is centred on the pixel), not {bad[0]}."
        )
    return (1,) * (n_spatial - len(extent)) + extent


def blind_footprint(blind_spot: str, n_spatial: int) -> tuple[int, ...] | None:
    """A model's blind spot (``config.blind_spot``) as the box the blind classical filters leave out:
    None for one pixel."""
    extent = parse_blind_spot(blind_spot, n_spatial)
    return None if extent is None or all(e == 1 for e in extent) else extent


def format_blind_spot(extent: tuple[int, ...]) -> str:
    """The spec string for ``extent`` (``(Z)YX`` order): ``"pixel"`` for all ones, else ``"3x3"`` etc.

    A 3D extent with Z extent 1 is written in full (``"1x3x3"``) so that it reads the same on any data.
    """
    if not extent or any(e < 1 or e % 2 == 0 for e in extent):
        raise ValueError(f"extents must be positive odd integers, not {extent}")
    if all(e == 1 for e in extent):
        return "pixel"
    return "x".join(str(e) for e in extent)


def extent_for_reach(reach: tuple[int, ...]) -> tuple[tuple[int, ...], bool]:
    """The box ``2*reach + 1`` per axis, capped at :data:`MAX_CHOSEN_EXTENT`.

    Returns
    -------
    extent : tuple of int
        One odd extent per spatial axis.
    capped : bool
        Whether some axis needed more than the cap.
    """
    full = tuple(2 * int(r) + 1 for r in reach)
    extent = tuple(min(e, MAX_CHOSEN_EXTENT) for e in full)
    return extent, extent != full


def reach_from_acf(acf_map: np.ndarray, threshold: float) -> tuple[int, ...]:
    """Per axis, how far correlated noise reaches: the largest lag along that axis of an off-centre
    entry of ``acf_map`` (``(2L+1,) * D``, lag 0 at the centre) with ``|acf| >= threshold``."""
    big = np.abs(acf_map) >= threshold
    big[(acf_map.shape[0] // 2,) * acf_map.ndim] = False
    offs = np.abs(np.argwhere(big) - acf_map.shape[0] // 2)
    return tuple(int(v) for v in offs.max(axis=0)) if offs.size else (0,) * acf_map.ndim


def choose_blind_spot(report: NoiseReport) -> str:
    """The smallest box covering the noise correlation that ``report`` measured.

    ``"pixel"`` for white noise, else ``2*reach + 1`` per spatial axis (``report.reach``), capped at
    :data:`MAX_CHOSEN_EXTENT` per axis (the report's sentences say when the cap was hit).
    """
    extent, _ = extent_for_reach(report.reach)
    return format_blind_spot(extent)


def footprint_offsets(extent: tuple[int, ...]) -> np.ndarray:
    """Offsets of every pixel of the box ``extent`` except its centre.

    Parameters
    ----------
    extent : tuple of int
        Odd extents per spatial axis, ``(Y, X)`` or ``(Z, Y, X)``.

    Returns
    -------
    numpy.ndarray
        ``(K, D)`` int64, ``K = prod(extent) - 1``, ``D = len(extent)``, in C order; ``(0, D)`` for
        the 1-pixel blind spot.
    """
    if not extent or any(e < 1 or e % 2 == 0 for e in extent):
        raise ValueError(f"extents must be positive odd integers, not {extent}")
    ranges = [range(-(e // 2), e // 2 + 1) for e in extent]
    offs = [o for o in itertools.product(*ranges) if any(o)]
    return np.array(offs, dtype=np.int64).reshape(len(offs), len(extent))
