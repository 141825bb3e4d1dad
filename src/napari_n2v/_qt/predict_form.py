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
    QMenu,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible

from napari_n2v.core.config import PredictConfig
from napari_n2v.run_models.jobs import format_eta

from .controls import field_label, field_spin, field_widget, spin_value
from .dock_fit import VScrollArea
from .layer_combo import LayerCombo

if TYPE_CHECKING:  # pragma: no cover
    import napari

    from napari_n2v.core.n2v_model import N2VModel


class PredictForm(QWidget):
    """All child widgets of the Predict widget, kept as attributes so tests can set them."""

    def __init__(self, viewer: napari.Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from napari_n2v.core.device import describe_device

        self.layer_combo = LayerCombo(viewer, follow_selection=True)
        self.layer_combo.setToolTip("The image layer to denoise.")
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("A model trained in this session, or loaded from a file.")
        self.load_button = QPushButton("Load…")
        self.load_button.setToolTip(
            "Load a model file (.n2v.safetensors) or a BioImage Model Zoo package (.zip or folder)."
        )
        self.load_menu = QMenu(self.load_button)
        self.load_file_action = self.load_menu.addAction("Model file or zoo .zip…")
        self.load_folder_action = self.load_menu.addAction("Zoo package folder…")
        self.load_button.setMenu(self.load_menu)
        self.model_label = QLabel("No model yet: train one or load a file.")
        self.model_label.setWordWrap(True)
        self.axes_edit = QLineEdit()
        self.axes_edit.setToolTip(
            "One letter per dim of the layer (S, T, C, Z, Y, X). Filled from the layer and the model; "
            "a 2D model predicts leading dims (Z, T, S) frame by frame."
        )
        self.plan_label = QLabel("")
        self.plan_label.setWordWrap(True)
        self.tile_spin = field_spin(PredictConfig, "tile_shape", default_tile(None)[-1])
        self.tile_z_spin = field_spin(PredictConfig, "tile_shape", None, auto="–")
        self.overlap_spin = field_spin(PredictConfig, "overlap", None)
        self.batch_spin = field_spin(PredictConfig, "batch_size", None)
        self.tta = field_widget(PredictConfig, "tta", False)
        self.tta_check = self.tta.native
        self.tta_check.setText("Test-time augmentation (8× slower, slightly smoother)")
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
        adv.addRow(field_label(PredictConfig, "tile_shape", "(Y, X)"), self.tile_spin)
        adv.addRow(field_label(PredictConfig, "tile_shape", "Z"), self.tile_z_spin)
        adv.addRow(field_label(PredictConfig, "overlap"), self.overlap_spin)
        adv.addRow(field_label(PredictConfig, "batch_size"), self.batch_spin)
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
        self.overlap_spin.setValue(max(halo) if halo else self.overlap_spin.minimum())
        self.overlap_spin.setToolTip(
            f"{PredictConfig.__dataclass_fields__['overlap'].metadata['tooltip'].capitalize()}: "
            f"{halo} for this model."
        )
        self.tile_z_spin.setEnabled(model.is_3d)

    def config(self, model: N2VModel, cls: type[PredictConfig] = PredictConfig) -> PredictConfig:
        """A frozen ``cls`` (PredictConfig) from the controls for ``model`` (raises N2VError).

        A box at "auto" leaves the value to the engine (the default tile; the model's receptive field
        as overlap; the device's batch)."""
        n_sp = 3 if model.is_3d else 2
        default = default_tile(model)
        yx = spin_value(self.tile_spin) or default[-1]
        z = spin_value(self.tile_z_spin) or default[0]
        overlap = spin_value(self.overlap_spin)
        return cls(
            tile_shape=(yx, yx) if n_sp == 2 else (z, yx, yx),
            overlap=None if overlap is None else (overlap,) * n_sp,
            batch_size=spin_value(self.batch_spin),
            tta=bool(self.tta.value),
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
        eta = f"ETA {format_eta(eta_s)}" if eta_s is not None else ""
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
