"""The Train widget's advanced settings (folded away): axes, learning rate, validation, blind spot, N2V2,
structN2V, augmentation, seed, device, precision and the U-Net's size. Controls and texts come from the TrainConfig
fields."""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from napari_n2v._qt.controls import field_label, field_spin, field_tooltip, field_widget, spin_value
from napari_n2v.core.config import TrainConfig
from napari_n2v.core.config_fields import PRECISIONS

DEVICES = ("auto", "cpu", "cuda", "mps")
#: Blind spots offered (any other box can be typed, e.g. 7x7); 3D data add the cube.
BLIND_SPOTS_2D = ("auto", "pixel", "3x3", "5x5", "1x3", "1x5", "3x1", "5x1")
BLIND_SPOTS_3D = (*BLIND_SPOTS_2D, "3x3x3")
#: Fields shown as magicgui widgets, in the form's order.
_ROWS = ("learning_rate", "steps_per_epoch", "val_fraction", "val_patches")
FIELDS = (*_ROWS, "n2v2", "augment", "depth", "struct_span")


class AdvancedSettings(QWidget):
    """The advanced rows; the controls are attributes (Qt widgets), :attr:`fields` holds the magicgui
    widgets by field name; ``changed`` is emitted on every change."""

    changed = Signal()
    # the magicgui widgets' Qt controls, set from FIELDS in __init__ (those the code reads by name)
    n2v2: QCheckBox
    augment: QCheckBox
    struct_span: QAbstractSpinBox

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        d = TrainConfig()
        self.fields = {n: field_widget(TrainConfig, n, getattr(d, n)) for n in FIELDS}
        lr = self.fields["learning_rate"]
        lr.native.setDecimals(6)  # before the value: Qt rounds to the decimals shown
        lr.native.setSingleStep(1e-4)
        lr.value = d.learning_rate
        for name, w in self.fields.items():
            setattr(self, name, w.native)  # tests and scripts set the Qt controls
            w.changed.connect(self._emit)
        self.n2v2.setText("N2V2 (fewer checkerboard artefacts)")
        self.augment.setText("flips and 90° rotations")
        self.seed = field_spin(TrainConfig, "seed", d.seed, auto="random")
        self.n_filters = field_spin(TrainConfig, "n_filters", d.n_filters)  # auto: by device
        self.struct_axis = QComboBox()
        self.struct_axis.setToolTip(field_tooltip(TrainConfig, "struct_axis"))
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.device.setCurrentText(d.device if d.device in DEVICES else "auto")
        self.device.setToolTip(field_tooltip(TrainConfig, "device"))
        self.precision = QComboBox()
        self.precision.addItems(PRECISIONS)
        self.precision.setCurrentText(d.precision)
        self.precision.setToolTip(
            f"{field_tooltip(TrainConfig, 'precision')}. auto: bf16 where the device runs it "
            "natively (CUDA, CPUs with AVX512-BF16 or AMX), else fp32; fp32 runs the path of a CPU "
            "without bf16 on any CPU."
        )
        self.blind_spot = QComboBox()
        self.blind_spot.setEditable(True)  # any box the engine reads, e.g. 7x7 or 1x1x5
        self.blind_spot.setToolTip(field_tooltip(TrainConfig, "blind_spot"))
        self.axes_override = QLineEdit()
        self.axes_override.setPlaceholderText("from the layer")
        self.axes_override.setToolTip(field_tooltip(TrainConfig, "axes"))
        self._layout()
        self.seed.valueChanged.connect(self._emit)
        self.n_filters.valueChanged.connect(self._emit)
        self.struct_axis.currentIndexChanged.connect(self._emit)
        self.device.currentIndexChanged.connect(self._emit)
        self.precision.currentIndexChanged.connect(self._emit)
        self.blind_spot.currentTextChanged.connect(self._emit)
        self.axes_override.textChanged.connect(self._emit)
        self.set_is_3d(False)

    def _layout(self) -> None:
        adv = QFormLayout(self)
        adv.addRow(field_label(TrainConfig, "axes"), self.axes_override)
        for name in _ROWS:
            adv.addRow(field_label(TrainConfig, name), self.fields[name].native)
        adv.addRow(field_label(TrainConfig, "blind_spot"), self.blind_spot)
        adv.addRow("", self.n2v2)
        struct_row = QHBoxLayout()
        struct_row.addWidget(self.struct_axis, 1)
        struct_row.addWidget(QLabel("span"))
        struct_row.addWidget(self.struct_span)
        adv.addRow("structN2V", struct_row)
        adv.addRow(field_label(TrainConfig, "augment"), self.augment)
        adv.addRow(field_label(TrainConfig, "seed"), self.seed)
        adv.addRow(field_label(TrainConfig, "device"), self.device)
        adv.addRow(field_label(TrainConfig, "precision"), self.precision)
        depth = self.fields["depth"].native  # not self.depth: QWidget.depth() is Qt's
        adv.addRow("U-Net " + field_label(TrainConfig, "depth").lower(), depth)
        adv.addRow("U-Net " + field_label(TrainConfig, "n_filters").lower(), self.n_filters)

    def _emit(self, *_args: object) -> None:
        self.changed.emit()

    def set_is_3d(self, is_3d: bool) -> None:
        """Offer Z as a structN2V axis and a cube as blind spot only for 3D training (no signal)."""
        text = self.blind_spot.currentText() or "auto"
        self.blind_spot.blockSignals(True)
        self.blind_spot.clear()
        self.blind_spot.addItems(BLIND_SPOTS_3D if is_3d else BLIND_SPOTS_2D)
        self.blind_spot.setCurrentText(text)
        self.blind_spot.blockSignals(False)
        current = self.struct_axis.currentData()
        self.struct_axis.blockSignals(True)
        self.struct_axis.clear()
        self.struct_axis.addItem("off", None)
        for a in "XY" + ("Z" if is_3d else ""):
            self.struct_axis.addItem(f"along {a}", a)
        self.struct_axis.setCurrentIndex(max(self.struct_axis.findData(current), 0))
        self.struct_axis.blockSignals(False)

    def override_axes(self) -> str | None:
        """The axes typed here, or None."""
        return self.axes_override.text().strip().upper() or None

    def values(self) -> dict[str, Any]:
        """The TrainConfig keywords these rows set."""
        kw: dict[str, Any] = {name: w.value for name, w in self.fields.items()}
        kw.update(
            struct_axis=self.struct_axis.currentData(),
            seed=spin_value(self.seed),
            n_filters=spin_value(self.n_filters),
            device=self.device.currentText(),
            precision=self.precision.currentText(),
            blind_spot=self.blind_spot.currentText().strip() or "auto",
        )
        return kw
