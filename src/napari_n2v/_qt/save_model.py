"""Saving a trained model from the GUI: a file dialog, and never a silent overwrite."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from napari.utils.notifications import show_error
from qtpy.QtWidgets import QFileDialog, QWidget

from napari_n2v._qt.confirm import confirm_overwrite
from napari_n2v._qt.last_folder import remember, start_folder
from napari_n2v.core.errors import N2VError
from napari_n2v.core.model.model_file import SUFFIX

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.core.model.n2v_model import N2VModel

MODEL_SUFFIX = SUFFIX  # the engine's (core.model.model_file)


def ask_save_path(parent: QWidget, model: N2VModel, folder: Path | None = None) -> Path | None:
    """Ask for a file name, starting in ``folder`` (default: the last folder used); None if
    cancelled. The model suffix is added when missing."""
    folder = folder if folder is not None else start_folder()
    start = str(folder / f"{model.name.split(' (')[0]}{MODEL_SUFFIX}")
    path, _ = QFileDialog.getSaveFileName(
        parent,
        "Save N2V model",
        start,
        f"N2V model (*{MODEL_SUFFIX})",
        options=QFileDialog.Option.DontConfirmOverwrite,  # we ask ourselves, after adding the suffix
    )
    return with_suffix(path) if path else None


def with_suffix(path: str | Path) -> Path:
    """``path`` ending in ``.n2v.safetensors`` (added when missing)."""
    path = Path(path)
    return path if path.name.endswith(MODEL_SUFFIX) else path.with_name(path.name + MODEL_SUFFIX)


def save_model(parent: QWidget, model: N2VModel, path: str | Path) -> Path | None:
    """Save ``model`` to ``path`` (suffix added when missing); ask before replacing a file.

    Returns the path written, or None if nothing was saved.
    """
    path = with_suffix(path)
    overwrite = path.exists()
    if not confirm_overwrite(parent, path, "model file"):
        return None
    try:
        saved = model.save(path, overwrite=overwrite)
        remember(saved)
        return saved
    except (N2VError, OSError) as err:
        show_error(f"Could not save the model: {err}")
        return None
