"""The Train widget's settings form: the few settings that matter in front, the rest folded away.

Every control, default, range, tooltip and label comes from the :class:`TrainConfig` fields
(:mod:`napari_n2v._qt.controls`); nothing is repeated here.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget
from superqt import QCollapsible

from napari_n2v._qt.controls import field_label, field_spin, field_tooltip, spin_value
from napari_n2v._qt.train_advanced import DEVICES, FIELDS, AdvancedSettings
from napari_n2v._qt.train_duration import TrainDuration
from napari_n2v.core.config import (
    DEFAULT_PATCH_2D,
    DEFAULT_PATCH_3D,
    TrainConfig,
    max_masked_pixels,
)
from napari_n2v.core.errors import N2VError
from napari_n2v.core.plan.defaults import defaults_for
from napari_n2v.core.plan.machine import describe_device, resolve_machine

__all__ = ["DEVICES", "TrainSettings"]


class TrainSettings(QWidget):
    """Patch size, masked pixels, steps or minutes and batch size, plus a collapsible advanced section.

    ``changed`` is emitted whenever a value changes; :meth:`config` turns the values into a
    :class:`TrainConfig` (raising :class:`N2VError` with a what-to-change message when invalid).
    Controls are attributes (Qt widgets), the advanced ones too (``seed``, ``device``, ...).
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        d = TrainConfig()
        self._is_3d = False
        ps = d.patch_size
        self.patch_xy = field_spin(TrainConfig, "patch_size", ps[-1] if ps else None)
        self.patch_z = field_spin(TrainConfig, "patch_size", ps[0] if ps and len(ps) == 3 else None)
        self.masked = field_spin(TrainConfig, "masked_pixels", d.masked_pixels)
        self.batch = field_spin(TrainConfig, "batch_size", d.batch_size)
        self.duration = TrainDuration()
        self.steps = self.duration.steps
        self.adv = AdvancedSettings()
        adv_names = ("seed", "n_filters", "struct_axis", "device", "precision")
        for name in (*FIELDS, *adv_names, "axes_override", "blind_spot"):
            setattr(self, name, getattr(self.adv, name))
        self.fields = {"steps": self.duration.steps_field, **self.adv.fields}
        self.device_label = QLabel()
        self.advanced = QCollapsible("Advanced settings")
        self.advanced.addWidget(self.adv)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(self._front_form())
        lay.addWidget(self.advanced)
        for box in (self.patch_xy, self.patch_z, self.masked, self.batch):
            box.valueChanged.connect(self._on_change)
        self.duration.changed.connect(self._on_change)
        self.adv.changed.connect(self._on_change)
        self.set_is_3d(False)

    def _front_form(self) -> QFormLayout:
        form = QFormLayout()
        form.addRow(field_label(TrainConfig, "patch_size", "(XY)"), self.patch_xy)
        self._z_label = QLabel(field_label(TrainConfig, "patch_size", "(Z)"))
        form.addRow(self._z_label, self.patch_z)
        form.addRow(field_label(TrainConfig, "masked_pixels", "/ patch"), self.masked)
        form.addRow("Train for", self.duration)
        form.addRow(field_label(TrainConfig, "batch_size"), self.batch)
        form.addRow("Runs on", self.device_label)  # the Device choice is in the advanced rows
        return form

    # --- state ----------------------------------------------------------------------------------
    def set_is_3d(self, is_3d: bool) -> None:
        """Show the Z patch size (and Z as a structN2V axis) only for 3D training."""
        self._is_3d = is_3d
        self.patch_z.setVisible(is_3d)
        self._z_label.setVisible(is_3d)
        self.adv.set_is_3d(is_3d)
        self._on_change()

    def _on_change(self, *_args: object) -> None:
        self._update_auto_texts()
        self.changed.emit()

    def _update_auto_texts(self) -> None:
        """Say what "auto" stands for, and the masked-pixel limit for this patch."""
        default = DEFAULT_PATCH_3D if self._is_3d else DEFAULT_PATCH_2D
        self.patch_xy.setSpecialValueText(f"auto ({default[-1]})")
        self.patch_z.setSpecialValueText(f"auto ({DEFAULT_PATCH_3D[0]})")
        patch = self._patch() or default
        cfg = TrainConfig(axes="ZYX" if self._is_3d else "YX")
        self.masked.setSpecialValueText(f"auto ({cfg.default_masked_pixels(tuple(patch))})")
        self.masked.setToolTip(
            f"{field_tooltip(TrainConfig, 'masked_pixels')} At most "
            f"{max_masked_pixels(tuple(patch))} for a {' × '.join(map(str, patch))} patch."
        )
        n_dim = 3 if self._is_3d else 2
        device, precision = self.adv.device.currentText(), self.adv.precision.currentText()
        try:  # what "auto" means on this machine: the plan's defaults (core.plan.defaults)
            machine = resolve_machine(device, precision, n_dim)
            d = defaults_for(machine, self._is_3d)
            self.batch.setSpecialValueText(f"auto ({d.batch_size})")
            self.adv.n_filters.setSpecialValueText(f"auto ({d.n_filters})")
            self.adv.n_filters.setToolTip(
                f"{field_tooltip(TrainConfig, 'n_filters')} auto: {d.n_filters} here, the default "
                f"for {machine.precision} on this {machine.kind.upper()} (the width that reaches a "
                "given quality soonest there)."
            )
            self.duration.suit(machine.kind)
        except N2VError:
            self.batch.setSpecialValueText("auto")
            self.adv.n_filters.setSpecialValueText("auto")
        # What the run will use: the device, its instruction set and its precision.
        self.device_label.setText(describe_device(device, precision, n_dim=n_dim))

    def _patch(self) -> tuple[int, ...] | None:
        """The patch size asked for, or None for the engine default (any side left at "auto")."""
        default = DEFAULT_PATCH_3D if self._is_3d else DEFAULT_PATCH_2D
        xy, z = spin_value(self.patch_xy), spin_value(self.patch_z)
        if not xy and not (self._is_3d and z):
            return None
        xy = xy or default[-1]
        return (z or default[0], xy, xy) if self._is_3d else (xy, xy)

    def override_axes(self) -> str | None:
        """The axes typed in the advanced section, or None."""
        return self.adv.override_axes()

    def config(self, axes: str) -> TrainConfig:
        """A validated :class:`TrainConfig` for data with ``axes``; raises N2VError if invalid."""
        kw: dict[str, Any] = {**self.adv.values(), **self.duration.values()}
        kw.update(
            axes=axes,
            patch_size=self._patch(),
            masked_pixels=spin_value(self.masked),
            batch_size=spin_value(self.batch),
        )
        resolve_machine(kw["device"])  # an unavailable device is an invalid setting too
        return TrainConfig(**kw)
