"""The Train widget's inputs: which layer, what its axes mean, its noise, and the settings; checked as
you type."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget

from napari_n2v._qt.axes_choice import AxesChoice
from napari_n2v._qt.layer_combo import LayerCombo
from napari_n2v._qt.layer_kinds import full_array
from napari_n2v._qt.more_layers import MoreLayers
from napari_n2v._qt.noise_panel import NoisePanel
from napari_n2v._qt.train_settings import TrainSettings
from napari_n2v.core.axes import validate_axes
from napari_n2v.core.errors import N2VError

if TYPE_CHECKING:  # pragma: no cover
    import napari

    from napari_n2v.core.config import TrainConfig


class TrainInputs(QWidget):
    """Image and validation layer pickers, the axes sentence/choice, the settings and a red problem line.

    ``validity_changed(bool)`` is emitted after every check; :meth:`validate` returns the
    :class:`TrainConfig` to train with, or None (and shows why in :attr:`error_label`).
    """

    validity_changed = Signal(bool)

    def __init__(self, viewer: napari.Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = viewer
        self.layer_combo = LayerCombo(viewer, inputs_only=True)
        self.val_combo = LayerCombo(viewer, none_text="none (split the image)", inputs_only=True)
        self.val_combo.setToolTip("An optional second image to measure the validation loss on.")
        self.more_layers = MoreLayers(viewer)
        self.axes_choice = AxesChoice()
        self.noise = NoisePanel()
        self.settings = TrainSettings()
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #e5534b;")
        form = QFormLayout()
        form.addRow("Image", self.layer_combo)
        form.addRow("Also train on", self.more_layers)
        form.addRow("Validation", self.val_combo)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(form)
        lay.addWidget(self.axes_choice)
        lay.addWidget(self.noise)
        lay.addWidget(self.settings)
        lay.addWidget(self.error_label)
        self.layer_combo.currentIndexChanged.connect(self._on_layer_changed)
        self.val_combo.currentIndexChanged.connect(self.validate)
        self.more_layers.changed.connect(self.validate)
        self.axes_choice.changed.connect(self._on_axes_changed)
        self.settings.changed.connect(self.validate)
        self.noise.button.clicked.connect(self.check_noise)
        self._on_layer_changed()

    def _on_layer_changed(self, *_args: object) -> None:
        self.noise.forget()
        layer = self.layer_combo.layer()
        self.more_layers.set_first(layer.name if layer is not None else None)
        if layer is None:
            self.axes_choice.set_layer(None)
            return
        labels = tuple(layer.axis_labels)
        if all(str(lab).startswith("-") for lab in labels):  # napari's defaults: ask the viewer
            labels = tuple(self.viewer.dims.axis_labels)[-layer.ndim :]
        self.axes_choice.set_layer(full_array(layer).shape, bool(layer.rgb), labels)

    def _on_axes_changed(self) -> None:
        self.noise.forget()
        axes = self.axes()
        self.settings.set_is_3d(axes is not None and "Z" in axes)  # emits changed -> validate

    def axes(self) -> str | None:
        """The training axes: typed in the advanced settings, else chosen from the layer's shape."""
        return self.settings.override_axes() or self.axes_choice.axes()

    def validate(self, *_args: object) -> TrainConfig | None:
        """Check the settings; show what to change in red. Returns the config, or None if invalid."""
        config, message = None, ""
        layer = self.layer_combo.layer()
        axes = self.axes()
        try:
            if layer is None:
                raise N2VError("Add an image layer to train on.")
            if axes is None:
                raise N2VError("Set the axes in the advanced settings (e.g. TCZYX).")
            shape = full_array(layer).shape
            config = self.settings.config(self._checked_axes(axes, shape))
            self._check_more(config.axes)
            val = self.val_combo.layer()
            # A patch larger than the image is no error: the engine shrinks it and says so.
            if val is not None and full_array(val).ndim != len(shape):
                raise N2VError(
                    f"the validation layer has {full_array(val).ndim} dimensions, the image has "
                    f"{len(shape)}: choose a layer like the image (or none)."
                )
        except N2VError as err:
            config, message = None, str(err)
        self.noise.set_enabled(self._noise_input() is not None)
        self.noise.show_choice(config)
        self.show_problem(message)
        return config

    def _noise_input(self) -> tuple[Any, str, str] | None:
        """The chosen layer's data, its checked axes and its name; None when the axes do not fit."""
        layer, axes = self.layer_combo.layer(), self.axes()
        if layer is None or axes is None:
            return None
        data = full_array(layer)
        try:
            return data, validate_axes(axes, data.shape), layer.name
        except N2VError:
            return None

    def check_noise(self) -> bool:
        """Run the Noise check on the chosen layer with its axes (in a worker)."""
        got = self._noise_input()
        return got is not None and self.noise.check(*got)

    def _check_more(self, axes: str) -> None:
        """Every ticked extra layer must have the first image's axes (sizes may differ)."""
        for extra in self.more_layers.layers():
            try:
                validate_axes(axes, full_array(extra).shape)
            except N2VError as err:
                raise N2VError(
                    f"{extra.name!r} does not fit the axes {axes!r} of the first image ({err}); "
                    "untick it under Also train on."
                ) from err

    def images(self) -> tuple[list[Any], list[str]]:
        """The arrays to train on (the chosen image first, then the ticked ones) and their names."""
        layers = [self.layer_combo.layer(), *self.more_layers.layers()]
        layers = [ly for ly in layers if ly is not None]
        return [full_array(ly) for ly in layers], [ly.name for ly in layers]

    def _checked_axes(self, axes: str, shape: tuple[int, ...]) -> str:
        """``axes`` validated against ``shape``; an error says which control set them and the guess."""
        try:
            return validate_axes(axes, shape)
        except N2VError as err:
            guess = self.axes_choice.axes()
            if self.settings.override_axes():
                hint = f"; the layer's shape suggests {guess!r}" if guess else ""
                where = f"Axes {axes!r} as typed in Advanced settings{hint}"
            else:
                where = f"Axes {axes!r} guessed from the layer; type others in Advanced settings"
            raise N2VError(f"{err} ({where}.)") from err

    def show_problem(self, message: str) -> None:
        """Show ``message`` in red next to the settings ("" clears it)."""
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))
        self.validity_changed.emit(not message)

    @property
    def ok(self) -> bool:
        """Whether the last check found nothing to change."""
        return not self.error_label.text()

    def disconnect_viewer(self) -> None:
        """Stop following the viewer's layers (safe to call twice)."""
        self.layer_combo.disconnect_viewer()
        self.val_combo.disconnect_viewer()
        self.more_layers.disconnect_viewer()
        self.noise.shutdown()
