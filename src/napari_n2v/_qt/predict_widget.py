"""Predict dock widget: denoise any image layer with a model of this session or from a file.

Values are read on the main thread (layer array, frozen :class:`PredictConfig`, model); a worker runs
:func:`napari_n2v._qt.predict_job.run_prediction`; the viewer is touched only in its handlers.
"""

from __future__ import annotations

from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QFileDialog, QVBoxLayout, QWidget

from napari_n2v.core import lazy_io
from napari_n2v.core.config import PredictConfig
from napari_n2v.core.errors import N2VError

from .dock_fit import fit_after_docking
from .models import get_registry
from .predict_axes import describe_plan, infer_axes, plan_axes
from .predict_form import PredictForm
from .predict_layers import TEMP_STORES, level0, remove_temp_store_of, result_kwargs, result_name
from .predict_picker import ImageBox, disconnect_all

if TYPE_CHECKING:  # pragma: no cover
    import napari

    from napari_n2v.core.n2v_model import N2VModel

    from .predict_job import PredictOutput


class PredictWidget(QWidget):
    """Dock widget: image layer + model -> tiled prediction in a worker -> new ``<layer>_n2v`` layer.

    Parameters
    ----------
    napari_viewer
        The viewer whose image layers are offered and which receives the result.

    Attributes
    ----------
    form
        The child controls (layer and model pickers, tiles, buttons, progress), for tests.
    worker
        The running worker, or None.
    """

    #: Emitted (main thread) with the new layer, or None when prediction was cancelled or failed.
    finished = Signal(object)

    def __init__(self, napari_viewer: napari.viewer.Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = napari_viewer
        self.registry = get_registry()
        self.worker: Any = None
        self._cancelled = False
        self._source: Any = None
        self._store: Path | None = None
        self._result: Any = None
        self._fitted = False  # the canvas was fitted again after docking
        self.problem = ""  # why Predict cannot run now ("" when it can)
        self.form = PredictForm(self)
        self.image_box = ImageBox(napari_viewer, self.form.layer_combo)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.form)
        lay.addStretch(1)
        f = self.form
        f.predict_button.clicked.connect(self.predict)
        f.cancel_button.clicked.connect(self.cancel)
        f.load_button.clicked.connect(self._choose_model_file)
        f.layer_combo.currentIndexChanged.connect(self._on_layer_changed)
        f.axes_edit.textEdited.connect(self._check)
        f.model_combo.currentIndexChanged.connect(self._on_model_changed)
        events = self.viewer.layers.events
        self._connections: list[tuple[Any, Any]] = [
            *(
                (ev, self.image_box.refresh)
                for ev in (events.inserted, events.removed, events.reordered, events.renamed)
            ),
            (events.removed, self._on_layer_removed),
            (self.registry.changed, self._refresh_models),
            (self.viewer.layers.selection.events.active, self.image_box.on_active_changed),
        ]
        for sig, slot in self._connections:
            sig.connect(slot)
        # napari may delete a dock widget without closeEvent: disconnect then too.
        self.destroyed.connect(partial(disconnect_all, self._connections))
        self.image_box.refresh()
        self._refresh_models()

    # --- pickers -----------------------------------------------------------------------------------
    def _refresh_models(self) -> None:
        names = self.registry.names()
        keep = self.form.model_combo.currentText() or (names[-1] if names else "")
        self.form.set_items(self.form.model_combo, names, keep)
        self._on_model_changed()

    def selected_layer(self) -> Any:
        """The chosen image layer, or None."""
        return self.image_box.layer()

    def selected_model(self) -> N2VModel | None:
        """The chosen model, or None."""
        name = self.form.model_combo.currentText()
        return self.registry.get(name) if name in self.registry else None

    def _on_layer_changed(self, *args: Any) -> None:
        layer = self.selected_layer()
        # dask/zarr layers stream into a zarr store by default; numpy ones stay in memory.
        self.form.stream_check.setChecked(layer is not None and lazy_io.is_lazy(level0(layer.data)))
        self._update_axes()

    def _on_model_changed(self, *args: Any) -> None:
        self.form.show_model(self.selected_model())
        self._update_axes()

    def _update_axes(self, *args: Any) -> None:
        """Fill the axes field from the layer and the model, then check the plan."""
        layer, model = self.selected_layer(), self.selected_model()
        text = ""
        if layer is not None and model is not None:
            with suppress(N2VError):  # nothing fits: _check says why
                text = infer_axes(
                    level0(layer.data).shape, layer.rgb, model.is_3d, model.n_channels
                )
        self.form.axes_edit.setText(text)
        self._check()

    def _check(self, *args: Any) -> tuple[str, Any] | None:
        """Say what Predict will do, or why it cannot (in red, and Predict is disabled).

        Returns ``(axes, data)`` when Predict can run; otherwise :attr:`problem` says why.
        """
        if self.worker is not None:
            return None
        layer, model = self.selected_layer(), self.selected_model()
        result, plan = None, ""
        if model is None:  # the model line says so in red; the plan line stays empty
            self.problem = "Predict needs a model: train one in the Train widget, or Load… a file."
        elif layer is None:
            self.problem = plan = "Predict needs an image layer: open or add one."
        else:
            data = level0(layer.data)
            try:
                axes, _guess = plan_axes(self.form.axes_edit.text(), data.shape, layer.rgb, model)
                result, plan, self.problem = (
                    (axes, data),
                    describe_plan(axes, data.shape, model.is_3d),
                    "",
                )
            except N2VError as err:
                self.problem = plan = str(err)
        self.form.show_plan(plan, problem=result is None)
        self.form.predict_button.setEnabled(result is not None)
        return result

    def load_model_file(self, path: str | Path) -> str | None:
        """Load a model file, add it to the session's models and select it; errors are notified.

        Returns
        -------
        str or None
            The name the model was registered under, or None if the file could not be loaded.
        """
        from napari_n2v.core.model_io import load_model

        try:
            model = load_model(path)
        except (N2VError, OSError) as err:
            self._error(f"Could not load model {Path(path).name}: {err}")
            return None
        name = self.registry.add(model, getattr(model, "name", None) or Path(path).stem)
        self.form.model_combo.setCurrentText(name)
        return name

    def _choose_model_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a Noise2Void model", "", "N2V models (*.safetensors);;All files (*)"
        )
        if path:
            self.load_model_file(path)

    # --- running -----------------------------------------------------------------------------------
    def predict(self) -> None:
        """Read the settings, check them against the layer and model, and start the worker."""
        from superqt.utils import create_worker  # napari 0.9's own relays no errors: we do

        from .predict_job import run_prediction

        if self.worker is not None:
            return
        layer, model = self.selected_layer(), self.selected_model()
        checked = self._check()
        if checked is None or layer is None or model is None:
            self._error(self.problem)
            return
        axes, data = checked
        try:
            config = self.form.config(model, PredictConfig)
        except N2VError as err:
            self._error(str(err))
            return
        out_path = None
        if self.form.stream_check.isChecked():
            text = self.form.store_edit.text().strip()
            out_path = Path(text).expanduser() if text else lazy_io.temp_store_path()
            if text and out_path.exists() and (out_path.is_file() or any(out_path.iterdir())):
                self._error(f"{out_path} already exists; give a new folder for the zarr result.")
                return
            if not text:
                TEMP_STORES.append(out_path)
        self._source, self._store, self._cancelled, self._result = layer, out_path, False, None
        self.form.set_running(True)
        self.form.show_status(
            f"Predicting {layer.name} ({describe_plan(axes, data.shape, model.is_3d)})"
        )
        self.worker = create_worker(
            run_prediction, model, data, axes, config, out_path, _start_thread=False,
            _connect={"errored": self._on_error, "warned": self._on_warned},
        )  # fmt: skip
        self.worker.yielded.connect(self._on_progress)
        self.worker.returned.connect(self._on_returned)
        self.worker.finished.connect(self._on_finished)
        self.worker.start()

    def cancel(self) -> None:
        """Stop at the next tile; no layer is added and a streamed store is deleted."""
        if self.worker is not None:
            self._cancelled = True
            self.form.show_status("Cancelling…")
            self.worker.quit()

    def _on_progress(self, event: Any) -> None:
        self.form.show_progress(event.done, event.total, event.eta_s)

    def _on_returned(self, out: PredictOutput) -> None:
        src = self._source
        if src is None or self._cancelled:
            return
        name = result_name(src.name, [ly.name for ly in self.viewer.layers])
        self.image_box.paused = True  # the new layer becomes active; the box stays on the source
        try:
            self._result = self.viewer.add_image(out.data, **result_kwargs(src, out, name))
        finally:
            self.image_box.paused = False
        self._store = None  # the layer owns the store now
        self.form.show_status(f"Added layer {name!r}.")

    def _on_error(self, err: Exception) -> None:
        self._error(str(err) if isinstance(err, N2VError) else f"Prediction failed: {err}")

    def _on_warned(self, args: tuple) -> None:
        from napari.utils.notifications import show_warning

        show_warning(str(args[0]))

    def _on_finished(self) -> None:
        store, result = self._store, self._result
        self.worker, self._source, self._store, self._result = None, None, None, None
        self.form.set_running(False)
        self._check()
        if store is not None:  # cancelled or failed: never leave a half-written result
            lazy_io.remove_store(store)
        if self._cancelled:
            self.form.show_status("Cancelled; no layer was added.")
        self.finished.emit(result)

    def _on_layer_removed(self, event: Any) -> None:
        remove_temp_store_of(event.value)

    def _error(self, message: str) -> None:
        from napari.utils.notifications import show_error

        self.form.show_status(message, problem=True)
        show_error(message)

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
        disconnect_all(self._connections)
        super().closeEvent(event)
