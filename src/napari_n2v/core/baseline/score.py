"""A denoiser's quality from the noisy image alone (Noise2Self), with a confidence interval.

For a J-invariant denoiser f (its output at a pixel never uses that pixel's noisy value) and zero-mean noise
independent across pixels, ``E|f(x) - x|^2 = E|f(x) - s|^2 + E|n|^2``: the mean squared difference between
the output and the noisy input ranks denoisers like the true MSE does. Pixels are correlated (by the
signal and by the filter), so the interval comes from the spread of per-block sums over spatial blocks, not
from a per-pixel standard error. ``masked_score`` scores denoisers that are not J-invariant (a network) by
hiding a sparse set of pixels from them, as Noise2Void training does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np

from ..errors import N2VError
from .filters import canonical, check_finite, footprint_half, from_canonical

BLOCK = 16  # edge of the spatial blocks whose sums give the confidence interval
MIN_BLOCKS = 8  # fewer blocks than this give no usable interval
LEVEL = 0.95


@dataclass(frozen=True)
class Score:
    """Mean squared difference to the noisy image over the scored pixels, with a 95% interval.

    ``block_sums`` / ``block_counts`` (shape (B,)) are the squared differences and pixel counts per
    spatial block; ``grid`` names the block layout. Two scores with the same grid are compared block by
    block (paired), which cancels the noise term shared by both.
    """

    mean: float
    ci_low: float
    ci_high: float
    n: int
    block_sums: np.ndarray | None = field(default=None, repr=False, compare=False)
    block_counts: np.ndarray | None = field(default=None, repr=False, compare=False)
    grid: tuple[int, ...] = field(default=(), repr=False, compare=False)

    @property
    def se(self) -> float:
        """Standard error of ``mean`` (from the interval's half width)."""
        return (self.ci_high - self.ci_low) / (2 * _z(LEVEL))


def _z(level: float) -> float:
    return NormalDist().inv_cdf(0.5 + level / 2)


def _t(level: float, dof: int) -> float:
    from scipy.special import stdtrit

    return float(stdtrit(dof, 0.5 + level / 2))


def block_ids(n_samples: int, spatial: tuple[int, ...], block: int) -> tuple[np.ndarray, int]:
    """Block index of every pixel, shape (S, *spatial), and the number of blocks.

    Blocks are ``block`` pixels per spatial dim; a remainder is merged into the last block of its row.
    """
    nb = [max(1, p // block) for p in spatial]
    ids = np.zeros((1,) * len(spatial), np.int64)
    for d, (p, n) in enumerate(zip(spatial, nb, strict=True)):
        idx = np.minimum(np.arange(p) // block, n - 1)
        ids = ids * n + idx.reshape([-1 if i == d else 1 for i in range(len(spatial))])
    per_sample = math.prod(nb)
    ids = ids + per_sample * np.arange(n_samples).reshape((-1,) + (1,) * len(spatial))
    return ids, per_sample * n_samples


def score_from_blocks(sums: np.ndarray, counts: np.ndarray, grid: tuple[int, ...]) -> Score:
    """A ``Score`` from per-block squared-difference sums and pixel counts (empty blocks ignored)."""
    used = counts > 0
    b = int(used.sum())
    if b < MIN_BLOCKS:
        raise N2VError(
            f"too few pixels to score: {b} block(s) of {grid[-1]} pixels hold scored pixels, "
            f"{MIN_BLOCKS} are needed; use a larger image (at least 64x64) or a larger mask."
        )
    total = float(counts.sum())
    mean = float(sums.sum() / total)
    resid = sums[used] - mean * counts[used]
    se = math.sqrt(b / (b - 1) * float(np.sum(resid**2))) / total
    half = _t(LEVEL, b - 1) * se
    return Score(mean, mean - half, mean + half, round(total), sums, counts, grid)


def self_supervised_score(
    noisy: np.ndarray,
    prediction_blind: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    axes: str | None = None,
    block: int = BLOCK,
) -> Score:
    """Noise2Self score of a J-invariant prediction: mean of ``(prediction - noisy)^2`` with a 95% CI.

    Parameters
    ----------
    noisy, prediction_blind
        Arrays of one shape, e.g. (Y, X) or laid out as ``axes``. The prediction must be J-invariant
        (a blind filter); otherwise use ``masked_score``.
    mask
        Optional boolean array of that shape: score only where True.
    axes
        Axes string (S, T, C, Z, Y, X); None means the last two dims are YX and leading dims samples.
    block
        Edge of the spatial blocks for the interval (channels of a pixel share its block).

    Returns
    -------
    Score
        Lower is better; ``mean`` estimates MSE-to-clean plus the noise variance.
    """
    x, p = np.asarray(noisy), np.asarray(prediction_blind)
    if x.shape != p.shape:
        raise N2VError(f"prediction shape {p.shape} differs from the image shape {x.shape}.")
    check_finite(x, "image")
    check_finite(p, "prediction")
    xc = canonical(x, axes).astype(np.float64)
    sq = (canonical(p, axes) - xc) ** 2
    if mask is None:
        w = np.ones(sq.shape)
    else:
        m = np.asarray(mask, bool)
        if m.shape != x.shape:
            raise N2VError(f"mask shape {m.shape} differs from the image shape {x.shape}.")
        w = canonical(m, axes).astype(np.float64)
        sq = sq * w
    ids, nb = block_ids(sq.shape[0], sq.shape[2:], block)
    ids = np.broadcast_to(ids[:, None], sq.shape).ravel()
    sums = np.bincount(ids, weights=sq.ravel(), minlength=nb)
    counts = np.bincount(ids, weights=w.ravel(), minlength=nb)
    return score_from_blocks(sums, counts, (*xc.shape, block))


def difference(a: Score, b: Score) -> tuple[float, float, float]:
    """``a.mean - b.mean`` and its 95% interval, paired block by block when both share a grid."""
    d = a.mean - b.mean
    paired = (
        a.block_sums is not None
        and b.block_sums is not None
        and a.block_counts is not None
        and b.block_counts is not None
        and a.grid == b.grid
        and a.grid != ()
    )
    if not paired:
        half = _z(LEVEL) * math.hypot(a.se, b.se)
        return d, d - half, d + half
    assert a.block_sums is not None and a.block_counts is not None
    assert b.block_sums is not None and b.block_counts is not None
    used = (a.block_counts > 0) | (b.block_counts > 0)
    # Linearised ratio estimators: each block's contribution to a.mean minus its contribution to b.mean.
    e = (a.block_sums - a.mean * a.block_counts) / a.block_counts.sum() - (
        b.block_sums - b.mean * b.block_counts
    ) / b.block_counts.sum()
    e = e[used]
    k = len(e)
    se = math.sqrt(k / (k - 1) * float(np.sum(e**2)))
    half = _t(LEVEL, k - 1) * se
    return d, d - half, d + half


def compare(a: Score, b: Score) -> str:
    """``'a'`` or ``'b'`` for the better (lower) score, ``'tie'`` when the difference's 95% CI holds 0."""
    _, lo, hi = difference(a, b)
    if hi < 0:
        return "a"
    if lo > 0:
        return "b"
    return "tie"


def db_gap(a: Score, b: Score, noise_var: float) -> float:
    """Approximate PSNR of a's output minus b's in dB (positive: a is better).

    ``score - noise_var`` estimates each MSE; ``10 log10(mse_b / mse_a)``. An MSE estimate below
    ``noise_var / 100`` (noise in the score or an overestimated variance) counts as ``noise_var / 100``.
    """
    if not noise_var > 0:
        raise N2VError(f"noise variance must be positive, got {noise_var}.")
    floor = noise_var / 100
    mse_a, mse_b = max(a.mean - noise_var, floor), max(b.mean - noise_var, floor)
    return float(10 * math.log10(mse_b / mse_a))


def _box(half: Sequence[int], pad: int = 0) -> np.ndarray:
    """All offsets of the box ``[-h - pad, h + pad]`` per dim, shape (K, D)."""
    grids = np.meshgrid(*[np.arange(-h - pad, h + pad + 1) for h in half], indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=-1)


def _centres(
    spatial: Sequence[int], cell: Sequence[int], margin: Sequence[int], rng: np.random.Generator
) -> np.ndarray:
    """One position per grid cell, ``margin`` or more from the cell's edges; the grid is rolled by a
    random cyclic shift, so every pixel is equally likely. Returns (N, D) int64."""
    lo, hi = [], []
    for p, k, m in zip(spatial, cell, margin, strict=True):
        start = np.arange(0, p, k)
        a, b = start + m, np.minimum(start + k, p) - m
        lo.append(a[b > a])
        hi.append(b[b > a])
    glo = np.stack([g.ravel() for g in np.meshgrid(*lo, indexing="ij")], axis=-1)
    ghi = np.stack([g.ravel() for g in np.meshgrid(*hi, indexing="ij")], axis=-1)
    if len(glo) == 0:
        raise N2VError(f"the image ({tuple(spatial)}) is too small to mask with this footprint.")
    pos = glo + (rng.random(glo.shape) * (ghi - glo)).astype(np.int64)
    return (pos + rng.integers(0, spatial)) % np.asarray(spatial)


def masked_score(
    predict_fn: Callable[[np.ndarray], np.ndarray],
    noisy: np.ndarray,
    rng: np.random.Generator,
    n_passes: int = 4,
    fraction: float = 0.02,
    footprint: Sequence[int] | None = None,
    *,
    axes: str | None = None,
    radius: int = 2,
    block: int = BLOCK,
) -> Score:
    """Score any denoiser (e.g. a network) at pixels it could not see, as in Noise2Void training.

    Each pass picks about ``fraction`` of the pixels, one per grid cell (centres are kept apart so one
    centre's replacements never come from another's footprint); replaces the footprint box around each
    by values from random neighbours outside that box (within ``radius`` of it); calls
    ``predict_fn(masked)``; and scores the prediction against the noisy values at the centres.

    Parameters
    ----------
    predict_fn
        Array of the image's shape -> prediction of the same shape.
    noisy
        The image, e.g. (Y, X) or laid out as ``axes``.
    rng
        Random generator for the positions and replacements.
    n_passes, fraction
        Masking passes and the fraction of pixels masked per pass (less for wide footprints: grid
        cells are at least ``2 * (h + ceil(radius / 2)) + 1`` wide, h the footprint's half width).
    footprint
        Odd box edges per spatial dim hidden around each centre, e.g. (3, 3) for noise correlated
        between neighbours; None hides the centre alone.
    axes, block
        As in ``self_supervised_score``.
    """
    x = np.asarray(noisy)
    check_finite(x, "image")
    if not 0 < fraction <= 0.25 or n_passes < 1:
        raise N2VError(
            f"masked_score needs 0 < fraction <= 0.25 and n_passes >= 1, got "
            f"{fraction} and {n_passes}."
        )
    xc = canonical(x, axes)
    n_s, spatial = xc.shape[0], xc.shape[2:]
    half = footprint_half(footprint, len(spatial))
    margin = [h + (radius + 1) // 2 for h in half]
    side = round(fraction ** (-1 / len(spatial)))
    cell = [max(side, 2 * m + 1) for m in margin]
    box = _box(half)
    src = _box(half, radius)
    src = src[(np.abs(src) > np.asarray(half)).any(axis=1)]
    size = np.asarray(spatial)
    ids, nb = block_ids(n_s, spatial, block)
    sums, counts = np.zeros(nb), np.zeros(nb)
    for _ in range(n_passes):
        masked = xc.copy()
        centres = []
        for s in range(n_s):
            c = _centres(spatial, cell, margin, rng)
            tgt = c[:, None] + box  # (N, F, D): the hidden pixels
            off = src[rng.integers(len(src), size=tgt.shape[:2])]
            pos = c[:, None] + off
            pos = np.where((pos < 0) | (pos >= size), c[:, None] - off, pos)  # reflect via centre
            pos = np.clip(pos, 0, size - 1)
            ok = ((tgt >= 0) & (tgt < size)).all(axis=-1)
            to: tuple[Any, ...] = (slice(None), *tgt[ok].T)
            src_at: tuple[Any, ...] = (slice(None), *pos[ok].T)
            masked[s][to] = xc[s][src_at]
            centres.append(c)
        pred = np.asarray(predict_fn(np.ascontiguousarray(from_canonical(masked, axes, x.shape))))
        if pred.shape != x.shape:
            raise N2VError(f"predict_fn returned shape {pred.shape}; it must return {x.shape}.")
        pc = canonical(pred, axes)
        for s, c in enumerate(centres):
            at: tuple[Any, ...] = (slice(None), *c.T)
            p = pc[s][at].astype(np.float64)
            check_finite(p, "prediction")
            np.add.at(sums, ids[s][tuple(c.T)], ((p - xc[s][at]) ** 2).sum(axis=0))
            np.add.at(counts, ids[s][tuple(c.T)], xc.shape[1])
    return score_from_blocks(sums, counts, (*xc.shape, block))
