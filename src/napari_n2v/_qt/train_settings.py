"""The Train widget's settings form: the few settings that matter in front, the rest folded away.

Every default is read from :class:`napari_n2v.core.config.TrainConfig`; nothing is repeated here.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible

from napari_n2v.core.config import DEFAULT_PATCH_2D, DEFAULT_PATCH_3D, TrainConfig
from napari_n2v.core.device import default_batch_size, describe_device, resolve_device
from napari_n2v.core.errors import N2VError

DEVICES = ("auto", "cpu", "cuda", "mps")
_BIG = 10_000_000


def _spin(lo: int, hi: int, value: int, step: int = 1, auto: bool = False) -> QSpinBox:
    """An integer box; with ``auto`` its minimum (0) reads "auto" and means "engine default"."""
    box = QSpinBox()
    box.setRange(lo, hi)
    box.setSingleStep(step)
    box.setValue(value)
    if auto:
        box.setSpecialValueText("auto")
    return box


class TrainSettings(QWidget):
    """Patch size, masked pixels, steps and batch size, plus a collapsible advanced section.

    ``changed`` is emitted whenever a value changes; :meth:`config` turns the values into a
    :class:`TrainConfig` (raising :class:`N2VError` with a what-to-change message when invalid).
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        d = TrainConfig()
        self._is_3d = False
        self._precision = d.precision
        ps = d.patch_size
        # --- the settings in front ------------------------------------------------------------
        self.patch_xy = _spin(0, 4096, ps[-1] if ps else 0, step=16, auto=True)
        self.patch_xy.setToolTip("Side of the square training patches (Y and X), a multiple of 4.")
        self.patch_z = _spin(0, 1024, ps[0] if ps and len(ps) == 3 else 0, step=4, auto=True)
        self.patch_z.setToolTip("Depth of the training patches (3D only), a multiple of 4.")
        self.masked = _spin(0, _BIG, d.masked_pixels or 0, step=1, auto=True)
        self.masked.setToolTip("Blind-spot pixels per patch whose value the network must guess.")
        self.steps = _spin(1, _BIG, d.steps, step=100)
        self.steps.setToolTip("Optimiser steps; more steps, better denoising (up to a point).")
        self.batch = _spin(0, 4096, d.batch_size or 0, step=4, auto=True)
        self.batch.setToolTip("Patches per step; 'auto' picks a good size for the device.")
        self.device_label = QLabel()
        form = QFormLayout()
        form.addRow("Patch size (XY)", self.patch_xy)
        self._z_label = QLabel("Patch size (Z)")
        form.addRow(self._z_label, self.patch_z)
        form.addRow("Masked pixels / patch", self.masked)
        form.addRow("Steps", self.steps)
        form.addRow("Batch size", self.batch)
        form.addRow("Device", self.device_label)
        # --- advanced ---------------------------------------------------------------------------
        self.axes_override = QLineEdit()
        self.axes_override.setPlaceholderText("from the layer")
        self.axes_override.setToolTip(
            "Axes letters (S, T, C, Z, Y, X), one per dimension, e.g. TZYX."
        )
        self.learning_rate = QDoubleSpinBox()
        self.learning_rate.setDecimals(6)
        self.learning_rate.setRange(1e-6, 1.0)
        self.learning_rate.setSingleStep(1e-4)
        self.learning_rate.setValue(d.learning_rate)
        self.steps_per_epoch = _spin(1, _BIG, d.steps_per_epoch, step=10)
        self.steps_per_epoch.setToolTip(
            "Validation loss is measured (and the best model kept) this often."
        )
        self.val_fraction = QDoubleSpinBox()
        self.val_fraction.setRange(0.0, 0.5)
        self.val_fraction.setSingleStep(0.05)
        self.val_fraction.setValue(d.val_fraction)
        self.val_fraction.setToolTip(
            "Share of the image kept apart for validation (no validation layer)."
        )
        self.val_patches = _spin(1, 100_000, d.val_patches, step=8)
        self.val_patches.setToolTip("Patches the validation loss is averaged over.")
        self.n2v2 = QCheckBox("N2V2 (fewer checkerboard artefacts)")
        self.n2v2.setChecked(d.n2v2)
        self.struct_axis = QComboBox()
        self.struct_span = _spin(1, 64, d.struct_span)
        self.struct_span.setToolTip("Half-length of the structN2V mask, in pixels.")
        self.augment = QCheckBox("flips and 90° rotations")
        self.augment.setChecked(d.augment)
        self.seed = _spin(-1, 2**31 - 1, d.seed if d.seed is not None else -1)
        self.seed.setSpecialValueText("random")
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.device.setCurrentText(d.device if d.device in DEVICES else "auto")
        self.depth = _spin(1, 5, d.depth)
        self.n_filters = _spin(1, 512, d.n_filters, step=8)
        adv = QFormLayout()
        adv.addRow("Axes", self.axes_override)
        adv.addRow("Learning rate", self.learning_rate)
        adv.addRow("Validate every (steps)", self.steps_per_epoch)
        adv.addRow("Validation fraction", self.val_fraction)
        adv.addRow("Validation patches", self.val_patches)
        adv.addRow("", self.n2v2)
        struct_row = QHBoxLayout()
        struct_row.addWidget(self.struct_axis, 1)
        struct_row.addWidget(QLabel("span"))
        struct_row.addWidget(self.struct_span)
        adv.addRow("structN2V", struct_row)
        adv.addRow("Augmentation", self.augment)
        adv.addRow("Seed", self.seed)
        adv.addRow("Device", self.device)
        adv.addRow("U-Net depth", self.depth)
        adv.addRow("U-Net filters", self.n_filters)
        inner = QWidget()
        inner.setLayout(adv)
        self.advanced = QCollapsible("Advanced settings")
        self.advanced.addWidget(inner)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(form)
        lay.addWidget(self.advanced)
        self._fill_struct_axes()
        for box in (
            self.patch_xy,
            self.patch_z,
            self.masked,
            self.steps,
            self.batch,
            self.seed,
            self.steps_per_epoch,
            self.val_patches,
            self.struct_span,
            self.depth,
            self.n_filters,
        ):
            box.valueChanged.connect(self._on_change)
        for dbox in (self.learning_rate, self.val_fraction):
            dbox.valueChanged.connect(self._on_change)
        for check in (self.n2v2, self.augment):
            check.toggled.connect(self._on_change)
        self.struct_axis.currentIndexChanged.connect(self._on_change)
        self.device.currentIndexChanged.connect(self._on_change)
        self.axes_override.textChanged.connect(self._on_change)
        self.set_is_3d(False)

    # --- state ----------------------------------------------------------------------------------
    def set_is_3d(self, is_3d: bool) -> None:
        """Show the Z patch size (and Z as a structN2V axis) only for 3D training."""
        self._is_3d = is_3d
        self.patch_z.setVisible(is_3d)
        self._z_label.setVisible(is_3d)
        self._fill_struct_axes()
        self._on_change()

    def _fill_struct_axes(self) -> None:
        current = self.struct_axis.currentData()
        self.struct_axis.blockSignals(True)
        self.struct_axis.clear()
        self.struct_axis.addItem("off", None)
        for a in "XY" + ("Z" if self._is_3d else ""):
            self.struct_axis.addItem(f"along {a}", a)
        idx = self.struct_axis.findData(current)
        self.struct_axis.setCurrentIndex(max(idx, 0))
        self.struct_axis.blockSignals(False)

    def _on_change(self, *_args: object) -> None:
        self._update_auto_texts()
        self.changed.emit()

    def _update_auto_texts(self) -> None:
        """Say what "auto" stands for, so the user sees the value the engine will use."""
        default = DEFAULT_PATCH_3D if self._is_3d else DEFAULT_PATCH_2D
        self.patch_xy.setSpecialValueText(f"auto ({default[-1]})")
        self.patch_z.setSpecialValueText(f"auto ({DEFAULT_PATCH_3D[0]})")
        try:
            patch = self._patch() or default
            cfg = TrainConfig(axes="ZYX" if self._is_3d else "YX")
            self.masked.setSpecialValueText(f"auto ({cfg.default_masked_pixels(tuple(patch))})")
        except N2VError:
            self.masked.setSpecialValueText("auto")
        try:
            dev = resolve_device(self.device.currentText())
            self.batch.setSpecialValueText(f"auto ({default_batch_size(dev, self._is_3d)})")
        except N2VError:
            self.batch.setSpecialValueText("auto")
        # What the run will use: on a CPU, bf16 autocast is for 2D only (core.device.autocast_dtype).
        n_dim = 3 if self._is_3d else 2
        self.device_label.setText(
            describe_device(self.device.currentText(), self._precision, n_dim=n_dim)
        )

    def _patch(self) -> tuple[int, ...] | None:
        """The patch size asked for, or None for the engine default (any side left at "auto")."""
        default = DEFAULT_PATCH_3D if self._is_3d else DEFAULT_PATCH_2D
        xy = self.patch_xy.value()
        z = self.patch_z.value()
        if not xy and not (self._is_3d and z):
            return None
        xy = xy or default[-1]
        return (z or default[0], xy, xy) if self._is_3d else (xy, xy)

    def override_axes(self) -> str | None:
        """The axes typed in the advanced section, or None."""
        text = self.axes_override.text().strip().upper()
        return text or None

    def config(self, axes: str) -> TrainConfig:
        """A validated :class:`TrainConfig` for data with ``axes``; raises N2VError if invalid."""
        kw: dict[str, Any] = {
            "axes": axes,
            "patch_size": self._patch(),
            "masked_pixels": self.masked.value() or None,
            "steps": self.steps.value(),
            "batch_size": self.batch.value() or None,
            "learning_rate": self.learning_rate.value(),
            "steps_per_epoch": self.steps_per_epoch.value(),
            "val_fraction": self.val_fraction.value(),
            "val_patches": self.val_patches.value(),
            "augment": self.augment.isChecked(),
            "n2v2": self.n2v2.isChecked(),
            "struct_axis": self.struct_axis.currentData(),
            "struct_span": self.struct_span.value(),
            "seed": None if self.seed.value() < 0 else self.seed.value(),
            "device": self.device.currentText(),
            "depth": self.depth.value(),
            "n_filters": self.n_filters.value(),
        }
        resolve_device(kw["device"])  # an unavailable device is an invalid setting too
        return TrainConfig(**kw)
