"""The Predict dock widget, headless: make_napari_viewer + qtbot (pytest-xvfb provides the display)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_n2v._qt.predict_layers import result_name
from napari_n2v._qt.predict_widget import PredictWidget
from napari_n2v.core.config import PredictConfig, TrainConfig
from napari_n2v.core.errors import N2VError, TrustRequired
from napari_n2v.core.predict.prediction import predict
from napari_n2v.run_models.predict_axes import check_axes, infer_axes
from napari_n2v.run_models.predict_job import PERCENTILES
from napari_n2v.run_models.registry import get_registry

TIMEOUT = 60_000


def _train(img: np.ndarray, axes: str, patch: tuple[int, ...]) -> object:
    from napari_n2v.core.train.trainer import train

    cfg = TrainConfig(
        axes=axes, steps=3, batch_size=2, patch_size=patch, val_patches=2, steps_per_epoch=3,
        n_filters=8, seed=0,
    )  # fmt: skip
    return train(img, cfg)


@pytest.fixture(scope="module")
def images() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "2d": (rng.random((48, 64)) * 200 + 50).astype(np.float32),
        "3d": (rng.random((8, 32, 40)) * 200 + 50).astype(np.float32),
    }


@pytest.fixture(scope="module")
def models(images: dict[str, np.ndarray]) -> dict[str, object]:
    return {
        "2d": _train(images["2d"], "YX", (16, 16)),
        "3d": _train(images["3d"], "ZYX", (8, 16, 16)),
    }


@pytest.fixture
def widget(make_napari_viewer, models):
    reg = get_registry()
    reg.clear()
    reg.add(models["2d"], "tiny 2D")
    reg.add(models["3d"], "tiny 3D")
    viewer = make_napari_viewer()
    w = PredictWidget(viewer)
    viewer.window.add_dock_widget(w, name="Predict")
    yield w
    reg.clear()


def _start(w: PredictWidget, layer: str, model: str, axes: str | None = None) -> None:
    w.form.layer_combo.setCurrentText(layer)
    w.form.model_combo.setCurrentText(model)
    if axes is not None:
        w.form.axes_edit.setText(axes)
    w.form.predict_button.click()


def _run(qtbot, w: PredictWidget, layer: str, model: str, axes: str | None = None):
    with qtbot.waitSignal(w.finished, timeout=TIMEOUT) as blocker:
        _start(w, layer, model, axes)
    return blocker.args[0]


def test_result_name_never_replaces() -> None:
    assert result_name("img", ["img"]) == "img_n2v"
    assert result_name("img", ["img", "img_n2v"]) == "img_n2v [1]"
    assert result_name("img", ["img_n2v", "img_n2v [1]"]) == "img_n2v [2]"


def test_infer_axes() -> None:
    assert infer_axes((32, 32), False, False) == "YX"
    assert infer_axes((5, 32, 32), False, False) == "SYX"  # the engine's guess (core.layout)
    assert infer_axes((4, 5, 32, 32), False, True) == "TZYX"
    assert infer_axes((32, 32, 3), True, False, 3) == "YXC"
    assert infer_axes((2, 8, 32, 32), False, True, 2) == "CZYX"
    with pytest.raises(N2VError, match="3D"):
        infer_axes((32, 32), False, True)
    with pytest.raises(N2VError, match="channel"):
        check_axes("YXC", (32, 32, 3), False, 1)


def test_predict_2d_keeps_name_scale_translate(qtbot, widget, images, models) -> None:
    viewer = widget.viewer
    viewer.add_image(images["2d"], name="noisy", scale=(0.5, 0.25), translate=(3, 4))
    layer = _run(qtbot, widget, "noisy", "tiny 2D")
    assert layer is not None and layer.name == "noisy_n2v"
    np.testing.assert_allclose(layer.scale, (0.5, 0.25))
    np.testing.assert_allclose(layer.translate, (3, 4))
    assert layer.data.shape == images["2d"].shape and layer.data.dtype == np.float32
    expected = predict(
        models["2d"], images["2d"], "YX", widget.form.config(models["2d"], PredictConfig)
    )
    np.testing.assert_allclose(layer.data, expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(layer.contrast_limits, np.percentile(layer.data, PERCENTILES))
    assert widget.form.progress.value() == widget.form.progress.maximum()
    # A second run never replaces the first result.
    again = _run(qtbot, widget, "noisy", "tiny 2D")
    assert again.name == "noisy_n2v [1]"
    assert "noisy_n2v" in viewer.layers


def test_predict_3d_with_3d_model(qtbot, widget, images) -> None:
    widget.viewer.add_image(
        images["3d"], name="stack", scale=(2, 1, 1), axis_labels=("z", "y", "x")
    )
    widget.form.layer_combo.setCurrentText("stack")
    widget.form.model_combo.setCurrentText("tiny 3D")
    assert widget.form.axes_edit.text() == "ZYX"
    assert widget.form.tile_z_spin.isEnabled()
    layer = _run(qtbot, widget, "stack", "tiny 3D")
    assert layer.data.shape == images["3d"].shape
    assert tuple(layer.axis_labels) == ("z", "y", "x")
    np.testing.assert_allclose(layer.scale, (2, 1, 1))


def test_2d_model_on_frames(qtbot, widget, images, models) -> None:
    frames = images["3d"][:3]
    widget.viewer.add_image(frames, name="movie")
    layer = _run(qtbot, widget, "movie", "tiny 2D")
    assert "frame by frame" in widget.form.plan_label.text()
    cfg = widget.form.config(models["2d"], PredictConfig)
    for t in range(3):
        np.testing.assert_allclose(
            layer.data[t], predict(models["2d"], frames[t], "YX", cfg), rtol=1e-5, atol=1e-4
        )


def test_precision_choice_reaches_the_config_and_the_device_line(widget, models) -> None:
    widget.form.tiles.precision.setCurrentText("fp32")
    assert widget.form.config(models["2d"], PredictConfig).precision == "fp32"
    assert widget.form.device_label.text().endswith(", fp32")
    widget.form.tiles.precision.setCurrentText("auto")
    assert widget.form.config(models["2d"], PredictConfig).precision == "auto"


def test_dask_input_gives_lazy_result(qtbot, widget, images, models) -> None:
    import dask.array as da

    stack = images["3d"][:4]
    widget.viewer.add_image(da.from_array(stack, chunks=(1, 16, 20)), name="lazy")
    widget.form.layer_combo.setCurrentText("lazy")
    widget.form.model_combo.setCurrentText("tiny 2D")
    assert widget.form.stream_check.isChecked()
    layer = _run(qtbot, widget, "lazy", "tiny 2D")
    assert isinstance(layer.data, da.Array)
    store = Path(layer.metadata["n2v_store"])
    assert store.is_dir()
    cfg = widget.form.config(models["2d"], PredictConfig)
    expected = predict(models["2d"], stack, "ZYX", cfg)
    np.testing.assert_allclose(np.asarray(layer.data), expected, rtol=1e-5, atol=1e-4)
    widget.viewer.layers.remove(layer)
    assert not store.exists()  # the temporary store goes with its layer


@pytest.fixture
def slow_engine(monkeypatch):
    """Make each progress event take 50 ms, so Cancel lands mid-way deterministically."""
    import time

    from napari_n2v.core.predict import prediction

    real = prediction.predict_iter

    def slow(*args, **kwargs):
        gen = real(*args, **kwargs)
        while True:
            try:
                ev = next(gen)
            except StopIteration as stop:
                return stop.value
            time.sleep(0.05)
            yield ev

    monkeypatch.setattr(prediction, "predict_iter", slow)


@pytest.mark.parametrize("stream", [False, True])
def test_cancel_leaves_no_layer(qtbot, widget, models, stream, slow_engine) -> None:
    big = np.random.default_rng(1).random((12, 64, 64)).astype(np.float32)
    widget.viewer.add_image(big, name="big")
    widget.form.layer_combo.setCurrentText("big")
    widget.form.model_combo.setCurrentText("tiny 2D")
    widget.form.tile_spin.setValue(16)
    widget.form.stream_check.setChecked(stream)
    n_layers = len(widget.viewer.layers)
    widget.form.progress.valueChanged.connect(lambda v: v > 0 and widget.form.cancel_button.click())
    with qtbot.waitSignal(widget.finished, timeout=TIMEOUT) as blocker:
        widget.form.predict_button.click()
        assert widget.form.cancel_button.isEnabled()
        store = widget.run.store
    assert blocker.args == [None]
    assert widget.form.progress.value() < widget.form.progress.maximum()
    assert len(widget.viewer.layers) == n_layers
    assert "Cancelled" in widget.form.status.text()
    assert widget.form.predict_button.isEnabled()
    assert (store is None) == (not stream)
    if stream:
        assert not store.exists()


def test_mismatched_model_is_a_clear_message(qtbot, widget, images) -> None:
    viewer = widget.viewer
    viewer.add_image(images["2d"], name="flat")
    widget.form.layer_combo.setCurrentText("flat")
    widget.form.model_combo.setCurrentText("tiny 3D")
    assert "model is 3D" in widget.form.plan_label.text()
    assert not widget.form.predict_button.isEnabled()  # disabled, and the reason is in red
    assert "color" in widget.form.plan_label.styleSheet()
    n_layers = len(viewer.layers)
    widget.predict()  # called anyway (a script): refused with the same message
    assert widget.worker is None and len(viewer.layers) == n_layers
    assert "3D" in widget.form.status.text()
    # An RGB layer with a 1-channel model: channel count mismatch.
    rgb = (np.random.default_rng(2).random((32, 32, 3)) * 255).astype(np.uint8)
    viewer.add_image(rgb, name="rgb", rgb=True)
    widget.form.layer_combo.setCurrentText("rgb")
    widget.form.model_combo.setCurrentText("tiny 2D")
    assert not widget.form.predict_button.isEnabled()
    assert "channel" in widget.form.plan_label.text()
    # A fitting model: enabled again, the plan in the normal colour.
    widget.form.layer_combo.setCurrentText("flat")
    assert widget.form.predict_button.isEnabled()
    assert widget.form.plan_label.styleSheet() == ""


def test_axes_errors_name_the_axes_box_and_the_guess(widget, images) -> None:
    viewer = widget.viewer
    viewer.add_image(images["3d"], name="zstack")
    widget.form.layer_combo.setCurrentText("zstack")
    widget.form.model_combo.setCurrentText("tiny 3D")
    assert widget.form.axes_edit.text() == "ZYX" and widget.form.predict_button.isEnabled()
    widget.form.axes_edit.setText("TYX")
    widget.form.axes_edit.textEdited.emit("TYX")  # as if typed
    plan = widget.form.plan_label.text()
    assert "no Z" in plan and "Axes box" in plan and "'TYX'" in plan and "'ZYX'" in plan
    assert not widget.form.predict_button.isEnabled()
    widget.predict()
    assert widget.worker is None and "Axes box" in widget.form.status.text()


def test_predict_needs_a_model(make_napari_viewer, images) -> None:
    get_registry().clear()
    viewer = make_napari_viewer()
    viewer.add_image(images["2d"], name="img")
    w = PredictWidget(viewer)
    assert not w.form.predict_button.isEnabled()
    assert "No model" in w.form.model_label.text() and "color" in w.form.model_label.styleSheet()


def test_device_line_says_what_the_model_will_use(widget, images, monkeypatch) -> None:
    from napari_n2v.core import device
    from napari_n2v.core.plan import machine

    monkeypatch.setattr(device, "cpu_has_bf16", lambda: True)  # a CPU with bf16: 2D only
    widget.viewer.add_image(images["3d"], name="zstack")
    widget.form.model_combo.setCurrentText("tiny 3D")
    assert widget.form.device_label.text() == machine.describe_device("auto", n_dim=3)
    widget.form.model_combo.setCurrentText("tiny 2D")
    assert widget.form.device_label.text() == machine.describe_device("auto", n_dim=2)


def test_image_box_skips_previews_and_follows_the_selection(widget, images, models) -> None:
    from napari_n2v._qt.preview_layer import PreviewLayer

    viewer = widget.viewer
    src = viewer.add_image(images["2d"], name="noisy")
    other = viewer.add_image(images["2d"], name="other")
    preview = PreviewLayer(viewer).show(src, images["2d"])  # as after training: it is active
    assert viewer.layers.selection.active is preview
    box = widget.form.layer_combo
    items = [box.itemText(i) for i in range(box.count())]
    assert preview.name not in items
    assert box.currentText() == "noisy"  # the preview's source, not the preview
    # A new widget (Predict opened after training) starts on the source too.
    assert PredictWidget(viewer).form.layer_combo.currentText() == "noisy"
    viewer.layers.selection.active = other
    assert box.currentText() == "other"
    # The user picks a layer: the box stays there, whatever gets selected.
    box.setCurrentIndex(box.findText("noisy"))
    box.activated.emit(box.currentIndex())
    viewer.layers.selection.active = other
    assert box.currentText() == "noisy"


def test_result_layer_does_not_become_the_input(qtbot, widget, images) -> None:
    widget.viewer.add_image(images["2d"], name="noisy")
    layer = _run(qtbot, widget, "noisy", "tiny 2D")
    assert widget.viewer.layers.selection.active is layer
    assert widget.form.layer_combo.currentText() == "noisy"


def test_runtime_error_in_the_worker_is_reported(qtbot, widget, images, monkeypatch) -> None:
    from napari.utils.notifications import notification_manager

    from napari_n2v.core.predict import prediction

    def boom(*args, **kwargs):
        yield from ()
        raise RuntimeError("engine exploded (simulated)")

    monkeypatch.setattr(prediction, "predict_iter", boom)
    n_before = len(notification_manager.records)
    widget.viewer.add_image(images["2d"], name="noisy")
    with qtbot.waitSignal(widget.finished, timeout=10_000) as blocker:
        _start(widget, "noisy", "tiny 2D")
    assert blocker.args == [None]
    assert "engine exploded (simulated)" in widget.form.status.text()
    notes = [n.message for n in notification_manager.records[n_before:]]
    assert len(notes) == 1 and "engine exploded (simulated)" in notes[0]
    assert widget.form.predict_button.isEnabled()


def test_load_model_file(qtbot, widget, models, tmp_path) -> None:
    path = models["2d"].save(tmp_path / "tiny.n2v.safetensors")
    name = widget.load_model_file(path)
    assert name is not None and widget.form.model_combo.currentText() == name
    bad = tmp_path / "bad.n2v.safetensors"
    bad.write_bytes(b"not a model at all")
    assert widget.load_model_file(bad) is None
    assert "Could not load model" in widget.form.status.text()


def test_registry_updates_model_list(widget, models) -> None:
    n = widget.form.model_combo.count()
    get_registry().add(models["2d"], "another")
    assert widget.form.model_combo.count() == n + 1


def test_user_zarr_path_is_kept_and_never_overwritten(qtbot, widget, images, tmp_path) -> None:
    widget.viewer.add_image(images["2d"], name="img")
    widget.form.layer_combo.setCurrentText("img")
    widget.form.stream_check.setChecked(True)
    target = tmp_path / "result.zarr"
    widget.form.store_edit.setText(str(target))
    layer = _run(qtbot, widget, "img", "tiny 2D")
    assert Path(layer.metadata["n2v_store"]) == target
    widget.viewer.layers.remove(layer)
    assert target.is_dir()  # a store the user named is never deleted
    n_layers = len(widget.viewer.layers)
    widget.form.predict_button.click()  # same, now non-empty, folder: refused before starting
    assert widget.worker is None and len(widget.viewer.layers) == n_layers
    assert "already exists" in widget.form.status.text()
    assert target.is_dir()


def test_load_offers_model_files_and_zoo_packages(qtbot, widget, tmp_path, monkeypatch) -> None:
    import zipfile

    from qtpy.QtWidgets import QFileDialog

    from napari_n2v._qt import predict_load as pl

    package = Path(__file__).parents[1] / "data" / "careamics_n2v_2d.zip"
    asked: list[str] = []

    def open_file(parent, title, start, filters):
        asked.append(filters)
        return str(package), filters

    monkeypatch.setattr(QFileDialog, "getOpenFileName", open_file)
    widget.form.load_file_action.trigger()
    assert "*.n2v.safetensors" in asked[0] and "*.zip" in asked[0] and asked[0] == pl.MODEL_FILTER
    name = widget.form.model_combo.currentText()
    assert name not in ("tiny 2D", "tiny 3D") and widget.selected_model() is not None
    folder = tmp_path / "unpacked"
    zipfile.ZipFile(package).extractall(folder)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    widget.form.load_folder_action.trigger()
    assert widget.form.model_combo.currentText() not in (name, "tiny 2D", "tiny 3D")


@pytest.mark.parametrize("answer", ["Yes", "No"])
def test_torchscript_package_asks_for_trust(widget, models, tmp_path, monkeypatch, answer) -> None:
    from napari.utils.notifications import notification_manager
    from qtpy.QtWidgets import QMessageBox

    from napari_n2v.core.model import model_io

    calls: list[bool] = []

    def fake_load(path, device="auto", *, trust=False):
        calls.append(trust)
        if not trust:
            raise TrustRequired("ts.zip is not ours; run it only if you trust it: pass trust=True.")
        return models["2d"]

    monkeypatch.setattr(model_io, "load_model", fake_load)
    questions: list[str] = []

    def question(parent, title, text, *a, **k):
        questions.append(text)
        return getattr(QMessageBox.StandardButton, answer)

    monkeypatch.setattr(QMessageBox, "question", question)
    n_models, n_notes = len(get_registry()), len(notification_manager.records)
    name = widget.load_model_file(tmp_path / "ts.zip")
    assert len(questions) == 1 and "TorchScript is code" in questions[0]
    if answer == "Yes":
        assert calls == [False, True] and name == widget.form.model_combo.currentText()
        assert len(get_registry()) == n_models + 1
    else:
        assert calls == [False] and name is None and len(get_registry()) == n_models
        assert "not trusted" in widget.form.status.text()
        assert len(notification_manager.records) == n_notes  # a choice, not an error


def test_layer_picker_is_the_shared_one(widget) -> None:
    from napari_n2v._qt.layer_combo import LayerCombo

    assert isinstance(widget.form.layer_combo, LayerCombo)


def test_tile_boxes_start_at_auto_and_leave_the_tile_to_the_engine(widget) -> None:
    form = widget.form
    form.model_combo.setCurrentText("tiny 2D")
    model = widget.selected_model()
    assert form.tile_spin.text() == "auto" and "on a GPU" in form.tile_spin.toolTip()
    assert form.config(model).tile_shape is None  # the engine plans it (bigger on a free GPU)
    form.tile_spin.setValue(128)
    assert form.config(model).tile_shape == (128, 128)
    form.model_combo.setCurrentText("tiny 3D")
    model = widget.selected_model()
    assert form.tile_spin.value() == form.tile_spin.minimum()  # back to auto for another model
    assert form.tile_z_spin.text() == "auto" and form.config(model).tile_shape is None
    form.tile_z_spin.setValue(16)  # one box set: the other takes the default
    assert form.config(model).tile_shape == (16, 256, 256)


def test_a_message_names_only_axes_the_box_shows(widget) -> None:
    # An RGB layer and a 1-channel model: the guess 'YXC' does not fit; the box shows it, so the
    # red message ("Axes box: 'YXC', guessed ...") names what the user sees.
    rgb = (np.random.default_rng(2).random((32, 32, 3)) * 255).astype(np.uint8)
    widget.viewer.add_image(rgb, name="rgb", rgb=True)
    widget.form.layer_combo.setCurrentText("rgb")
    widget.form.model_combo.setCurrentText("tiny 2D")
    shown = widget.form.axes_edit.text()
    assert shown == "YXC" and f"'{shown}'" in widget.form.plan_label.text()
    assert not widget.form.predict_button.isEnabled()


def test_residual_layer_is_noisy_minus_denoised(qtbot, widget, images) -> None:
    viewer = widget.viewer
    viewer.add_image(images["2d"], name="noisy", scale=(2.0, 3.0))
    assert not widget.form.residual_check.isChecked()  # off by default
    widget.form.residual_check.setChecked(True)
    result = _run(qtbot, widget, "noisy", "tiny 2D")
    residual = viewer.layers["noisy_residual"]
    np.testing.assert_allclose(residual.data, images["2d"] - result.data, atol=1e-4)
    assert tuple(residual.scale) == (2.0, 3.0)
    low, high = residual.contrast_limits
    assert low == pytest.approx(-high) and high > 0  # symmetric around 0: a residual is signed
    assert residual.metadata["n2v_residual_of"] == "noisy"
    assert "'noisy_residual'" in widget.form.status.text()
    assert widget.form.progress.format() == "%v / %m tiles"  # no ETA once it is done
    widget.form.files_button.setChecked(True)
    assert widget.form.residual_check.isHidden()  # Files… writes results only


def test_residual_of_a_lazy_result_stays_lazy(qtbot, widget, images) -> None:
    import dask.array as da

    widget.viewer.add_image(da.from_array(images["3d"], chunks=(1, 32, 40)), name="lazy")
    widget.form.residual_check.setChecked(True)
    result = _run(qtbot, widget, "lazy", "tiny 2D")
    residual = widget.viewer.layers["lazy_residual"].data
    assert isinstance(residual, da.Array)
    np.testing.assert_allclose(
        np.asarray(residual), images["3d"] - np.asarray(result.data), atol=1e-4
    )
