"""The Train widget's state without Qt: the current model, the running job, the source layer's name and the
config; it emits what the widget renders.

Usage (tests drive it the same way, with the synchronous launcher)::

    run = TrainRun(launcher=run_sync)
    run.failed.connect(print)
    run.start(image, TrainConfig(axes="YX", steps=100), source_name="nuclei")
    run.model  # the best model by validation loss, also in the session registry
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from psygnal import Signal

from napari_n2v.core.errors import N2VError
from napari_n2v.core.events import InfoEvent, PreviewEvent, TrainEvent
from napari_n2v.run_models.jobs import Handlers, Job, Launcher, error_message, guarded, run_sync
from napari_n2v.run_models.registry import ModelRegistry, get_registry

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.model.n2v_model import N2VModel
    from napari_n2v.core.train.checkpointing import Checkpointing
    from napari_n2v.core.train.trainer import Trainer


class TrainRun:
    """Start, stop, continue and reset training; keep the model.

    Signals (all emitted on the thread that drives the launcher's callbacks: the main thread)
    ---------------------------------------------------------------------------------------
    state_changed()
        Running or the model changed: re-enable buttons.
    step(TrainEvent), preview(PreviewEvent), info(str)
        The engine's events; ``info`` carries its messages (e.g. "patch … is larger than the image: using
        …"), each once per run.
    warned(str)
        A Python warning from the job, each text once per run.
    failed(str)
        The one message for an error (setup or run); shown once.
    ended(str)
        The status line after a run: ``'Done: <model>…'``, ``'Stopped: …'`` or ``'Failed; …'``.
    """

    state_changed = Signal()
    step = Signal(object)
    preview = Signal(object)
    info = Signal(str)
    warned = Signal(str)
    failed = Signal(str)
    ended = Signal(str)

    def __init__(
        self, launcher: Launcher = run_sync, registry: ModelRegistry | None = None
    ) -> None:
        self.launcher = launcher
        self.registry = registry if registry is not None else get_registry()
        self.model: N2VModel | None = None
        self.trainer: Trainer | None = None
        self.job: Job | None = None
        self.source_name: str | None = None
        self.config: TrainConfig | None = None
        self.last: TrainEvent | None = None
        self._seen: set[str] = set()
        self._user_stop = False

    # --- state -------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether a job was started and has not finished."""
        return self.job is not None

    def can_continue(self, axes: str | None) -> bool:
        """Whether Continue applies: a model exists, nothing runs, and ``axes`` are of its kind (2D/3D)."""
        m = self.model
        return m is not None and not self.running and axes is not None and m.is_3d == ("Z" in axes)

    # --- actions -----------------------------------------------------------------------------------
    def start(
        self,
        image: Any,
        config: TrainConfig,
        *,
        source_name: str = "model",
        val_image: Any = None,
        resume: bool = False,
        image_names: list[str] | None = None,
        checkpoint: Checkpointing | None = None,
    ) -> bool:
        """Train on ``image``, or on a list of images with the same axes (``image_names``: theirs, for
        messages); ``resume``: continue the current model; ``checkpoint``: save the run every few
        minutes to a file (a crash of napari then loses at most those minutes). False if it could
        not start (already running, or the engine refused the inputs: ``failed`` says why)."""
        from napari_n2v.core.train.trainer import Trainer

        if self.running:
            return False
        base = self.model if resume else None
        try:
            trainer = Trainer(
                image,
                config,
                val_image=val_image,
                model=base,
                image_names=image_names,
                checkpoint=checkpoint,
            )
        except (N2VError, MemoryError) as err:
            self.failed.emit(error_message(err, "Training"))
            return False
        self.trainer, self.config, self.source_name = trainer, config, source_name
        self.last, self._seen, self._user_stop = None, set(), False
        handlers = Handlers(self._on_event, self._keep, self._on_error, self._on_warned, self._done)
        self.job = _Pending()  # running from here on, even while the launcher starts it
        self.state_changed.emit()
        job = self.launcher(guarded(trainer.run()), handlers)
        if self.job is not None:  # a synchronous launcher has finished already
            self.job = job
        return True

    def stop(self) -> None:
        """Stop after the current step; the best model so far is kept (``ended`` says 'Stopped')."""
        if self.trainer is not None:
            self._user_stop = True
            self.trainer.stop()

    def reset(self) -> None:
        """Forget the current model (the registry keeps it)."""
        if not self.running:
            self.model, self.last = None, None
            self.state_changed.emit()

    def request_preview(self, image: Any, axes: str) -> None:
        """Ask the running trainer for a prediction of ``image`` (answered by a ``preview`` event)."""
        if self.trainer is not None:
            self.trainer.request_preview(image, axes)

    def shutdown(self, timeout_s: float = 30.0) -> bool:
        """Ask the job to end at the next step and wait for it; True if it ended in time."""
        job = self.job
        self.stop()
        if job is not None:
            job.quit()
            deadline = time.monotonic() + timeout_s
            while job.is_running and time.monotonic() < deadline:
                time.sleep(0.01)  # no event processing: we may be inside a Qt destroyed handler
        ended = job is None or not job.is_running
        self.job, self.trainer = None, None
        return ended

    # --- the job's callbacks -------------------------------------------------------------------------
    def _on_event(self, event: object) -> None:
        if isinstance(event, TrainEvent):
            self.last = event
            self.step.emit(event)
        elif isinstance(event, PreviewEvent):
            self.preview.emit(event)
        elif isinstance(event, InfoEvent) and event.message not in self._seen:
            self._seen.add(event.message)
            self.info.emit(event.message)

    def _on_warned(self, message: str) -> None:
        if message not in self._seen:  # a warning inside the loop would repeat every step
            self._seen.add(message)
            self.warned.emit(message)

    def _keep(self, model: N2VModel, verb: str | None = None) -> None:
        done = not self._user_stop  # all steps, or the time budget, used up
        verb = verb or ("Done" if done else "Stopped")
        dim = "3D" if model.is_3d else "2D"
        steps = getattr(model, "steps_trained", self.last.step if self.last else 0)
        source = self.source_name or "model"
        model.name = self.registry.add(model, f"{source} ({dim}, {steps} steps)")
        self.model = model
        self.ended.emit(f"{verb}: {model.name}. Ready for the Predict widget.")

    def _on_error(self, exc: BaseException) -> None:
        message = error_message(exc, "Training")
        self.failed.emit(message)
        best = self.trainer.best_model if self.trainer is not None else None
        if best is not None:
            self._keep(best, "Failed; kept the best model so far")

    def _done(self) -> None:
        self.job, self.trainer = None, None
        self.state_changed.emit()


class _Pending:
    """Stands for the job while the launcher is starting it."""

    is_running = True

    def quit(self) -> None:
        pass
