"""Predict dock widget: denoise any image layer with a model of this session, a file or a zoo package.

It renders a :class:`napari_n2v.run_models.predict_run.PredictRun` (model, plan, job, result store) and
forwards clicks to it; values are read on the main thread and the viewer is touched only in handlers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QVBoxLayout, QWidget

from napari_n2v.core import lazy_io
from napari_n2v.core.errors import N2VError
from napari_n2v.run_models.jobs import disconnect_all
from napari_n2v.run_models.predict_run import PredictRun

from .dock_fit import fit_after_docking
from .layer_combo import full_array
from .predict_form import PredictForm
from .predict_layers import remove_temp_store_of, result_kwargs, result_name, stream_target
from .predict_load import ask_model_path, load_with_trust
from .worker import notify_error, start_worker

if TYPE_CHECKING:  # pragma: no cover
    import napari

    from napari_n2v.core.n2v_model import N2VModel
    from napari_n2v.run_models.predict_job import PredictOutput


class PredictWidget(QWidget):
    """Dock widget: image layer + model -> tiled prediction in a worker -> new ``<layer>_n2v`` layer.

    Attributes: :attr:`form` (the controls, for tests), :attr:`run` (the state), :attr:`problem` (why
    Predict cannot run now, "" when it can).
    """

    #: Emitted (main thread) with the new layer, or None when prediction was cancelled or failed.
    finished = Signal(object)

    def __init__(self, napari_viewer: napari.viewer.Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = napari_viewer
        self.run = PredictRun(launcher=start_worker)
        self.registry = self.run.registry
        self._result: Any = None
        self._fitted = False  # the canvas was fitted again after docking
        self.problem = ""
        self.form = f = PredictForm(napari_viewer, self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(f)
        lay.addStretch(1)
        f.predict_button.clicked.connect(self.predict)
        f.cancel_button.clicked.connect(self.run.cancel)
        f.load_file_action.triggered.connect(lambda: self._choose(folder=False))
        f.load_folder_action.triggered.connect(lambda: self._choose(folder=True))
        f.layer_combo.currentIndexChanged.connect(self._on_layer_changed)
        f.axes_edit.textEdited.connect(self._check)
        f.model_combo.currentIndexChanged.connect(self._on_model_changed)
        r = self.run
        r.state_changed.connect(self._on_state)
        r.progress.connect(lambda ev: f.show_progress(ev.done, ev.total, ev.eta_s))
        r.returned.connect(self._on_returned)
        r.failed.connect(self._error)
        r.warned.connect(_warn)
        r.ended.connect(self._on_ended)
        self.viewer.layers.events.removed.connect(self._on_layer_removed)
        self.registry.changed.connect(self._refresh_models)
        self.destroyed.connect(_disconnect(self.viewer, self.registry, f, self))
        self.destroyed.connect(lambda *_, run=self.run: disconnect_all(run))
        self._refresh_models()
        self._on_layer_changed()

    @property
    def worker(self) -> Any:
        """The running job, or None."""
        return self.run.job

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

    def _on_layer_changed(self, *args: Any) -> None:
        layer = self.selected_layer()
        # dask/zarr layers stream into a zarr store by default; numpy ones stay in memory.
        self.form.stream_check.setChecked(layer is not None and lazy_io.is_lazy(full_array(layer)))
        self._update_axes()

    def _on_model_changed(self, *args: Any) -> None:
        name = self.form.model_combo.currentText()
        self.run.select(name or None)
        self.form.show_model(self.selected_model())
        self._update_axes()

    def _update_axes(self, *args: Any) -> None:
        """Fill the axes field with the engine's guess for the layer and the model, then check."""
        layer = self.selected_layer()
        text = ""
        if layer is not None and self.run.model is not None:
            try:
                text = self.run.plan(full_array(layer).shape, layer.rgb, "")[0]
            except N2VError:  # nothing fits: _check says why
                pass
        self.form.axes_edit.setText(text)
        self._check()

    def _check(self, *args: Any) -> tuple[str, Any] | None:
        """Say what Predict will do, or why it cannot (in red, and Predict is disabled).

        Returns ``(axes, data)`` when Predict can run; otherwise :attr:`problem` says why.
        """
        if self.run.running:
            return None
        layer, result, plan = self.selected_layer(), None, ""
        try:
            if self.run.model is not None and layer is None:
                raise N2VError("Predict needs an image layer: open or add one.")
            data = full_array(layer) if layer is not None else None
            shape = data.shape if data is not None else ()
            axes, plan = self.run.plan(
                shape, bool(layer.rgb) if layer else False, self.form.axes_edit.text()
            )
            result, self.problem = (axes, data), ""
        except N2VError as err:
            self.problem = str(err)
            plan = "" if self.run.model is None else self.problem  # the model line says so in red
        self.form.show_plan(plan, problem=result is None)
        self.form.predict_button.setEnabled(result is not None)
        return result

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
        """Read the settings, check them against the layer and model, and start the worker."""
        if self.run.running:
            return
        layer, model, checked = self.selected_layer(), self.run.model, self._check()
        if checked is None or layer is None or model is None:
            self._error(self.problem)
            return
        axes, data = checked
        try:
            config = self.form.config(model)
            out_path = stream_target(self.form)
        except N2VError as err:
            self._error(str(err))
            return
        self._result = None
        plan = self.form.plan_label.text()
        self.run.start(data, axes, config, source_name=layer.name, out_path=out_path)
        self.form.show_status(f"Predicting {layer.name} ({plan})")

    def cancel(self) -> None:
        """Stop at the next tile; no layer is added and a streamed store is deleted."""
        if self.run.running:
            self.form.show_status("Cancelling…")
            self.run.cancel()

    def _on_state(self) -> None:
        self.form.set_running(self.run.running)
        if not self.run.running:
            self._check()

    def _on_returned(self, out: PredictOutput, source: str) -> None:
        if source not in self.viewer.layers:
            return
        src = self.viewer.layers[source]
        name = result_name(src.name, [ly.name for ly in self.viewer.layers])
        self.form.layer_combo.paused = (
            True  # the new layer becomes active; the box stays on the source
        )
        try:
            self._result = self.viewer.add_image(out.data, **result_kwargs(src, out, name))
        finally:
            self.form.layer_combo.paused = False
        self.form.show_status(f"Added layer {name!r}.")

    def _on_ended(self, cancelled: bool) -> None:
        if cancelled:
            self.form.show_status("Cancelled; no layer was added.")
        result, self._result = self._result, None
        self.finished.emit(result)

    def _on_layer_removed(self, event: Any) -> None:
        remove_temp_store_of(event.value)

    def _error(self, message: str) -> None:
        self.form.show_status(message, problem=True)
        notify_error(message)

    # --- lifetime ----------------------------------------------------------------------------------
    def showEvent(self, event: Any) -> None:
        """The first time the docked widget shows, fit the (now smaller) canvas again."""
        if not self._fitted and self.parent() is not None:
            self._fitted = True
            fit_after_docking(self.viewer)
        super().showEvent(event)

    def closeEvent(self, event: Any) -> None:
        """Cancel a running prediction and disconnect from the viewer and the registry."""
        self.cancel()
        _disconnect(self.viewer, self.registry, self.form, self)()
        super().closeEvent(event)


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
