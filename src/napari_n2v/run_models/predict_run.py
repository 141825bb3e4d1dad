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
from napari_n2v.run_models.jobs import Handlers, Job, Launcher, error_message, guarded, run_sync
from napari_n2v.run_models.predict_axes import describe_plan, plan_axes
from napari_n2v.run_models.registry import ModelRegistry, get_registry

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.core.config import PredictConfig
    from napari_n2v.core.model.n2v_model import N2VModel


class PredictRun:
    """Choose a model, plan the axes, start and cancel a prediction.

    Signals
    -------
    state_changed()
        Running started or ended.
    progress(PredictEvent)
        Tiles done, total, ETA.
    warned(str), failed(str)
        A warning; the one message for an error (shown once).
    returned(PredictOutput, str)
        The result and the source layer's name (not after a cancel).
    ended(bool)
        The job is over; True when it was cancelled. A store that no layer took is deleted first.
    """

    state_changed = Signal()
    progress = Signal(object)
    warned = Signal(str)
    failed = Signal(str)
    returned = Signal(object, str)
    ended = Signal(bool)

    def __init__(
        self, launcher: Launcher = run_sync, registry: ModelRegistry | None = None
    ) -> None:
        self.launcher = launcher
        self.registry = registry if registry is not None else get_registry()
        self.model_name: str | None = None
        self.job: Job | None = None
        self.source_name: str | None = None
        self.store: Path | None = None  # a store being written, deleted unless a layer takes it
        self.cancelled = False

    @property
    def running(self) -> bool:
        return self.job is not None

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
    ) -> bool:
        """Predict ``data`` (``out_path``: stream into a new zarr store there). False if not started."""
        from napari_n2v.run_models.predict_job import run_prediction

        model = self.model
        if self.running or model is None:
            return False
        self.source_name, self.store, self.cancelled = source_name, out_path, False
        handlers = Handlers(
            self.progress.emit, self._returned, self._errored, self.warned.emit, self._done
        )
        self.job = _Pending()
        self.state_changed.emit()
        job = self.launcher(guarded(run_prediction(model, data, axes, config, out_path)), handlers)
        if self.job is not None:
            self.job = job
        return True

    def cancel(self) -> None:
        """Stop at the next tile; nothing is returned and a streamed store is deleted."""
        if self.job is not None:
            self.cancelled = True
            self.job.quit()

    def _returned(self, out: Any) -> None:
        if not self.cancelled:
            self.returned.emit(out, self.source_name or "")
            self.store = None  # the result (and its store) belongs to the receiver now

    def _errored(self, exc: BaseException) -> None:
        self.failed.emit(error_message(exc, "Prediction"))

    def _done(self) -> None:
        store, self.store, self.job = self.store, None, None
        if store is not None:
            lazy_io.remove_store(store)  # cancelled or failed: never leave a half-written result
        self.state_changed.emit()
        self.ended.emit(self.cancelled)


def needs_trust(err: BaseException) -> bool:
    """Whether a load failed only because a zoo package's TorchScript (code) needs the user's trust."""
    return isinstance(err, TrustRequired)


class _Pending:
    is_running = True

    def quit(self) -> None:
        pass
