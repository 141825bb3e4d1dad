"""Noise analysis from the noisy image alone: spatial autocorrelation, intensity dependence, verdict.

Signal: a Gaussian ``G`` over Y and X. Subtracting it turns the noise autocovariance ``c`` into
``c * g`` (``g``: autocorrelation of ``delta - G``), which would make white noise look anti-correlated;
a least-squares fit of ``c`` (zero beyond ``LAGS``) to the residual autocovariance up to ``DATA_LAGS``,
where ``g``'s tail pins down the noise power ``G`` removed, undoes it. Structure would look like
correlated noise; three guards keep it out: :func:`structure_mask` (edges), :meth:`Pooled.select`
(the least correlated half of the blocks: noise is alike everywhere, leftover structure only adds
correlation where it lies) and a broad pedestal in the fit (fine texture; its share is reported).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Iterator

import numpy as np
from scipy import fft as sfft
from scipy import ndimage as ndi

from ..axes import to_canonical, validate_axes
from ..errors import N2VError
from .footprint import extent_for_reach, format_blind_spot, reach_from_acf
from .report import NoiseReport, axis_values, noise_sentences

THRESHOLD = 0.1  #: default |acf| at or above which noise counts as correlated
LAGS, DATA_LAGS = 4, 8  #: lags of the reported acf / of the residual autocovariance fitted
SIGMA, RADIUS = 2.0, 4  #: the Gaussian signal estimate: sigma and truncation radius (pixels)
ENERGY_SIGMA, ENERGY_FACTOR, GRADIENT_MADS, DILATE = 3.0, 1.7, 5.0, 2  #: structure mask
N_BINS = 12  #: intensity bins of the structure mask and of the variance-vs-signal fit
MIN_SIDE = {"Z": 8, "Y": 32, "X": 32}
MIN_PIXELS = 4096
CROP = {2: (256, 256), 3: (16, 96, 96)}
BLOCK, KEEP_BLOCKS, MIN_BLOCKS = (16, 64, 64), 0.5, 8  #: blocks; share kept; fewest to choose
PIXEL_BUDGET = 1 << 19  #: most pixels analysed (random crops): bounds the time a large image takes
WINDOW = {2: (DATA_LAGS,) * 2, 3: (LAGS, DATA_LAGS, DATA_LAGS)}  #: fitted lags (Z is not smoothed)
_GAUSS = np.exp(-(np.arange(-RADIUS, RADIUS + 1) ** 2) / (2 * SIGMA**2))
_GAUSS /= _GAUSS.sum()


def canonical(image: np.ndarray, axes: str) -> tuple[np.ndarray, str]:
    """Check ``image`` against ``axes``; return it as ``(S, C, [Z,] Y, X)`` and its spatial axes."""
    arr = np.asarray(image)
    if arr.dtype.kind not in "uif":
        raise N2VError(f"image must hold real numbers, not {arr.dtype}.")
    ax = validate_axes(axes, arr.shape)
    data = to_canonical(arr, ax)
    spatial = "ZYX" if "Z" in ax else "YX"
    small = any(n < MIN_SIDE[a] for a, n in zip(spatial, data.shape[2:], strict=True))
    if small or data.size < MIN_PIXELS:
        need = ", ".join(f"{MIN_SIDE[a]} along {a}" for a in spatial)
        raise N2VError(
            f"image of shape {arr.shape} is too small to analyse its noise: it needs at least "
            f"{need}, and {MIN_PIXELS} pixels in all."
        )
    if not np.isfinite(data).all():
        raise N2VError("image holds NaN or infinite values; replace them before analysing noise.")
    if data.min() == data.max():
        raise N2VError("image is constant: there is no noise to analyse.")
    return data, spatial


def crops(shape: tuple[int, ...], rng: np.random.Generator) -> Iterator[tuple[int, tuple]]:
    """Random crops ``(c, index)`` of an ``(S, C, *spatial)`` array: about ``PIXEL_BUDGET``
    pixels in all, the same number per channel."""
    n_s, n_c, spatial = shape[0], shape[1], shape[2:]
    size = tuple(min(n, k) for n, k in zip(spatial, CROP[len(spatial)], strict=True))
    tiling = math.prod(spatial) / math.prod(size)
    k = max(1, min(PIXEL_BUDGET // (n_c * math.prod(size)), math.ceil(n_s * tiling)))
    for c in range(n_c):
        samples = rng.permutation(n_s)[:k] if size == spatial else rng.integers(0, n_s, k)
        for s in samples:
            lo = [int(rng.integers(0, n - m + 1)) for n, m in zip(spatial, size, strict=True)]
            yield c, (int(s), c, *(slice(a, a + m) for a, m in zip(lo, size, strict=True)))


def smooth(x: np.ndarray) -> np.ndarray:
    """The signal estimate: a truncated Gaussian over Y and X (never Z: coarse Z steps would leak)."""
    for ax in (-2, -1):
        x = ndi.correlate1d(x, _GAUSS, axis=ax, mode="nearest")
    return x


def _half(lags: tuple[int, ...]) -> np.ndarray:
    """Offsets in the box ``-lags..lags`` that are lexicographically >= 0, ``(K, d)``."""
    box = itertools.product(*(range(-n, n + 1) for n in lags))
    return np.array([m for m in box if m >= (0,) * len(lags)])


@functools.lru_cache(maxsize=2)
def _design(d: int) -> np.ndarray:
    """``A[k, m]``: residual autocovariance at lag ``k`` per unit of noise autocovariance at ``+-m``."""
    f = -np.multiply.outer(_GAUSS, _GAUSS)
    f[RADIUS, RADIUS] += 1.0  # delta - G
    g = ndi.correlate(np.pad(f, RADIUS), f, mode="constant")  # its autocorrelation, half 2*RADIUS
    half = LAGS + DATA_LAGS
    g = np.pad(g, half - 2 * RADIUS)
    if d == 3:  # no smoothing along Z: g is a delta there
        g = np.stack([g if z == half else np.zeros_like(g) for z in range(2 * half + 1)])
    k, m = _half(WINDOW[d])[:, None, :], _half((LAGS,) * d)[None, :, :]
    a = g[tuple(np.moveaxis(k - m + half, -1, 0))] + g[tuple(np.moveaxis(k + m + half, -1, 0))]
    a[:, 0] /= 2  # lag 0 has no mirror twin
    return a


def _blocks(a: np.ndarray) -> np.ndarray:
    """Split ``a`` into about ``BLOCK``-sized blocks, ``(n_blocks, *block)`` (remainders dropped)."""
    nb = [max(1, round(n / b)) for n, b in zip(a.shape, BLOCK[-a.ndim :], strict=True)]
    size = [n // k for n, k in zip(a.shape, nb, strict=True)]
    a = a[tuple(slice(0, k * b) for k, b in zip(nb, size, strict=True))]
    a = a.reshape([v for kb in zip(nb, size, strict=True) for v in kb])
    a = a.transpose([*range(0, a.ndim, 2), *range(1, a.ndim, 2)])
    return a.reshape(-1, *size)


class Pooled:
    """Autocovariances of residual blocks on the lag window ``-lags..lags``, each normalised by its
    residual variance; :meth:`select` pools the share of them with the least lag-1 correlation."""

    def __init__(self, lags: tuple[int, ...]) -> None:
        self.lags = lags
        self.nums: list[np.ndarray] = []  # per block: lag products / residual variance
        self.dens: list[np.ndarray] = []  # per block: pair counts
        self.counts: list[int] = []  # per block: pixels
        self.num = self.den = np.zeros(tuple(2 * n + 1 for n in lags))
        self.pixels = 0

    def add(self, r: np.ndarray, w: np.ndarray) -> bool:
        """Add residual ``r`` with weights ``w`` (0/1, same shape); False if nothing usable."""
        rb, wb = _blocks(r * w), _blocks(w)
        axes = tuple(range(1, rb.ndim))
        s = [sfft.next_fast_len(n + k, True) for n, k in zip(rb.shape[1:], self.lags, strict=True)]
        fr, fw = sfft.rfftn(rb, s, axes=axes), sfft.rfftn(wb, s, axes=axes)
        num = sfft.irfftn(fr.real**2 + fr.imag**2, s, axes=axes)
        den = sfft.irfftn(fw.real**2 + fw.imag**2, s, axes=axes)
        for ax, n, k in zip(axes, s, self.lags, strict=True):
            num = np.take(num, np.arange(-k, k + 1) % n, axis=ax)
            den = np.take(den, np.arange(-k, k + 1) % n, axis=ax)
        den = np.rint(den)
        n_before = len(self.counts)
        for nb, db, kept in zip(num, den, wb.sum(axis=axes), strict=True):
            if kept >= 16 and nb[self.lags] > 0:
                self.nums.append(nb / (nb[self.lags] / db[self.lags]))
                self.dens.append(db)
                self.counts.append(int(kept))
        return len(self.counts) > n_before

    def select(self, keep: float) -> None:
        """Pool the ``keep`` share of blocks with the lowest lag-1 correlation (all, if few)."""
        if not self.counts:
            return
        nums, dens, counts = np.stack(self.nums), np.stack(self.dens), np.array(self.counts)
        ones = [(slice(None), *o) for o in np.eye(len(self.lags), dtype=int) + self.lags]  # lag 1
        score = sum(nums[o] / np.maximum(dens[o], 1) for o in ones)
        chosen = score <= np.quantile(score, keep) if len(counts) >= MIN_BLOCKS else counts > 0
        self.num, self.den = nums[chosen].sum(axis=0), dens[chosen].sum(axis=0)
        self.pixels = int(counts[chosen].sum())

    def autocov(self) -> np.ndarray:
        return self.num / np.maximum(self.den, 1.0)

    def noise_autocov(self) -> tuple[np.ndarray, float, float]:
        """Fit the residual autocovariance as (noise autocovariance on ``-LAGS..LAGS``) * g plus a
        broad pedestal ``p0 + p1 q + p2 q**2``, ``q = |lag|**2 / DATA_LAGS**2`` (e.g. fine texture).
        Returns the noise autocovariance, residual variance and ``p0`` (pooled, normalised units)."""
        d, half = len(self.lags), _half(self.lags)
        rows, q = tuple((half + self.lags).T), (half**2).sum(axis=1) / DATA_LAGS**2
        a = np.concatenate([_design(d), np.stack([q**0, q, q**2], axis=1)], axis=1)
        a *= np.sqrt(self.den[rows])[:, None]
        sol = np.linalg.solve(a.T @ a, a.T @ (self.autocov()[rows] * np.sqrt(self.den[rows])))
        cov = np.zeros((2 * LAGS + 1,) * d)
        for m, v in zip(_half((LAGS,) * d), sol, strict=False):
            cov[tuple(LAGS + m)] = cov[tuple(LAGS - m)] = v
        return cov, float(self.autocov()[self.lags]), float(sol[-3])


def structure_mask(signal: np.ndarray, r: np.ndarray) -> np.ndarray:
    """1.0 where ``r`` looks like noise; 0.0 within ``RADIUS`` of the Y/X border and at structure:
    local residual energy above ``ENERGY_FACTOR`` times the lower quartile at that intensity (strong
    edges; a quartile is still noise where most pixels of an intensity lie near edges), or a signal
    gradient, in units of that noise, ``GRADIENT_MADS`` MADs above the median (faint long edges)."""
    energy = ndi.gaussian_filter(r * r, (0.0,) * (r.ndim - 2) + (ENERGY_SIGMA, ENERGY_SIGMA))
    bins = np.searchsorted(np.quantile(signal, np.linspace(0, 1, N_BINS + 1)[1:-1]), signal)
    q25 = [np.quantile(energy[bins == b], 0.25) if (bins == b).any() else 0 for b in range(N_BINS)]
    ref = np.array(q25)[bins]
    if not (ref > 0).any():  # flat (e.g. clipped) everywhere
        return np.zeros_like(r)
    grad = np.hypot(*np.gradient(signal, axis=(-2, -1))) / np.sqrt(np.maximum(ref, 1e-300))
    med = np.median(grad[ref > 0])
    spread = 1.4826 * np.median(np.abs(grad[ref > 0] - med))
    bad = (energy > ENERGY_FACTOR * ref) | (grad > med + GRADIENT_MADS * spread)
    keep = ~ndi.binary_dilation(bad, iterations=DILATE) & (ref > 0)
    keep[..., :RADIUS, :] = keep[..., -RADIUS:, :] = False
    keep[..., :RADIUS] = keep[..., -RADIUS:] = False
    return keep.astype(np.float64)


def intensity_fit(
    pairs: list[tuple[np.ndarray, np.ndarray]], kappa: float, crop_means: list[float]
) -> tuple[float, float, bool, float]:
    """Fit ``noise variance = gain * signal + offset`` over intensity bins of structure-free pixels.

    ``pairs``: their signal and squared residual, per crop; ``kappa``: noise variance per unit
    residual variance. Returns gain, offset, whether the variance changes by more than half over the
    intensities (and significantly), and the noise std averaged over the crops (NaNs if no pixels).
    """
    if not pairs:
        return math.nan, math.nan, False, math.nan
    signal, r2 = (np.concatenate(v) for v in zip(*pairs, strict=True))
    parts = np.array_split(np.argsort(signal), N_BINS)
    s = np.array([signal[p].mean() if p.size else np.nan for p in parts])
    v = np.array([kappa * r2[p].mean() if p.size else np.nan for p in parts])
    wt = np.sqrt([p.size for p in parts]) / np.maximum(v, 1e-30)  # sd(v) ~ v * sqrt(2 / n)
    x = np.stack([s, np.ones_like(s)], axis=1) * wt[:, None]
    if signal.size < 10 * N_BINS or not np.isfinite(x).all():
        return math.nan, math.nan, False, math.sqrt(kappa * float(np.mean(r2)))
    (gain, offset), *_ = np.linalg.lstsq(x, v * wt, rcond=None)
    chi2 = float(np.sum((x @ [gain, offset] - v * wt) ** 2)) / (N_BINS - 2)
    se = math.sqrt(np.linalg.inv(x.T @ x)[0, 0] * max(chi2, 2.0))
    span = float(np.quantile(signal, 0.95) - np.quantile(signal, 0.05))
    dependent = bool(gain > 3 * se and gain * span > 0.5 * float(np.mean(v)))
    var = gain * float(np.mean(crop_means)) + offset if dependent else kappa * float(np.mean(r2))
    return float(gain), float(offset), dependent, math.sqrt(max(float(var), 0.0))


def inspect_noise(
    image: np.ndarray,
    axes: str = "YX",
    *,
    threshold: float = THRESHOLD,
    rng: np.random.Generator | None = None,
    keep_blocks: float = KEEP_BLOCKS,
) -> NoiseReport:
    """Measure the noise of ``image`` from the image alone (see the module docstring for how).

    Parameters
    ----------
    image : numpy.ndarray
        Any shape named by ``axes``; at least 32 pixels along Y and X, 8 along Z, 4096 in all.
    axes : str
        Letters from STCZYX, one per dimension. S and T are samples, C channels, Z makes it 3D.
    threshold : float
        ``|autocorrelation|`` from which noise counts as correlated. 0.1: white noise on structured
        images measures below it, camera noise that defeats a 1-pixel blind spot (0.5+) far above.
    rng : numpy.random.Generator, optional
        Picks the crops of large images; ``default_rng(0)`` if not given.
    keep_blocks : float
        Share of residual blocks (the least correlated) the autocorrelation uses; 1 uses all.
    """
    if not (0 < threshold < 1 and 0 < keep_blocks <= 1):
        raise N2VError("threshold must lie in (0, 1) and keep_blocks in (0, 1].")
    rng = np.random.default_rng(0) if rng is None else rng
    data, spatial = canonical(image, axes)
    acc = Pooled(WINDOW[len(spatial)])
    kept: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(data.shape[1])]
    means: list[list[float]] = [[] for _ in kept]
    for c, idx in crops(data.shape, rng):
        x = np.asarray(data[idx], dtype=np.float64)
        r = x - (signal := smooth(x))
        w = structure_mask(signal, r)
        means[c].append(float(signal.mean()))
        if acc.add(r, w):
            kept[c].append((signal[w > 0], r[w > 0] ** 2))
    acc.select(keep_blocks)
    if acc.pixels < MIN_PIXELS // 4:
        msg = "too little of the image is free of structure to measure its noise; analyse a larger"
        raise N2VError(msg + " image, or a region with some background.")
    cov, resid_var, pedestal = acc.noise_autocov()
    centre = (LAGS,) * len(spatial)
    acf_map = cov / cov[centre]
    kappa = float(cov[centre]) / resid_var  # noise variance per unit residual variance
    fits = [intensity_fit(k, kappa, m) for k, m in zip(kept, means, strict=True)]
    gain, offset, dependent, std = (tuple(v) for v in zip(*fits, strict=True))
    thr = max(threshold, 4.0 / math.sqrt(acc.pixels))
    found = reach_from_acf(acf_map, thr)
    extent, capped = extent_for_reach(found)
    report = NoiseReport(
        axes=validate_axes(axes),
        spatial_axes=spatial,
        acf=axis_values(acf_map, spatial),
        acf_map=acf_map,
        verdict="correlated" if any(found) else "white",
        reach=found,
        gain=gain,
        offset=offset,
        signal_dependent=dependent,
        noise_std=std,
        blind_spot=format_blind_spot(extent),
        threshold=thr,
        n_pixels=acc.pixels,
        capped=capped,
        texture=pedestal / resid_var,
        sentences=(),
    )
    return dataclasses.replace(report, sentences=tuple(noise_sentences(report)))
