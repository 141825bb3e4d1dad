"""The Train dock widget: pick an image, check its noise, click Train, watch the loss and a live denoised
preview; when the run ends, a quality check and a comparison with classical filters follow.

It renders a :class:`napari_n2v.run_models.train_run.TrainRun` (the state: model, job, source, config) and
forwards clicks to it; the run's job runs in a superqt worker (:func:`napari_n2v._qt.worker.start_worker`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from napari.utils.notifications import show_info, show_warning
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QVBoxLayout, QWidget

from napari_n2v._qt.dock_fit import DockWidget, VScrollArea
from napari_n2v._qt.export_dialog import export_trained
from napari_n2v._qt.judge_panel import JudgePanel
from napari_n2v._qt.last_folder import start_folder
from napari_n2v._qt.layer_kinds import full_array
from napari_n2v._qt.loss_plot import LossPlot
from napari_n2v._qt.preview import LivePreview
from napari_n2v._qt.save_model import ask_save_path, save_model
from napari_n2v._qt.train_buttons import TrainButtons
from napari_n2v._qt.train_inputs import TrainInputs
from napari_n2v._qt.train_progress import TrainProgress
from napari_n2v._qt.worker import notify_error, start_worker
from napari_n2v.run_models.job_state import JobRun
from napari_n2v.run_models.jobs import disconnect_all
from napari_n2v.run_models.train_run import TrainRun

if TYPE_CHECKING:  # pragma: no cover
    import napari

    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.model.n2v_model import N2VModel


class TrainWidget(DockWidget):
    """Train a Noise2Void model on an image layer of ``napari_viewer``.

    Children are attributes so that tests and scripts can drive them (``layer_combo``, ``settings``,
    ``train_button``, ``stop_button``, ``export_button``, ``loss_plot``, ...); :attr:`run` holds the
    state. The trained model is :attr:`model`, also in the session registry.
    """

    #: Milliseconds between checks whether a live preview is due (:class:`LivePreview` decides).
    preview_interval_ms = 500

    def __init__(self, napari_viewer: napari.Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = napari_viewer
        self.run = TrainRun(launcher=start_worker)
        self.preview = LivePreview(napari_viewer)
        self._extra: list[Any] = []  # final-preview workers
        self.inputs = TrainInputs(napari_viewer)
        self.layer_combo, self.val_combo = self.inputs.layer_combo, self.inputs.val_combo
        self.axes_choice, self.settings = self.inputs.axes_choice, self.inputs.settings
        self.error_label = self.inputs.error_label
        self.buttons = b = TrainButtons()
        self.train_button, self.stop_button, self.continue_button = b.train, b.stop, b.cont
        self.reset_button, self.save_button, self.export_button = b.reset, b.save, b.export
        self.progress_view = TrainProgress()
        self.progress, self.status = self.progress_view.bar, self.progress_view.status
        self.judge = JudgePanel(napari_viewer)
        self.noise = self.inputs.noise
        self.loss_plot = LossPlot()
        self._judged: tuple[Any, str, str] | None = None  # the run's first image, axes, layer name
        self._timer = QTimer(self)
        self._timer.timeout.connect(lambda: self.preview.request(self.run.trainer))
        lay = QVBoxLayout(self)
        lay.addWidget(VScrollArea(self.inputs))  # the form scrolls; buttons and plot stay in view
        lay.addWidget(b)
        lay.addWidget(self.progress_view)
        lay.addWidget(self.judge)
        lay.addWidget(self.loss_plot, 1)
        self.inputs.validity_changed.connect(self._update_buttons)
        b.train.clicked.connect(lambda: self.start(resume=False))
        b.cont.clicked.connect(lambda: self.start(resume=True))
        b.stop.clicked.connect(self.stop)
        b.reset.clicked.connect(self.reset)
        b.save.clicked.connect(lambda: self.save_model())
        b.export.clicked.connect(lambda: self.export_model())
        _follow(self.run, self)
        # no widget in the lambda: it ends the threads while Qt deletes us
        runs, extra = (self.run, self.judge.run, self.noise.run), self._extra
        self.destroyed.connect(lambda *_: _end(runs, extra, gone=True))
        self.validate()

    @property
    def model(self) -> N2VModel | None:
        """The current model (trained, continued or kept after a stop), or None."""
        return self.run.model

    def axes(self) -> str | None:
        """The training axes (see :meth:`TrainInputs.axes`)."""
        return self.inputs.axes()

    def validate(self) -> TrainConfig | None:
        """Check the inputs; returns the config to train with, or None (the reason is shown)."""
        return self.inputs.validate()

    def _update_buttons(self, *_args: object) -> None:
        self.buttons.refresh(self.run, self.inputs.ok, self.axes())
        self.inputs.setEnabled(not self.run.running)

    # --- clicks ---------------------------------------------------------------------------------------
    def start(self, resume: bool = False) -> None:
        """Start training (``resume``: continue training the current model) on the chosen image and
        the ticked ones ("Also train on"); the preview shows the first."""
        config, layer, val = self.validate(), self.layer_combo.layer(), self.val_combo.layer()
        if config is None or layer is None or self.run.running:
            return
        self.preview.set_source(layer, config.axes, config.is_3d)
        self.loss_plot.continue_run() if resume else self.loss_plot.clear()
        self.progress_view.start(config)
        self.judge.clear()
        arrays, names = self.inputs.images()
        self._judged = (arrays[0], config.axes, layer.name)
        several = len(arrays) > 1
        kw: dict[str, Any] = {
            "source_name": layer.name + (f" + {len(arrays) - 1} more" if several else ""),
            "val_image": full_array(val) if val is not None else None,
            "resume": resume,
            "image_names": names if several else None,
        }
        if self.run.start(arrays if several else arrays[0], config, **kw):
            spot = self.run.blind_spot
            self.progress_view.blind_spot = spot.spec if spot is not None else ""
            self._timer.start(self.preview_interval_ms)

    def stop(self) -> None:
        """Stop after the current step; the best model so far is kept."""
        if self.run.running:
            self.run.stop()
            self.progress_view.hold_status("Stopping after this step…")
            self.stop_button.setEnabled(False)

    def reset(self) -> None:
        """Forget the current model and the loss curve (the registry keeps its models)."""
        self.run.reset()
        self.judge.clear()
        self.loss_plot.clear()
        self.progress.setValue(0)
        self.status.setText("Ready.")

    # --- the run's events -------------------------------------------------------------------------------
    def _on_state(self) -> None:
        if not self.run.running:
            self._timer.stop()
            self.progress_view.hold_status(self.status.text())  # what ended the run stays
            self.progress_view.end(stopped=self.run.cancel_requested)
            self.loss_plot.redraw()
            self.validate()
        self._update_buttons()

    def _on_step(self, ev: Any) -> None:
        self.preview.trained_s = ev.elapsed_s
        self.loss_plot.add_train(ev.step, ev.train_loss)
        if ev.val_loss is not None:
            self.loss_plot.add_val(ev.step, ev.val_loss)
        if self.progress_view.show_step(ev):  # at most once a second (RENDER_S) ...
            self.loss_plot.redraw()  # ... and the plot in the same pass: one repaint of the window

    def _on_info(self, message: str) -> None:
        show_info(message)
        self.status.setText(message)

    def _on_failed(self, message: str) -> None:
        notify_error(message)
        self.status.setText(message)
        if not self.run.running:  # refused before starting: show it by the settings too
            self.inputs.show_problem(message)

    def _on_ended(self, text: str) -> None:
        self.status.setText(text)
        model = self.run.model
        if model is not None:
            worker = self.preview.final(model)
            self._extra[:] = [w for w in self._extra if w.is_running] + ([worker] if worker else [])
            if self._judged is not None:
                image, axes, source = self._judged
                self.judge.judge(model, image, axes, source)

    # --- saving and export ------------------------------------------------------------------------------
    def save_model(self, path: str | Path | None = None) -> Path | None:
        """Save the current model (asks for a file when ``path`` is None); never overwrites silently."""
        if self.model is None:
            return None
        if path is None:
            path = ask_save_path(self, self.model, start_folder(self.layer_combo.layer()))
        else:
            path = Path(path)
        saved = save_model(self, self.model, path) if path is not None else None
        if saved is not None:
            self.status.setText(f"Saved {saved}.")
        return saved

    def export_model(self) -> Path | None:
        """Export the current model as a BioImage Model Zoo package (a dialog asks for the details);
        the sample is the training layer's full-resolution data with the training axes."""
        path = export_trained(self, self.run, self.viewer)
        if path is not None:
            self.status.setText(f"Exported {path}.")
        return path

    # --- closing ----------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop any run and wait for its thread; stop following the viewer. Safe to call twice."""
        _end((self.run, self.judge.run, self.noise.run), self._extra)
        self.inputs.disconnect_viewer()
        try:
            self._timer.stop()
        except RuntimeError:  # Qt deleted us already (viewer closed); the timer went with us
            pass


def _follow(r: TrainRun, w: TrainWidget) -> None:
    """Render the run's signals in the widget."""
    r.state_changed.connect(w._on_state)
    r.step.connect(w._on_step)
    r.preview.connect(lambda ev: w.preview.show(ev.image))
    r.info.connect(w._on_info)
    r.warned.connect(lambda m: show_warning(m))
    r.failed.connect(w._on_failed)
    r.ended.connect(w._on_ended)


def _end(runs: tuple[JobRun, ...], extra: list[Any], gone: bool = False) -> None:
    if gone:  # Qt deleted the widget: nothing may call it any more
        disconnect_all(*runs)
    for run in runs:
        run.shutdown()
    for w in extra:
        w.quit()
    deadline = time.monotonic() + 10.0  # a final preview is one prediction: let it end, not be cut
    while any(w.is_running for w in extra) and time.monotonic() < deadline:
        time.sleep(0.01)
    extra.clear()
