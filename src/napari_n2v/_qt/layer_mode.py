"""Image-layer mode of the Predict widget: the axes plan for the chosen layer and model, the start of a
prediction, and the result layer ``<layer>_n2v`` (added on the main thread, in the run's handler)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from napari_n2v._qt.layer_kinds import full_array
from napari_n2v._qt.predict_layers import (
    add_beside,
    placed_like,
    result_kwargs,
    result_name,
    stream_target,
)
from napari_n2v.core.errors import N2VError
from napari_n2v.core.io import lazy_io
from napari_n2v.run_models.predict_axes import infer_axes

if TYPE_CHECKING:  # pragma: no cover
    import napari

    from napari_n2v._qt.predict_form import PredictForm
    from napari_n2v.run_models.predict_job import PredictOutput
    from napari_n2v.run_models.predict_run import PredictRun


class LayerMode:
    """Plans and starts the prediction of one image layer; keeps the layer it added (:attr:`result`)."""

    def __init__(self, viewer: napari.Viewer, form: PredictForm, run: PredictRun) -> None:
        self.viewer, self.form, self.run = viewer, form, run
        self.problem = ""  # why Predict cannot run now ("" when it can)
        self.result: Any = None

    def on_layer_changed(self, *_args: Any) -> None:
        layer = self.form.layer_combo.layer()
        # dask/zarr layers stream into a zarr store by default; numpy ones stay in memory.
        self.form.stream_check.setChecked(layer is not None and lazy_io.is_lazy(full_array(layer)))
        self.update_axes()

    def update_axes(self, *_args: Any) -> None:
        """Fill the axes field with the engine's guess for the layer and the model, then check."""
        layer, model = self.form.layer_combo.layer(), self.run.model
        text = ""
        if layer is not None and model is not None:
            shape = full_array(layer).shape
            try:
                text = self.run.plan(shape, layer.rgb, "")[0]
            except (
                N2VError
            ):  # the guess does not fit: show it, so check()'s message names what is shown
                try:
                    text = infer_axes(shape, bool(layer.rgb), model.is_3d, model.n_channels)
                except N2VError:  # no guess at all: check() says to type the axes
                    pass
        self.form.axes_edit.setText(text)
        self.check()

    def check(self, *_args: Any) -> tuple[str, Any] | None:
        """Say what Predict will do, or why it cannot (in red, and Predict is disabled).

        Returns ``(axes, data)`` when Predict can run; otherwise :attr:`problem` says why.
        """
        if self.run.running or self.form.files_mode:  # Files… checks its inputs on Predict
            return None
        layer, result, plan = self.form.layer_combo.layer(), None, ""
        try:
            if self.run.model is not None and layer is None:
                raise N2VError("Predict needs an image layer: open or add one.")
            data = full_array(layer) if layer is not None else None
            shape = data.shape if data is not None else ()
            rgb = bool(layer.rgb) if layer else False
            axes, plan = self.run.plan(shape, rgb, self.form.axes_edit.text())
            result, self.problem = (axes, data), ""
        except N2VError as err:
            self.problem = str(err)
            plan = "" if self.run.model is None else self.problem  # the model line says so in red
        self.form.show_plan(plan, problem=result is None)
        self.form.predict_button.setEnabled(result is not None)
        return result

    def start(self) -> str | None:
        """Start predicting the chosen layer; an error message when it cannot (None when started)."""
        layer, model, checked = self.form.layer_combo.layer(), self.run.model, self.check()
        if checked is None or layer is None or model is None:
            return self.problem
        axes, data = checked
        try:
            config = self.form.config(model)
            out_path = stream_target(self.form)
        except N2VError as err:
            return str(err)
        self.result = None
        plan = self.form.plan_label.text()
        residual = self.form.residual_check.isChecked()
        self.run.start(
            data, axes, config, source_name=layer.name, out_path=out_path, residual=residual
        )
        self.form.show_status(f"Predicting {layer.name} ({plan})")
        return None

    def on_returned(self, out: PredictOutput, source: str) -> None:
        if source not in self.viewer.layers:
            return
        src = self.viewer.layers[source]
        name = result_name(src.name, [ly.name for ly in self.viewer.layers])
        self.form.layer_combo.paused = True  # the new layer becomes active; the box stays put
        try:
            self.result = self.viewer.add_image(out.data, **result_kwargs(src, out, name))
            added = [name]
            if out.residual is not None:
                added.append(self._add_residual(src, out))
        finally:
            self.form.layer_combo.paused = False
        self.form.show_status(f"Added {' and '.join(repr(n) for n in added)}.")

    def _add_residual(self, src: Any, out: PredictOutput) -> str:
        """The residual (noisy − denoised) as a layer ``<source>_residual`` above the result; for an
        RGB image, the mean over the colours."""
        name = result_name(src.name, [ly.name for ly in self.viewer.layers], "_residual")
        data = out.residual.mean(axis=-1) if src.rgb else out.residual
        meta = {"n2v_residual_of": src.name}
        add_beside(
            self.viewer, data, placed_like(src, name, out.residual_limits, meta, rgb=False), None
        )
        return name
