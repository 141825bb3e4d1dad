"""Settle the blind spot of a training run: given, kept from the model being continued, structN2V's
line, or chosen from the noise of the training data itself (``auto``), and checked against the patch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_n2v.core.config import TrainConfig
from napari_n2v.core.errors import N2VError
from napari_n2v.core.model.denoiser import Denoiser
from napari_n2v.core.noise.footprint import format_blind_spot, parse_blind_spot
from napari_n2v.core.train.prepare import TrainData

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.core.noise.report import NoiseReport

#: ``auto`` takes a box only when the noise's correlation at one pixel's distance reaches this: weaker
#: correlation costs a one-pixel blind spot little, while a box always costs some detail (and fine
#: texture at low noise can read as weak correlation).
STRONG_LAG1 = 0.25
#: At most this many samples (frames, planes) and this large a crop enter the analysis.
MAX_SAMPLES = 8
CROP = {2: (512, 512), 3: (32, 256, 256)}


@dataclass(frozen=True)
class BlindSpot:
    """The settled blind spot: its spec, its box (extents per spatial axis), and why."""

    spec: str
    extent: tuple[int, ...]
    why: str

    @property
    def half(self) -> tuple[int, ...] | None:
        """Half-widths per axis for the masker (None: the one-pixel blind spot)."""
        return None if all(e == 1 for e in self.extent) else tuple(e // 2 for e in self.extent)


def noise_sample(data: TrainData, n_spatial: int) -> np.ndarray:
    """A few samples of the training data, cut to a central crop: canonical (S, C, *spatial)."""
    source = data.data  # an in-memory array or the first image's lazy view, (S, C, *spatial)
    s = source.shape[0]
    picks = sorted(set(np.linspace(0, s - 1, min(s, MAX_SAMPLES)).round().astype(int).tolist()))
    index: list[Any] = [0, slice(None)]
    for n, c in zip(source.shape[2:], CROP[n_spatial], strict=True):
        size = min(n, c)
        index.append(slice((n - size) // 2, (n - size) // 2 + size))
    blocks = []
    for i in picks:
        index[0] = i
        blocks.append(np.asarray(source[tuple(index)]))
    return np.stack(blocks)


def _from_noise(data: TrainData, config: TrainConfig) -> tuple[str, str]:
    from napari_n2v.core.noise.analysis import inspect_noise

    sample = noise_sample(data, config.n_spatial)
    axes = "SC" + "ZYX"[-config.n_spatial :]
    try:
        report = inspect_noise(sample.astype(np.float32, copy=False), axes)
    except N2VError:  # too small, constant...: nothing to measure, keep the classic blind spot
        return "pixel", (
            "one pixel: the training data is too small to measure its noise (choose one with "
            "--blind-spot if the noise is correlated)"
        )
    return auto_blind_spot(report)


def auto_blind_spot(report: NoiseReport) -> tuple[str, str]:
    """The blind spot ``auto`` takes for noise measured as ``report``, and why (one clause)."""
    lag1 = {a: v[0] for a, v in report.acf.items()}
    said = ", ".join(f"{v:.2f} along {a}" for a, v in lag1.items())
    if report.verdict == "white":
        return "pixel", f"one pixel: the noise is white (correlation at 1 pixel {said})"
    if max(abs(v) for v in lag1.values()) < STRONG_LAG1:
        return "pixel", (
            f"one pixel: the noise is only weakly correlated ({said} at 1 pixel); "
            f"try blind spot {report.blind_spot} if the result keeps grainy noise"
        )
    return report.blind_spot, f"{report.blind_spot}: the noise is correlated ({said} at 1 pixel)"


def settle_blind_spot(
    config: TrainConfig, data: TrainData, model: Denoiser | None = None
) -> BlindSpot:
    """The run's blind spot (see the module docstring); an N2VError when it does not fit the patch."""
    n = config.n_spatial
    line = config.struct_line()
    given: Any = parse_blind_spot(config.blind_spot, n)
    if line is not None:
        spec = format_blind_spot(line)
        why = f"{spec}, structN2V's line along {config.struct_axis}"
    elif given is not None:
        spec = format_blind_spot(given)
        why = f"{spec}, as given"
    elif model is not None and parse_blind_spot(model.config.blind_spot, n) is not None:
        spec = model.config.blind_spot
        why = f"{spec}, the model's (kept to continue it)"
    else:
        spec, why = _from_noise(data, config)
    extent = parse_blind_spot(spec, n)
    assert extent is not None
    if any(e >= p for e, p in zip(extent, data.patch, strict=True)):
        raise N2VError(
            f"blind spot {spec} does not fit the {data.patch} patch: use a larger patch or a smaller "
            "blind spot."
        )
    return BlindSpot(spec, extent, why)
