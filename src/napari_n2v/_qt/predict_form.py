"""The Predict widget's controls: input (an image layer or Files…), model, tile settings, buttons and
progress (no logic)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible

from napari_n2v._qt.dock_fit import VScrollArea
from napari_n2v._qt.files_panel import FilesPanel
from napari_n2v._qt.layer_combo import LayerCombo
from napari_n2v._qt.predict_load import LoadButton
from napari_n2v._qt.tile_settings import TileSettings
from napari_n2v.core.config import PredictConfig
from napari_n2v.run_models.jobs import format_eta

if TYPE_CHECKING:  # pragma: no cover
    import napari

    from napari_n2v.core.model.n2v_model import N2VModel

#: Colour of problems (the Train widget's error line uses the same).
PROBLEM_COLOUR = "#e5534b"
#: Attributes of :class:`TileSettings` that the form shows as its own (tests and scripts set them).
_TILE_ATTRS = (
    "tile_spin",
    "tile_z_spin",
    "overlap_spin",
    "batch_spin",
    "tta",
    "tta_check",
    "blend",
    "blend_check",
)


def set_combo_items(combo: QComboBox, items: list[str], keep: str) -> None:
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


class PredictForm(QWidget):
    """All child widgets of the Predict widget, kept as attributes so tests can set them."""

    def __init__(self, viewer: napari.Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from napari_n2v.core.plan.machine import describe_device

        self.files_button = QPushButton("Files…")
        self.files_button.setCheckable(True)
        self.files_button.setToolTip(
            "Denoise files or folders on disk into an output folder, instead of an image layer."
        )
        self.files_note = QLabel("files on disk, listed below")
        self.files_note.setEnabled(False)
        self.layer_combo = LayerCombo(viewer, follow_selection=True)
        self.layer_combo.setToolTip("The image layer to denoise.")
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("A model trained in this session, or loaded from a file.")
        self.load_button = b = LoadButton()
        self.load_menu, self.load_file_action, self.load_folder_action = b.menu_, b.file, b.folder
        self.model_label = _wrapping("No model yet: train one or load a file.")
        self.axes_edit = QLineEdit()
        self.axes_edit.setToolTip(
            "One letter per dim of the layer (S, T, C, Z, Y, X). Filled from the layer and the model; "
            "a 2D model predicts leading dims (Z, T, S) frame by frame."
        )
        self.plan_label = _wrapping("")
        self.residual_check = QCheckBox("Add residual layer (noisy − denoised)")
        self.residual_check.setToolTip(
            "Also add <layer>_residual: what the model removed. It should look like noise only; "
            "shapes of cells or edges in it mean the model removed signal."
        )
        self.tiles = TileSettings()
        for name in _TILE_ATTRS:
            setattr(self, name, getattr(self.tiles, name))
        self.stream_check, self.store_edit = self.tiles.stream_check, self.tiles.store_edit
        self.files_panel = FilesPanel()
        self.device_label = QLabel(describe_device("auto"))
        self.device_label.setToolTip("Where the model runs, and in which precision.")
        self.predict_button = QPushButton("Predict")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setFormat("")  # "tiles done / total  ETA" once a prediction runs
        self.progress.setValue(0)
        self.status = _wrapping("")
        self._layout()
        self.files_button.toggled.connect(self._on_mode)
        self._n_dim = 2  # the shown model's, for the device line
        self.tiles.precision.currentTextChanged.connect(self._show_device)
        self._on_mode()

    def _show_device(self, *_args: object) -> None:
        """Where the model runs and in which precision (core.device.autocast_dtype)."""
        from napari_n2v.core.plan.machine import describe_device

        precision = self.tiles.precision.currentText()
        self.device_label.setText(describe_device("auto", precision, n_dim=self._n_dim))

    def _layout(self) -> None:
        self.advanced = QCollapsible("Tiles and output")
        self.advanced.addWidget(self.tiles)
        front = QWidget()  # the rows that always stay in view
        self._front = form = QFormLayout(front)
        form.setContentsMargins(0, 0, 0, 0)
        source = QHBoxLayout()
        source.addWidget(self.layer_combo, 1)
        source.addWidget(self.files_note, 1)
        source.addWidget(self.files_button)
        form.addRow("Image", source)
        row = QHBoxLayout()
        row.addWidget(self.model_combo, 1)
        row.addWidget(self.load_button)
        form.addRow("Model", row)
        form.addRow("", self.model_label)
        form.addRow("Axes", self.axes_edit)
        form.addRow("", self.plan_label)
        form.addRow("", self.residual_check)
        form.addRow("Device", self.device_label)
        buttons = QHBoxLayout()
        buttons.addWidget(self.predict_button)
        buttons.addWidget(self.cancel_button)
        inputs = QWidget()
        top = QVBoxLayout(inputs)
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(front)
        top.addWidget(self.files_panel)  # scrolls with the rest: the front rows stay in view
        top.addWidget(self.advanced)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(VScrollArea(inputs, keep=front))  # buttons and status line stay in view
        lay.addLayout(buttons)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)

    @property
    def files_mode(self) -> bool:
        """Whether Files… is chosen (else an image layer)."""
        return self.files_button.isChecked()

    def _on_mode(self, *_args: object) -> None:
        files = self.files_mode
        self.layer_combo.setVisible(not files)
        self.files_note.setVisible(files)
        self.axes_edit.setVisible(not files)  # the row and its label
        label = self._front.labelForField(self.axes_edit)
        if label is not None:
            label.setVisible(not files)
        self.plan_label.setVisible(not files and bool(self.plan_label.text()))
        self.residual_check.setVisible(not files)
        self.files_panel.setVisible(files)
        self.tiles.set_layer_mode(not files)

    set_items = staticmethod(set_combo_items)

    def show_model(self, model: N2VModel | None) -> None:
        """Describe ``model`` (in red when there is none) and set tile/overlap/device from it."""
        _set_red(self.model_label, model is None)
        self._n_dim = 3 if model is not None and model.is_3d else 2
        self._show_device()
        if model is None:
            self.model_label.setText("No model yet: train one or load a file.")
            return
        self.model_label.setText(model.describe())
        self.tiles.show_model(model)

    def config(self, model: N2VModel, cls: type[PredictConfig] = PredictConfig) -> PredictConfig:
        """A frozen PredictConfig from the tile settings for ``model`` (raises N2VError)."""
        return self.tiles.config(model, cls)

    def show_plan(self, text: str, problem: bool) -> None:
        """Say what will happen (``problem``: why Predict cannot run, in red)."""
        self.plan_label.setText(text)
        self.plan_label.setVisible(bool(text) and not self.files_mode)
        _set_red(self.plan_label, problem)

    def show_status(self, text: str, problem: bool = False) -> None:
        """The status line under the progress bar (``problem``: in red)."""
        self.status.setText(text)
        _set_red(self.status, problem)

    def set_running(self, running: bool) -> None:
        """Enable Cancel (and disable the inputs) while a prediction runs."""
        inputs = (self.predict_button, self.layer_combo, self.model_combo, self.load_button)
        for w in (*inputs, self.files_button, self.files_panel):
            w.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        if running:
            self.progress.setRange(0, 0)  # busy until the first tile reports
            self.progress.setValue(0)
            self.progress.setFormat("starting…")
        elif self.progress.maximum() == 0:
            self.progress.setRange(0, 1)

    def end_progress(self, cancelled: bool) -> None:
        """The prediction is over: the bar keeps the tiles done, without an ETA."""
        if self.progress.maximum() > 0 and "tiles" in self.progress.format():
            self.progress.setFormat("%v / %m tiles" + (" (cancelled)" if cancelled else ""))

    def show_progress(self, done: int, total: int, eta_s: float | None) -> None:
        """Tiles done of total, with the ETA in the bar's text."""
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        eta = f"ETA {format_eta(eta_s)}" if eta_s is not None else ""
        self.progress.setFormat(f"%v / %m tiles  {eta}".rstrip())


def _wrapping(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label


def _set_red(label: QLabel, red: bool) -> None:
    label.setStyleSheet(f"color: {PROBLEM_COLOUR};" if red else "")
