"""How long to train: a number of steps or a wall-clock budget in minutes ("Train for: [1000] [steps]").

The default suits the device: on a CPU a first run trains for :data:`DEFAULT_MINUTES` (a fixed step
count can take far longer there), on a GPU for the engine's default steps; a hint under the row says
which and why. Once the user sets a duration, the device no longer changes it.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from napari_n2v._qt.controls import field_tooltip, field_widget
from napari_n2v.core.config import MAX_STEPS, TrainConfig

UNITS = ("steps", "minutes")
#: Minutes offered by default (the default on a CPU), and the most (a day).
DEFAULT_MINUTES, MAX_MINUTES = 5.0, 24 * 60.0
#: What the hint says when the device chose a time budget.
CPU_HINT = "On a CPU: {:g} minutes by default (the best model is kept)."


class TrainDuration(QWidget):
    """A steps box or a minutes box, and the unit; :meth:`values` gives ``steps`` and ``time_limit_s``.

    In minutes the run has ``steps=MAX_STEPS`` and stops at the time budget, keeping the best model (as
    the command line's ``--time`` does). Setting a number of steps (or minutes) chooses that unit."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.touched = False  # the user (or a script) chose the duration: the device keeps off it
        self._quiet = False  # our own changes are not the user's
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
        self.hint = QLabel("")
        self.hint.setWordWrap(True)
        self.hint.setEnabled(False)  # greyed: a note, not a control
        self.hint.hide()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.steps, 1)
        row.addWidget(self.minutes, 1)
        row.addWidget(self.unit)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(row)
        lay.addWidget(self.hint)
        self.steps_field.changed.connect(lambda *_: self._chosen("steps"))
        self.minutes.valueChanged.connect(lambda *_: self._chosen("minutes"))
        self.unit.currentIndexChanged.connect(self._on_unit)
        self._quiet = True
        self._on_unit()
        self._quiet = False

    @property
    def by_time(self) -> bool:
        """Whether the run is limited by minutes rather than steps."""
        return self.unit.currentText() == "minutes"

    def set_minutes(self, minutes: float) -> None:
        """Train for ``minutes`` (switches the unit)."""
        self.minutes.setValue(minutes)
        self.unit.setCurrentText("minutes")

    def suit(self, device_kind: str) -> None:
        """The default for a device (``'cpu'``, ``'cuda'``, ``'mps'``): minutes on a CPU, steps
        elsewhere; nothing once the duration was chosen."""
        if self.touched:
            return
        cpu = device_kind == "cpu"
        self.hint.setText(CPU_HINT.format(self.minutes.value()) if cpu else "")
        self.hint.setVisible(cpu)
        want = "minutes" if cpu else "steps"
        if self.unit.currentText() != want:
            self._quiet = True
            try:
                self.unit.setCurrentText(want)
            finally:
                self._quiet = False

    def _chosen(self, unit: str) -> None:
        """A value was set: train in its unit from now on."""
        if self._quiet:
            return
        self._mark_touched()
        if self.unit.currentText() != unit:
            self.unit.setCurrentText(unit)  # emits changed via _on_unit
        else:
            self.changed.emit()

    def _mark_touched(self) -> None:
        self.touched = True
        self.hint.hide()

    def _on_unit(self, *_args: object) -> None:
        if not self._quiet:
            self._mark_touched()
        self.steps.setVisible(not self.by_time)
        self.minutes.setVisible(self.by_time)
        self.changed.emit()

    def values(self) -> dict[str, Any]:
        """``{'steps': …, 'time_limit_s': …}`` for the :class:`TrainConfig`."""
        if self.by_time:
            return {"steps": MAX_STEPS, "time_limit_s": 60.0 * self.minutes.value()}
        return {"steps": int(self.steps_field.value), "time_limit_s": None}
