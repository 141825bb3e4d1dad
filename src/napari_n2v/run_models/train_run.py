"""The Train widget's state without Qt: the current model, the running job, the source layer's name and the
config; it emits what the widget renders.

Usage (tests drive it the same way, with the synchronous launcher)::

    run = TrainRun(launcher=run_sync)
    run.failed.connect(print)
    run.start(image, TrainConfig(axes="YX", steps=100), source_name="nuclei")
    run.model  # the best model by validation loss, also in the session registry
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from psygnal import Signal

from napari_n2v.core.errors import N2VError
from napari_n2v.core.events import InfoEvent, PreviewEvent, TrainEvent
from napari_n2v.run_models.job_state import JobRun
from napari_n2v.run_models.jobs import Launcher, error_message, run_sync
from napari_n2v.run_models.registry import ModelRegistry, get_registry

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.model.n2v_model import N2VModel
    from napari_n2v.core.plan.blind_spot import BlindSpot
    from napari_n2v.core.train.checkpointing import Checkpointing
    from napari_n2v.core.train.trainer import Trainer


class TrainRun(JobRun):
    """Start, stop, continue and reset training; keep the model.

    Signals (all emitted on the thread that drives the launcher's callbacks: the main thread)
    ---------------------------------------------------------------------------------------
    state_changed(JobState)
        Running started or ended, or the model changed: re-enable buttons. A stopped run ends
        ``cancelled`` (its best model is kept all the same).
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

    step = Signal(object)
    preview = Signal(object)
    info = Signal(str)
    ended = Signal(str)

    what = "Training"

    def __init__(
        self, launcher: Launcher = run_sync, registry: ModelRegistry | None = None
    ) -> None:
        super().__init__(launcher)
        self.registry = registry if registry is not None else get_registry()
        self.model: N2VModel | None = None
        self.trainer: Trainer | None = None
        self.source_name: str | None = None
        self.config: TrainConfig | None = None
        self.blind_spot: BlindSpot | None = None  # the last run's, as its plan settled it
        self.last: TrainEvent | None = None

    # --- state -------------------------------------------------------------------------------------
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
            return self._refuse(error_message(err, self.what))
        self.trainer, self.config, self.source_name = trainer, config, source_name
        self.blind_spot, self.last = trainer.plan.blind_spot, None
        return self._launch(trainer.run())

    def stop(self) -> None:
        """Stop after the current step; the best model so far is kept (``ended`` says 'Stopped')."""
        self.cancel()

    def reset(self) -> None:
        """Forget the current model (the registry keeps it)."""
        if not self.running:
            self.model, self.last = None, None
            self.state_changed.emit(self.state)

    def request_preview(self, image: Any, axes: str) -> None:
        """Ask the running trainer for a prediction of ``image`` (answered by a ``preview`` event)."""
        if self.trainer is not None:
            self.trainer.request_preview(image, axes)

    # --- the kernel's hooks --------------------------------------------------------------------------
    def _request_cancel(self) -> None:
        if self.trainer is not None:  # cooperative: the trainer returns its best model
            self.trainer.stop()

    def _on_event(self, event: object) -> None:
        if isinstance(event, TrainEvent):
            self.last = event
            self.step.emit(event)
        elif isinstance(event, PreviewEvent):
            self.preview.emit(event)
        elif isinstance(event, InfoEvent) and self._once(event.message):
            self.info.emit(event.message)

    def _on_returned(self, model: N2VModel) -> None:
        self._keep(model, "Stopped" if self.cancel_requested else "Done")

    def _on_errored(self, exc: BaseException) -> None:
        best = self.trainer.best_model if self.trainer is not None else None
        if best is not None:
            self._keep(best, "Failed; kept the best model so far")

    def _cleanup(self) -> None:
        self.trainer = None

    def _keep(self, model: N2VModel, verb: str) -> None:
        dim = "3D" if model.is_3d else "2D"
        steps = getattr(model, "steps_trained", self.last.step if self.last else 0)
        source = self.source_name or "model"
        model.name = self.registry.add(model, f"{source} ({dim}, {steps} steps)")
        self.model = model
        self.ended.emit(f"{verb}: {model.name}. Ready for the Predict widget.")
