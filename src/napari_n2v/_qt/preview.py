"""The live preview of a training run: cut the slice the user is looking at, ask the trainer for the
current model's answer, and show it (:mod:`napari_n2v._qt.preview_layer`) once it is worth showing."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from napari.utils.notifications import show_warning

from napari_n2v._qt.layer_kinds import full_array
from napari_n2v._qt.preview_layer import MIN_LIKENESS, PreviewLayer, likeness

if TYPE_CHECKING:  # pragma: no cover
    import napari
    from napari.layers import Image
    from superqt.utils import GeneratorWorker

    from napari_n2v.core.model.n2v_model import N2VModel
    from napari_n2v.core.train.trainer import Trainer

#: Planes sent around the current one when previewing a 3D model (enough context, still quick).
PREVIEW_DEPTH = 8
#: After a preview that took t seconds (request to answer), the next waits at least this many t: a
#: preview then costs training at most ~1/PREVIEW_SPACING of its time in the prediction itself.
#: Showing it costs about as much again on the main thread and in the canvas, which the delay does
#: not see; hence 40, not 20.
PREVIEW_SPACING = 40.0
#: ... but never more than this share of the training time so far (the picture changes most at the
#: start: the first previews follow each other within seconds) ...
PREVIEW_GROWTH = 0.25
#: ... nor more than this many seconds (a slow 3D step must not starve the preview) ...
PREVIEW_MAX_WAIT_S = 30.0
#: ... and at least this many t, also before a first preview was worth showing.
EARLY_SPACING = 2.0
#: Seconds of training after which a preview is shown even when it does not look useful yet.
SHOW_ANYWAY_S = 30.0


def cut_slice(
    data: Any, axes: str, index: Sequence[int], is_3d: bool
) -> tuple[np.ndarray, str, int | None]:
    """Cut the 2D view (plus a few planes of Z context for a 3D model) at ``index``.

    Parameters
    ----------
    data
        The layer's array (numpy, dask or zarr), one letter of ``axes`` per dimension.
    axes
        The training axes, e.g. ``'TYX'`` or ``'ZYXC'``.
    index
        Integer position of the current view in data coordinates, one per dimension.
    is_3d
        Whether the model is 3D (then ``PREVIEW_DEPTH`` planes around the current Z are kept).

    Returns
    -------
    image : np.ndarray
        The slice, as a numpy array.
    slice_axes : str
        Its axes (``axes`` without the letters that were indexed away).
    z : int or None
        For a 3D model, the position of the current plane inside the returned stack.
    """
    idx: list[Any] = []
    kept = ""
    z_at: int | None = None
    for letter, size, i in zip(axes, data.shape, index, strict=True):
        i = int(min(max(i, 0), size - 1))
        if letter in "YXC":
            idx.append(slice(None))
            kept += letter
        elif letter == "Z" and is_3d:
            lo = max(0, min(i - PREVIEW_DEPTH // 2, size - PREVIEW_DEPTH))
            hi = min(size, lo + PREVIEW_DEPTH)
            idx.append(slice(lo, hi))
            kept += letter
            z_at = i - lo
        else:
            idx.append(i)
    return np.asarray(data[tuple(idx)]), kept, z_at


def to_display(image: np.ndarray, axes: str, z: int | None) -> np.ndarray:
    """The 2D plane (``(Y, X)`` or ``(Y, X, C)``) of a preview answer in ``axes``."""
    if "Z" in axes:
        image = np.take(image, z or 0, axis=axes.index("Z"))
        axes = axes.replace("Z", "")
    order = [axes.index(a) for a in "YXC" if a in axes]
    return np.transpose(image, order)


def data_index(layer: Image, viewer: napari.Viewer) -> list[int]:
    """The integer data position of what the viewer shows of ``layer``, one per data dimension."""
    point = np.asarray(layer.world_to_data(viewer.dims.point), dtype=float)[-layer.ndim :]
    pos = [round(float(p)) for p in point]
    return pos + [0] * (1 if layer.rgb else 0)  # the RGB axis is not a napari dimension


class LivePreview:
    """The live preview of one training run: cuts the viewed slice and shows the model's answer.

    Main thread only. The preview layer (:class:`PreviewLayer`) is created on the first answer
    worth showing, then updated in place. A request is never made while the last one is unanswered
    (:attr:`pending`), nor before the run has reported a step. Until a preview was shown, they are
    asked for quickly (the first useful one should come within seconds); afterwards at most every
    :data:`PREVIEW_GROWTH` of the training time so far (frequent while the picture sharpens), never
    sooner than :data:`PREVIEW_SPACING` times the last answer's delay allows, nor later than
    :data:`PREVIEW_MAX_WAIT_S`.
    """

    #: Seconds of training after which a preview is shown even if it does not look useful yet.
    show_anyway_s = SHOW_ANYWAY_S

    def __init__(self, viewer: napari.Viewer) -> None:
        self.viewer = viewer
        self.source: Image | None = None
        self.view = PreviewLayer(viewer)
        self._axes = "YX"
        self._is_3d = False
        self._key: tuple[str, int | None] = ("YX", None)
        self._noisy: np.ndarray | None = None  # the plane of the last cut, as shown
        self.pending = False
        self.trained_s: float | None = None  # training time of the newest step (None: no step yet)
        self.requests = 0  # requests made (tests check the throttle)
        self.finals = 0  # final previews being computed (tests wait for them)
        self.shown = False  # whether a preview of this run was shown
        self._asked_at = self._not_before = 0.0

    @property
    def layer(self) -> Image | None:
        """The preview layer, or None before the first preview was shown."""
        return self.view.layer

    def set_source(self, source: Image, axes: str, is_3d: bool) -> None:
        """Preview ``source`` (whose data has ``axes``) for a 2D or 3D model; a new run begins."""
        self.source, self._axes, self._is_3d = source, axes, is_3d
        self.pending, self._not_before, self.trained_s, self.shown = False, 0.0, None, False

    def cut(self) -> tuple[np.ndarray, str] | None:
        """The slice to denoise now and its axes, or None when the source layer is gone."""
        src = self.source
        if src is None or src not in self.viewer.layers:
            return None
        data = full_array(src)
        image, axes, z = cut_slice(data, self._axes, data_index(src, self.viewer), self._is_3d)
        self._key = (axes, z)
        self._noisy = to_display(image, axes, z)
        return image, axes

    def request(self, trainer: Trainer | None) -> None:
        """Ask ``trainer`` for a preview of the slice in view (answered after its next step)."""
        now = time.monotonic()
        if trainer is None or self.trained_s is None or self.pending or now < self._not_before:
            return
        cut = self.cut()
        if cut is not None:
            trainer.request_preview(*cut)
            self.pending, self._asked_at = True, now
            self.requests += 1

    def final(self, model: N2VModel) -> GeneratorWorker | None:
        """Show ``model``'s result on the slice in view, computed in a worker (returned)."""
        cut = self.cut()
        if cut is None:
            return None
        from napari_n2v._qt.worker import start_worker
        from napari_n2v.run_models.jobs import Handlers

        def ignore(*_args: object) -> None:
            pass

        def finished() -> None:
            self.finals -= 1

        def show(image: np.ndarray) -> None:
            self.show(image, final=True)

        handlers = Handlers(
            ignore, show, lambda exc: show_warning(f"Preview failed: {exc}"), ignore, finished
        )
        self.finals += 1
        return start_worker(_call(model.predict, *cut), handlers)

    def show(self, image: np.ndarray, final: bool = False) -> None:
        """Show the answer to the last :meth:`cut` in the preview layer, once it is worth showing
        (``final``: the trained model's answer, always shown)."""
        plane = to_display(np.asarray(image), *self._key)
        worth = final or self.shown or self._worth_showing(plane)
        if self.pending:
            now = time.monotonic()
            delay = now - self._asked_at
            if worth:
                trained = self.trained_s or 0.0
                wait = min(PREVIEW_MAX_WAIT_S, PREVIEW_SPACING * delay, PREVIEW_GROWTH * trained)
            else:
                wait = 0.0
            self.pending, self._not_before = False, now + max(wait, EARLY_SPACING * delay)
        if not worth or self.source is None or self.source not in self.viewer.layers:
            return
        self.view.show(self.source, plane)
        self.shown = True

    def _worth_showing(self, plane: np.ndarray) -> bool:
        """Whether a preview of the running model may be shown: it looks like a denoised slice, or
        the run has trained for :attr:`show_anyway_s`."""
        if (self.trained_s or 0.0) >= self.show_anyway_s:
            return True
        noisy = self._noisy
        return (
            noisy is not None
            and noisy.shape == plane.shape
            and likeness(plane, noisy) >= MIN_LIKENESS
        )


def _call(fn: Any, *args: Any) -> Any:
    """``fn(*args)`` as a generator that returns its value (the one worker path runs generators)."""
    return fn(*args)
    yield  # pragma: no cover - makes this a generator
