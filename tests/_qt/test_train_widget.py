"""The Train dock widget, headless: make_napari_viewer + qtbot (pytest-xvfb provides the display)."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import QThreadPool
from qtpy.QtWidgets import QMessageBox

from napari_n2v._qt import train_widget as tw_module
from napari_n2v._qt import worker as worker_module
from napari_n2v._qt.layer_kinds import preview_name
from napari_n2v._qt.train_widget import TrainWidget
from napari_n2v.run_models.registry import get_registry

TIMEOUT = 120_000


@pytest.fixture
def noisy() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:64, :64]
    clean = 100 + 80 * (np.hypot(yy - 32, xx - 32) < 16)
    return {
        "2d": (clean + rng.normal(0, 20, clean.shape)).astype(np.float32),
        "3d": (rng.normal(100, 20, (8, 32, 32))).astype(np.float32),
    }


@pytest.fixture
def make_widget(make_napari_viewer, monkeypatch):
    """A function adding an image layer and a docked, fast-configured Train widget."""
    get_registry().clear()
    errors: list[str] = []
    monkeypatch.setattr(worker_module, "show_error", errors.append)
    widgets: list[TrainWidget] = []

    def make(image: np.ndarray, name: str = "noisy", **layer_kwargs) -> TrainWidget:
        viewer = make_napari_viewer()
        viewer.add_image(image, name=name, **layer_kwargs)
        w = TrainWidget(viewer)
        w.errors = errors  # what show_error received
        viewer.window.add_dock_widget(w, name="Train")
        s = w.settings
        s.patch_xy.setValue(16)
        s.steps.setValue(4)
        s.batch.setValue(2)
        s.steps_per_epoch.setValue(2)
        s.val_patches.setValue(2)
        s.n_filters.setValue(8)
        s.seed.setValue(0)
        widgets.append(w)
        return w

    yield make
    for w in widgets:
        w.shutdown()
    get_registry().clear()


def _wait_done(qtbot, w: TrainWidget) -> None:
    qtbot.waitUntil(lambda: not w.run.running, timeout=TIMEOUT)


def test_train_2d_plots_and_registers(make_widget, qtbot, noisy, tmp_path, monkeypatch):
    w = make_widget(noisy["2d"])
    assert w.axes() == "YX"
    assert "2D image" in w.axes_choice.sentence.text()
    assert w.axes_choice.combo.isHidden()
    assert w.train_button.isEnabled() and not w.stop_button.isEnabled()
    assert w.settings.device_label.text().startswith(("CPU", "CUDA", "Apple"))
    w.train_button.click()
    assert w.stop_button.isEnabled() and not w.train_button.isEnabled()
    _wait_done(qtbot, w)
    assert not w.errors
    assert w.loss_plot.n_train_points == 4
    assert w.loss_plot.n_val_points >= 1
    assert w.progress.value() == 4
    reg = get_registry()
    assert reg.names() == [w.model.name]
    assert reg.get(w.model.name) is w.model
    assert "2D" in w.model.name and "noisy" in w.model.name
    assert w.save_button.isEnabled() and w.continue_button.isEnabled()

    saved = w.save_model(tmp_path / "m")
    assert saved is not None and saved.name == "m.n2v.safetensors" and saved.exists()
    # never overwrite silently: the user says No -> nothing happens
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    before = saved.stat().st_mtime_ns
    assert w.save_model(saved) is None
    assert saved.stat().st_mtime_ns == before

    # Continue trains the same model further and adds the result to the registry
    w.continue_button.click()
    _wait_done(qtbot, w)
    assert w.loss_plot.n_train_points == 8
    assert len(reg.names()) == 2
    assert w.model.steps_trained == 8

    w.reset_button.click()
    assert w.model is None and w.loss_plot.n_train_points == 0
    assert not w.continue_button.isEnabled()


def test_train_3d_z_stack(make_widget, qtbot, noisy):
    w = make_widget(noisy["3d"], axis_labels=("z", "y", "x"))
    assert not w.axes_choice.combo.isHidden()
    assert w.axes() == "ZYX"
    assert not w.settings.patch_z.isHidden()
    w.settings.patch_z.setValue(8)
    assert w.validate() is not None
    w.train_button.click()
    _wait_done(qtbot, w)
    assert not w.errors
    assert w.model is not None and w.model.is_3d
    assert w.loss_plot.n_train_points == 4
    assert "3D" in get_registry().names()[0]


def test_frames_choice_trains_2d(make_widget, noisy):
    w = make_widget(noisy["3d"], axis_labels=("t", "y", "x"))
    assert w.axes() == "TYX"
    assert w.settings.patch_z.isHidden()
    w.axes_choice.combo.setCurrentIndex(0)
    assert w.axes() == "ZYX"
    w.settings.axes_override.setText("syx")
    assert w.axes() == "SYX"


def test_stop_keeps_a_usable_model(make_widget, qtbot, noisy):
    w = make_widget(noisy["2d"])
    w.settings.steps.setValue(100_000)
    w.train_button.click()
    qtbot.waitUntil(lambda: w.progress.value() >= 2, timeout=TIMEOUT)
    w.stop_button.click()
    _wait_done(qtbot, w)
    assert not w.errors
    assert w.model is not None
    assert w.progress.value() < 100
    out = w.model.predict(noisy["2d"], "YX")
    assert out.shape == noisy["2d"].shape and np.isfinite(out).all()
    assert get_registry().names() == [w.model.name]


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("patch_xy", 30, "multiple of 4"),
        ("masked", 1000, "too many"),
    ],
)
def test_invalid_settings_are_refused(make_widget, noisy, field, value, words):
    w = make_widget(noisy["2d"])
    getattr(w.settings, field).setValue(value)
    assert words in w.error_label.text()
    assert not w.error_label.isHidden()
    assert not w.train_button.isEnabled()
    w.train_button.click()  # disabled: nothing starts
    assert not w.run.running
    getattr(w.settings, field).setValue(16 if field == "patch_xy" else 0)
    assert w.error_label.isHidden() and w.train_button.isEnabled()


def test_bad_axes_are_refused(make_widget, noisy):
    w = make_widget(noisy["2d"])
    w.settings.axes_override.setText("ZYX")
    assert "dimension" in w.error_label.text()
    assert not w.train_button.isEnabled()


def test_closing_during_training_ends_the_thread(make_widget, qtbot, noisy):
    w = make_widget(noisy["2d"])
    w.settings.steps.setValue(100_000)
    w.train_button.click()
    worker = w.run.job
    qtbot.waitUntil(lambda: w.progress.value() >= 1, timeout=TIMEOUT)
    w.close()
    assert not worker.is_running
    assert not w.run.running
    assert QThreadPool.globalInstance().activeThreadCount() == 0


def test_removing_the_dock_ends_the_thread(make_widget, qtbot, noisy):
    w = make_widget(noisy["2d"])
    w.settings.steps.setValue(100_000)
    w.train_button.click()
    worker = w.run.job
    qtbot.waitUntil(lambda: w.progress.value() >= 1, timeout=TIMEOUT)
    w.viewer.window.remove_dock_widget(w)
    assert not worker.is_running
    assert QThreadPool.globalInstance().activeThreadCount() == 0


def test_closing_the_viewer_ends_the_thread(make_widget, qtbot, noisy):
    w = make_widget(noisy["2d"])
    w.settings.steps.setValue(100_000)
    w.train_button.click()
    worker = w.run.job
    qtbot.waitUntil(lambda: w.progress.value() >= 1, timeout=TIMEOUT)
    w.viewer.close()
    qtbot.waitUntil(lambda: not worker.is_running, timeout=30_000)


def test_rgb_layer_reads_as_colour_image(make_widget):
    w = make_widget(np.zeros((64, 64, 3), np.uint8))
    assert w.axes() == "YXC"
    assert "3 colour channels" in w.axes_choice.sentence.text()


def test_preview_layer_updates_in_place(make_widget, qtbot, noisy):
    w = make_widget(noisy["3d"], name="stack", axis_labels=("z", "y", "x"))
    w.settings.patch_z.setValue(8)
    w.preview_interval_ms = 30
    w.settings.steps.setValue(100_000)
    w.viewer.dims.set_current_step(0, 5)
    w.train_button.click()
    name = preview_name("stack")
    qtbot.waitUntil(lambda: name in w.viewer.layers, timeout=TIMEOUT)
    layer = w.viewer.layers[name]
    assert layer.data.shape == (32, 32)
    first = np.array(layer.data)
    qtbot.waitUntil(lambda: not np.array_equal(layer.data, first), timeout=TIMEOUT)
    w.stop_button.click()
    _wait_done(qtbot, w)
    qtbot.waitUntil(lambda: w.preview.finals == 0, timeout=TIMEOUT)  # the final preview is shown
    assert [ly.name for ly in w.viewer.layers].count(name) == 1
    assert w.viewer.layers[name] is layer


def test_layer_picker_follows_the_viewer(make_widget, noisy):
    w = make_widget(noisy["2d"], name="a")
    v = w.viewer
    v.add_image(noisy["3d"], name="b")
    names = [w.layer_combo.itemText(i) for i in range(w.layer_combo.count())]
    assert names == ["b", "a"]
    v.layers["a"].name = "renamed"
    names = [w.layer_combo.itemText(i) for i in range(w.layer_combo.count())]
    assert "renamed" in names and "a" not in names
    w.layer_combo.set_layer(v.layers["b"])
    assert w.axes() == "ZYX"
    v.layers.remove("b")
    assert w.layer_combo.layer() is v.layers["renamed"]
    assert w.axes() == "YX"
    v.layers.remove("renamed")
    assert w.layer_combo.count() == 0
    assert not w.train_button.isEnabled()
    assert "image layer" in w.error_label.text()


def test_errors_are_notified_and_widget_resets(make_widget, qtbot, noisy, monkeypatch):
    from napari_n2v.core.train.trainer import Trainer

    def boom(self):
        yield from ()
        raise RuntimeError("out of memory (simulated)")

    monkeypatch.setattr(Trainer, "run", boom)
    w = make_widget(noisy["2d"])
    w.train_button.click()
    _wait_done(qtbot, w)
    assert any("out of memory (simulated)" in e for e in w.errors)
    assert w.train_button.isEnabled() and not w.stop_button.isEnabled()
    assert w.model is None


def test_axes_error_names_the_control_and_the_guess(make_widget, noisy):
    w = make_widget(noisy["2d"])
    w.settings.axes_override.setText("ZYX")
    text = w.error_label.text()
    assert "'ZYX'" in text and "Advanced settings" in text and "'YX'" in text


def test_device_line_says_what_a_3d_run_uses(make_widget, noisy, monkeypatch):
    from napari_n2v.core import device
    from napari_n2v.core.plan import machine

    monkeypatch.setattr(device, "cpu_has_bf16", lambda: True)  # bf16 autocast: 2D only on a CPU
    w = make_widget(noisy["3d"], axis_labels=("z", "y", "x"))
    assert w.axes() == "ZYX"
    assert w.settings.device_label.text() == machine.describe_device("auto", n_dim=3)
    w.axes_choice.combo.setCurrentIndex(1)  # frames: 2D training
    assert w.settings.device_label.text() == machine.describe_device("auto", n_dim=2)


def test_no_torchscript_deprecation_warning_during_training(make_widget, qtbot, noisy, monkeypatch):
    import sys

    # The warning came from the first import of torch.utils.mkldnn (by the preview's batch-norm
    # fusion) inside the worker, whose "always" filter turned it into a notification each session.
    for name in ("torch.fx.experimental.optimization", "torch.utils.mkldnn"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    warned: list[str] = []
    monkeypatch.setattr(tw_module, "show_warning", lambda m: warned.append(str(m)))
    w = make_widget(noisy["2d"], name="img")
    w.preview_interval_ms = 30
    w.settings.steps.setValue(100_000)
    w.train_button.click()
    qtbot.waitUntil(lambda: preview_name("img") in w.viewer.layers, timeout=TIMEOUT)
    w.stop_button.click()
    _wait_done(qtbot, w)
    assert "torch.fx.experimental.optimization" in sys.modules  # the import did run in the worker
    assert not [m for m in warned if "script_method" in m]


def test_smoothed_loss_tracks_a_fast_fall(qtbot):
    from napari_n2v._qt.loss_plot import LossPlot

    plot = LossPlot()
    qtbot.addWidget(plot)
    steps = np.arange(1, 401)
    loss = np.exp(-steps / 20) + 0.01
    for s, v in zip(steps, loss, strict=True):
        plot.add_train(int(s), float(v))
    smooth = np.asarray(plot._ema)
    for s in (10, 30, 60, 100):  # within 10% of the loss it smooths while the loss falls 60-fold
        assert abs(smooth[s - 1] / loss[s - 1] - 1) < 0.1, s
    noisy = 1 + np.random.default_rng(0).normal(0, 0.1, 400)
    plot.clear()
    for s, v in zip(steps, noisy, strict=True):
        plot.add_train(int(s), float(v))
    assert np.std(np.asarray(plot._ema)[200:]) < 0.5 * np.std(noisy[200:])  # and still smooths


def test_both_docks_fit_a_small_screen(make_napari_viewer, qtbot, noisy):
    from qtpy.QtWidgets import QDockWidget

    from napari_n2v._qt.loss_plot import PLOT_MIN_HEIGHT
    from napari_n2v._qt.predict_widget import PredictWidget

    viewer = make_napari_viewer(show=True)
    window = viewer.window._qt_window
    window.resize(1280, 760)  # a 1280 × 800 screen, less its task bar
    viewer.add_image(noisy["2d"], name="noisy")
    w, p = TrainWidget(viewer), PredictWidget(viewer)
    viewer.window.add_dock_widget(w, name="Train")
    viewer.window.add_dock_widget(p, name="Predict")
    docks = {d.windowTitle(): d for d in window.findChildren(QDockWidget)}
    # Stacked, each form would keep a few rows: they share one tab stack instead.
    qtbot.waitUntil(lambda: bool(window.tabifiedDockWidgets(docks["Train"])), timeout=3000)
    assert window.minimumSizeHint().height() <= 760
    docks["Train"].raise_()
    qtbot.waitUntil(lambda: w.isVisible(), timeout=3000)
    scroll = w.inputs.parentWidget().parentWidget()  # the form's scroll area
    rows = w.settings.patch_xy, w.settings.masked, w.settings.duration, w.settings.batch
    assert all(r.visibleRegion().boundingRect().height() >= r.height() for r in rows)  # whole
    assert scroll.height() >= w.inputs.sizeHint().height() - 120  # at most a row or so scrolls
    assert w.loss_plot.plot.height() >= PLOT_MIN_HEIGHT
    docks["Predict"].raise_()
    p.form.files_button.setChecked(True)  # Files… mode must not grow the window past the screen
    qtbot.waitUntil(lambda: p.form.files_panel.isVisible(), timeout=3000)
    assert window.minimumSizeHint().height() <= 760 and window.height() <= 800
    w.shutdown()
    p.shutdown()


def test_canvas_is_fitted_again_after_docking(make_napari_viewer, qtbot, noisy):
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1280, 760)
    viewer.add_image(np.zeros((256, 256), np.float32))
    viewer.reset_view()
    width = viewer.canvas.size[1]
    w = TrainWidget(viewer)
    viewer.window.add_dock_widget(w, name="Train")

    def shows_everything() -> bool:
        height, width = viewer.canvas.size
        return min(height, width) / viewer.camera.zoom >= 256

    qtbot.waitUntil(lambda: viewer.canvas.size[1] < width, timeout=3000)  # the dock took room
    qtbot.waitUntil(shows_everything, timeout=3000)
    w.shutdown()


def test_patch_larger_than_the_image_is_shrunk_with_the_engines_message(
    make_widget, qtbot, noisy, monkeypatch
):
    # The rule is the engine's: a patch larger than the image is shrunk (the widget refused it before).
    infos: list[str] = []
    monkeypatch.setattr(tw_module, "show_info", infos.append)
    w = make_widget(noisy["2d"])
    w.settings.patch_xy.setValue(128)
    assert w.error_label.isHidden() and w.train_button.isEnabled()
    w.train_button.click()
    _wait_done(qtbot, w)
    assert any("larger than the image" in m and "using (64, 64)" in m for m in infos)
    assert w.model is not None and not w.errors


def test_export_button_opens_the_zoo_dialog_with_the_training_data(
    make_widget, qtbot, noisy, monkeypatch
):
    from napari_n2v._qt import export_dialog

    calls: list[tuple] = []
    monkeypatch.setattr(export_dialog, "export_to_zoo", lambda *a: calls.append(a) or None)
    w = make_widget(noisy["3d"], name="stack", axis_labels=("z", "y", "x"))
    w.settings.patch_z.setValue(8)
    assert not w.export_button.isEnabled()  # no model yet
    w.train_button.click()
    _wait_done(qtbot, w)
    assert w.export_button.isEnabled()
    w.export_button.click()
    ((parent, model, sample, axes, folder),) = calls
    assert parent is w and model is w.model and axes == "ZYX" and folder.is_dir()
    assert sample is w.viewer.layers["stack"].data
    w.reset_button.click()
    assert not w.export_button.isEnabled()
