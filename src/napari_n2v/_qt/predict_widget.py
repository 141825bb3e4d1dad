"""Predict dock widget: denoise an image layer, or files on disk (Files…), with a model of this session,
a model file or a zoo package.

It renders a :class:`napari_n2v.run_models.predict_run.PredictRun` (image layer) or a
:class:`napari_n2v.run_models.files_run.FilesRun` (Files…) and forwards clicks to them; values are read on
the main thread and the viewer is touched only in handlers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QVBoxLayout, QWidget

from napari_n2v._qt.dock_fit import DockWidget
from napari_n2v._qt.layer_mode import LayerMode
from napari_n2v._qt.predict_files import FilesMode
from napari_n2v._qt.predict_form import PredictForm
from napari_n2v._qt.predict_layers import remove_temp_store_of
from napari_n2v._qt.predict_load import ask_model_path, load_with_trust
from napari_n2v._qt.worker import notify_error, start_worker
from napari_n2v.run_models.jobs import disconnect_all
from napari_n2v.run_models.predict_run import PredictRun

if TYPE_CHECKING:  # pragma: no cover
    import napari

    from napari_n2v.core.model.n2v_model import N2VModel


class PredictWidget(DockWidget):
    """Dock widget: image layer + model -> tiled prediction in a worker -> new ``<layer>_n2v`` layer;
    or (Files…) files and folders -> results in an output folder.

    Attributes: :attr:`form` (the controls, for tests), :attr:`run` (the state of layer mode),
    :attr:`files` (Files… mode), :attr:`problem` (why Predict cannot run now, "" when it can).
    """

    #: Emitted (main thread) with the new layer, or None when prediction was cancelled or failed.
    finished = Signal(object)

    def __init__(self, napari_viewer: napari.viewer.Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = napari_viewer
        self.run = PredictRun(launcher=start_worker)
        self.registry = self.run.registry
        self.form = f = PredictForm(napari_viewer, self)
        self.layer_mode = lm = LayerMode(napari_viewer, f, self.run)
        self.files = FilesMode(napari_viewer, f)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(f)
        lay.addStretch(1)
        f.predict_button.clicked.connect(self.predict)
        f.cancel_button.clicked.connect(self.cancel)
        f.load_file_action.triggered.connect(lambda: self._choose(folder=False))
        f.load_folder_action.triggered.connect(lambda: self._choose(folder=True))
        f.layer_combo.currentIndexChanged.connect(lm.on_layer_changed)
        f.axes_edit.textEdited.connect(lm.check)
        f.model_combo.currentIndexChanged.connect(self._on_model_changed)
        f.files_button.toggled.connect(self._check)
        r = self.run
        r.state_changed.connect(self._on_state)
        r.progress.connect(lambda ev: f.show_progress(ev.done, ev.total, ev.eta_s))
        r.returned.connect(lm.on_returned)
        r.failed.connect(self._error)
        r.warned.connect(_warn)
        r.ended.connect(self._on_ended)
        self.files.run.state_changed.connect(self._on_state)
        self.viewer.layers.events.removed.connect(self._on_layer_removed)
        self.registry.changed.connect(self._refresh_models)
        self.destroyed.connect(_disconnect(self.viewer, self.registry, f, self))
        self.destroyed.connect(lambda *_, runs=(r, self.files.run): disconnect_all(*runs))
        self._refresh_models()
        lm.on_layer_changed()

    @property
    def worker(self) -> Any:
        """The running job (either mode), or None."""
        return self.run.job or self.files.run.job

    @property
    def problem(self) -> str:
        """Why Predict cannot run on the chosen layer now ("" when it can)."""
        return self.layer_mode.problem

    @property
    def running(self) -> bool:
        return self.run.running or self.files.run.running

    # --- pickers -----------------------------------------------------------------------------------
    def _refresh_models(self) -> None:
        names = self.registry.names()
        keep = self.form.model_combo.currentText() or (names[-1] if names else "")
        self.form.set_items(self.form.model_combo, names, keep)
        self._on_model_changed()

    def selected_layer(self) -> Any:
        """The chosen image layer, or None."""
        return self.form.layer_combo.layer()

    def selected_model(self) -> N2VModel | None:
        """The chosen model, or None."""
        return self.run.model

    def _on_model_changed(self, *args: Any) -> None:
        self.run.select(self.form.model_combo.currentText() or None)
        self.form.show_model(self.selected_model())
        self.layer_mode.update_axes()
        self._check()

    def _check(self, *_args: Any) -> None:
        """Enable Predict when it can run: Files… needs a model (inputs are checked on Predict)."""
        if self.form.files_mode:
            self.form.predict_button.setEnabled(self.run.model is not None and not self.running)
        else:
            self.layer_mode.check()

    # --- loading -----------------------------------------------------------------------------------
    def load_model_file(self, path: str | Path) -> str | None:
        """Load a model file or a zoo package (zip or folder), add it to the session's models and
        select it. A TorchScript package asks for trust first. Errors are notified; None then."""
        name, problem = load_with_trust(self, self.run, path)
        if problem:
            self._error(problem)
        elif name is None:
            self.form.show_status(f"Not loaded: {Path(path).name} (TorchScript not trusted).")
        else:
            self.form.model_combo.setCurrentText(name)
        return name

    def _choose(self, folder: bool) -> None:
        path = ask_model_path(self, folder)
        if path:
            self.load_model_file(path)

    # --- running -----------------------------------------------------------------------------------
    def predict(self) -> None:
        """Start the chosen mode: the image layer, or the files (Files…)."""
        if self.running:
            return
        if self.form.files_mode:
            if self.run.model is None:
                self._error(
                    "Predict needs a model: train one in the Train widget, or Load… a file."
                )
            else:
                self.files.start(self.run.model)
            return
        problem = self.layer_mode.start()
        if problem is not None:
            self._error(problem)

    def cancel(self) -> None:
        """Stop at the next tile; no layer is added, and no partial file or store is left."""
        if self.files.run.running:
            self.files.cancel()
        elif self.run.running:
            self.form.show_status("Cancelling…")
            self.run.cancel()

    def _on_state(self) -> None:
        self.form.set_running(self.running)
        if not self.running:
            self._check()

    def _on_ended(self, cancelled: bool) -> None:
        self.form.end_progress(cancelled)
        if cancelled:
            self.form.show_status("Cancelled; no layer was added.")
        result, self.layer_mode.result = self.layer_mode.result, None
        self.finished.emit(result)

    def _on_layer_removed(self, event: Any) -> None:
        remove_temp_store_of(event.value)

    def _error(self, message: str) -> None:
        self.form.show_status(message, problem=True)
        notify_error(message)

    # --- lifetime ----------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Cancel a running prediction and disconnect from the viewer and the registry."""
        self.cancel()
        _disconnect(self.viewer, self.registry, self.form, self)()


def _warn(message: str) -> None:
    from napari.utils.notifications import show_warning

    show_warning(message)


def _disconnect(viewer: Any, registry: Any, form: PredictForm, widget: PredictWidget) -> Any:
    """A callable that stops following the viewer and the registry (safe to call twice)."""
    slots = [
        (viewer.layers.events.removed, widget._on_layer_removed),
        (registry.changed, widget._refresh_models),
    ]

    def disconnect(*_args: object) -> None:
        while slots:
            sig, slot = slots.pop()
            try:
                sig.disconnect(slot)
            except (RuntimeError, TypeError, ValueError):
                pass
        form.layer_combo.disconnect_viewer()

    return disconnect
