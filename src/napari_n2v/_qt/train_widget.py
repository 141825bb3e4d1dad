"""The Train dock widget: pick an image, click Train, watch the loss and a live denoised preview."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtCore import QEvent, QTimer
from qtpy.QtWidgets import (
    QGridLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from napari_n2v.core.errors import N2VError
from napari_n2v.core.training import InfoEvent, PreviewEvent, Trainer, TrainEvent

from .dock_fit import VScrollArea, fit_after_docking
from .loss_plot import LossPlot
from .models import get_registry
from .preview import LivePreview
from .save_model import ask_save_path, save_model
from .train_inputs import TrainInputs, layer_array
from .train_job import RunHandle, error_message, format_eta, start_training

if TYPE_CHECKING:  # pragma: no cover
    import napari
    from napari.layers import Image

    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.n2v_model import N2VModel


def _button(text: str, tip: str) -> QPushButton:
    button = QPushButton(text)
    button.setToolTip(tip)
    return button


class TrainWidget(QWidget):
    """Train a Noise2Void model on an image layer of ``napari_viewer``.

    Children are attributes so that tests and scripts can drive them (``layer_combo``, ``settings``,
    ``train_button``, ``stop_button``, ``loss_plot``, ...). The trained model is kept in
    :attr:`model` and added to the session registry (:func:`napari_n2v._qt.models.get_registry`).
    """

    #: Milliseconds between live preview requests (tests make it shorter).
    preview_interval_ms = 3000

    def __init__(self, napari_viewer: napari.Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = napari_viewer
        self.model: N2VModel | None = None
        self._run = RunHandle()
        self._source: Image | None = None  # the layer being trained on (main thread only)
        self._config: TrainConfig | None = None
        self.preview = LivePreview(napari_viewer)
        self._last_step = 0
        self._docked = False
        self._fitted = False  # the canvas was fitted again after docking
        self._warned: set[str] = set()

        self.inputs = TrainInputs(napari_viewer)
        # the children tests and scripts drive
        self.layer_combo, self.val_combo = self.inputs.layer_combo, self.inputs.val_combo
        self.axes_choice, self.settings = self.inputs.axes_choice, self.inputs.settings
        self.error_label = self.inputs.error_label
        self.train_button = _button("Train", "Train a new model from scratch.")
        self.stop_button = _button("Stop", "Stop after the current step; keep the best model.")
        self.continue_button = _button("Continue", "Train the current model for more steps.")
        self.reset_button = _button("Reset", "Forget the current model and the loss curve.")
        self.save_button = _button("Save model…", "Save the current model to a file.")
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m steps")
        self.status = QLabel("Ready.")
        self.status.setWordWrap(True)
        self.loss_plot = LossPlot()
        self._timer = QTimer(self)
        self._timer.timeout.connect(lambda: self.preview.request(self._run.trainer))

        buttons = QGridLayout()
        buttons.addWidget(self.train_button, 0, 0, 1, 2)
        buttons.addWidget(self.stop_button, 0, 2, 1, 2)
        buttons.addWidget(self.continue_button, 0, 4, 1, 2)
        buttons.addWidget(self.reset_button, 1, 0, 1, 3)
        buttons.addWidget(self.save_button, 1, 3, 1, 3)
        lay = QVBoxLayout(self)
        lay.addWidget(VScrollArea(self.inputs))  # the form scrolls; buttons and plot stay in view
        lay.addLayout(buttons)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addWidget(self.loss_plot, 1)

        self.inputs.validity_changed.connect(self._update_buttons)
        self.train_button.clicked.connect(lambda: self.start(resume=False))
        self.continue_button.clicked.connect(lambda: self.start(resume=True))
        self.stop_button.clicked.connect(self.stop)
        self.reset_button.clicked.connect(self.reset)
        self.save_button.clicked.connect(lambda: self.save_model())
        run = self._run  # holds no widget, so it can end the thread while Qt deletes us
        self.destroyed.connect(lambda *_: run.shutdown())
        self.validate()

    # --- state --------------------------------------------------------------------------------
    def axes(self) -> str | None:
        """The training axes (see :meth:`TrainInputs.axes`)."""
        return self.inputs.axes()

    def validate(self) -> TrainConfig | None:
        """Check the inputs; returns the config to train with, or None (the reason is shown)."""
        return self.inputs.validate()

    def _update_buttons(self, *_args: object) -> None:
        running = self._run.worker is not None
        ok = self.inputs.ok
        self.train_button.setEnabled(ok and not running)
        axes = self.axes() or ""
        same_kind = self.model is not None and self.model.is_3d == ("Z" in axes)
        self.continue_button.setEnabled(ok and not running and same_kind)
        self.stop_button.setEnabled(running)
        self.reset_button.setEnabled(not running)
        self.save_button.setEnabled(not running and self.model is not None)
        self.inputs.setEnabled(not running)

    # --- running --------------------------------------------------------------------------------
    def start(self, resume: bool = False) -> None:
        """Start training (``resume``: continue training the current model)."""
        config = self.validate()
        layer = self.layer_combo.layer()
        if config is None or layer is None or self._run.worker is not None:
            return
        val = self.val_combo.layer()
        try:
            trainer = Trainer(
                layer_array(layer),
                config,
                val_image=layer_array(val) if val is not None else None,
                model=self.model if resume else None,
            )
        except (N2VError, MemoryError) as err:
            self.inputs.show_problem(str(err))
            show_error(str(err))
            return
        self._source, self._config = layer, config
        self.preview.set_source(layer, config.axes, config.is_3d)
        if resume:
            self.loss_plot.continue_run()
        else:
            self.loss_plot.clear()
        self.progress.setRange(0, config.steps)
        self.progress.setValue(0)
        self.status.setText("Starting…")
        self._run.trainer = trainer
        self._warned: set[str] = set()
        self._run.worker = start_training(
            trainer,
            {
                "yielded": self._on_event,
                "returned": self._on_returned,
                "errored": self._on_errored,
                "warned": self._on_warned,
                "finished": self._on_finished,
            },
        )
        self._update_buttons()
        self._timer.start(self.preview_interval_ms)

    def stop(self) -> None:
        """Stop after the current step; the best model so far is kept (``returned`` still fires)."""
        if self._run.trainer is not None:
            self._run.trainer.stop()
            self.status.setText("Stopping after this step…")
            self.stop_button.setEnabled(False)

    def reset(self) -> None:
        """Forget the current model and the loss curve (the registry keeps its models)."""
        self.model = None
        self.loss_plot.clear()
        self.progress.setValue(0)
        self.status.setText("Ready.")
        self._update_buttons()

    def _on_event(self, event: object) -> None:
        if isinstance(event, TrainEvent):
            self.progress.setRange(0, event.total_steps)
            self.progress.setValue(event.step)
            self.progress.setFormat(f"%v / %m steps · ETA {format_eta(event.eta_s)}")
            self.loss_plot.add_train(event.step, event.train_loss)
            if event.val_loss is not None:
                self.loss_plot.add_val(event.step, event.val_loss)
            self.status.setText(
                f"Training: epoch {event.epoch}, {event.patches_per_s:.0f} patches/s, "
                f"{event.elapsed_s:.0f} s elapsed."
            )
            self._last_step = event.step
        elif isinstance(event, PreviewEvent):
            self.preview.show(event.image)
        elif isinstance(event, InfoEvent):
            show_info(event.message)
            self.status.setText(event.message)

    def _on_returned(self, model: N2VModel) -> None:
        self._keep_model(
            model, "Done" if self.progress.value() >= self.progress.maximum() else "Stopped"
        )

    def _on_errored(self, exc: BaseException) -> None:
        message = error_message(exc)
        show_error(message)
        self.status.setText(message)
        best = self._run.trainer.best_model if self._run.trainer is not None else None
        if best is not None:
            self._keep_model(best, "Failed; kept the best model so far")

    def _on_warned(self, args: tuple) -> None:
        message = str(args[0])
        if message not in self._warned:  # a warning inside the loop would repeat every step
            self._warned.add(message)
            show_warning(message)

    def _on_finished(self) -> None:
        self._timer.stop()
        self._run.worker, self._run.trainer = None, None
        self.loss_plot.redraw()
        self.validate()
        self._update_buttons()

    def _keep_model(self, model: N2VModel, verb: str) -> None:
        source = self._source.name if self._source is not None else "model"
        dim = "3D" if model.is_3d else "2D"
        steps = getattr(model, "steps_trained", self._last_step)
        model.name = get_registry().add(model, f"{source} ({dim}, {steps} steps)")
        self.model = model
        self.status.setText(f"{verb}: {model.name}. Ready for the Predict widget.")
        worker = self.preview.final(model)
        running = [w for w in self._run.extra_workers if w.is_running]
        self._run.extra_workers = running + ([worker] if worker is not None else [])

    # --- saving ---------------------------------------------------------------------------------
    def save_model(self, path: str | Path | None = None) -> Path | None:
        """Save the current model (asks for a file when ``path`` is None); never overwrites silently."""
        if self.model is None:
            return None
        path = ask_save_path(self, self.model) if path is None else Path(path)
        saved = save_model(self, self.model, path) if path is not None else None
        if saved is not None:
            self.status.setText(f"Saved {saved}.")
        return saved

    # --- closing --------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop any run and wait for its thread; stop following the viewer. Safe to call twice."""
        self._run.shutdown()
        self.inputs.disconnect_viewer()
        try:
            self._timer.stop()
        except RuntimeError:  # Qt deleted us already (viewer closed); the timer went with us
            pass

    def closeEvent(self, event: Any) -> None:
        self.shutdown()
        super().closeEvent(event)

    def event(self, event: QEvent) -> bool:
        # napari's dock "close" button takes us out of the window without closing us.
        if event.type() == QEvent.Type.ParentChange:
            if self.parent() is not None:
                self._docked = True
            elif self._docked:
                self.shutdown()
        elif event.type() == QEvent.Type.Show and not self._fitted and self.parent() is not None:
            self._fitted = True
            fit_after_docking(self.viewer)
        return super().event(event)
