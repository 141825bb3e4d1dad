"""The live loss curve of a training run (pyqtgraph): training loss per step and validation loss."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from qtpy.QtCore import QSize
from qtpy.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

#: Time constant of the smoothed training curve, as a fraction of the steps drawn so far: the curve
#: keeps the same look at any zoom level and follows the raw loss within a few percent of the x-range.
SMOOTHING = 0.02
#: Least height of the plot (px). It is also the height it asks for: in a crowded dock the form
#: keeps its rows and the plot takes only the room that is left over.
PLOT_MIN_HEIGHT = 140


class _CompactPlot(pg.PlotWidget):
    """A plot that asks for little room (pyqtgraph's default hint, 640 × 480, widens the dock)."""

    def sizeHint(self) -> QSize:
        return QSize(320, PLOT_MIN_HEIGHT)


class LossPlot(QWidget):
    """Training loss (each step, a thin faint line, and smoothed) and validation loss against the step;
    the legend names all three.

    Feed it with :meth:`add_train` / :meth:`add_val` and draw what it holds with :meth:`redraw` (the
    Train widget does, together with the progress bar, at most once a second: see
    :data:`napari_n2v._qt.train_progress.RENDER_S`); :meth:`clear` starts a new run.
    The *log scale* check box toggles a logarithmic loss axis.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.draws = 0  # how often the curves were drawn (tests check the widget's render clock)
        self.plot = _CompactPlot(background=None)
        self.plot.setMinimumHeight(PLOT_MIN_HEIGHT)
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "loss")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.addLegend(offset=(-10, 10))
        self._raw = self.plot.plot(
            pen=pg.mkPen((120, 160, 220, 90), width=1), name="train, each step"
        )
        self._smooth = self.plot.plot(pen=pg.mkPen((90, 150, 255), width=2), name="train, smoothed")
        self._val = self.plot.plot(
            pen=pg.mkPen((255, 160, 60), width=2),
            symbol="o",
            symbolSize=6,
            symbolBrush=(255, 160, 60),
            symbolPen=pg.mkPen((255, 160, 60)),
            name="validation",
        )
        self.log_scale = QCheckBox("log scale")
        self.log_scale.toggled.connect(lambda on: self.plot.setLogMode(y=on))
        self.summary = QLabel("")
        row = QHBoxLayout()
        row.addWidget(self.summary, 1)
        row.addWidget(self.log_scale)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot)
        lay.addLayout(row)
        self.clear()

    def clear(self) -> None:
        """Forget all points (a new run starts)."""
        self._steps: list[int] = []
        self._train: list[float] = []
        self._ema: list[float] = []
        self._ema_sum = (
            0.0  # exponentially weighted sum of losses, and of weights (bias correction)
        )
        self._ema_weight = 0.0
        self._val_steps: list[int] = []
        self._val_loss: list[float] = []
        self._offset = 0
        self.summary.setText("")
        self.redraw()

    def continue_run(self) -> None:
        """Keep the curves; the next run's steps are drawn after the last step drawn so far."""
        self._offset = self._steps[-1] if self._steps else 0

    @property
    def n_train_points(self) -> int:
        """Number of training-loss points received."""
        return len(self._train)

    @property
    def n_val_points(self) -> int:
        """Number of validation-loss points received."""
        return len(self._val_loss)

    def add_train(self, step: int, loss: float) -> None:
        """Add the training loss of ``step`` (1-based within the current run)."""
        if not np.isfinite(loss):
            return
        x = step + self._offset
        gap = x - self._steps[-1] if self._steps else 1
        self._steps.append(x)
        self._train.append(float(loss))
        # EMA over steps with a bias correction: no pull towards the first (high) loss, so the
        # smoothed curve tracks a fast fall instead of lagging behind it.
        decay = float(np.exp(-max(gap, 1) / max(1.0, SMOOTHING * x)))
        self._ema_sum = decay * self._ema_sum + (1 - decay) * float(loss)
        self._ema_weight = decay * self._ema_weight + (1 - decay)
        self._ema.append(self._ema_sum / self._ema_weight)

    def add_val(self, step: int, loss: float) -> None:
        """Add the validation loss measured at ``step``."""
        if not np.isfinite(loss):
            return
        self._val_steps.append(step + self._offset)
        self._val_loss.append(float(loss))

    def redraw(self) -> None:
        """Draw all points now."""
        self.draws += 1
        self._raw.setData(self._steps, self._train)
        self._smooth.setData(self._steps, self._ema)
        self._val.setData(self._val_steps, self._val_loss)
        parts = []
        if self._ema:
            parts.append(f"train {self._ema[-1]:.4g}")
        if self._val_loss:
            parts.append(f"validation {self._val_loss[-1]:.4g} (best {min(self._val_loss):.4g})")
        self.summary.setText(" · ".join(parts))
