"""Export to BioImage Model Zoo…: a small dialog (name, description, authors, file) over an
:class:`napari_n2v.run_models.export_run.ExportRun`, whose job (predict the test data, trace, validate,
write) runs in a worker (:func:`napari_n2v._qt.worker.start_worker`): the window stays responsive and
shows progress.

The Train widget opens it with the trained model and its training layer's data as the sample (the
engine crops it: the first sample, at most 256×256 or 32×128×128, read lazily for dask/zarr)::

    path = export_to_zoo(widget, model, layer.data, axes)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from napari.utils.notifications import show_info, show_warning
from qtpy.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QWidget,
)

from napari_n2v._qt.confirm import confirm_overwrite
from napari_n2v._qt.last_folder import remember, start_folder
from napari_n2v._qt.worker import notify_error, start_worker
from napari_n2v.run_models.export_run import ExportRun, zip_path
from napari_n2v.run_models.job_state import JobState
from napari_n2v.run_models.jobs import disconnect_all

#: Room (pixels) the dialog keeps for its labels, the Browse button and its frame when the file
#: field grows to show a whole path.
SCREEN_MARGIN = 300

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.core.model.n2v_model import N2VModel
    from napari_n2v.run_models.jobs import Launcher
    from napari_n2v.run_models.train_run import TrainRun


class ExportDialog(QDialog):
    """Name, description, authors and target file for a zoo package; Export starts the job.

    Children are attributes (``name``, ``description``, ``authors``, ``path``, ``export_button``,
    ``progress``, ``status``) so tests can fill and read them; :attr:`run` is the export's state and
    ``exported`` holds the written path once the package is there (the dialog is then accepted).
    While the package is being written the form is disabled and the dialog does not close.
    """

    def __init__(
        self,
        model: N2VModel,
        sample: Any,
        sample_axes: str | None = None,
        parent: QWidget | None = None,
        launcher: Launcher = start_worker,
        folder: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export to BioImage Model Zoo")
        self.model, self.sample, self.sample_axes = model, sample, sample_axes
        self.exported: Path | None = None
        self.run = ExportRun(launcher=launcher)
        self.name = QLineEdit(model.name)
        self.name.setToolTip("At least 5 characters; shown in the zoo and in other tools.")
        self.description = QPlainTextEdit()
        self.description.setPlaceholderText(
            "What the model denoises: sample, microscope, noise (one or two sentences)."
        )
        self.description.setMaximumHeight(80)
        self.authors = QLineEdit()
        self.authors.setPlaceholderText("First Last; Other Name")
        folder = folder if folder is not None else start_folder()
        self.path = QLineEdit()
        self.path.textChanged.connect(self._fit_path)
        self.path.setText(str(folder / f"{_slug(model.name)}.zip"))
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._browse)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy: the engine reports no finer steps
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.status = _note("")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.export_button = _button(self.buttons, QDialogButtonBox.StandardButton.Ok)
        self.export_button.setText("Export")
        self.buttons.accepted.connect(self.export)
        self.buttons.rejected.connect(self.reject)
        self._layout()
        r = self.run
        r.state_changed.connect(self._on_state)
        r.stage.connect(self._show_status)
        r.warned.connect(show_warning)
        r.failed.connect(self._on_failed)
        r.exported.connect(self._on_exported)
        self.destroyed.connect(lambda *_, run=r: disconnect_all(run))

    def _layout(self) -> None:
        row = QHBoxLayout()
        row.addWidget(self.path)
        row.addWidget(self.browse)
        form = QFormLayout(self)
        form.addRow("Name", self.name)
        form.addRow("Description", self.description)
        form.addRow("Authors", self.authors)
        form.addRow("File", row)
        form.addRow(
            "",
            _note(
                "The package holds the model (PyTorch + TorchScript), a crop of the training "
                "image as test data, a cover and a README; it runs in Fiji/deepImageJ, QuPath, "
                "ilastik, bioimageio.core and napari-n2v."
            ),
        )
        form.addRow(self.progress)
        form.addRow(self.status)
        form.addRow(self.buttons)

    def _fit_path(self, text: str) -> None:
        """Wide enough to show the whole path (as far as the screen allows), from its start."""
        width = self.path.fontMetrics().horizontalAdvance(text) + 24
        screen = self.screen()
        room = screen.availableGeometry().width() - SCREEN_MARGIN if screen is not None else 900
        self.path.setMinimumWidth(min(width, max(room, 400)))
        self.path.setToolTip(text)
        if not self.path.hasFocus():
            self.path.setCursorPosition(0)  # what is cut, if anything, is the end, not the start

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export model as", self.path.text(), "BioImage Model Zoo package (*.zip)"
        )
        if path:
            self.path.setText(str(zip_path(path)))

    # --- actions -------------------------------------------------------------------------------------
    def export(self) -> bool:
        """Start the export with the form's values (asking before an existing file is replaced);
        True if it started. On success the dialog is accepted; an error is notified and the
        dialog stays open to correct the form."""
        if self.run.running:
            return False
        path = zip_path(self.path.text().strip() or "model.zip")
        overwrite = path.exists()
        if not confirm_overwrite(self, path):
            return False
        return self.run.start(
            self.model,
            path,
            name=self.name.text(),
            description=self.description.toPlainText(),
            authors=self.authors.text(),
            sample=self.sample,
            sample_axes=self.sample_axes,
            overwrite=overwrite,
        )

    def reject(self) -> None:
        """Close without exporting; ignored while the package is being written (it cannot be cut
        short, and closing must not hide that it is still being written)."""
        if not self.run.running:
            super().reject()

    # --- the run's signals ---------------------------------------------------------------------------
    def _on_state(self, state: JobState) -> None:
        running = state is JobState.RUNNING
        for w in (self.name, self.description, self.authors, self.path, self.browse, self.buttons):
            w.setEnabled(not running)
        self.progress.setVisible(running)

    def _show_status(self, text: str) -> None:
        self.status.setText(text)

    def _on_failed(self, message: str) -> None:
        self.status.setText(message)
        notify_error(f"Could not export the model: {message}")

    def _on_exported(self, path: Path) -> None:
        self.exported = path
        remember(path)
        self.status.setText(f"Exported {path}.")
        show_info(f"Exported {path.name} (BioImage Model Zoo package).")
        self.accept()


def export_to_zoo(
    parent: QWidget | None,
    model: N2VModel,
    sample: Any,
    sample_axes: str | None = None,
    folder: Path | None = None,
) -> Path | None:
    """Show the dialog modally (``folder``: where the file goes; default: the last folder used);
    the written path, or None if cancelled."""
    dialog = ExportDialog(model, sample, sample_axes, parent, folder=folder)
    dialog.exec()
    return dialog.exported


def export_trained(parent: QWidget, run: TrainRun, viewer: Any) -> Path | None:
    """Export ``run``'s model with its training layer's full-resolution data and axes as the sample
    (the layer picked now when the training layer is gone); None if nothing was written."""
    from napari_n2v._qt import (
        export_dialog,  # looked up at call time, so tests can replace export_to_zoo
    )
    from napari_n2v._qt.layer_kinds import full_array

    model = run.model
    if model is None:
        return None
    name = run.source_name
    layer = viewer.layers[name] if name is not None and name in viewer.layers else None
    sample = full_array(layer) if layer is not None else None
    axes = run.config.axes if run.config is not None else model.config.axes
    return export_dialog.export_to_zoo(
        parent, model, sample, axes if sample is not None else None, start_folder(layer)
    )


def _slug(name: str) -> str:
    """A file name from a model name: ``'noisy nuclei (2D, 40 steps)'`` -> ``'noisy_nuclei_2D_40_steps'``."""
    keep = "".join(c if c.isalnum() or c in "-_" else "_" for c in name.strip())
    return re.sub(r"_+", "_", keep).strip("_") or "n2v_model"


def _note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label


def _button(box: QDialogButtonBox, which: QDialogButtonBox.StandardButton) -> QPushButton:
    """The button ``which`` of ``box`` (which was made with it)."""
    button = box.button(which)
    if button is None:  # pragma: no cover - the box was built with this button
        raise LookupError(f"no {which} button")
    return button
