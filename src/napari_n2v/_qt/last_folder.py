"""Where the file dialogs start: the folder the user last saved or exported to (remembered across
sessions in Qt's settings), else the image's own folder, else the home folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qtpy.QtCore import QSettings

#: The settings key of the last folder.
KEY = "last_folder"


def _settings() -> QSettings:
    return QSettings("napari-n2v", "napari-n2v")


def layer_folder(layer: Any) -> Path | None:
    """The folder of the file ``layer`` was opened from, or None (made in the session, or gone)."""
    source = getattr(layer, "source", None)
    path = getattr(source, "path", None)
    if not path:
        return None
    folder = Path(str(path)).expanduser()
    folder = folder if folder.is_dir() and folder.suffix != ".zarr" else folder.parent
    return folder if folder.is_dir() else None


def start_folder(layer: Any = None) -> Path:
    """The folder a save or export dialog starts in."""
    value = _settings().value(KEY, "", type=str)
    last = Path(value) if value else None
    if last is not None and last.is_dir():
        return last
    return layer_folder(layer) or Path.home()


def remember(path: str | Path) -> None:
    """A file was written at ``path``: its folder is where the next dialog starts."""
    _settings().setValue(KEY, str(Path(path).expanduser().resolve().parent))
