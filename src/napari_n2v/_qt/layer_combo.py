"""A combo box of the viewer's image layers that follows layers being added, removed or renamed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from napari.layers import Image
from qtpy.QtWidgets import QComboBox, QWidget

from .preview import is_preview

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
    parent
        Parent widget.

    Call :meth:`disconnect_viewer` when the owner closes (it is idempotent).
    """

    def __init__(
        self, viewer: napari.Viewer, none_text: str | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._viewer: napari.Viewer | None = viewer
        self._none_text = none_text
        self._watched: list[Image] = []
        events = viewer.layers.events
        events.inserted.connect(self.refresh)
        events.removed.connect(self.refresh)
        events.moved.connect(self.refresh)
        self.refresh()

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
        current = self.currentData()
        images = [lyr for lyr in self._viewer.layers if isinstance(lyr, Image)]
        images = [lyr for lyr in images if not is_preview(lyr)]
        self._watch(images)
        self.blockSignals(True)
        self.clear()
        if self._none_text is not None:
            self.addItem(self._none_text, None)
        for lyr in reversed(images):  # top layer first, as in the layer list
            self.addItem(lyr.name, lyr.name)
        idx = self.findData(current) if current is not None else -1
        self.setCurrentIndex(idx if idx >= 0 else (0 if self.count() else -1))
        self.blockSignals(False)
        if self.currentData() != current:
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
        for lyr in self._watched:
            lyr.events.name.disconnect(self._renamed)
        self._watched = []
        self._viewer = None
