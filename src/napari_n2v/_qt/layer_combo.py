"""The one layer picker: a combo box of the viewer's image layers (never a live preview) that follows layers
being added, removed, moved or renamed and, optionally, the viewer's selection until the user picks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from napari.layers import Image
from qtpy.QtWidgets import QComboBox, QWidget

from napari_n2v._qt.layer_kinds import is_preview, is_result, preview_source

if TYPE_CHECKING:  # pragma: no cover
    import napari


class LayerCombo(QComboBox):
    """Pick an image layer of ``viewer``; the list stays in step with ``viewer.layers``.

    Parameters
    ----------
    viewer
        The napari viewer whose layers are listed.
    none_text
        When given, a first entry with this text stands for "no layer" (:meth:`layer` returns None).
    follow_selection
        Choose the viewer's selected image (for a preview: its source) until the user picks a layer
        (``activated``); follow again when that layer goes. Set :attr:`paused` while adding a layer
        that should not become the choice.
    parent
        Parent widget.
    inputs_only
        Leave out this plugin's results too (denoised images, residuals, baselines): for training.

    Call :meth:`disconnect_viewer` when the owner closes (it is idempotent).
    """

    def __init__(
        self,
        viewer: napari.Viewer,
        none_text: str | None = None,
        follow_selection: bool = False,
        parent: QWidget | None = None,
        *,
        inputs_only: bool = False,
    ) -> None:
        super().__init__(parent)
        self._viewer: napari.Viewer | None = viewer
        self._none_text = none_text
        self._follow = follow_selection
        self._skip = is_result if inputs_only else is_preview
        self.user_picked = False
        self.paused = False
        self._watched: list[Image] = []
        events = viewer.layers.events
        events.inserted.connect(self.refresh)
        events.removed.connect(self.refresh)
        events.moved.connect(self.refresh)
        if follow_selection:
            viewer.layers.selection.events.active.connect(self._on_active)
            self.activated.connect(self._on_user_pick)  # only emitted for the user's own choice
        self.refresh()

    def _on_user_pick(self, _index: int) -> None:
        self.user_picked = True

    def _on_active(self, *_args: object) -> None:
        if not self.user_picked and not self.paused:
            self.refresh()

    def followed(self) -> str | None:
        """The image the viewer's selection points at (for a preview: its source), or None."""
        if self._viewer is None:
            return None
        active = self._viewer.layers.selection.active
        if not isinstance(active, Image):
            return None
        name = preview_source(active) or active.name
        return name if name in self._viewer.layers else None

    def layer(self) -> Image | None:
        """The chosen image layer, or None."""
        if self._viewer is None:
            return None
        name = self.currentData()
        if name is None:
            return None
        for lyr in self._viewer.layers:
            if lyr.name == name and isinstance(lyr, Image):
                return lyr
        return None

    def set_layer(self, layer: Image | None) -> None:
        """Select ``layer`` (None: the "no layer" entry, if there is one)."""
        idx = self.findData(layer.name if layer is not None else None)
        if idx >= 0:
            self.setCurrentIndex(idx)

    def refresh(self, *_args: object) -> None:
        """Rebuild the list from the viewer's layers, keeping the current choice when it still exists."""
        if self._viewer is None:
            return
        current = before = self.currentData()
        images = [lyr for lyr in self._viewer.layers if isinstance(lyr, Image)]
        images = [lyr for lyr in images if not self._skip(lyr)]
        self._watch(images)
        if current not in [lyr.name for lyr in images]:  # the picked layer is gone: follow again
            self.user_picked = False
        if self._follow and not self.user_picked and not self.paused:
            current = self.followed() or current
        self.blockSignals(True)
        self.clear()
        if self._none_text is not None:
            self.addItem(self._none_text, None)
        for lyr in reversed(images):  # top layer first, as in the layer list
            self.addItem(lyr.name, lyr.name)
        idx = self.findData(current) if current is not None else -1
        self.setCurrentIndex(idx if idx >= 0 else (0 if self.count() else -1))
        self.blockSignals(False)
        if self.currentData() != before:
            self.currentIndexChanged.emit(self.currentIndex())

    def _watch(self, layers: list[Image]) -> None:
        """Follow renames of exactly ``layers``."""
        for lyr in self._watched:
            if lyr not in layers:
                lyr.events.name.disconnect(self._renamed)
        for lyr in layers:
            if lyr not in self._watched:
                lyr.events.name.connect(self._renamed)
        self._watched = list(layers)

    def _renamed(self, event: object) -> None:
        # The renamed layer keeps its place: remember its index, rebuild, restore it.
        idx = self.currentIndex()
        self.blockSignals(True)
        self.refresh()
        self.setCurrentIndex(min(idx, self.count() - 1))
        self.blockSignals(False)
        self.currentIndexChanged.emit(self.currentIndex())

    def disconnect_viewer(self) -> None:
        """Stop following the viewer (safe to call twice)."""
        if self._viewer is None:
            return
        events = self._viewer.layers.events
        for sig in (events.inserted, events.removed, events.moved):
            sig.disconnect(self.refresh)
        if self._follow:
            self._viewer.layers.selection.events.active.disconnect(self._on_active)
        for lyr in self._watched:
            lyr.events.name.disconnect(self._renamed)
        self._watched = []
        self._viewer = None
