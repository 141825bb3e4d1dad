"""The Predict widget's "Tiles and output" rows: tile size, overlap, batch, TTA, precision and zarr
streaming.

Controls, ranges and tooltips come from the :class:`PredictConfig` fields (:mod:`napari_n2v._qt.controls`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLineEdit, QWidget

from napari_n2v._qt.controls import field_label, field_spin, field_tooltip, field_widget, spin_value
from napari_n2v.core.config import PredictConfig
from napari_n2v.core.config_fields import PRECISIONS
from napari_n2v.core.predict.tiling import DEFAULT_TILE_2D, DEFAULT_TILE_3D

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.core.model.denoiser import Denoiser
    from napari_n2v.core.model.n2v_model import N2VModel


class TileSettings(QWidget):
    """Tile (Y, X) and Z, overlap, batch, test-time augmentation; streaming to a zarr store."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # "auto" leaves the tile to the engine: the default on a CPU, larger on a GPU with free memory
        self.tile_spin = field_spin(PredictConfig, "tile_shape", None)
        self.tile_z_spin = field_spin(PredictConfig, "tile_shape", None, auto="–")
        self.overlap_spin = field_spin(PredictConfig, "overlap", None)
        self.batch_spin = field_spin(PredictConfig, "batch_size", None)
        self.tta = field_widget(PredictConfig, "tta", False)
        self.tta_check = self.tta.native
        self.tta_check.setText("Test-time augmentation (8× slower; +0.2 to +0.8 dB measured)")
        self.blend = field_widget(PredictConfig, "blend", True)
        self.blend_check = self.blend.native
        self.blend_check.setText("Blend with the input by the weight training measured")
        self.blend_check.setToolTip(field_tooltip(PredictConfig, "blend"))
        self.precision = QComboBox()
        self.precision.addItems(PRECISIONS)
        self.precision.setToolTip(
            f"{field_tooltip(PredictConfig, 'precision')}. auto: bf16 where the device runs it "
            "natively (CUDA, CPUs with AVX512-BF16 or AMX), else fp32."
        )
        self.stream_check = QCheckBox("Stream the result to a zarr store (for large data)")
        self.stream_check.setToolTip(
            "Checked by itself for dask/zarr layers: memory stays ~ a few tiles."
        )
        self.store_edit = QLineEdit()
        self.store_edit.setPlaceholderText("zarr folder (empty: a temporary folder)")
        self.store_edit.setEnabled(False)
        self.stream_check.toggled.connect(self.store_edit.setEnabled)
        adv = QFormLayout(self)
        adv.setContentsMargins(0, 0, 0, 0)
        adv.addRow(field_label(PredictConfig, "tile_shape", "(Y, X)"), self.tile_spin)
        adv.addRow(field_label(PredictConfig, "tile_shape", "Z"), self.tile_z_spin)
        adv.addRow(field_label(PredictConfig, "overlap"), self.overlap_spin)
        adv.addRow(field_label(PredictConfig, "batch_size"), self.batch_spin)
        adv.addRow(self.tta_check)
        adv.addRow(self.blend_check)
        adv.addRow(field_label(PredictConfig, "precision"), self.precision)
        adv.addRow(self.stream_check)
        adv.addRow("Zarr output", self.store_edit)

    def set_layer_mode(self, layer_mode: bool) -> None:
        """Streaming to a zarr store is for an image layer (Files… writes its own outputs)."""
        adv = self.layout()
        for w in (self.stream_check, self.store_edit):
            w.setVisible(layer_mode)
            label = adv.labelForField(w) if isinstance(adv, QFormLayout) else None
            if label is not None:
                label.setVisible(layer_mode)

    def show_model(self, model: N2VModel) -> None:
        """Tile back to "auto" (the engine's choice), overlap from ``model`` (its receptive field)."""
        for box in (self.tile_spin, self.tile_z_spin):
            box.setValue(box.minimum())
        self.tile_z_spin.setSpecialValueText("auto" if model.is_3d else "–")
        halo = tuple(model.halo)
        self.overlap_spin.setValue(max(halo) if halo else self.overlap_spin.minimum())
        tip = field_tooltip(PredictConfig, "overlap").rstrip(".")
        self.overlap_spin.setToolTip(f"{tip}: {halo} for this model.")
        self.tile_z_spin.setEnabled(model.is_3d)

    def config(self, model: N2VModel, cls: type[PredictConfig] = PredictConfig) -> PredictConfig:
        """A frozen ``cls`` (PredictConfig) from the controls for ``model`` (raises N2VError).

        A box at "auto" leaves the value to the engine (the tile: the default on a CPU, the largest
        that fits on a GPU; the model's receptive field as overlap; the device's batch). One tile box
        set and the other at "auto": the other takes the default."""
        n_sp = 3 if model.is_3d else 2
        default = default_tile(model)
        yx, z = spin_value(self.tile_spin), spin_value(self.tile_z_spin)
        tile: tuple[int, ...] | None = None
        if yx is not None or (z is not None and n_sp == 3):
            yx, z = yx or default[-1], z or default[0]
            tile = (yx, yx) if n_sp == 2 else (z, yx, yx)
        overlap = spin_value(self.overlap_spin)
        return cls(
            tile_shape=tile,
            overlap=None if overlap is None else (overlap,) * n_sp,
            batch_size=spin_value(self.batch_spin),
            tta=bool(self.tta.value),
            blend=bool(self.blend.value),
            precision=self.precision.currentText(),
        )


def default_tile(model: Denoiser | None) -> tuple[int, ...]:
    """The engine's default spatial tile shape for ``model`` (None: for a 2D model)."""
    is_3d = model is not None and model.is_3d
    return tuple(DEFAULT_TILE_3D if is_3d else DEFAULT_TILE_2D)
