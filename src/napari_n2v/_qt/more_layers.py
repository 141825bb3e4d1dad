""" "Also train on": a checkable list of the viewer's other image layers, to train on several at once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from napari.layers import Image
from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from napari_n2v._qt.layer_kinds import is_result

if TYPE_CHECKING:  # pragma: no cover
    import napari

#: Rows the list shows before it scrolls.
VISIBLE_ROWS = 4


class MoreLayers(QWidget):
    """Tick further image layers (same axes as the first; never a result of this plugin) to train on;
    ``changed`` on every tick and whenever the list changes. The list follows the viewer's layers;
    call :meth:`disconnect_viewer`."""

    changed = Signal()

    def __init__(self, viewer: napari.Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._viewer: napari.Viewer | None = viewer
        self._exclude: str | None = None
        self.list = QListWidget()
        self.list.setToolTip(
            "Tick other image layers to train one model on all of them (same axes; patches are "
            "drawn from each in proportion to its size). The preview shows the first image."
        )
        self.hint = QLabel("none: open more images to train on several at once")
        self.hint.setEnabled(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.list)
        lay.addWidget(self.hint)
        self.list.itemChanged.connect(lambda *_: self.changed.emit())
        for sig in (viewer.layers.events.inserted, viewer.layers.events.removed):
            sig.connect(self.refresh)
        self.refresh()

    def set_first(self, name: str | None) -> None:
        """The image chosen above: it is not offered here."""
        self._exclude = name
        self.refresh()

    def refresh(self, *_args: object) -> None:
        """Rebuild the list from the viewer, keeping the ticks of the layers still there."""
        if self._viewer is None:
            return
        ticked = set(self.names())
        names = [
            ly.name
            for ly in reversed(self._viewer.layers)
            if isinstance(ly, Image) and not is_result(ly) and ly.name != self._exclude
        ]
        self.list.blockSignals(True)
        self.list.clear()
        for name in names:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in ticked else Qt.CheckState.Unchecked)
            self.list.addItem(item)
        self.list.blockSignals(False)
        rows = min(max(len(names), 1), VISIBLE_ROWS)
        self.list.setFixedHeight(rows * self.list.sizeHintForRow(0) + 6 if names else 0)
        self.list.setVisible(bool(names))
        self.hint.setVisible(not names)
        self.changed.emit()

    def set_checked(self, names: list[str]) -> None:
        """Tick exactly ``names`` (tests, scripts)."""
        for item in self._items():
            on = item.text() in names
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def names(self) -> list[str]:
        """The ticked layers' names, top first."""
        return [it.text() for it in self._items() if it.checkState() == Qt.CheckState.Checked]

    def _items(self) -> list[QListWidgetItem]:
        rows = (self.list.item(i) for i in range(self.list.count()))
        return [it for it in rows if it is not None]

    def layers(self) -> list[Any]:
        """The ticked image layers."""
        if self._viewer is None:
            return []
        return [self._viewer.layers[n] for n in self.names() if n in self._viewer.layers]

    def disconnect_viewer(self) -> None:
        """Stop following the viewer (safe to call twice)."""
        if self._viewer is not None:
            for sig in (self._viewer.layers.events.inserted, self._viewer.layers.events.removed):
                sig.disconnect(self.refresh)
            self._viewer = None
