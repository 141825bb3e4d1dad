"""The Predict widget's Load…: a model file, or a BioImage Model Zoo package (a .zip or a folder with
rdf.yaml / bioimageio.yaml); a package that can run only through TorchScript asks for trust first."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from qtpy.QtGui import QAction
from qtpy.QtWidgets import QFileDialog, QMenu, QMessageBox, QPushButton, QWidget

from napari_n2v.core.errors import N2VError
from napari_n2v.run_models.predict_run import needs_trust

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.run_models.predict_run import PredictRun

#: The file dialog's filter for models: our files and zoo packages.
MODEL_FILTER = "N2V model (*.n2v.safetensors *.zip);;All files (*)"
TRUST_QUESTION = (
    "{name} can run only through its TorchScript weights.\n\nTorchScript is code: load only if "
    "you trust its source."
)


class LoadButton(QPushButton):
    """ "Load…" with its menu: a model file or zoo .zip (:attr:`file`), a zoo package folder
    (:attr:`folder`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Load…", parent)
        self.setToolTip(
            "Load a model file (.n2v.safetensors) or a BioImage Model Zoo package (.zip or folder)."
        )
        self.menu_ = QMenu(self)
        self.file = _action(self.menu_, "Model file or zoo .zip…")
        self.folder = _action(self.menu_, "Zoo package folder…")
        self.setMenu(self.menu_)


def _action(menu: QMenu, text: str) -> QAction:
    """A new entry ``text`` of ``menu``."""
    action = QAction(text, menu)
    menu.addAction(action)
    return action


def ask_model_path(parent: QWidget, folder: bool) -> str:
    """Ask for a model file or zip (``folder``: a zoo package folder); "" when cancelled."""
    if folder:
        return QFileDialog.getExistingDirectory(parent, "Open a BioImage Model Zoo package folder")
    path, _ = QFileDialog.getOpenFileName(parent, "Open a Noise2Void model", "", MODEL_FILTER)
    return path


def load_with_trust(
    parent: QWidget, run: PredictRun, path: str | Path
) -> tuple[str | None, str | None]:
    """Load ``path`` into ``run``; ask before trusting TorchScript.

    Returns ``(name, None)`` when loaded, ``(None, None)`` when the user did not trust it, and
    ``(None, message)`` for an error."""
    name = Path(path).name
    try:
        try:
            return run.load(path), None
        except N2VError as err:
            if not needs_trust(err):
                raise
            question = TRUST_QUESTION.format(name=name)
            answer = QMessageBox.question(parent, "Trust this package?", question)
            if answer != QMessageBox.StandardButton.Yes:
                return None, None
            return run.load(path, trust=True), None
    except N2VError as err:
        return None, f"Could not load model {name}: {err}"
