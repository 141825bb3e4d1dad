"""The Predict widget's state without Qt: the chosen model, the axes plan, the running job, the source
layer's name and the result store; it emits what the widget renders.

Usage::

    run = PredictRun(launcher=run_sync)
    run.select(run.load("nuclei.n2v.safetensors"))
    axes, plan = run.plan(data.shape, rgb=False, typed="")
    run.returned.connect(lambda out, source: ...)  # a PredictOutput for the layer called `source`
    run.start(data, axes, PredictConfig(), source_name="nuclei")
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from psygnal import Signal

from napari_n2v.core.errors import N2VError, TrustRequired
from napari_n2v.core.io import lazy_io
from napari_n2v.run_models.job_state import JobRun
from napari_n2v.run_models.jobs import Launcher, run_sync
from napari_n2v.run_models.predict_axes import describe_plan, plan_axes
from napari_n2v.run_models.registry import ModelRegistry, get_registry

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.core.config import PredictConfig
    from napari_n2v.core.model.n2v_model import N2VModel
    from napari_n2v.run_models.predict_job import PredictOutput


class PredictRun(JobRun):
    """Choose a model, plan the axes, start and cancel a prediction.

    Signals
    -------
    state_changed(JobState)
        Running started or ended.
    progress(PredictEvent)
        Tiles done, total, ETA.
    warned(str), failed(str)
        A warning (each text once per run); the one message for an error (shown once).
    returned(PredictOutput, str)
        The result and the source layer's name (not after a cancel).
    ended(bool)
        The job is over; True when it was cancelled. A store that no layer took is deleted first.
    """

    progress = Signal(object)
    returned = Signal(object, str)
    ended = Signal(bool)

    what = "Prediction"

    def __init__(
        self, launcher: Launcher = run_sync, registry: ModelRegistry | None = None
    ) -> None:
        super().__init__(launcher)
        self.registry = registry if registry is not None else get_registry()
        self.model_name: str | None = None
        self.source_name: str | None = None
        self.store: Path | None = None  # a store being written, deleted unless a layer takes it

    @property
    def cancelled(self) -> bool:
        """Whether the last prediction was cancelled."""
        return self.cancel_requested

    @property
    def model(self) -> N2VModel | None:
        """The chosen model, or None."""
        name = self.model_name
        return self.registry.get(name) if name is not None and name in self.registry else None

    def select(self, name: str | None) -> None:
        self.model_name = name

    def load(self, path: str | Path, *, trust: bool = False) -> str:
        """Load a model file or zoo package (zip or folder), register and choose it; its name.

        Raises N2VError (e.g. a TorchScript package without ``trust``: see :func:`needs_trust`)."""
        from napari_n2v.core.model.model_io import load_model

        try:
            model = load_model(path, trust=trust)
        except OSError as err:
            raise N2VError(str(err)) from err
        name = self.registry.add(model, getattr(model, "name", None) or Path(path).stem)
        self.model_name = name
        return name

    def plan(self, shape: tuple[int, ...], rgb: bool, typed: str) -> tuple[str, str]:
        """The checked axes and a line saying what Predict will do; N2VError says why it cannot."""
        model = self.model
        if model is None:
            raise N2VError("Predict needs a model: train one in the Train widget, or Load… a file.")
        axes, _guess = plan_axes(typed, shape, rgb, model)
        return axes, describe_plan(axes, shape, model.is_3d)

    def start(
        self,
        data: Any,
        axes: str,
        config: PredictConfig,
        *,
        source_name: str,
        out_path: Path | None = None,
        residual: bool = False,
    ) -> bool:
        """Predict ``data`` (``out_path``: stream into a new zarr store there; ``residual``: return
        ``data - result`` too). False if not started."""
        from napari_n2v.run_models.predict_job import run_prediction

        model = self.model
        if self.running or model is None:
            return False
        self.source_name, self.store = source_name, out_path
        return self._launch(run_prediction(model, data, axes, config, out_path, residual))

    # --- the kernel's hooks --------------------------------------------------------------------------
    # cancel(): the job quits at the next tile; nothing is returned and a streamed store is deleted.
    def _on_event(self, event: Any) -> None:
        self.progress.emit(event)

    def _on_returned(self, out: PredictOutput) -> None:
        if not self.cancelled:
            self.returned.emit(out, self.source_name or "")
            self.store = None  # the result (and its store) belongs to the receiver now

    def _cleanup(self) -> None:
        store, self.store = self.store, None
        if store is not None:
            lazy_io.remove_store(store)  # cancelled or failed: never leave a half-written result

    def _on_ended(self) -> None:
        self.ended.emit(self.cancelled)


def needs_trust(err: BaseException) -> bool:
    """Whether a load failed only because a zoo package's TorchScript (code) needs the user's trust."""
    return isinstance(err, TrustRequired)
