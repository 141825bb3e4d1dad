"""The Train widget's newer options, headless: several layers, steps or minutes, throttled rendering,
preview requests that never pile up, and a Stop that takes effect within a second in 2D."""

from __future__ import annotations

import time

import numpy as np
import pytest

from napari_n2v._qt import train_progress
from napari_n2v._qt import worker as worker_module
from napari_n2v._qt.preview import LivePreview
from napari_n2v._qt.train_progress import TrainProgress
from napari_n2v._qt.train_widget import TrainWidget
from napari_n2v.core.config import MAX_STEPS, TrainConfig
from napari_n2v.core.events import TrainEvent
from napari_n2v.run_models.registry import get_registry

TIMEOUT = 120_000


def _noisy(shape, seed=0) -> np.ndarray:
    return (np.random.default_rng(seed).normal(100, 20, shape)).astype(np.float32)


@pytest.fixture
def widget(make_napari_viewer, monkeypatch):
    get_registry().clear()
    errors: list[str] = []
    monkeypatch.setattr(worker_module, "show_error", errors.append)
    viewer = make_napari_viewer()
    viewer.add_image(_noisy((48, 48)), name="first")
    w = TrainWidget(viewer)
    w.errors = errors
    viewer.window.add_dock_widget(w, name="Train")
    s = w.settings
    for box, v in ((s.patch_xy, 16), (s.steps, 4), (s.batch, 2), (s.steps_per_epoch, 2)):
        box.setValue(v)
    for box, v in ((s.val_patches, 2), (s.n_filters, 8), (s.seed, 0)):
        box.setValue(v)
    yield w
    w.shutdown()
    get_registry().clear()


def test_trains_on_several_layers(qtbot, widget, monkeypatch) -> None:
    from napari_n2v.run_models import train_run

    v = widget.viewer
    v.add_image(_noisy((40, 56), 1), name="second")
    v.add_image(_noisy((4, 40, 40), 2), name="a stack")
    widget.layer_combo.set_layer(v.layers["first"])
    more = widget.inputs.more_layers
    assert more.list.count() == 2 and "first" not in [more.list.item(i).text() for i in range(2)]
    more.set_checked(["a stack"])  # 3 dims, the first image has 2: said in red, Train disabled
    assert "a stack" in widget.error_label.text() and not widget.train_button.isEnabled()
    more.set_checked(["second"])
    assert widget.validate() is not None and widget.train_button.isEnabled()
    seen = {}
    real = train_run.TrainRun.start

    def spy(self, image, config, **kw):
        seen.update(image=image, **kw)
        return real(self, image, config, **kw)

    monkeypatch.setattr(train_run.TrainRun, "start", spy)
    widget.train_button.click()
    qtbot.waitUntil(lambda: not widget.run.running, timeout=TIMEOUT)
    assert not widget.errors
    assert isinstance(seen["image"], list) and len(seen["image"]) == 2
    assert seen["image_names"] == ["first", "second"]
    assert widget.model is not None and widget.model.name.startswith("first + 1 more (2D")
    assert widget.preview.source is v.layers["first"]  # the preview stays on the first image


def test_train_for_minutes(qtbot, widget) -> None:
    widget.settings.duration.set_minutes(0.1)  # 6 s, the least offered
    cfg = widget.validate()
    assert cfg is not None and cfg.time_limit_s == pytest.approx(6.0) and cfg.steps == MAX_STEPS
    assert widget.settings.steps.isHidden() and not widget.settings.duration.minutes.isHidden()
    t0 = time.monotonic()
    widget.train_button.click()
    assert widget.progress.maximum() == 6  # seconds, not steps
    qtbot.waitUntil(lambda: not widget.run.running, timeout=TIMEOUT)
    assert time.monotonic() - t0 < 60 and not widget.errors
    assert "step" in widget.progress.format() and " / 0:06" in widget.progress.format()
    assert widget.status.text().startswith("Done: ")
    widget.settings.duration.unit.setCurrentText("steps")
    assert widget.validate().time_limit_s is None


def _event(i: int, val: float | None = None) -> TrainEvent:
    return TrainEvent(i, 1000, 1, 1.0, val, None, 1e-3, 100.0, 1.0, 0.1)


def test_progress_renders_at_most_once_per_period(monkeypatch) -> None:
    monkeypatch.setattr(train_progress, "RENDER_S", 0.02)
    view = TrainProgress()
    view.start(TrainConfig(steps=1000))
    t0 = time.monotonic()
    for i in range(1, 1001):
        view.show_step(_event(i))
        time.sleep(0.0002)
    allowed = 1 + (time.monotonic() - t0) / 0.02
    assert 2 <= view.renders <= allowed + 1 and view.renders < 500
    view.flush()
    assert view.bar.value() == 1000  # the last event is never lost


