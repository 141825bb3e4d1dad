"""N2V against the calibrated classical baselines, on the noisy image alone: one sentence a user can act on.

The network is scored the way it trained (:func:`.score.masked_score`: pixels it could not see), the
baselines by their blind scores; both estimate the true error plus the same noise variance, so the
difference ranks them without a clean image. Big inputs are judged on a central crop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from napari_n2v.core.axes import validate_axes
from napari_n2v.core.baseline import filters as F
from napari_n2v.core.baseline.calibrate import BaselineResult, baseline
from napari_n2v.core.baseline.score import Score, compare, db_gap, masked_score
from napari_n2v.core.config import PredictConfig
from napari_n2v.core.model.denoiser import Denoiser
from napari_n2v.core.predict.prediction import predict

#: The largest crop judged, per spatial axis (Y, X) and (Z, Y, X): big enough for a tight interval,
#: small enough that the comparison takes seconds.
CROP_2D = (512, 512)
CROP_3D = (32, 256, 256)
#: The blind filters: scored at N2V's masked pixels like N2V (a plain filter would see a hidden pixel's
#: replacement there and score worse than it is).
_BLIND: dict[str, Callable[..., np.ndarray]] = {
    "gaussian": F.blind_gaussian,
    "median": F.blind_median,
}
#: The other methods' ordinary filter, scored at N2V's masked pixels.
_FILTERS: dict[str, Callable[..., np.ndarray]] = {
    "nlm": F.nl_means,
    "bm3d": F.bm3d_filter,
}


@dataclass(frozen=True)
class Comparison:
    """N2V's masked score, the baselines, and the verdict in words. ``baselines.best.score`` is the
    best filter's masked score at the same pixels as N2V's, so the two are compared pixel by pixel."""

    n2v: Score
    baselines: BaselineResult
    sentence: str

    @property
    def n2v_better(self) -> bool | None:
        """True / False when the 95% interval decides, None when too close to call."""
        verdict = compare(self.n2v, self.baselines.best.score)
        return None if verdict == "tie" else verdict == "a"

    @property
    def gap_db(self) -> float:
        """Approximate PSNR gain of N2V over the best baseline (negative: the baseline is better)."""
        return db_gap(self.n2v, self.baselines.best.score, self.baselines.noise_var)


def central_crop(image: Any, axes: str, is_3d: bool) -> np.ndarray:
    """The first sample of ``image`` cut to at most :data:`CROP_2D` / :data:`CROP_3D` around its centre
    (sample axes S/T kept whole only when that is all there is), as a float32 array in ``axes``."""
    axes = validate_axes(axes, image.shape)
    spatial = "ZYX" if is_3d else "YX"
    limits = dict(zip(spatial, CROP_3D if is_3d else CROP_2D, strict=True))
    index: list[Any] = []
    for a, n in zip(axes, image.shape, strict=True):
        if a in limits:
            size = min(n, limits[a])
            start = (n - size) // 2
            index.append(slice(start, start + size))
        elif a in "ST" or (a == "Z" and not is_3d):
            index.append(slice(n // 2, n // 2 + 1))  # one sample: the scores are per pixel
        else:
            index.append(slice(None))
    return np.asarray(image[tuple(index)], dtype=np.float32)


def as_blend(blind: Score, noise_var: float, weight: float | None = None) -> Score:
    """The score of the blend ``alpha * noisy + (1 - alpha) * blind`` (what a baseline delivers, and
    N2V with its measured blend weight), from the blind score: the blind output's error is independent
    of the pixel's noise, so the blend's MSE is ``alpha² v + (1 - alpha)² m`` for a blind MSE ``m`` and
    noise variance ``v``; ``weight=None`` takes the best ``alpha = m / (m + v)`` (MSE ``m v / (m + v)``).
    Every block is shifted by the same per-pixel amount, so paired comparisons keep their pairing."""
    m = max(blind.mean - noise_var, noise_var / 100)
    a = m / (m + noise_var) if weight is None else weight
    delta = a * a * noise_var + (1 - a) ** 2 * m - m
    sums, counts = blind.block_sums, blind.block_counts
    sums = None if sums is None or counts is None else sums + delta * counts
    return dataclasses.replace(
        blind, mean=blind.mean + delta, ci_low=blind.ci_low + delta, ci_high=blind.ci_high + delta,
        block_sums=sums,
    )  # fmt: skip


def compare_with_baselines(
    model: Denoiser,
    image: Any,
    axes: str,
    *,
    methods: Sequence[str] = ("gaussian", "median"),
    footprint: Sequence[int] | None = None,
    config: PredictConfig | None = None,
    seed: int = 0,
) -> Comparison:
    """Score ``model`` and the calibrated ``methods`` on (a central crop of) ``image``."""
    crop = central_crop(image, axes, model.is_3d)  # the scores are per pixel: seconds, not minutes
    # the network's own output is scored (a blend would mix in the hidden pixel's replacement), and
    # its blend with the input credited like the baselines' below
    config = dataclasses.replace(config or PredictConfig(), blend=False)
    result = baseline(
        crop, axes, methods=methods, footprint=footprint, rng=np.random.default_rng(seed)
    )

    def n2v_fn(masked: np.ndarray) -> np.ndarray:
        return np.asarray(predict(model, masked, axes, config))

    best = result.best
    blind = _BLIND.get(best.method)

    def base_fn(masked: np.ndarray) -> np.ndarray:
        if blind is not None:  # never sees the hidden pixel: no penalty for masking
            return np.asarray(blind(masked, best.param, axes, footprint))
        return np.asarray(_FILTERS[best.method](masked, best.param, axes=axes))

    # the same masked pixels (same seed) for both: the noise term cancels in the paired difference
    def score(fn: Any) -> Score:
        rng = np.random.default_rng(seed + 1)
        return masked_score(fn, crop, rng, footprint=footprint, axes=axes)

    n2v = score(n2v_fn)
    keep = float(getattr(model, "blend", 0.0))
    if keep > 0:
        n2v = as_blend(n2v, result.noise_var, keep)
    base = score(base_fn)
    if blind is not None and best.output == "mix":
        base = as_blend(base, result.noise_var)
    paired = dataclasses.replace(result, best=dataclasses.replace(best, score=base))
    return Comparison(n2v, paired, paired.sentence(n2v))
