"""The Export to BioImage Model Zoo dialog, headless (pytest-qt; pytest-xvfb gives the display): its
export runs in a worker (the one worker path), the dialog shows progress and stays responsive."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from qtpy.QtCore import Qt
from superqt.utils import GeneratorWorker

from napari_n2v._qt import export_dialog as dialog_module
from napari_n2v._qt.export_dialog import ExportDialog
from napari_n2v.core.config import PredictConfig
from napari_n2v.core.zoo.api import load_package
from napari_n2v.run_models.job_state import JobState

TIMEOUT = 120_000  # ms: a package is predicted, traced and validated (a few seconds when idle)


@pytest.fixture(scope="module")
def trained(tiny_model):
    return tiny_model


@pytest.fixture
def messages(monkeypatch):
    got: dict[str, list[str]] = {"error": [], "info": []}
    monkeypatch.setattr(dialog_module, "notify_error", got["error"].append)
    monkeypatch.setattr(dialog_module, "show_info", got["info"].append)
    return got


def _dialog(qtbot, trained, path) -> ExportDialog:
    model, img = trained
    d = ExportDialog(model, img, "YX")
    qtbot.addWidget(d)
    d.authors.setText("A B")
    d.path.setText(str(path))
    return d


def _wait_ended(qtbot, d: ExportDialog) -> None:
    qtbot.waitUntil(lambda: not d.run.running, timeout=TIMEOUT)


def test_export_runs_in_a_worker_and_writes_a_loadable_package(
    qtbot, trained, tmp_path, messages, monkeypatch
):
    from napari_n2v.core.zoo import api

    threads: list[threading.Thread] = []
    real = api.export_bioimageio

    def recording(*args, **kwargs):
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "export_bioimageio", recording)
    model, img = trained
    d = ExportDialog(model, img, "YX")
    qtbot.addWidget(d)
    assert d.name.text() == "disc model" and d.progress.isHidden()
    qtbot.keyClicks(d.authors, "Ada Lovelace; Alan Turing")
    d.description.setPlainText("Discs in noise.")
    d.path.setText(str(tmp_path / "disc"))  # .zip is added
    qtbot.mouseClick(d.export_button, Qt.MouseButton.LeftButton)
    # The click returned while the job runs: the GUI thread is free and the dialog shows progress.
    assert d.run.running and isinstance(d.run.job, GeneratorWorker)
    assert not d.progress.isHidden() and not d.buttons.isEnabled() and not d.name.isEnabled()
    closed: list[int] = []
    d.finished.connect(closed.append)
    d.reject()  # Cancel / Esc / the close button: refused while the package is written
    assert not closed
    _wait_ended(qtbot, d)
    assert closed == [ExportDialog.DialogCode.Accepted]
    assert threads and threads[0] is not threading.main_thread()
    assert not messages["error"], messages["error"]
    assert d.exported == tmp_path / "disc.zip" and d.exported.is_file()
    assert d.result() == ExportDialog.DialogCode.Accepted and d.run.state is JobState.DONE
    assert messages["info"] == ["Exported disc.zip (BioImage Model Zoo package)."]
    loaded = load_package(d.exported, device="cpu")
    cfg = PredictConfig(device="cpu", precision="fp32")
    np.testing.assert_array_equal(loaded.predict(img, "YX", cfg), model.predict(img, "YX", cfg))


def test_a_bad_form_shows_one_error_and_writes_nothing(qtbot, trained, tmp_path, messages):
    d = _dialog(qtbot, trained, tmp_path / "x.zip")
    d.authors.setText("")
    assert d.export()
    _wait_ended(qtbot, d)
    assert len(messages["error"]) == 1 and "author" in messages["error"][0]
    assert "author" in d.status.text() and d.run.state is JobState.FAILED
    assert list(tmp_path.iterdir()) == []
    assert d.result() != ExportDialog.DialogCode.Accepted
    assert d.buttons.isEnabled() and d.authors.isEnabled() and d.progress.isHidden()  # correct it


def test_existing_file_is_replaced_only_when_confirmed(
    qtbot, trained, tmp_path, messages, monkeypatch
):
    from qtpy.QtWidgets import QMessageBox

    target = tmp_path / "m.zip"
    target.write_bytes(b"precious")
    d = _dialog(qtbot, trained, target)
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.No)
    assert not d.export() and not d.run.running and target.read_bytes() == b"precious"
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Yes)
    assert d.export()
    _wait_ended(qtbot, d)
    assert d.exported == target and target.read_bytes()[:2] == b"PK"
    assert not messages["error"], messages["error"]


def test_the_file_field_shows_a_whole_path_in_the_last_folder(
    qtbot, trained, tmp_path, monkeypatch
):
    from napari_n2v._qt.last_folder import remember, start_folder

    model, img = trained
    monkeypatch.setattr(model, "name", "noisy nuclei (2D, 40 steps)")
    folder = tmp_path / "a rather long folder name" / "deeper still" / "and one more level"
    folder.mkdir(parents=True)
    remember(folder / "earlier.n2v.safetensors")  # saved or exported there before
    assert start_folder() == folder
    d = ExportDialog(model, img, "YX")
    qtbot.addWidget(d)
    d.show()
    text = d.path.text()
    assert text == str(folder / "noisy_nuclei_2D_40_steps.zip") and "__" not in text
    room = d.screen().availableGeometry().width() - dialog_module.SCREEN_MARGIN
    need = d.path.fontMetrics().horizontalAdvance(text)
    assert need > 300 and d.path.width() >= min(need, room)  # nothing cut off the screen allows
    assert d.path.cursorPosition() == 0 and d.path.toolTip() == text
    remember(tmp_path / "gone" / "x.zip")  # a folder that no longer exists: home, not an error
    assert start_folder().is_dir()
