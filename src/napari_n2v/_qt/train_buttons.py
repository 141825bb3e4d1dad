"""The Train widget's buttons, and which of them apply in a given state of the run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy.QtWidgets import QGridLayout, QPushButton, QWidget

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.run_models.train_run import TrainRun


def _button(text: str, tip: str) -> QPushButton:
    button = QPushButton(text)
    button.setToolTip(tip)
    return button


class TrainButtons(QWidget):
    """Train, Stop, Continue / Reset, Save model…, Export to BioImage Model Zoo…"""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.train = _button("Train", "Train a new model from scratch.")
        self.stop = _button("Stop", "Stop after the current step; keep the best model.")
        self.cont = _button("Continue", "Train the current model for more steps.")
        self.reset = _button("Reset", "Forget the current model and the loss curve.")
        self.save = _button("Save model…", "Save the current model to a file.")
        self.export = _button(
            "Export to BioImage Model Zoo…",
            "Package the current model for Fiji/deepImageJ, QuPath, ilastik and bioimage.io.",
        )
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        for col, button in enumerate((self.train, self.stop, self.cont, self.reset)):
            grid.addWidget(button, 0, col, 1, 1)
        grid.addWidget(self.save, 1, 0, 1, 1)
        grid.addWidget(self.export, 1, 1, 1, 3)

    def refresh(self, run: TrainRun, inputs_ok: bool, axes: str | None) -> None:
        """Enable what applies: ``inputs_ok`` is whether the settings are valid."""
        running, has_model = run.running, run.model is not None
        self.train.setEnabled(inputs_ok and not running)
        self.cont.setEnabled(inputs_ok and run.can_continue(axes))
        self.stop.setEnabled(running)
        self.reset.setEnabled(not running)
        self.save.setEnabled(not running and has_model)
        self.export.setEnabled(not running and has_model)
