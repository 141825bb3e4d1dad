"""The Train widget's Noise check without Qt: the noise analysis of the chosen layer as a job, and the
blind spot that training's ``auto`` would take from it.

Usage (the widget passes :func:`napari_n2v._qt.worker.start_worker` as the launcher)::

    run = NoiseRun(launcher=run_sync)
    run.checked.connect(lambda check: print(check.verdict_line(), check.spec))
    run.start(image, "TYX", source_name="nuclei")
"""

from __future__ import annotations

import math
import re
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from psygnal import Signal

from napari_n2v.run_models.job_state import JobRun
from napari_n2v.run_models.jobs import Launcher, run_sync

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.core.noise.report import NoiseReport

#: Pixels per lag in the autocorrelation picture (a 9 × 9 map: 72 px square).
CELL = 8


@dataclass(frozen=True, eq=False)
class NoiseCheck:
    """What the Noise check found on one layer.

    Attributes
    ----------
    source, axes
        The layer's name and the axes it was read with.
    report
        The engine's :class:`~napari_n2v.core.noise.report.NoiseReport`.
    picture
        The autocorrelation map as a ``(H, W, 3)`` uint8 picture (red: positive, blue: negative).
    spec, why
        The blind spot training's ``auto`` takes from this report, and why.
    """

    source: str
    axes: str
    report: NoiseReport
    picture: np.ndarray
    spec: str
    why: str

    def verdict_line(self) -> str:
        """``'Noise: white (independent from pixel to pixel).'`` or how far the correlation reaches."""
        r = self.report
        if r.verdict == "white":
            return "Noise: white (independent from pixel to pixel)."
        reach = [f"{n} px along {a}" for a, n in zip(r.spatial_axes, r.reach, strict=True) if n]
        return f"Noise: correlated between neighbours (reaches {' and '.join(reach)})."

    def details(self) -> str:
        """The report's findings, one per line, in the widget's words."""
        return "\n".join(plain(s) for s in self.report.sentences)


def plain(text: str) -> str:
    """An engine sentence in the widget's words: the command line's ``--blind-spot X`` becomes the
    Blind spot choice of the Advanced settings."""
    text = re.sub(r"\(--blind-spot (\S+?)\)", r"(Blind spot \1 in Advanced settings)", text)
    return re.sub(r"--blind-spot (\w+)", r"Blind spot \1 (Advanced settings)", text)


def noise_sample(image: Any, axes: str) -> tuple[np.ndarray, str]:
    """What the Noise check analyses: a central crop of the spatial axes (as the training plan's
    analysis) of up to a few evenly spaced samples along the first sample axis (S, T) and the middle
    of any other; all channels. Only this part of a lazy (dask, zarr) layer is read.

    Returns the crop as float32 and its axes.
    """
    from napari_n2v.core.axes import validate_axes
    from napari_n2v.core.plan.blind_spot import CROP, MAX_SAMPLES

    axes = validate_axes(axes, image.shape)
    spatial = "ZYX" if "Z" in axes else "YX"
    crop = dict(zip(spatial, CROP[len(spatial)], strict=True))
    index: list[Any] = []
    kept, sampled = "", False
    for a, n in zip(axes, image.shape, strict=True):
        if a in crop:
            size = min(n, crop[a])
            index.append(slice((n - size) // 2, (n - size) // 2 + size))
        elif a == "C":
            index.append(slice(None))
        elif not sampled:  # evenly spaced samples: a strided slice reads lazily from any array
            index.append(slice(0, n, math.ceil(n / MAX_SAMPLES)))
            sampled = True
        else:
            index.append(n // 2)
            continue
        kept += a
    return np.asarray(image[tuple(index)], dtype=np.float32), kept


class NoiseRun(JobRun):
    """Run the noise analysis of one image in a job.

    Signals
    -------
    state_changed(JobState), failed(str), warned(str)
        As for every run model; ``failed`` carries the engine's message (e.g. an image too small).
    checked(NoiseCheck)
        The analysis is done; also kept in :attr:`result`.
    """

    checked = Signal(object)

    what = "The noise check"

    def __init__(self, launcher: Launcher = run_sync) -> None:
        super().__init__(launcher)
        self.result: NoiseCheck | None = None

    def start(self, image: Any, axes: str, *, source_name: str) -> bool:
        """Analyse ``image`` (numpy, dask or zarr, with ``axes``). False if it did not start."""
        if self.running:
            return False
        self.result = None
        return self._launch(_check(image, axes, source_name))

    def forget(self) -> None:
        """Drop the last result (the layer or its axes changed)."""
        self.result = None

    def _on_returned(self, check: NoiseCheck) -> None:
        if self.cancel_requested:  # the layer changed meanwhile: this result is not wanted
            return
        self.result = check
        self.checked.emit(check)


def _check(image: Any, axes: str, source: str) -> Generator[Any, None, NoiseCheck]:
    from napari_n2v.core.noise.analysis import inspect_noise
    from napari_n2v.core.noise.report import acf_image
    from napari_n2v.core.plan.blind_spot import auto_blind_spot

    yield None  # a cancel before the analysis ends the job here
    sample, sample_axes = noise_sample(image, axes)
    report = inspect_noise(sample, sample_axes)
    spec, why = auto_blind_spot(report)
    return NoiseCheck(source, axes, report, acf_image(report.acf_map, CELL), spec, why)
