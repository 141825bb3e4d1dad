"""The one "replace this file?" question every writer in the widgets asks before it overwrites (the
engine refuses to overwrite unless told: :func:`napari_n2v.core.io.atomic.check_writable`)."""

from __future__ import annotations

from pathlib import Path

from qtpy.QtWidgets import QMessageBox, QWidget


def confirm_overwrite(parent: QWidget | None, path: str | Path, what: str = "file") -> bool:
    """True when nothing is at ``path`` or the user agrees to replace it (``what``: "model file",
    "package"...); False when they decline."""
    path = Path(path)
    if not path.exists():
        return True
    answer = QMessageBox.question(parent, f"Replace {what}?", f"{path} exists. Replace it?")
    return bool(answer == QMessageBox.StandardButton.Yes)
