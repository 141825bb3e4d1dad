"""How long to train: a number of steps or a wall-clock budget in minutes ("Train for: [1000] [steps]")."""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QWidget

from napari_n2v._qt.controls import field_tooltip, field_widget
from napari_n2v.core.config import MAX_STEPS, TrainConfig

UNITS = ("steps", "minutes")
#: Minutes offered by default, and the most (a day).
DEFAULT_MINUTES, MAX_MINUTES = 5.0, 24 * 60.0


class TrainDuration(QWidget):
    """A steps box or a minutes box, and the unit; :meth:`values` gives ``steps`` and ``time_limit_s``.

    In minutes the run has ``steps=MAX_STEPS`` and stops at the time budget, keeping the best model (as
    the command line's ``--time`` does)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.steps_field = field_widget(TrainConfig, "steps", TrainConfig().steps)
        self.steps = self.steps_field.native
        self.minutes = QDoubleSpinBox()
        self.minutes.setRange(0.1, MAX_MINUTES)
        self.minutes.setDecimals(1)
        self.minutes.setValue(DEFAULT_MINUTES)
        self.minutes.setToolTip(field_tooltip(TrainConfig, "time_limit_s") + " In minutes.")
        self.unit = QComboBox()
        self.unit.addItems(UNITS)
        self.unit.setToolTip("Train for a number of optimiser steps, or for a time budget.")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.steps, 1)
        lay.addWidget(self.minutes, 1)
        lay.addWidget(self.unit)
        self.steps_field.changed.connect(self._emit)
        self.minutes.valueChanged.connect(self._emit)
        self.unit.currentIndexChanged.connect(self._on_unit)
        self._on_unit()

    @property
    def by_time(self) -> bool:
        """Whether the run is limited by minutes rather than steps."""
        return self.unit.currentText() == "minutes"

    def set_minutes(self, minutes: float) -> None:
        """Train for ``minutes`` (switches the unit)."""
        self.minutes.setValue(minutes)
        self.unit.setCurrentText("minutes")

    def _on_unit(self, *_args: object) -> None:
        self.steps.setVisible(not self.by_time)
        self.minutes.setVisible(self.by_time)
        self._emit()

    def _emit(self, *_args: object) -> None:
        self.changed.emit()

    def values(self) -> dict[str, Any]:
        """``{'steps': …, 'time_limit_s': …}`` for the :class:`TrainConfig`."""
        if self.by_time:
            return {"steps": MAX_STEPS, "time_limit_s": 60.0 * self.minutes.value()}
        return {"steps": int(self.steps_field.value), "time_limit_s": None}
