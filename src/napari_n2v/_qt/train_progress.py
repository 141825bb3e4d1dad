"""The Train widget's progress bar and status line: steps (or time, for a time budget), ETA, patches/s.

Training can report dozens of steps a second; a progress display needs one. :meth:`TrainProgress.show_step` keeps
the newest event and renders it at most every :data:`RENDER_S` (and :meth:`flush` at the end), so the
main thread stays free and the training thread keeps its pace.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from qtpy.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

from napari_n2v.run_models.jobs import format_eta

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.events import TrainEvent

#: Seconds between two renders of the bar and the status line (1 Hz); the Train widget redraws the
#: loss plot in the same event-loop pass. Any repaint of napari's window re-composites its OpenGL
#: canvas, which a software renderer (VMs, remote desktops, CI's Xvfb) does on the CPU: ~10 ms per
#: repaint before anything is drawn, ~25 ms with bar, status and plot. On 2 cores the widget trained
#: at 0.78 of the headless rate rendering at 4 Hz, and at 0.94 at 1 Hz on the default 1000-step run
#: (`python -m benchmarks run widget`, docs/benchmarks.md); a loss curve and an ETA need no more.
RENDER_S = 1.0


class TrainProgress(QWidget):
    """``bar`` (steps done of total, or seconds of the time budget) and ``status`` (one line)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setFormat("%v / %m steps")
        self.status = QLabel("Ready.")
        self.status.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.bar)
        lay.addWidget(self.status)
        self.time_limit_s: float | None = None
        self.renders = 0  # how often an event was rendered (tests check the throttle)
        self._last: TrainEvent | None = None
        self._shown_at = 0.0
        self._held = False  # the status line says something else until the next run

    def start(self, config: TrainConfig) -> None:
        """A run begins: steps, or (``config.time_limit_s``) seconds, make the bar's range."""
        self.time_limit_s = config.time_limit_s
        total = int(config.time_limit_s) if config.time_limit_s else config.steps
        self.bar.setRange(0, max(1, total))
        self.bar.setValue(0)
        self.bar.setFormat("%v / %m s" if self.time_limit_s else "%v / %m steps")
        self._last, self._shown_at, self._held = None, 0.0, False
        self.status.setText("Starting…")

    def show_step(self, ev: TrainEvent) -> bool:
        """Keep ``ev``; render it when the last render is :data:`RENDER_S` old. Returns whether it
        rendered now (the caller repaints what goes with it in the same pass)."""
        self._last = ev
        if time.monotonic() - self._shown_at >= RENDER_S:
            self.flush()
            return True
        return False

    def hold_status(self, text: str) -> None:
        """Show ``text`` in the status line and keep it there until the next :meth:`start`."""
        self._held = True
        self.status.setText(text)

    def flush(self) -> None:
        """Render the newest event now."""
        ev, self._last = self._last, None
        if ev is None:
            return
        self._shown_at = time.monotonic()
        self.renders += 1
        eta = format_eta(ev.eta_s)
        if self.time_limit_s:
            self.bar.setValue(min(self.bar.maximum(), int(ev.elapsed_s)))
            used, limit = format_eta(ev.elapsed_s), format_eta(self.time_limit_s)
            self.bar.setFormat(f"{used} / {limit} · step {ev.step} · {eta} left")
        else:
            self.bar.setRange(0, ev.total_steps)
            self.bar.setValue(ev.step)
            self.bar.setFormat(f"%v / %m steps · ETA {eta}")
        if self._held:
            return
        self.status.setText(
            f"Training: epoch {ev.epoch}, {ev.patches_per_s:.0f} patches/s, "
            f"{ev.elapsed_s:.0f} s elapsed."
        )
