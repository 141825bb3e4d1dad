"""One training run in a worker thread: the values it needs, and a clean way to end it.

The worker gets values only (a :class:`Trainer` built on the main thread from a numpy/dask array and a
frozen config); the widget listens to its signals on the main thread.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

from superqt.utils import GeneratorWorker, create_worker

from napari_n2v.core.config import TrainConfig
from napari_n2v.core.errors import N2VError
from napari_n2v.core.n2v_model import N2VModel
from napari_n2v.core.training import Trainer


class TrainingFailed(Exception):
    """A RuntimeError raised while training (e.g. out of memory), re-raised under another type.

    superqt treats a RuntimeError escaping a generator as "the worker was deleted" and drops it
    silently; this type makes it reach ``errored`` like any other error.
    """


def _drain(trainer: Trainer) -> Generator[Any, None, N2VModel]:
    try:
        return (yield from trainer.run())
    except RuntimeError as err:
        raise TrainingFailed(f"{type(err).__name__}: {err}") from err


def start_training(trainer: Trainer, connect: dict[str, Any]) -> GeneratorWorker:
    """Start ``trainer.run()`` in the global thread pool; ``connect`` maps signal names to slots."""
    # Passing "errored" in _connect also stops superqt from re-raising the error in the main thread.
    return create_worker(_drain, trainer, _start_thread=True, _connect=connect)


class RunHandle:
    """What is needed to end a run, kept apart from the widget.

    It is safe to call :meth:`shutdown` from the widget's ``destroyed`` signal: it holds no Qt widget.
    """

    def __init__(self) -> None:
        self.worker: GeneratorWorker | None = None
        self.trainer: Trainer | None = None
        self.extra_workers: list[Any] = []  # e.g. the final-preview worker

    @property
    def running(self) -> bool:
        """Whether a training worker is still running."""
        return self.worker is not None and self.worker.is_running

    def shutdown(self, timeout_s: float = 30.0) -> bool:
        """Ask the run to end at the next step and wait for its thread; True if it ended in time."""
        if self.trainer is not None:
            self.trainer.stop()
        workers = [w for w in (self.worker, *self.extra_workers) if w is not None]
        for w in workers:
            w.quit()
        deadline = time.monotonic() + timeout_s
        while any(w.is_running for w in workers) and time.monotonic() < deadline:
            time.sleep(0.01)  # no event processing here: we may be inside a destroyed handler
        ended = not any(w.is_running for w in workers)
        self.worker, self.trainer, self.extra_workers = None, None, []
        return ended


def format_eta(seconds: float | None) -> str:
    """``'1:05'``, ``'1:02:03'`` or ``'…'`` when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "…"
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def error_message(exc: BaseException) -> str:
    """The sentence shown to the user for an error that ended a run."""
    if isinstance(exc, N2VError):
        return str(exc)
    text = f"Training failed: {exc}"
    if "out of memory" in str(exc).lower():
        text += " Use a smaller batch size or patch size."
    return text


def check_fits(config: TrainConfig, shape: tuple[int, ...], val_shape: tuple | None) -> None:
    """Raise N2VError when the patch is larger than the image or the validation layer is unlike it."""
    if config.patch_size is not None:
        sizes = dict(zip(config.axes, shape, strict=True))
        dims = tuple(sizes[a] for a in "ZYX" if a in sizes)
        if any(p > d for p, d in zip(config.patch_size, dims, strict=True)):
            raise N2VError(
                f"patch size {config.patch_size} is larger than the image {dims}: "
                "choose a smaller patch (or 'auto')."
            )
    if val_shape is not None and len(val_shape) != len(shape):
        raise N2VError(
            f"the validation layer has {len(val_shape)} dimensions, the image has {len(shape)}: "
            "choose a layer like the image (or none)."
        )