def test_widget_draws_the_loss_plot_when_the_bar_renders(widget) -> None:
    widget.progress_view.start(TrainConfig(steps=1000))
    draws = widget.loss_plot.draws
    for i in range(1, 201):  # far faster than RENDER_S: one render, the first
        widget._on_step(_event(i, val=0.5 if i == 100 else None))
    assert widget.progress_view.renders == 1 and widget.loss_plot.draws == draws + 1
    assert widget.loss_plot.n_train_points == 200 and widget.loss_plot.n_val_points == 1
    widget.progress_view._shown_at = 0.0  # a period later: bar and plot render together again
    widget._on_step(_event(201))
    assert widget.progress_view.renders == 2 and widget.loss_plot.draws == draws + 2


def test_preview_is_never_requested_while_one_is_pending(make_napari_viewer) -> None:
    viewer = make_napari_viewer()
    layer = viewer.add_image(_noisy((32, 32)))
    preview = LivePreview(viewer)
    preview.set_source(layer, "YX", False)
    preview.show_anyway_s = 0.0

    class Trainer:
        asked = 0

        def request_preview(self, image, axes):
            Trainer.asked += 1

    trainer = Trainer()
    preview.request(trainer)  # no step reported yet: nothing to preview
    assert Trainer.asked == 0
    preview.trained_s = 1.0
    preview.request(trainer)
    preview.request(trainer)  # the first is unanswered
    assert Trainer.asked == 1 and preview.pending
    preview.show(np.zeros((32, 32), np.float32))
    assert not preview.pending
    preview.request(trainer)  # too soon after the answer: waits PREVIEW_SPACING × its delay
    preview._not_before = 0.0
    preview.request(trainer)
    assert Trainer.asked == 2


def test_stop_takes_effect_within_a_second_in_2d(qtbot, widget) -> None:
    widget.viewer.layers["first"].data = _noisy((256, 256))
    widget.settings.steps.setValue(100_000)
    widget.settings.patch_xy.setValue(64)
    widget.settings.batch.setValue(16)
    widget.preview_interval_ms = 200
    widget.train_button.click()
    qtbot.waitUntil(
        lambda: widget.run.last is not None and widget.run.last.step > 5, timeout=TIMEOUT
    )
    # previews are being requested and served
    qtbot.waitUntil(lambda: widget.preview.layer is not None, timeout=TIMEOUT)
    t0 = time.monotonic()
    widget.stop_button.click()
    qtbot.waitUntil(lambda: not widget.run.running, timeout=TIMEOUT)
    assert time.monotonic() - t0 < 1.0
    assert widget.status.text().startswith("Stopped: ")


def test_filters_box_says_what_auto_means_per_device_and_dimensionality(qtbot):
    from napari_n2v._qt.train_settings import TrainSettings

    s = TrainSettings()
    qtbot.addWidget(s)
    s.device.setCurrentText("cpu")
    s.set_is_3d(True)
    assert s.n_filters.specialValueText() == "auto (16)"
    s.set_is_3d(False)
    from napari_n2v.core.plan.defaults import defaults_for
    from napari_n2v.core.plan.machine import resolve_machine

    expected = defaults_for(resolve_machine("cpu", "auto", 2), False).n_filters  # 32 or 16 (fp32)
    assert s.n_filters.specialValueText() == f"auto ({expected})"
    s.n_filters.setValue(s.n_filters.minimum())  # "auto": the engine decides (None)
    assert s.config("ZYX").n_filters is None


def test_precision_choice_reaches_the_config_the_device_line_and_the_width(qtbot):
    from napari_n2v._qt.train_settings import TrainSettings

    s = TrainSettings()
    qtbot.addWidget(s)
    s.device.setCurrentText("cpu")
    s.precision.setCurrentText("fp32")  # the path of a CPU without bf16, on any CPU
    assert s.config("YX").precision == "fp32"
    assert s.device_label.text().endswith(", fp32")
    assert s.n_filters.specialValueText() == "auto (16)"  # the fp32 width on a CPU
    assert "fp32" in s.n_filters.toolTip()
    s.precision.setCurrentText("bf16")
    assert s.config("YX").precision == "bf16" and s.device_label.text().endswith(", bf16")
    assert s.n_filters.specialValueText() == "auto (32)"
