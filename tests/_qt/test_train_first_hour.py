"""The Train widget's first hour, headless: the Noise check and the blind spot, the check and the
comparison after a run ("Compare"), a preview that shows itself only once useful and with its own
contrast, progress that ends where the run ended, a CPU-sized default, and the inputs offered."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_n2v._qt import worker as worker_module
from napari_n2v._qt.axes_choice import axes_options
from napari_n2v._qt.layer_kinds import preview_name
from napari_n2v._qt.preview import LivePreview
from napari_n2v._qt.train_duration import TrainDuration
from napari_n2v._qt.train_progress import TrainProgress
from napari_n2v._qt.train_widget import TrainWidget
from napari_n2v.core.config import TrainConfig
from napari_n2v.core.events import TrainEvent
from napari_n2v.run_models.predict_job import contrast_limits
from napari_n2v.run_models.registry import get_registry

TIMEOUT = 120_000


def _disc(seed: int = 0, correlated: bool = False) -> np.ndarray:
    yy, xx = np.mgrid[:96, :96]
    noise = np.random.default_rng(seed).normal(0, 20, (96, 96))
    if correlated:  # camera-like: correlated with the neighbours
        noise = ndi.uniform_filter(noise, 3) * 3
    return (100 + 80 * (np.hypot(yy - 48, xx - 48) < 24) + noise).astype(np.float32)


@pytest.fixture
def widget(make_napari_viewer, monkeypatch):
    get_registry().clear()
    errors: list[str] = []
    monkeypatch.setattr(worker_module, "show_error", errors.append)
    viewer = make_napari_viewer()
    viewer.add_image(_disc(), name="disc")
    w = TrainWidget(viewer)
    w.errors = errors
    viewer.window.add_dock_widget(w, name="Train")
    s = w.settings
    for box, v in ((s.patch_xy, 32), (s.steps, 4), (s.batch, 2), (s.steps_per_epoch, 2)):
        box.setValue(v)
    for box, v in ((s.val_patches, 2), (s.n_filters, 8), (s.seed, 0)):
        box.setValue(v)
    yield w
    w.shutdown()
    get_registry().clear()


def _train(qtbot, w: TrainWidget) -> None:
    w.train_button.click()
    qtbot.waitUntil(lambda: not w.run.running, timeout=TIMEOUT)


def test_noise_check_shows_the_picture_the_verdict_and_the_blind_spot(qtbot, widget) -> None:
    panel = widget.noise
    assert panel.picture.isHidden() and panel.button.isEnabled()
    widget.viewer.layers["disc"].data = _disc(correlated=True)
    panel.button.click()
    qtbot.waitUntil(lambda: panel.result is not None, timeout=TIMEOUT)
    assert not panel.picture.isHidden() and panel.picture.pixmap().width() == 72
    assert panel.verdict.text().startswith("Noise: correlated")
    assert "Training will use blind spot 5x5 (auto: the noise is correlated" in panel.choice.text()
    assert "Blind spot 5x5" in panel.verdict.toolTip()  # the findings, in the widget's words
    widget.settings.blind_spot.setCurrentText("3x3")  # the Advanced choice overrides auto
    assert "blind spot 3x3, as set in Advanced settings" in panel.choice.text()
    assert widget.validate().blind_spot == "3x3"
    _train(qtbot, widget)
    assert widget.run.model.config.blind_spot == "3x3"
    assert widget.run.blind_spot.spec == "3x3" and widget.progress_view.blind_spot == "3x3"
    widget.axes_choice.set_layer(None)  # another layer or axes: the result no longer applies
    assert panel.result is None and panel.picture.isHidden()


def test_blind_spot_choices_follow_the_dimensionality(widget) -> None:
    box = widget.settings.blind_spot
    items = [box.itemText(i) for i in range(box.count())]
    assert items[:2] == ["auto", "pixel"] and "1x5" in items and "3x3x3" not in items
    assert widget.validate().blind_spot == "auto"
    box.setCurrentText("7x7")  # editable: any box the engine reads
    assert widget.validate().blind_spot == "7x7"
    box.setCurrentText("4x4")
    assert widget.validate() is None and "odd" in widget.error_label.text()
    widget.settings.set_is_3d(True)
    assert "3x3x3" in [box.itemText(i) for i in range(box.count())]


def test_a_run_ends_with_a_check_a_comparison_and_compare_adds_a_layer(qtbot, widget) -> None:
    panel = widget.judge
    assert not panel.compare_button.isVisible()
    _train(qtbot, widget)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=TIMEOUT)
    assert panel.qc_label.text().startswith("Quality check: ")
    assert panel.compare_label.text() == panel.result.comparison.sentence
    assert panel.compare_button.isEnabled()
    viewer = widget.viewer
    qtbot.waitUntil(lambda: widget.preview.finals == 0, timeout=TIMEOUT)
    method = panel.result.comparison.baselines.best.method
    for expected in (f"disc_{method}", f"disc_{method} [1]"):  # never replaces a layer
        panel.compare_button.click()
        qtbot.waitUntil(lambda e=expected: e in viewer.layers, timeout=TIMEOUT)
    names = [ly.name for ly in viewer.layers]
    # beside the N2V result (here the preview; the newest just above it)
    assert names.index(f"disc_{method} [1]") == names.index(preview_name("disc")) + 1
    assert "dB" in panel.scores_label.text() and "disc_" in panel.scores_label.text()
    layer = viewer.layers[f"disc_{method}"]
    assert layer.data.shape == (96, 96) and layer.metadata["n2v_baseline_of"] == "disc"
    widget.reset_button.click()
    assert panel.result is None and not panel.compare_label.text()


def test_results_are_not_offered_as_training_inputs(widget) -> None:
    v = widget.viewer
    v.add_image(_disc(1), name="disc_n2v", metadata={"n2v_source": "disc"})
    v.add_image(_disc(2), name="saved_n2v [2]")  # a result saved and opened again
    v.add_image(_disc(3), name="disc_residual", metadata={"n2v_residual_of": "disc"})
    v.add_image(_disc(4), name="other")
    more = widget.inputs.more_layers
    assert [more.list.item(i).text() for i in range(more.list.count())] == ["other"]
    for combo in (widget.layer_combo, widget.val_combo):
        assert [combo.itemText(i) for i in range(combo.count())][-2:] == ["other", "disc"]


def test_preview_is_hidden_until_useful_and_has_its_own_contrast(make_napari_viewer) -> None:
    viewer = make_napari_viewer()
    clean = _disc()
    source = viewer.add_image(clean * 1000, name="src", contrast_limits=(0, 1))  # raw contrast
    preview = LivePreview(viewer)
    preview.set_source(source, "YX", False)
    preview.trained_s = 1.0
    preview.cut()
    preview.show(np.full((96, 96), 3.0, np.float32))  # an untrained network: flat
    assert preview.layer is None and preview_name("src") not in viewer.layers
    smooth = ndi.gaussian_filter(clean * 1000, 2)
    preview.show(smooth)  # looks like a denoised slice: shown, with its own contrast
    layer = viewer.layers[preview_name("src")]
    assert tuple(layer.contrast_limits) == pytest.approx(contrast_limits(smooth))
    preview.show(smooth * 2)  # it sharpens: the contrast follows
    assert tuple(layer.contrast_limits) == pytest.approx(contrast_limits(smooth * 2))
    layer.contrast_limits = (0.0, 5.0)  # the user's own contrast is kept
    preview.show(smooth * 3)
    assert tuple(layer.contrast_limits) == (0.0, 5.0)
    other = LivePreview(viewer)
    other.set_source(source, "YX", False)
    other.trained_s = other.show_anyway_s  # trained long enough: shown whatever it looks like
    other.cut()
    other.show(np.full((96, 96), 3.0, np.float32))
    assert other.shown


def test_first_previews_follow_quickly(make_napari_viewer, monkeypatch) -> None:
    from napari_n2v._qt import preview as preview_module

    viewer = make_napari_viewer()
    source = viewer.add_image(_disc(), name="src")
    preview = LivePreview(viewer)
    preview.set_source(source, "YX", False)

    class Trainer:
        def request_preview(self, image, axes):
            pass

    clock = [100.0]
    monkeypatch.setattr(preview_module.time, "monotonic", lambda: clock[0])
    preview.trained_s = 8.0
    preview.request(Trainer())
    clock[0] += 1.0  # the answer took a second (it waited for a step): spacing alone says 40 s
    preview.show(ndi.gaussian_filter(_disc(), 2))
    assert preview.shown and preview._not_before - clock[0] == pytest.approx(
        2.0
    )  # a quarter of 8 s


def _event(step: int, elapsed: float, total: int = 100) -> TrainEvent:
    return TrainEvent(step, total, 1, 1.0, None, None, 1e-3, 10.0, 999.0, elapsed)


def test_eta_is_the_pace_since_the_first_step_and_the_bar_ends_where_the_run_ended() -> None:
    view = TrainProgress()
    view.start(TrainConfig(steps=100))
    view.show_step(_event(1, 9.0))  # the first step came late (start-up): not the pace
    assert view.eta(_event(2, 10.0)) is None
    assert view.eta(_event(11, 19.0)) == pytest.approx(89.0)  # 1 s per step since step 1
    view.show_step(_event(14, 22.0))
    view.end(stopped=True)
    assert view.bar.value() == 14 and "ETA" not in view.bar.format()
    assert view.bar.format().startswith("stopped at step %v / %m")
    timed = TrainProgress()
    timed.start(TrainConfig(steps=100, time_limit_s=60))
    assert timed.eta(_event(3, 10.0)) == pytest.approx(50.0)  # right from the start
    timed.show_step(_event(40, 60.0))
    timed.end(stopped=False)
    assert timed.bar.format() == "done: 1:00 / 1:00 · 40 steps"


def test_a_cpu_trains_for_minutes_by_default_and_says_so(qtbot) -> None:
    d = TrainDuration()
    qtbot.addWidget(d)
    d.suit("cpu")
    assert d.by_time and d.values()["time_limit_s"] == 300.0 and "CPU" in d.hint.text()
    assert not d.hint.isHidden()
    d.suit("cuda")
    assert not d.by_time and d.hint.isHidden() and d.values()["steps"] == 1000
    d.steps.setValue(200)  # the user's choice wins over the device's default
    d.suit("cpu")
    assert not d.by_time and d.values()["steps"] == 200
    d.minutes.setValue(2.0)  # a number of minutes chooses minutes
    assert d.by_time and d.values()["time_limit_s"] == 120.0


def test_five_dims_read_in_imagej_order_unless_labels_say_otherwise() -> None:
    _, options, default = axes_options((3, 8, 2, 64, 64))
    assert options[default][1] == "TZCYX"
    _, options, default = axes_options((3, 2, 8, 64, 64), labels=("t", "c", "z", "y", "x"))
    assert options[default][1] == "TCZYX"


def test_the_plot_and_the_form_name_what_they_show(widget) -> None:
    names = [item.text for _, item in widget.loss_plot.plot.getPlotItem().legend.items]
    assert names == ["train, each step", "train, smoothed", "validation"]
    from qtpy.QtWidgets import QLabel

    texts = [lb.text() for lb in widget.settings.findChildren(QLabel)]
    assert texts.count("Device") == 1 and "Runs on" in texts
