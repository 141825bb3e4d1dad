"""The Export to BioImage Model Zoo dialog, headless (pytest-qt; pytest-xvfb gives the display)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_n2v._qt import export_dialog as dialog_module
from napari_n2v._qt.export_dialog import ExportDialog
from napari_n2v.core.config import PredictConfig, TrainConfig
from napari_n2v.core.train.trainer import train
from napari_n2v.core.zoo.api import load_package


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:72, :72]
    img = (100 + 80 * (np.hypot(yy - 36, xx - 36) < 18) + rng.normal(0, 20, (72, 72))).astype(
        np.float32
    )
    cfg = TrainConfig(
        axes="YX", patch_size=(16, 16), steps=2, batch_size=2, n_filters=4, val_patches=2,
        steps_per_epoch=2, seed=0, device="cpu",
    )  # fmt: skip
    return train(img, cfg, name="disc model"), img


@pytest.fixture
def messages(monkeypatch):
    got: dict[str, list[str]] = {"error": [], "info": []}
    monkeypatch.setattr(dialog_module, "show_error", got["error"].append)
    monkeypatch.setattr(dialog_module, "show_info", got["info"].append)
    return got


def test_export_from_the_dialog_writes_a_loadable_package(qtbot, trained, tmp_path, messages):
    model, img = trained
    d = ExportDialog(model, img, "YX")
    qtbot.addWidget(d)
    assert d.name.text() == "disc model"
    qtbot.keyClicks(d.authors, "Ada Lovelace; Alan Turing")
    d.description.setPlainText("Discs in noise.")
    d.path.setText(str(tmp_path / "disc"))  # .zip is added
    d.buttons.accepted.emit()
    assert not messages["error"], messages["error"]
    assert d.exported == tmp_path / "disc.zip" and d.exported.is_file()
    assert d.result() == ExportDialog.DialogCode.Accepted
    loaded = load_package(d.exported, device="cpu")
    cfg = PredictConfig(device="cpu", precision="fp32")
    np.testing.assert_array_equal(loaded.predict(img, "YX", cfg), model.predict(img, "YX", cfg))


def test_a_bad_form_shows_one_error_and_writes_nothing(qtbot, trained, tmp_path, messages):
    model, img = trained
    d = ExportDialog(model, img, "YX")
    qtbot.addWidget(d)
    d.path.setText(str(tmp_path / "x.zip"))
    assert d.export() is None  # no authors
    assert len(messages["error"]) == 1 and "author" in messages["error"][0]
    assert list(tmp_path.iterdir()) == []
    assert d.result() != ExportDialog.DialogCode.Accepted


def test_existing_file_is_replaced_only_when_confirmed(
    qtbot, trained, tmp_path, messages, monkeypatch
):
    from qtpy.QtWidgets import QMessageBox

    model, img = trained
    target = tmp_path / "m.zip"
    target.write_bytes(b"precious")
    d = ExportDialog(model, img, "YX")
    qtbot.addWidget(d)
    d.authors.setText("A B")
    d.path.setText(str(target))
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.No)
    assert d.export() is None and target.read_bytes() == b"precious"
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Yes)
    assert d.export() == target and target.read_bytes()[:2] == b"PK"
