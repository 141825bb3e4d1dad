"""The plugin's docks in napari's window: fit the canvas again once a dock has taken its room (so the
image is not left cropped), and share one tab stack when two docks would not fit one above the other."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QEvent, QObject, QSize, Qt, QTimer
from qtpy.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QWidget

if TYPE_CHECKING:  # pragma: no cover
    import napari

#: The least height (px) a scrolled part of a dock keeps: a few rows stay visible.
MIN_SCROLL_HEIGHT = 120
#: After a dock first shows, canvas resizes during this long (ms) re-fit the view (layout settling).
SETTLE_MS = 1500


def fit_after_docking(viewer: napari.Viewer) -> None:
    """Reset the view now and at each canvas resize during the next :data:`SETTLE_MS` ms.

    Docking shrinks the canvas after the image was fitted to the larger one; napari does not fit it
    again, so without this the image looks cropped. Call it when a dock widget is first shown.
    """
    size_event = viewer.canvas.events.size

    def fit(*_args: Any) -> None:
        if viewer.layers:  # an empty viewer has nothing to fit (and keeps its camera)
            viewer.reset_view()

    def disarm() -> None:
        try:
            size_event.disconnect(fit)
        except (RuntimeError, ValueError):  # pragma: no cover - the viewer is gone already
            pass

    size_event.connect(fit)
    QTimer.singleShot(0, fit)
    QTimer.singleShot(SETTLE_MS, disarm)


def _dock_of(widget: QWidget) -> QDockWidget | None:
    """The dock widget holding ``widget``, or None."""
    parent = widget.parent()
    while parent is not None and not isinstance(parent, QDockWidget):
        parent = parent.parent()
    return parent


def tabify_if_crowded(widget: QWidget) -> bool:
    """Put ``widget``'s dock in one tab stack with another of the plugin's docks in the same area
    when both would not fit one above the other at their natural heights (e.g. Train and Predict on
    a 1280 × 800 screen: each form would be squashed to a few rows). True if it did."""
    dock = _dock_of(widget)
    main = dock.parentWidget() if dock is not None else None
    if dock is None or not isinstance(main, QMainWindow):
        return False
    area = main.dockWidgetArea(dock)
    others = [
        d
        for d in main.findChildren(QDockWidget)
        if d is not dock
        and d.isVisible()
        and not d.isFloating()
        and main.dockWidgetArea(d) == area
        and any(isinstance(w, DockWidget) for w in d.findChildren(QWidget))
        and not main.tabifiedDockWidgets(d)
    ]
    if not others:
        return False
    other = others[-1]
    need = other.sizeHint().height() + dock.sizeHint().height()
    if need <= main.height():
        return False
    main.tabifyDockWidget(other, dock)
    dock.show()
    dock.raise_()
    return True


class VScrollArea(QScrollArea):
    """A frameless, vertical-only scroll area around ``inner``: a dock may be shorter than its form.

    It asks for the whole height of ``inner`` (so nothing scrolls while there is room) and for the
    full width (nothing is cut at the side). It can shrink to the height of ``keep`` (a part of
    ``inner`` that must stay in view), or to :data:`MIN_SCROLL_HEIGHT` without one.
    """

    def __init__(
        self, inner: QWidget, keep: QWidget | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._keep = keep
        self.setWidget(inner)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def eventFilter(self, obj: QObject | None, event: QEvent | None) -> bool:
        if obj is self.widget() and event is not None and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # e.g. a section was unfolded: ask the dock for the new height
        return super().eventFilter(obj, event)

    def _bar(self) -> int:
        bar = self.verticalScrollBar()
        return bar.sizeHint().width() if bar is not None else 0

    def _height(self, widget: QWidget) -> int:
        """The height ``widget`` needs at the width it has (word-wrapped labels grow when narrow)."""
        hint = widget.sizeHint().height()
        width = widget.width() if widget.isVisible() else widget.sizeHint().width()
        if widget.hasHeightForWidth():
            hint = max(hint, widget.heightForWidth(width))
        return hint

    def _frame(self) -> int:
        """Height taken by the frame/padding a style sheet may add around the viewport."""
        viewport = self.viewport()
        if self.isVisible() and viewport is not None:
            return max(0, self.height() - viewport.height())
        return 2 * self.frameWidth()

    def sizeHint(self) -> QSize:
        inner = self.widget()
        if inner is None:
            return super().sizeHint()
        return QSize(inner.sizeHint().width() + self._bar(), self._height(inner) + self._frame())

    def minimumSizeHint(self) -> QSize:
        inner = self.widget()
        if inner is None:
            return super().minimumSizeHint()
        least = self._height(self._keep) if self._keep is not None else MIN_SCROLL_HEIGHT
        height = min(self._height(inner), least) + self._frame()
        return QSize(inner.minimumSizeHint().width() + self._bar(), height)


class DockWidget(QWidget):
    """Base of both dock widgets: fits the canvas the first time the docked widget shows, and calls
    :meth:`shutdown` when it closes or when napari's dock "close" button takes it out of the window
    (which hides it without closing it)."""

    viewer: napari.Viewer

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._docked = self._fitted = False

    def shutdown(self) -> None:
        """End running work and stop following the viewer (subclasses; safe to call twice)."""

    def closeEvent(self, event: Any) -> None:
        self.shutdown()
        super().closeEvent(event)

    def event(self, event: QEvent | None) -> bool:
        if event is None:
            return super().event(event)
        if event.type() == QEvent.Type.ParentChange:
            if self.parent() is not None:
                self._docked = True
            elif self._docked:
                self.shutdown()
        elif event.type() == QEvent.Type.Show and not self._fitted and self.parent() is not None:
            self._fitted = True
            fit_after_docking(self.viewer)
            QTimer.singleShot(0, self._share_room)  # once napari has placed the dock
        return super().event(event)

    def _share_room(self) -> None:
        try:
            tabify_if_crowded(self)
        except RuntimeError:  # pragma: no cover - Qt deleted the dock meanwhile
            pass
