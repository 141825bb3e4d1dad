"""The Train widget's Noise check: one click analyses the chosen layer's noise (in a worker) and shows
its autocorrelation as a small picture, the verdict, and the blind spot training will use.

It renders a :class:`napari_n2v.run_models.noise_run.NoiseRun`; the Train inputs call :meth:`check`
with the layer's data and axes and :meth:`show_choice` with the settings' config.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtGui import QImage, QPixmap
from qtpy.QtWidgets import QGridLayout, QLabel, QPushButton, QWidget

from napari_n2v._qt.worker import notify_error, start_worker
from napari_n2v.run_models.job_state import JobState
from napari_n2v.run_models.noise_run import NoiseCheck, NoiseRun

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.core.config import TrainConfig


def to_pixmap(rgb: np.ndarray) -> QPixmap:
    """A ``(H, W, 3)`` uint8 picture as a QPixmap."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    data = rgb.tobytes()  # alive until the copy below: QImage only points at it
    image = QImage(data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())


def training_choice(check: NoiseCheck | None, config: TrainConfig | None) -> str:
    """The blind spot a run with ``config`` would use, and why; "" when it cannot be told."""
    from napari_n2v.core.noise.footprint import format_blind_spot

    if config is not None and config.struct_line() is not None:
        line = format_blind_spot(config.struct_line() or ())
        return f"Training will use blind spot {line}: structN2V's line (Advanced settings)."
    if config is not None and config.blind_spot != "auto":
        return f"Training will use blind spot {config.blind_spot}, as set in Advanced settings."
    if check is None:
        return ""
    why = check.why.split(": ", 1)[-1]  # the engine's clause starts with the spec it names
    return f"Training will use blind spot {check.spec} (auto: {why})."


class NoisePanel(QWidget):
    """A "Noise check" button; after a check, the autocorrelation picture (red: neighbours alike,
    white: independent; the framed centre is the pixel itself), the verdict and the blind spot.

    Children are attributes (``button``, ``picture``, ``verdict``, ``choice``) for tests; :attr:`run`
    holds the state. ``source`` is the name of the layer the shown result belongs to.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run = NoiseRun(launcher=start_worker)
        self.button = QPushButton("Noise check")
        self.button.setToolTip(
            "Measure how the noise of the chosen image is correlated between neighbouring pixels "
            "(from the image alone): white noise suits the 1-pixel blind spot, correlated noise "
            "(many cameras) needs a larger one."
        )
        self.picture = QLabel()
        self.picture.setToolTip(
            "Autocorrelation of the noise over ±4 pixels (3D: the YX, ZX and ZY planes). The framed "
            "centre is the pixel itself; red neighbours mean correlated noise, white: independent."
        )
        self.picture.hide()
        self.verdict = _wrapping("")
        self.choice = _wrapping("")
        self._config: TrainConfig | None = None
        self._ok = True
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.button, 0, 0)
        grid.addWidget(self.verdict, 0, 1)
        grid.addWidget(self.picture, 1, 0)
        grid.addWidget(self.choice, 1, 1)
        grid.setColumnStretch(1, 1)
        self.run.checked.connect(self._on_checked)
        self.run.failed.connect(self._on_failed)
        self.run.state_changed.connect(self._on_state)

    @property
    def result(self) -> NoiseCheck | None:
        """The last check, or None."""
        return self.run.result

    def check(self, image: Any, axes: str, source: str) -> bool:
        """Analyse ``image`` (the layer's data, with ``axes``) in a worker."""
        self.verdict.setText("Checking the noise…")
        return self.run.start(image, axes, source_name=source)

    def forget(self) -> None:
        """The layer or its axes changed: the shown result no longer applies."""
        if self.run.running:
            self.run.cancel()
        self.run.forget()
        self.picture.hide()
        self.verdict.setText("")
        self.show_choice(self._config)

    def show_choice(self, config: TrainConfig | None) -> None:
        """Say which blind spot training with ``config`` would use (None: the settings are invalid)."""
        self._config = config
        text = training_choice(self.result, config)
        self.choice.setText(text)
        self.choice.setVisible(bool(text))

    def set_enabled(self, ok: bool) -> None:
        """Whether a check can run (an image with readable axes is chosen)."""
        self._ok = ok
        self.button.setEnabled(ok and not self.run.running)

    def _on_checked(self, check: NoiseCheck) -> None:
        self.picture.setPixmap(to_pixmap(check.picture))
        self.picture.show()
        self.verdict.setText(check.verdict_line())
        self.verdict.setToolTip(check.details())
        self.show_choice(self._config)

    def _on_failed(self, message: str) -> None:
        self.verdict.setText(f"No noise check: {message}")
        notify_error(message)

    def _on_state(self, state: JobState) -> None:
        self.button.setEnabled(self._ok and state is not JobState.RUNNING)

    def shutdown(self) -> None:
        """End a running check (safe to call twice)."""
        self.run.shutdown()


def _wrapping(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label
