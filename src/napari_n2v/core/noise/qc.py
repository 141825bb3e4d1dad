"""Judge a denoised result without a clean image.

The residual ``r = noisy - denoised`` of a good result is the noise: as strong as the noise that
:func:`~napari_n2v.core.noise.inspect_noise` measures on the noisy image, correlated only as the noise
is, and unrelated to the result's structure. What each departure means:

* residual much weaker than the noise: the result kept most of the noise (barely denoised);
* residual much stronger than the noise: the result lost signal;
* residual correlated with the result's detail nearby: structure leaked into the residual
  (over-smoothing). The detail is a ring band-pass of the result that skips the pixel's own
  neighbourhood (beyond the noise's reach), so noise left in the result does not count as structure;
  not judged when the residual is much weaker than the noise (a network's wide filtering of the noise
  it kept reaches past that neighbourhood);
* noise correlated between pixels: a 1-pixel blind spot learns it; a box must hide its reach;
* validation loss still falling at the end: training stopped early.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from ..axes import to_canonical
from ..errors import N2VError
from .analysis import LAGS, THRESHOLD, Pooled, canonical, crops, inspect_noise
from .footprint import parse_blind_spot, reach_from_acf
from .report import NoiseReport, axis_values, qc_table

#: residual std / noise std: below LOW the result kept noise (below BARELY: almost all of it),
#: above HIGH it lost signal
BARELY, LOW, HIGH = 0.5, 0.8, 1.3
STRUCTURE = 0.1  #: correlation of the residual with the result's nearby detail that flags structure
SMOOTH_RADIUS = 3  #: radius of the residual's smoothing (sigma 1) before that correlation
PLATEAU_DROP = 0.01  #: relative fall over the last third of the validation losses: still level


@dataclass(frozen=True, eq=False)
class QCReport:
    """What :func:`qc` found.

    Attributes
    ----------
    axes : str
        The axes of the images (upper case).
    acf : dict of str to tuple of float
        Residual autocorrelation along each spatial axis at lags 1..4; ``acf_map`` the window
        ``(9, 9)`` or ``(9, 9, 9)`` (lag 0 at the centre).
    reach : tuple of int
        Per spatial axis, how far the residual's correlation reaches (see ``footprint``).
    residual_std, noise_std, std_ratio : tuple of float
        Per channel: the residual's std, the noise std of the noisy image, and their ratio (1 is
        ideal).
    structure : float
        Correlation of the residual with the result's detail around each pixel (0 is ideal); NaN
        (not judged) when the residual is much weaker than the noise.
    val_plateau : bool or None
        Whether the validation loss had stopped falling; None without a history.
    blind_spot : str
        The blind spot the noise calls for (from the noise analysis of the input).
    findings : tuple of str
        Plain sentences, each with what to do.
    ok : bool
        No problem found.
    """

    axes: str
    acf: dict[str, tuple[float, ...]]
    acf_map: np.ndarray
    reach: tuple[int, ...]
    residual_std: tuple[float, ...]
    noise_std: tuple[float, ...]
    std_ratio: tuple[float, ...]
    structure: float
    val_plateau: bool | None
    blind_spot: str
    findings: tuple[str, ...]
    ok: bool

    def table(self) -> str:
        """The report as plain text, for the CLI."""
        return qc_table(
            ok=self.ok,
            acf=self.acf,
            std_ratio=self.std_ratio,
            structure=self.structure,
            val_plateau=self.val_plateau,
            findings=self.findings,
        )


def _smooth_in_plane(r: np.ndarray) -> np.ndarray:
    """A small Gaussian over Y and X: averages noise down so that structure stands out."""
    sigma = (0.0,) * (r.ndim - 2) + (1.0, 1.0)
    return ndi.gaussian_filter(r, sigma, truncate=float(SMOOTH_RADIUS))


def _ring_detail(d: np.ndarray, inner: int) -> np.ndarray:
    """In-plane band-pass of ``d`` blind to its ``inner - 1`` neighbourhood: mean over the square
    ring ``inner..inner+2`` minus the mean over ``inner+3..inner+6`` (Chebyshev radii)."""

    def box_sum(radius: int) -> np.ndarray:
        if radius < 0:
            return np.zeros_like(d)
        size = (1,) * (d.ndim - 2) + (2 * radius + 1,) * 2
        return ndi.uniform_filter(d, size, mode="reflect") * (2 * radius + 1) ** 2

    def ring(lo: int, hi: int) -> np.ndarray:
        return (box_sum(hi) - box_sum(lo - 1)) / ((2 * hi + 1) ** 2 - (2 * lo - 1) ** 2)

    return ring(inner, inner + 2) - ring(inner + 3, inner + 6)


def val_plateau(history: Sequence[float]) -> bool | None:
    """Whether validation losses (in order) had stopped falling: over the last third (at least 4),
    the fitted line falls by less than ``PLATEAU_DROP`` of the level, or not significantly.
    None when there are fewer than 6 values."""
    h = np.asarray(history, dtype=np.float64)
    if h.size < 6 or not np.isfinite(h).all():
        return None
    tail = h[-max(4, h.size // 3) :]
    t = np.arange(tail.size, dtype=np.float64)
    slope, icept = np.polyfit(t, tail, 1)
    scatter = np.std(tail - (slope * t + icept)) / math.sqrt(np.sum((t - t.mean()) ** 2))
    drop = -slope * (tail.size - 1) / max(abs(float(tail.mean())), 1e-12)
    return not (drop > PLATEAU_DROP and -slope > 2 * scatter)


def qc(
    noisy: np.ndarray,
    denoised: np.ndarray,
    axes: str = "YX",
    noise: NoiseReport | None = None,
    val_history: Sequence[float] | None = None,
    *,
    blind_spot: str | None = None,
    rng: np.random.Generator | None = None,
) -> QCReport:
    """Check a denoising result against its input alone.

    Parameters
    ----------
    noisy, denoised : numpy.ndarray
        The input and the result, same shape, named by ``axes`` (letters from STCZYX).
    axes : str
        One letter per dimension.
    noise : NoiseReport, optional
        :func:`inspect_noise` of ``noisy``; measured here if not given.
    val_history : sequence of float, optional
        Validation losses in training order; checks that training had levelled off.
    blind_spot : str, optional
        The blind spot the model was trained with; if it covers the noise's correlation, correlated
        noise is not reported as a problem.
    rng : numpy.random.Generator, optional
        Picks the crops of large images; ``default_rng(0)`` if not given.
    """
    if np.shape(noisy) != np.shape(denoised):
        raise N2VError(
            f"denoised result has shape {np.shape(denoised)} but the input {np.shape(noisy)}; "
            "pass the result of denoising this very image."
        )
    x, spatial = canonical(noisy, axes)
    if blind_spot is not None:
        parse_blind_spot(blind_spot, len(spatial))  # a bad spec fails here, whatever the noise
    d = to_canonical(np.asarray(denoised), axes)
    if not np.isfinite(d).all():
        raise N2VError("denoised result holds NaN or infinite values; check the model and input.")
    noise = inspect_noise(noisy, axes, rng=rng) if noise is None else noise
    acc = Pooled((LAGS,) * len(spatial))
    inner = max(*noise.reach, 0) + 2 + SMOOTH_RADIUS
    sums = np.zeros((x.shape[1], 2))  # per channel: sum of r**2, pixel count
    rb = [0.0, 0.0]  # pooled correlation of r with the ring detail: sum, pixels
    for c, idx in crops(x.shape, np.random.default_rng(0) if rng is None else rng):
        xc, dc = (np.asarray(a[idx], dtype=np.float64) for a in (x, d))
        r = xc - dc
        sums[c] += (np.sum(r * r), r.size)
        acc.add(r - r.mean(), np.ones_like(r))
        b, rs = _ring_detail(dc, inner), _smooth_in_plane(r)
        if rs.std() > 0 and b.std() > 0:
            rb[0] += (
                float(np.mean((rs - rs.mean()) * (b - b.mean())) / (rs.std() * b.std())) * r.size
            )
            rb[1] += r.size
    acc.select(1.0)
    centre = (LAGS,) * len(spatial)
    acf_map = (
        acc.autocov() / acc.autocov()[centre]
        if acc.pixels
        else np.zeros((2 * LAGS + 1,) * len(spatial))
    )
    thr = max(THRESHOLD, 4.0 / math.sqrt(max(acc.pixels, 1)))
    reach = reach_from_acf(acf_map, thr) if acc.pixels else (0,) * len(spatial)
    res_std = tuple(math.sqrt(a / max(n, 1)) for a, n in sums)
    ratio = tuple(
        r / n if n > 0 else math.nan for r, n in zip(res_std, noise.noise_std, strict=True)
    )
    structure = rb[0] / rb[1] if rb[1] else 0.0
    if any(q < LOW for q in ratio):  # noise the result kept (filtered widely) would count
        structure = math.nan
    plateau = None if val_history is None else val_plateau(val_history)
    findings = _findings(noise, axis_values(acf_map, spatial), blind_spot, ratio)
    if structure > STRUCTURE:
        findings.append(
            f"Structure in the residual (correlation {structure:.2f} with the result's detail): the "
            "model smooths away real detail; train shorter or use N2V2."
        )
    if plateau is False:
        findings.append("Validation loss was still falling when training stopped: train longer.")
    ok = not findings
    if ok:
        findings.append("The residual looks like the noise: no problem found.")
    return QCReport(
        axes=noise.axes,
        acf=axis_values(acf_map, spatial),
        acf_map=acf_map,
        reach=reach,
        residual_std=res_std,
        noise_std=noise.noise_std,
        std_ratio=ratio,
        structure=structure,
        val_plateau=plateau,
        blind_spot=noise.blind_spot,
        findings=tuple(findings),
        ok=ok,
    )


def _findings(
    noise: NoiseReport,
    res_acf: dict[str, tuple[float, ...]],
    trained: str | None,
    ratio: tuple[float, ...],
) -> list[str]:
    out = []
    if noise.verdict == "correlated":
        have = parse_blind_spot(trained or "pixel", len(noise.reach)) or (1,) * len(noise.reach)
        if not all(h >= 2 * n + 1 for h, n in zip(have, noise.reach, strict=True)):
            a = max(noise.acf, key=lambda k: abs(noise.acf[k][0]))
            nv, rv = noise.acf[a][0], res_acf[a][0]
            what = (
                f"The result keeps the correlated part of the noise (lag-1 autocorrelation {nv:.2f}"
                f" along {a} in the noise, {rv:.2f} in the residual)"
                if abs(nv) > 2 * abs(rv) + THRESHOLD
                else f"Noise still correlated at lag 1 along {a} ({rv:.2f} in the residual)"
            )
            out.append(
                f"{what}: a 1-pixel blind spot cannot remove it; use --blind-spot {noise.blind_spot}."
            )
    else:
        a = max(res_acf, key=lambda k: abs(res_acf[k][0]))
        if res_acf[a][0] <= -THRESHOLD:
            out.append(
                f"The result keeps a smoothed copy of the noise (residual autocorrelation "
                f"{res_acf[a][0]:.2f} at lag 1 along {a}, the noise is white): train longer."
            )
        elif res_acf[a][0] >= THRESHOLD:
            out.append(
                f"The residual is smoother than the noise (autocorrelation {res_acf[a][0]:.2f} at "
                f"lag 1 along {a}, the noise is white): the model removes fine signal as well; "
                "train shorter or use N2V2."
            )
    fix = "fix the blind spot first" if out and noise.verdict == "correlated" else "train longer"
    for c, q in enumerate(ratio):
        who = f" (channel {c})" if len(ratio) > 1 else ""
        if q < BARELY:
            out.append(
                f"The result barely differs from the input{who}: the residual holds {q:.0%} of the "
                f"noise; {fix}."
            )
        elif q < LOW:
            out.append(
                f"The result removes only part of the noise{who} (residual {q:.0%} of the noise): "
                f"{fix}."
            )
        elif q > HIGH:
            out.append(
                f"The residual is stronger than the noise{who} ({q:.0%} of it): the model removes "
                "signal; train shorter or use N2V2."
            )
    return out
