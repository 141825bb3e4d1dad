"""The zoo export as a run model, without Qt: the job writes a validated package; refusals, errors and
a cancel leave no file behind (the dialog runs the same model in a worker: tests/_qt)."""

from __future__ import annotations

import zipfile

import pytest

from napari_n2v.run_models.export_run import WRITING, ExportRun
from napari_n2v.run_models.job_state import JobState


@pytest.fixture(scope="module")
def trained(tiny_model):
    return tiny_model


def _record(run: ExportRun) -> dict[str, list]:
    got: dict[str, list] = {n: [] for n in ("stage", "exported", "failed", "state_changed")}
    for name, values in got.items():
        getattr(run, name).connect(values.append)
    return got


def _start(run: ExportRun, trained, path, **kw) -> bool:
    model, img = trained
    form = dict(name="disc model", description="", authors="Ada Lovelace", sample=img)
    return run.start(model, path, **{**form, "sample_axes": "YX", **kw})


def test_export_run_writes_a_package(trained, tmp_path) -> None:
    run = ExportRun()
    got = _record(run)
    assert _start(run, trained, tmp_path / "disc")  # .zip is added
    target = tmp_path / "disc.zip"
    assert got["exported"] == [target] and run.path == target and zipfile.is_zipfile(target)
    assert got["stage"] == [WRITING] and not got["failed"]
    assert got["state_changed"] == [JobState.RUNNING, JobState.DONE]
    assert [p.name for p in tmp_path.iterdir()] == ["disc.zip"]  # nothing left beside it


def test_an_existing_file_is_refused_without_overwrite(trained, tmp_path) -> None:
    target = tmp_path / "m.zip"
    target.write_bytes(b"precious")
    run = ExportRun()
    got = _record(run)
    assert not _start(run, trained, target)
    assert len(got["failed"]) == 1 and "already exists" in got["failed"][0]
    assert not got["state_changed"] and target.read_bytes() == b"precious"


def test_an_engine_error_is_one_message_and_writes_nothing(trained, tmp_path) -> None:
    run = ExportRun()
    got = _record(run)
    assert _start(run, trained, tmp_path / "x.zip", authors="")
    assert len(got["failed"]) == 1 and "author" in got["failed"][0]
    assert run.state is JobState.FAILED and not got["exported"] and run.path is None
    assert list(tmp_path.iterdir()) == []


def test_cancel_before_writing_writes_nothing(trained, tmp_path) -> None:
    run = ExportRun()
    run.stage.connect(lambda _message: run.cancel())
    got = _record(run)
    assert _start(run, trained, tmp_path / "x.zip")
    assert run.state is JobState.CANCELLED and not got["exported"] and not got["failed"]
    assert list(tmp_path.iterdir()) == []
