"""Noise analysis without a clean image: is the noise pixel-independent (what Noise2Void assumes), how
does it depend on intensity, which blind spot fits it, and does a denoised result look right."""

from .analysis import NoiseReport, inspect_noise
from .footprint import (
    choose_blind_spot,
    footprint_offsets,
    format_blind_spot,
    parse_blind_spot,
)
from .qc import QCReport, qc
from .report import noise_table, save_acf_png

__all__ = [
    "NoiseReport",
    "QCReport",
    "choose_blind_spot",
    "footprint_offsets",
    "format_blind_spot",
    "inspect_noise",
    "noise_table",
    "parse_blind_spot",
    "qc",
    "save_acf_png",
]
