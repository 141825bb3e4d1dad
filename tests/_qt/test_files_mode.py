"""The Predict widget's Files… mode, headless: files in, results in a folder, optionally opened."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from napari_n2v._qt.predict_widget import PredictWidget
from napari_n2v.core.config import TrainConfig
from napari_n2v.run_models.registry import get_registry

TIMEOUT = 60_000


@pytest.fixture(scope="module")
def model():
    from napari_n2v.core.train.trainer import train

    cfg = TrainConfig(axes="YX", steps=3, batch_size=2, patch_size=(16, 16), val_patches=2,
                      steps_per_epoch=3, n_filters=8, seed=0)  # fmt: skip
    return train((np.random.default_rng(0).random((32, 32)) * 100).astype(np.float32), cfg)


@pytest.fixture
def widget(make_napari_viewer, model, monkeypatch):
    from napari_n2v._qt import worker

    get_registry().clear()
    get_registry().add(model, "tiny 2D")
    errors: list[str] = []
    monkeypatch.setattr(worker, "show_error", errors.append)
    viewer = make_napari_viewer()
    w = PredictWidget(viewer)
    w.errors = errors
    viewer.window.add_dock_widget(w, name="Predict")
    yield w
    get_registry().clear()


@pytest.fixture
def folder(tmp_path):
    src = tmp_path / "night1"
    src.mkdir()
    rng = np.random.default_rng(1)
    for name in ("a", "b", "c"):
        tifffile.imwrite(src / f"{name}.tif", (rng.random((40, 48)) * 100).astype(np.float32))
    return src


def _files_mode(w, folder, out) -> None:
    w.form.files_button.setChecked(True)
    w.form.files_panel.add_inputs([folder])
    w.form.files_panel.out_edit.setText(str(out))
    w.form.tile_spin.setValue(16)


def test_files_mode_shows_its_panel_and_hides_the_layer_rows(widget) -> None:
    f = widget.form
    assert f.files_panel.isHidden() and not f.layer_combo.isHidden()
    f.files_button.setChecked(True)
    assert not f.files_panel.isHidden() and f.layer_combo.isHidden() and f.axes_edit.isHidden()
    assert f.stream_check.isHidden()  # Files… writes its own outputs
    assert f.predict_button.isEnabled()  # a model is chosen; inputs are checked on Predict
    f.files_button.setChecked(False)
    assert f.files_panel.isHidden() and not f.layer_combo.isHidden()


def test_files_are_written_not_opened_unless_asked(qtbot, widget, folder, tmp_path) -> None:
    out = tmp_path / "out"
    _files_mode(widget, folder, out)
    n_layers = len(widget.viewer.layers)
    widget.form.predict_button.click()
    assert widget.form.cancel_button.isEnabled() and not widget.form.files_button.isEnabled()
    qtbot.waitUntil(lambda: not widget.running, timeout=TIMEOUT)
    assert sorted(p.name for p in out.iterdir()) == ["a_n2v.tif", "b_n2v.tif", "c_n2v.tif"]
    assert len(widget.viewer.layers) == n_layers  # nothing loaded
    log = [widget.form.files_panel.log.item(i).text() for i in range(3)]
    assert all(line.startswith("✓") for line in log), log
    assert "3 denoised" in widget.form.status.text()
    bar = widget.form.progress  # it ends where the run ended: every file, not "file 3 / 3 · tiles"
    assert bar.format() == "%v / %m files" and bar.value() == bar.maximum() == 3
    # again, with "Open results": existing outputs are skipped, overwritten when asked, then opened
    widget.form.files_panel.open_check.setChecked(True)
    widget.form.predict_button.click()
    qtbot.waitUntil(lambda: not widget.running, timeout=TIMEOUT)
    assert "3 skipped" in widget.form.status.text() and len(widget.viewer.layers) == n_layers
    widget.form.files_panel.overwrite_check.setChecked(True)
    widget.form.predict_button.click()
    qtbot.waitUntil(lambda: not widget.running, timeout=TIMEOUT)
    names = [ly.name for ly in widget.viewer.layers][n_layers:]
    assert names == ["a_n2v.tif", "b_n2v.tif", "c_n2v.tif"]
    assert widget.viewer.layers["a_n2v.tif"].data.shape == (40, 48)
    assert not widget.errors


def test_files_mode_cancel_stops_and_cleans_up(qtbot, widget, folder, tmp_path) -> None:
    out = tmp_path / "out"
    _files_mode(widget, folder, out)
    widget.files.run.file_started.connect(lambda ev: widget.form.cancel_button.click())
    widget.form.predict_button.click()
    qtbot.waitUntil(lambda: not widget.running, timeout=TIMEOUT)
    assert widget.files.run.summary.cancelled
    assert list(out.iterdir()) == []
    assert "cancelled" in widget.form.status.text()
    assert widget.form.predict_button.isEnabled()


def test_files_mode_says_what_is_missing(widget) -> None:
    widget.form.files_button.setChecked(True)
    widget.form.predict_button.click()
    assert "Add input files" in widget.form.status.text()
    assert widget.errors and not widget.running
