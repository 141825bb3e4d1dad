"""The Predict widget's controls: pickers, tile settings, output, buttons and progress (no logic)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible

from .dock_fit import VScrollArea

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.core.config import PredictConfig
    from napari_n2v.core.n2v_model import N2VModel

#: Spin boxes show "auto" at 0: the engine then picks the value from the model and device.
AUTO = "auto"


def _spin(lo: int, hi: int, step: int, tip: str, auto: bool = False) -> QSpinBox:
    box = QSpinBox()
    box.setRange(0 if auto else lo, hi)
    box.setSingleStep(step)
    box.setToolTip(tip)
    if auto:
        box.setSpecialValueText(AUTO)
    return box


def format_eta(seconds: float | None) -> str:
    """``'ETA 12 s'``, ``'ETA 3 min 05 s'`` or ``''`` when unknown."""
    if seconds is None:
        return ""
    s = max(0, round(seconds))
    return f"ETA {s // 60} min {s % 60:02d} s" if s >= 60 else f"ETA {s} s"


class PredictForm(QWidget):
    """All child widgets of the Predict widget, kept as attributes so tests can set them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from napari_n2v.core.device import describe_device

        self.layer_combo = QComboBox()
        self.layer_combo.setToolTip("The image layer to denoise.")
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("A model trained in this session, or loaded from a file.")
        self.load_button = QPushButton("Load…")
        self.load_button.setToolTip("Load a model file (.n2v.safetensors).")
        self.model_label = QLabel("No model yet: train one or load a file.")
        self.model_label.setWordWrap(True)
        self.axes_edit = QLineEdit()
        self.axes_edit.setToolTip(
            "One letter per dim of the layer (S, T, C, Z, Y, X). Filled from the layer and the model; "
            "a 2D model predicts leading dims (Z, T, S) frame by frame."
        )
        self.plan_label = QLabel("")
        self.plan_label.setWordWrap(True)
        self.tile_spin = _spin(
            16, 8192, 32, "Largest tile edge in Y and X (rounded to the network's multiple)."
        )
        self.tile_spin.setValue(default_tile(None)[-1])
        self.tile_z_spin = _spin(4, 1024, 4, "Largest tile depth in Z (3D models only).", True)
        self.tile_z_spin.setSpecialValueText("–")
        self.overlap_spin = _spin(
            0, 512, 2, "Overlap of tiles; at least the model's halo hides seams."
        )
        self.batch_spin = _spin(1, 512, 1, "Tiles per batch (auto: from the device).", True)
        self.tta_check = QCheckBox("Test-time augmentation (8× slower, slightly smoother)")
        self.stream_check = QCheckBox("Stream the result to a zarr store (for large data)")
        self.stream_check.setToolTip(
            "Checked by itself for dask/zarr layers: memory stays ~ a few tiles."
        )
        self.store_edit = QLineEdit()
        self.store_edit.setPlaceholderText("zarr folder (empty: a temporary folder)")
        self.store_edit.setEnabled(False)
        self.stream_check.toggled.connect(self.store_edit.setEnabled)
        self.device_label = QLabel(describe_device("auto"))
        self.device_label.setToolTip("Where the model runs, and in which precision.")
        self.predict_button = QPushButton("Predict")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setFormat("")  # "tiles done / total  ETA" once a prediction runs
        self.progress.setValue(0)
        self.status = QLabel("")
        self.status.setWordWrap(True)

        self.advanced = QCollapsible("Tiles and output")
        adv_widget = QWidget()
        adv = QFormLayout(adv_widget)
        adv.setContentsMargins(0, 0, 0, 0)
        adv.addRow("Tile (Y, X)", self.tile_spin)
        adv.addRow("Tile Z", self.tile_z_spin)
        adv.addRow("Overlap", self.overlap_spin)
        adv.addRow("Batch size", self.batch_spin)
        adv.addRow(self.tta_check)
        adv.addRow(self.stream_check)
        adv.addRow("Zarr output", self.store_edit)
        self.advanced.addWidget(adv_widget)

        front = QWidget()  # the rows that always stay in view
        form = QFormLayout(front)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Image", self.layer_combo)
        row = QHBoxLayout()
        row.addWidget(self.model_combo, 1)
        row.addWidget(self.load_button)
        form.addRow("Model", row)
        form.addRow("", self.model_label)
        form.addRow("Axes", self.axes_edit)
        form.addRow("", self.plan_label)
        form.addRow("Device", self.device_label)
        buttons = QHBoxLayout()
        buttons.addWidget(self.predict_button)
        buttons.addWidget(self.cancel_button)
        inputs = QWidget()
        top = QVBoxLayout(inputs)
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(front)
        top.addWidget(self.advanced)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(VScrollArea(inputs, keep=front))  # buttons and status line stay in view
        lay.addLayout(buttons)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)

    @staticmethod
    def set_items(combo: QComboBox, items: list[str], keep: str) -> None:
        """Replace the items of ``combo``, keeping ``keep`` selected when it is still there.

        ``currentIndexChanged`` is emitted once, and only if the selected text changed.
        """
        before = combo.currentText()
        combo.blockSignals(True)
        combo.clear()
        combo.addItems(items)
        if keep in items:
            combo.setCurrentText(keep)
        combo.blockSignals(False)
        if combo.currentText() != before:  # only a real change of choice re-reads the layer
            combo.currentIndexChanged.emit(combo.currentIndex())

    def show_model(self, model: N2VModel | None) -> None:
        """Describe ``model`` (in red when there is none) and set tile/overlap/device from it."""
        from napari_n2v.core.device import describe_device

        _set_red(self.model_label, model is None)
        # The precision depends on the model: on a CPU, bf16 autocast is for 2D only.
        n_dim = 3 if model is not None and model.is_3d else 2
        self.device_label.setText(describe_device("auto", n_dim=n_dim))
        if model is None:
            self.model_label.setText("No model yet: train one or load a file.")
            return
        self.model_label.setText(model.describe())
        tile = default_tile(model)
        self.tile_spin.setValue(tile[-1])
        self.tile_z_spin.setValue(tile[0] if model.is_3d else 0)
        halo = tuple(model.halo)
        self.overlap_spin.setValue(max(halo) if halo else 0)
        self.overlap_spin.setToolTip(f"Overlap of tiles; the model's receptive field needs {halo}.")
        self.tile_z_spin.setEnabled(model.is_3d)

    def config(self, model: N2VModel, cls: type[PredictConfig]) -> PredictConfig:
        """A frozen ``cls`` (PredictConfig) from the controls for ``model`` (raises N2VError)."""
        n_sp = 3 if model.is_3d else 2
        yx = self.tile_spin.value()
        tile = (
            (yx, yx) if n_sp == 2 else (self.tile_z_spin.value() or default_tile(model)[0], yx, yx)
        )
        return cls(
            tile_shape=tile,
            overlap=(self.overlap_spin.value(),) * n_sp,
            batch_size=self.batch_spin.value() or None,
            tta=self.tta_check.isChecked(),
        )

    def show_plan(self, text: str, problem: bool) -> None:
        """Say what will happen (``problem``: why Predict cannot run, in red)."""
        self.plan_label.setText(text)
        self.plan_label.setVisible(bool(text))
        _set_red(self.plan_label, problem)

    def show_status(self, text: str, problem: bool = False) -> None:
        """The status line under the progress bar (``problem``: in red)."""
        self.status.setText(text)
        _set_red(self.status, problem)

    def set_running(self, running: bool) -> None:
        """Enable Cancel (and disable the inputs) while a prediction runs."""
        for w in (self.predict_button, self.layer_combo, self.model_combo, self.load_button):
            w.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        if running:
            self.progress.setRange(0, 0)  # busy until the first tile reports
            self.progress.setValue(0)
            self.progress.setFormat("starting…")
        elif self.progress.maximum() == 0:
            self.progress.setRange(0, 1)

    def show_progress(self, done: int, total: int, eta_s: float | None) -> None:
        """Tiles done of total, with the ETA in the bar's text."""
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        eta = format_eta(eta_s)
        self.progress.setFormat(f"%v / %m tiles  {eta}".rstrip())


#: Colour of problems (the Train widget's error line uses the same).
PROBLEM_COLOUR = "#e5534b"


def _set_red(label: QLabel, red: bool) -> None:
    label.setStyleSheet(f"color: {PROBLEM_COLOUR};" if red else "")


def default_tile(model: Any) -> tuple[int, ...]:
    """The engine's default spatial tile shape for ``model`` (None: for a 2D model)."""
    from napari_n2v.core import prediction

    is_3d = model is not None and model.is_3d
    return tuple(prediction.DEFAULT_TILE_3D if is_3d else prediction.DEFAULT_TILE_2D)
