"""Judging a trained model without a clean image, for the Train widget: the quality check of its result
(:func:`napari_n2v.core.noise.qc.qc`) and the comparison with the calibrated classical filters
(:func:`napari_n2v.core.baseline.versus.compare_with_baselines`), as jobs; and "Compare": the best
filter's result on the whole image, to show beside the N2V result.

Usage (the widget passes :func:`napari_n2v._qt.worker.start_worker` as the launcher)::

    run = JudgeRun(launcher=run_sync)
    run.judged.connect(lambda j: print(j.qc_line(), j.sentence()))
    run.start(model, image, "YX", source_name="nuclei")
    run.compare(image)   # -> run.baseline(BaselineOutput) with the filtered image
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from psygnal import Signal

from napari_n2v.core.errors import N2VError
from napari_n2v.run_models.job_state import JobRun
from napari_n2v.run_models.jobs import Launcher, run_sync
from napari_n2v.run_models.noise_run import plain

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.core.baseline.versus import Comparison
    from napari_n2v.core.model.n2v_model import N2VModel
    from napari_n2v.core.noise.qc import QCReport

#: The classical filters compared with (the engine's default set; "Compare" filters a whole layer).
METHODS = ("gaussian", "median")
#: The largest image "Compare" filters whole (it is read into memory as float32).
MAX_PIXELS = 2**28


@dataclass(frozen=True, eq=False)
class Judgement:
    """The quality check and the comparison of one model on one image; each may be missing, with
    the engine's reason (e.g. an image too small to judge)."""

    source: str
    axes: str
    qc: QCReport | None
    qc_error: str
    comparison: Comparison | None
    compare_error: str

    def qc_line(self) -> str:
        """The quality check's findings, plainly (or why there is none)."""
        if self.qc is None:
            return f"No quality check: {self.qc_error}"
        return "Quality check: " + " ".join(plain(f) for f in self.qc.findings)

    def sentence(self) -> str:
        """N2V against the best calibrated filter, in one sentence (or why there is none)."""
        if self.comparison is None:
            return f"No comparison with classical filters: {self.compare_error}"
        return self.comparison.sentence

    def scores(self) -> str:
        """The masked scores (mean squared difference at pixels neither saw; lower is better)."""
        c = self.comparison
        if c is None:
            return ""
        best = c.baselines.best
        return (
            f"Held-out pixel scores (lower is better): N2V {_score(c.n2v)}, "
            f"{best.label()} {_score(best.score)}; N2V {c.gap_db:+.1f} dB."
        )


@dataclass(frozen=True, eq=False)
class BaselineOutput:
    """The best filter's result on a whole image (``data``, the image's shape), for a new layer."""

    source: str
    method: str
    label: str
    data: np.ndarray


def _score(score: Any) -> str:
    """``'2.91e+07 ± 1.9e+06'``: the mean and the half width of its 95% interval."""
    return f"{score.mean:.3g} ± {(score.ci_high - score.ci_low) / 2:.2g}"


def filter_image(method: str, param: float, image: Any, axes: str) -> np.ndarray:
    """``method`` (one of :data:`METHODS`) with its calibrated ``param`` over the whole image."""
    from napari_n2v.core.baseline import filters

    fn: dict[str, Callable[..., np.ndarray]] = {
        "gaussian": filters.gaussian,
        "median": filters.median,
    }
    if method not in fn:
        raise N2VError(f"Compare shows {', '.join(METHODS)} only, not {method}.")
    if int(np.prod(image.shape)) > MAX_PIXELS:
        raise N2VError(
            f"the image ({' × '.join(map(str, image.shape))}) is too large to filter whole in "
            "memory: compare on a smaller layer (e.g. a crop or one frame)."
        )
    data = np.asarray(image, dtype=np.float32)
    return np.asarray(fn[method](data, param if method == "gaussian" else int(param), axes=axes))


class JudgeRun(JobRun):
    """Check a model's result and compare it with classical filters; filter a whole image.

    Signals
    -------
    state_changed(JobState), failed(str), warned(str)
        As for every run model.
    judged(Judgement)
        The check and the comparison are done; also kept in :attr:`result`.
    baseline(BaselineOutput)
        "Compare": the best filter's result on the whole image.
    """

    judged = Signal(object)
    baseline = Signal(object)

    what = "The quality check"

    def __init__(self, launcher: Launcher = run_sync) -> None:
        super().__init__(launcher)
        self.result: Judgement | None = None

    def start(self, model: N2VModel, image: Any, axes: str, *, source_name: str) -> bool:
        """Judge ``model`` on (a central crop of) ``image`` with ``axes``. False if not started."""
        if self.running:
            return False
        self.result = None
        return self._launch(_judge(model, image, axes, source_name))

    def compare(self, image: Any) -> bool:
        """Filter ``image`` (the judged layer's data) with the best filter of the last judgement."""
        j = self.result
        if self.running or j is None or j.comparison is None:
            return False
        best = j.comparison.baselines.best
        return self._launch(_filter(j.source, best.method, best.label(), best.param, image, j.axes))

    def forget(self) -> None:
        """Drop the last judgement (a new run starts)."""
        self.result = None

    def _on_returned(self, result: Any) -> None:
        if self.cancel_requested:  # a new run began meanwhile: this result is not wanted
            return
        if isinstance(result, Judgement):
            self.result = result
            self.judged.emit(result)
        elif isinstance(result, BaselineOutput):
            self.baseline.emit(result)


def _judge(model: N2VModel, image: Any, axes: str, source: str) -> Generator[None, None, Judgement]:
    from napari_n2v.core.baseline.versus import central_crop, compare_with_baselines
    from napari_n2v.core.config import PredictConfig
    from napari_n2v.core.noise.footprint import blind_footprint
    from napari_n2v.core.noise.qc import qc

    config = PredictConfig(device="cpu")  # as the command line: the same numbers on any machine
    yield None
    report, qc_error = None, ""
    try:
        noisy = central_crop(image, axes, model.is_3d)
        history = [h["val_loss"] for h in model.history if h.get("val_loss") is not None]
        report = qc(
            noisy,
            model.predict(noisy, axes, config),
            axes,
            val_history=history or None,
            blind_spot=model.config.blind_spot,
        )
    except N2VError as err:
        qc_error = str(err)
    yield None
    comparison, compare_error = None, ""
    try:
        comparison = compare_with_baselines(
            model,
            image,
            axes,
            methods=METHODS,
            footprint=blind_footprint(model.config.blind_spot, model.config.n_spatial),
            config=config,
        )
    except N2VError as err:
        compare_error = str(err)
    return Judgement(source, axes, report, qc_error, comparison, compare_error)


def _filter(
    source: str, method: str, label: str, param: float, image: Any, axes: str
) -> Generator[None, None, BaselineOutput]:
    yield None
    return BaselineOutput(source, method, label, filter_image(method, param, image, axes))
