"""The Predict widget's Image box: image layers, never a live preview; it follows the viewer's selection
until the user picks a layer, then it stays there."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from napari.layers import Image

from .predict_form import PredictForm
from .preview import is_preview, preview_source

if TYPE_CHECKING:  # pragma: no cover
    import napari
    from qtpy.QtWidgets import QComboBox


class ImageBox:
    """Keeps ``combo`` in step with ``viewer``'s image layers and its selection (main thread only).

    Attributes
    ----------
    user_picked
        The user chose a layer in the box: it no longer follows the selection (until that layer goes).
    paused
        Set while the widget adds its own result layer, which napari makes the active one.
    """

    def __init__(self, viewer: napari.Viewer, combo: QComboBox) -> None:
        self.viewer, self.combo = viewer, combo
        self.user_picked = False
        self.paused = False
        combo.activated.connect(self._on_user_pick)  # only emitted for the user's own choice

    def refresh(self, event: Any = None) -> None:
        """List the image layers; keep the choice, or follow the selection."""
        names = [
            ly.name for ly in self.viewer.layers if isinstance(ly, Image) and not is_preview(ly)
        ]
        current = self.combo.currentText()
        if current not in names:  # the layer picked by hand is gone: follow the selection again
            self.user_picked = False
        followed = None if self.user_picked or self.paused else self.followed()
        PredictForm.set_items(self.combo, names, followed or current)

    def followed(self) -> str | None:
        """The image the viewer's selection points at (for a preview: its source), or None."""
        active = self.viewer.layers.selection.active
        if not isinstance(active, Image):
            return None
        name = preview_source(active) or active.name
        return name if name in self.viewer.layers else None

    def on_active_changed(self, event: Any = None) -> None:
        """Follow the viewer's selection unless the user picked a layer."""
        if not self.user_picked and not self.paused:
            self.refresh()

    def _on_user_pick(self, _index: int) -> None:
        self.user_picked = True

    def layer(self) -> Any:
        """The chosen image layer, or None."""
        name = self.combo.currentText()
        return self.viewer.layers[name] if name in self.viewer.layers else None


def disconnect_all(connections: list[tuple[Any, Any]], *args: Any) -> None:
    """Disconnect each (signal, slot) pair once; safe to call twice."""
    while connections:
        sig, slot = connections.pop()
        sig.disconnect(slot)
