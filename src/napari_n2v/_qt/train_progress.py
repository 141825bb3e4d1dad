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
#: canvas, which a software renderer (VMs, remote desktops, CI's Xvfb) does on the CPU, taking time
#: from training; a loss curve and an ETA need no more than this (measured by the retired widget
#: benchmark suite: `git log -- benchmarks/suites/widget.py`).
RENDER_S = 1.0
#: Steps after the first reported one before the widget tells an ETA (the pace is known by then).
ETA_STEPS = 2


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
        self._first: tuple[int, float] | None = None  # (step, elapsed) of the first step reported
        self._eta: float | None = None
        self.final: TrainEvent | None = None  # the newest step of the run
        self.blind_spot = ""  # the run's blind spot, said in the status line
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
        self._first, self._eta, self.final, self.blind_spot = None, None, None, ""
        self.status.setText("Starting…")

    def eta(self, ev: TrainEvent) -> float | None:
        """Seconds left: the time budget left, or the steps left at the pace since the first step
        reported (validation and previews included); None until the pace is known."""
        if self.time_limit_s:
            return max(0.0, self.time_limit_s - ev.elapsed_s)
        if self._first is None:
            self._first = (ev.step, ev.elapsed_s)
        step0, t0 = self._first
        if ev.step - step0 < ETA_STEPS or ev.elapsed_s - t0 <= 0:
            return None
        return (ev.total_steps - ev.step) * (ev.elapsed_s - t0) / (ev.step - step0)

    def show_step(self, ev: TrainEvent) -> bool:
        """Keep ``ev``; render it when the last render is :data:`RENDER_S` old. Returns whether it
        rendered now (the caller repaints what goes with it in the same pass)."""
        self._last = self.final = ev
        self._eta = self.eta(ev)
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
        eta = format_eta(self._eta)
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
        spot = f", blind spot {self.blind_spot}" if self.blind_spot else ""
        self.status.setText(
            f"Training: epoch {ev.epoch}, {ev.patches_per_s:.0f} patches/s, "
            f"{ev.elapsed_s:.0f} s elapsed{spot}."
        )

    def end(self, stopped: bool) -> None:
        """The run is over: the bar shows where it ended (no ETA left to tell)."""
        self.flush()
        ev = self.final
        if ev is None:  # ended before its first step
            self.bar.setRange(0, 1)
            self.bar.setValue(0)
            self.bar.setFormat("no steps")
            return
        took = format_eta(ev.elapsed_s)
        verb = "stopped at" if stopped else "done:"
        if self.time_limit_s:
            self.bar.setValue(min(self.bar.maximum(), int(ev.elapsed_s)))
            self.bar.setFormat(f"{verb} {took} / {format_eta(self.time_limit_s)} · {ev.step} steps")
        else:
            self.bar.setRange(0, max(1, ev.total_steps))
            self.bar.setValue(ev.step)
            self.bar.setFormat(f"{verb} step %v / %m · {took}")
