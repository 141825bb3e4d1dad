"""Classical denoisers over the spatial axes, plain and J-invariant ("blind"), and the image layout
helpers the score shares with them.

A blind filter's output at a pixel never uses the noisy values inside a footprint box around that pixel
(the pixel alone by default), so its Noise2Self score is valid: the Gaussian's kernel gets a hole there and
is renormalised, the median skips those values. S, T and C axes are filtered independently.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import ndimage

from ..axes import to_canonical, validate_axes
from ..errors import N2VError

TRUNCATE = (
    4.0  # Gaussian kernels reach TRUNCATE * sigma, as scipy.ndimage.gaussian_filter's default
)


def canonical(data: np.ndarray, axes: str | None) -> np.ndarray:
    """``data`` as ``(S, C, [Z,] Y, X)``. ``axes=None``: the last two dims are YX, leading dims samples."""
    if axes is None:
        if data.ndim < 2:
            raise N2VError(f"the image has {data.ndim} dimension(s); give at least Y and X.")
        return data.reshape(-1, 1, *data.shape[-2:])
    return to_canonical(data, axes)


def from_canonical(data: np.ndarray, axes: str | None, shape: tuple[int, ...]) -> np.ndarray:
    """Undo ``canonical``: ``(S, C, [Z,] Y, X)`` back to ``shape`` laid out as ``axes``."""
    if axes is None:
        return data.reshape(shape)
    ax = validate_axes(axes, shape)
    order = [ax.index(a) for a in "STCZYX" if a in ax]
    return data.reshape([shape[i] for i in order]).transpose(np.argsort(order))


def spatial_axes(shape: tuple[int, ...], axes: str | None) -> tuple[int, ...]:
    """Indices of the Z, Y, X dims of an array of ``shape`` (``axes=None``: the last two)."""
    if axes is None:
        if len(shape) < 2:
            raise N2VError(f"the image has {len(shape)} dimension(s); give at least Y and X.")
        return (len(shape) - 2, len(shape) - 1)
    ax = validate_axes(axes, shape)
    return tuple(ax.index(a) for a in "ZYX" if a in ax)


def check_finite(x: np.ndarray, what: str) -> None:
    """Raise ``N2VError`` if ``x`` holds NaN or infinite values."""
    if not np.all(np.isfinite(x)):
        raise N2VError(f"the {what} contains NaN or infinite values; replace them before scoring.")


def footprint_half(footprint: Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    """Half widths of the footprint box (one odd edge per spatial dim); None is the centre alone."""
    if footprint is None:
        return (0,) * ndim
    fp = tuple(int(f) for f in footprint)
    if len(fp) != ndim or any(f < 1 or f % 2 == 0 for f in fp):
        raise N2VError(
            f"footprint {tuple(footprint)} must give one odd size per spatial dimension "
            f"({ndim} here), e.g. {(3,) * ndim}."
        )
    return tuple(f // 2 for f in fp)


def estimate_noise_var(
    noisy: np.ndarray, axes: str | None = None, footprint: Sequence[int] | None = None
) -> float:
    """Noise variance from the median absolute value of a 2x2 (Haar diagonal) residual over YX.

    Each residual ``(x[i, j] - x[i, j+k] - x[i+k, j] + x[i+k, j+k]) / 2`` has the noise's variance when
    the four pixels' noise is independent, and little signal; the median makes edges harmless. The
    spacing ``k`` is 1, or one more than the footprint's half width in Y and X for noise correlated
    within the footprint.
    """
    x = canonical(np.asarray(noisy), axes)
    check_finite(x, "image")
    half = footprint_half(footprint, x.ndim - 2)
    ky, kx = half[-2] + 1, half[-1] + 1
    if x.shape[-2] <= ky or x.shape[-1] <= kx:
        raise N2VError(f"the image {x.shape[2:]} is too small to estimate its noise.")
    x = x.astype(np.float64)
    d = (x[..., :-ky, :-kx] - x[..., :-ky, kx:] - x[..., ky:, :-kx] + x[..., ky:, kx:]) / 2
    var = (np.median(np.abs(d)) / 0.6744897501960817) ** 2
    return float(var if var > 0 else np.mean(d**2))  # mostly flat (e.g. quantised) images


def _float(img: np.ndarray) -> np.ndarray:
    x = np.asarray(img)
    check_finite(x, "image")
    return x.astype(np.float64 if x.dtype == np.float64 else np.float32, copy=False)


def _per_dim(value: float | Sequence[float], n: int, what: str) -> tuple[float, ...]:
    if isinstance(value, (int, float, np.number)):
        v: tuple[float, ...] = (float(value),) * n
    else:
        v = tuple(float(a) for a in value)
    if len(v) != n or not all(a > 0 for a in v):
        raise N2VError(
            f"{what} must be positive, one value or one per spatial dim ({n}); got {value}."
        )
    return v


def _kernel1d(sigma: float) -> np.ndarray:
    r = int(TRUNCATE * sigma + 0.5)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    return k / k.sum()


def gaussian(
    img: np.ndarray, sigma: float | Sequence[float], axes: str | None = None
) -> np.ndarray:
    """Ordinary Gaussian blur over the spatial axes (mirror-reflected edges), same dtype rules as blind."""
    x = _float(img)
    sp = spatial_axes(x.shape, axes)
    return ndimage.gaussian_filter(x, _per_dim(sigma, len(sp), "sigma"), truncate=TRUNCATE, axes=sp)


def blind_gaussian(
    img: np.ndarray,
    sigma: float | Sequence[float],
    axes: str | None = None,
    footprint: Sequence[int] | None = None,
) -> np.ndarray:
    """J-invariant Gaussian blur: the kernel without its ``footprint`` box, renormalised per pixel.

    Outside the image the kernel meets zeros and is renormalised over what is left (reflecting the image
    would bring a pixel's own value back into its kernel near the edges).

    Parameters
    ----------
    img
        Image, e.g. (Y, X) or laid out as ``axes``.
    sigma
        Standard deviation in pixels, one value or one per spatial dim.
    axes
        Axes string; None means the last two dims are YX.
    footprint
        Odd box edges per spatial dim left out around each pixel; None leaves out the pixel only.

    Returns
    -------
    np.ndarray
        Float array of ``img``'s shape.
    """
    x = _float(img)
    sp = spatial_axes(x.shape, axes)
    sig = _per_dim(sigma, len(sp), "sigma")
    half = footprint_half(footprint, len(sp))
    kernels = [_kernel1d(s) for s in sig]
    if all(len(k) // 2 <= h for k, h in zip(kernels, half, strict=True)):
        raise N2VError(f"sigma {sigma} is too small for footprint {footprint}; use a larger sigma.")
    full, box = x, x
    den_full, den_box = np.ones((), np.float64), np.ones((), np.float64)
    for ax, k, h in zip(sp, kernels, half, strict=True):
        r = len(k) // 2
        kb = k[max(0, r - h) : r + h + 1]
        full = ndimage.correlate1d(full, k, axis=ax, mode="constant")
        box = ndimage.correlate1d(box, kb, axis=ax, mode="constant")
        ones = np.ones(x.shape[ax])
        shape = [x.shape[a] if a == ax else 1 for a in range(x.ndim)]
        den_full = den_full * ndimage.correlate1d(ones, k, mode="constant").reshape(shape)
        den_box = den_box * ndimage.correlate1d(ones, kb, mode="constant").reshape(shape)
    return ((full - box) / (den_full - den_box)).astype(x.dtype, copy=False)


def _size(size: int, half: tuple[int, ...]) -> int:
    if int(size) != size or size < 3 or size % 2 == 0 or size <= 2 * max(half) + 1:
        raise N2VError(
            f"median size {size} must be odd, >= 3 and larger than the footprint; use e.g. "
            f"{2 * max(half) + 3}."
        )
    return int(size)


def median(img: np.ndarray, size: int, axes: str | None = None) -> np.ndarray:
    """Ordinary median filter over a ``size``-wide box of the spatial axes (reflected edges)."""
    x = _float(img)
    sp = spatial_axes(x.shape, axes)
    return ndimage.median_filter(x, size=_size(size, (0,)), axes=sp)


def blind_median(
    img: np.ndarray,
    size: int,
    axes: str | None = None,
    footprint: Sequence[int] | None = None,
) -> np.ndarray:
    """J-invariant median: the median of a ``size``-wide box without the ``footprint`` box.

    Edges wrap around (any reflection would bring a pixel's own value back into its neighbourhood).
    """
    x = _float(img)
    sp = spatial_axes(x.shape, axes)
    half = footprint_half(footprint, len(sp))
    n = _size(size, half)
    fp = np.ones((n,) * len(sp), bool)
    c = n // 2
    fp[tuple(slice(c - h, c + h + 1) for h in half)] = False
    return ndimage.median_filter(x, footprint=fp, mode="wrap", axes=sp)


def _each_image(
    img: np.ndarray, axes: str | None, fn: Callable[[np.ndarray], np.ndarray], max_dims: int
) -> np.ndarray:
    """Apply ``fn`` to every 2D or 3D (``max_dims``) spatial image of ``img``; S, T, C, (Z) looped."""
    x = _float(img)
    sp = spatial_axes(x.shape, axes)
    last = tuple(range(x.ndim - len(sp), x.ndim))
    y = np.moveaxis(x, sp, last)
    keep = min(len(sp), max_dims)
    flat = y.reshape(-1, *y.shape[y.ndim - keep :])
    out = np.stack([np.asarray(fn(a), dtype=x.dtype) for a in flat]).reshape(y.shape)
    return np.moveaxis(out, last, sp)


def nl_means(img: np.ndarray, h: float, axes: str | None = None, sigma: float = 0.0) -> np.ndarray:
    """Non-local means (scikit-image, fast mode, 5-pixel patches searched within 6 pixels).

    ``h`` is the filtering strength and ``sigma`` the noise standard deviation, in image units. Not
    J-invariant: score it with ``masked_score``.
    """
    try:
        from skimage.restoration import denoise_nl_means
    except ImportError as e:  # pragma: no cover - scikit-image comes with napari
        raise N2VError("non-local means needs scikit-image: pip install scikit-image.") from e

    def one(a: np.ndarray) -> np.ndarray:
        return denoise_nl_means(a, 5, 6, h=h, sigma=sigma, fast_mode=True, preserve_range=True)

    return _each_image(img, axes, one, 3)


def bm3d_filter(img: np.ndarray, sigma: float, axes: str | None = None) -> np.ndarray:
    """BM3D (the optional ``bm3d`` package) with noise standard deviation ``sigma``, per 2D image.

    Not J-invariant: score it with ``masked_score``.
    """
    try:
        import bm3d
    except ImportError as e:
        raise N2VError(
            "the BM3D baseline needs the optional package bm3d: pip install bm3d."
        ) from e
    if not sigma > 0 or not math.isfinite(sigma):
        raise N2VError(f"BM3D needs a positive noise sigma, got {sigma}.")
    return _each_image(img, axes, lambda a: bm3d.bm3d(a, sigma_psd=sigma), 2)
