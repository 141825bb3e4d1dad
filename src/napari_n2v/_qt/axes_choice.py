"""Which axes an image layer has: read what the shape tells, ask the user only for the rest.

The pure function :func:`axes_options` (no Qt) turns a layer's shape, RGB flag and napari axis labels
into a short sentence and a few named choices; :class:`AxesChoice` shows them.
"""

from __future__ import annotations

from collections.abc import Sequence

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QComboBox, QLabel, QVBoxLayout, QWidget

from napari_n2v.core.layout import guess_axes

#: napari axis labels that mean time / depth (lower-cased).
_TIME_LABELS = {"t", "time", "frame", "frames"}
_Z_LABELS = {"z", "depth", "plane", "planes", "slice"}


def _size(shape: Sequence[int]) -> str:
    return " × ".join(str(int(s)) for s in shape)


def _guess(labels: Sequence[str]) -> str | None:
    """'T' or 'Z' if a napari axis label says so, else None."""
    for lab in labels:
        low = str(lab).strip().lower()
        if low in _TIME_LABELS:
            return "T"
        if low in _Z_LABELS:
            return "Z"
    return None


def _named(labels: Sequence[str], letters: str) -> str | None:
    """The axis letters the napari ``labels`` name (``'t'``, ``'z'``, ``'c'``...), or None unless
    each label names one of ``letters``, all different."""
    names = {**{k: "T" for k in _TIME_LABELS}, **{k: "Z" for k in _Z_LABELS}, "c": "C"}
    names.update(channel="C", channels="C")
    got = "".join(names.get(str(lab).strip().lower(), "?") for lab in labels)
    return got if sorted(got) == sorted(letters) else None


def axes_options(
    shape: Sequence[int], rgb: bool = False, labels: Sequence[str] = ()
) -> tuple[str, list[tuple[str, str]], int]:
    """Describe a layer's data and list the axes interpretations the shape cannot decide between.

    Parameters
    ----------
    shape
        The layer's data shape (including the colour axis when ``rgb``).
    rgb
        Whether the last axis holds RGB(A) colours.
    labels
        napari axis labels, one per dimension (``'t'``/``'z'`` pick the default choice).

    Returns
    -------
    sentence : str
        A short description, e.g. ``"3D data: 40 × 512 × 512 (first axis: planes or frames?)"``.
    options : list of (label, axes)
        The choices to offer; a single entry when the shape decides.
    default : int
        Index of the option to preselect.
    """
    c = "C" if rgb else ""
    spatial = tuple(shape[:-1]) if rgb else tuple(shape)
    extra = f", {shape[-1]} colour channels" if rgb else ""
    lead = labels[: len(spatial) - 2]
    n = len(spatial)
    if n < 2:
        return f"{n}D data: not an image", [], 0
    # The first choice is the engine's own guess (core.layout.guess_axes, as the CLI and the Predict
    # widget read a file or layer); the others are what the shape cannot rule out.
    engine = guess_axes(len(shape), True, rgb) if n <= 4 else ""
    if n == 2:
        return f"2D image, {_size(spatial)} pixels{extra}.", [("2D image", engine)], 0
    if n == 3:
        opts = [("Z-stack (3D denoising)", engine), ("frames/time (2D per frame)", "TYX" + c)]
        default = 1 if _guess(lead) == "T" else 0
        return (
            f"3D data, {_size(spatial)}{extra}: is the first axis depth or time?",
            opts,
            default,
        )
    if n == 4:
        opts = [
            ("time × Z (3D denoising)", engine),
            ("time × Z (2D per plane)", "TSYX" + c),
        ]
        return f"4D data, {_size(spatial)}{extra}: time × Z × Y × X.", opts, 0
    if n == 5:
        # ImageJ's hyperstack order (TIFFs from Fiji) is TZCYX; napari labels may say otherwise.
        opts = [
            ("time × Z × channel (ImageJ order; 3D denoising)", "TZCYX" + c),
            ("time × channel × Z (3D denoising)", "TCZYX" + c),
        ]
        named = _named(lead, "TZC")
        default = 1 if named == "TCZ" else 0
        return (
            f"5D data, {_size(spatial)}{extra}: time, Z and channels; which order?",
            opts,
            default,
        )
    return f"{n}D data, {_size(spatial)}: set the axes in the advanced settings.", [], 0


class AxesChoice(QWidget):
    """A sentence about the layer's axes plus (when needed) a combo box of interpretations.

    ``changed`` is emitted when the chosen axes change; :meth:`axes` returns them (or None).
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sentence = QLabel("No image layer.")
        self.sentence.setWordWrap(True)
        self.combo = QComboBox()
        self.combo.setToolTip("What the leading axis of the image means.")
        self.combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.sentence)
        lay.addWidget(self.combo)
        self.combo.hide()

    def set_layer(
        self, shape: Sequence[int] | None, rgb: bool = False, labels: Sequence[str] = ()
    ) -> None:
        """Show the options for a layer of this shape (None: no layer)."""
        self.combo.blockSignals(True)
        self.combo.clear()
        opts: list[tuple[str, str]] = []
        if shape is None:
            self.sentence.setText("No image layer: open or add one.")
        else:
            text, opts, default = axes_options(shape, rgb, labels)
            self.sentence.setText(text)
            for label, axes in opts:
                self.combo.addItem(label, axes)
            self.combo.setCurrentIndex(default)
        self.combo.setVisible(len(opts) > 1)
        self.combo.blockSignals(False)
        self.changed.emit()

    def axes(self) -> str | None:
        """The chosen axes string (e.g. ``'ZYX'``), or None when there is nothing to choose from."""
        data = self.combo.currentData()
        return str(data) if data else None
