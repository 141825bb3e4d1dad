"""Classical baselines for Noise2Void and a quality score that needs no clean image (Noise2Self)."""

from .calibrate import BaselineResult, MethodResult, baseline, mix_weight
from .filters import (
    blind_gaussian,
    blind_median,
    bm3d_filter,
    estimate_noise_var,
    gaussian,
    median,
    nl_means,
)
from .score import Score, compare, db_gap, difference, masked_score, self_supervised_score

__all__ = [
    "BaselineResult",
    "MethodResult",
    "Score",
    "baseline",
    "blind_gaussian",
    "blind_median",
    "bm3d_filter",
    "compare",
    "db_gap",
    "difference",
    "estimate_noise_var",
    "gaussian",
    "masked_score",
    "median",
    "mix_weight",
    "nl_means",
    "self_supervised_score",
]
