"""Export to BioImage Model Zoo…: a small dialog (name, description, authors, file) over
:func:`napari_n2v.core.zoo.api.export_bioimageio`.

The Train widget opens it with the trained model and its training layer's data as the sample (the
engine crops it: the first sample, at most 256×256 or 32×128×128, read lazily for dask/zarr)::

    path = export_to_zoo(widget, model, layer.data, axes)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QWidget,
)

from napari_n2v.core.errors import N2VError

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.core.model.n2v_model import N2VModel
    from napari_n2v.run_models.train_run import TrainRun


def run_export(
    model: N2VModel,
    path: str | Path,
    *,
    name: str,
    description: str,
    authors: str,
    sample: Any,
    sample_axes: str | None,
    overwrite: bool = False,
) -> Path:
    """The export itself (no Qt): see :func:`napari_n2v.core.zoo.api.export_bioimageio`."""
    from napari_n2v.core.zoo.api import export_bioimageio

    path = Path(path)
    if path.suffix.lower() != ".zip":
        path = path.with_name(path.name + ".zip")
    return export_bioimageio(
        model,
        path,
        name=name,
        description=description,
        authors=authors,
        sample=sample,
        sample_axes=sample_axes,
        overwrite=overwrite,
    )


class ExportDialog(QDialog):
    """Name, description, authors and target file for a zoo package; Export runs it.

    Children are attributes (``name``, ``description``, ``authors``, ``path``) so tests can fill
    them; ``exported`` holds the written path after a successful :meth:`export`.
    """

    def __init__(
        self,
        model: N2VModel,
        sample: Any,
        sample_axes: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export to BioImage Model Zoo")
        self.model, self.sample, self.sample_axes = model, sample, sample_axes
        self.exported: Path | None = None
        self.name = QLineEdit(model.name)
        self.name.setToolTip("At least 5 characters; shown in the zoo and in other tools.")
        self.description = QPlainTextEdit()
        self.description.setPlaceholderText(
            "What the model denoises: sample, microscope, noise (one or two sentences)."
        )
        self.description.setMaximumHeight(80)
        self.authors = QLineEdit()
        self.authors.setPlaceholderText("First Last; Other Name")
        self.path = QLineEdit(str(Path.home() / f"{_slug(model.name)}.zip"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path)
        row.addWidget(browse)
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
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        self.buttons.accepted.connect(self.export)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export model as", self.path.text(), "BioImage Model Zoo package (*.zip)"
        )
        if path:
            self.path.setText(path if path.lower().endswith(".zip") else path + ".zip")

    def export(self) -> Path | None:
        """Export with the form's values; on success accept the dialog and return the path."""
        path = Path(self.path.text().strip() or "model.zip").expanduser()
        if path.suffix.lower() != ".zip":
            path = path.with_name(path.name + ".zip")
        overwrite = False
        if path.exists():
            answer = QMessageBox.question(self, "Replace file?", f"{path} exists. Replace it?")
            if answer != QMessageBox.StandardButton.Yes:
                return None
            overwrite = True
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.exported = run_export(
                self.model,
                path,
                name=self.name.text(),
                description=self.description.toPlainText(),
                authors=self.authors.text(),
                sample=self.sample,
                sample_axes=self.sample_axes,
                overwrite=overwrite,
            )
        except (N2VError, OSError) as err:
            show_error(f"Could not export the model: {err}")
            return None
        finally:
            QApplication.restoreOverrideCursor()
        show_info(f"Exported {self.exported.name} (BioImage Model Zoo package).")
        self.accept()
        return self.exported


def export_to_zoo(
    parent: QWidget | None, model: N2VModel, sample: Any, sample_axes: str | None = None
) -> Path | None:
    """Show the dialog modally; the written path, or None if cancelled."""
    dialog = ExportDialog(model, sample, sample_axes, parent)
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
    return export_dialog.export_to_zoo(parent, model, sample, axes if sample is not None else None)


def _slug(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_" else "_" for c in name.strip())
    return keep.strip("_") or "n2v_model"


def _note(text: str) -> QWidget:
    from qtpy.QtWidgets import QLabel

    label = QLabel(text)
    label.setWordWrap(True)
    return label
