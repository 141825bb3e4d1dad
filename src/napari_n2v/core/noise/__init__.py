"""Noise analysis without a clean image: is the noise pixel-independent (what Noise2Void assumes), how
does it depend on intensity, which blind spot fits it, and does a denoised result look right.

The function ``qc`` lives in :mod:`.qc` (import it from there: the package attribute ``qc`` is that
module). The names below load on first use, so that reading a blind-spot spec (``footprint``, which a
TrainConfig does) does not import the analysis and SciPy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "NoiseReport": "analysis",
    "inspect_noise": "analysis",
    "choose_blind_spot": "footprint",
    "footprint_offsets": "footprint",
    "format_blind_spot": "footprint",
    "parse_blind_spot": "footprint",
    "QCReport": "qc",
    "noise_table": "report",
    "save_acf_png": "report",
}
__all__ = [
    "NoiseReport",
    "QCReport",
    "choose_blind_spot",
    "footprint_offsets",
    "format_blind_spot",
    "inspect_noise",
    "noise_table",
    "parse_blind_spot",
    "save_acf_png",
]

if TYPE_CHECKING:  # pragma: no cover
    from .analysis import NoiseReport, inspect_noise
    from .footprint import choose_blind_spot, footprint_offsets, format_blind_spot, parse_blind_spot
    from .qc import QCReport
    from .report import noise_table, save_acf_png


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
