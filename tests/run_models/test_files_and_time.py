"""Run models without Qt: Files… mode (many files, failures, skip, cancel), several images, a time budget."""

from __future__ import annotations

import time

import numpy as np
import pytest
import tifffile

from napari_n2v.core.config import MAX_STEPS, PredictConfig, TrainConfig
from napari_n2v.run_models.files_run import FilesRun
from napari_n2v.run_models.job_state import JobState
from napari_n2v.run_models.registry import ModelRegistry
from napari_n2v.run_models.train_run import TrainRun


def _cfg(**kw) -> TrainConfig:
    base = dict(axes="YX", steps=3, batch_size=2, patch_size=(16, 16), val_patches=2,
                steps_per_epoch=3, n_filters=8, seed=0)  # fmt: skip
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def model():
    from napari_n2v.core.train.trainer import train

    return train((np.random.default_rng(0).random((32, 32)) * 100).astype(np.float32), _cfg())


@pytest.fixture
def folder(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(1)
    for name in ("a", "b"):
        tifffile.imwrite(src / f"{name}.tif", (rng.random((40, 48)) * 100).astype(np.float32))
    (src / "c.tif").write_bytes(b"not a tiff")  # fails; the others go on
    return src


def _record(run, *names):
    got = {n: [] for n in names}
    for n in names:
        getattr(run, n).connect(lambda *a, n=n: got[n].append(a[0] if len(a) == 1 else a))
    return got


def test_files_run_reports_each_file_and_goes_on(model, folder, tmp_path) -> None:
    run = FilesRun()
    got = _record(run, "file_started", "file_done", "tile", "ended", "failed", "state_changed")
    out = tmp_path / "out"
    assert run.start(model, [folder], out, PredictConfig(tile_shape=(16, 16)))
    assert got["state_changed"] == [JobState.RUNNING, JobState.DONE]
    status = {ev.job.src.name: ev.status for ev in got["file_done"]}
    assert status == {"a.tif": "ok", "b.tif": "ok", "c.tif": "failed"}
    assert got["tile"] and got["tile"][-1].done == got["tile"][-1].total
    assert sorted(p.name for p in out.iterdir()) == ["a_n2v.tif", "b_n2v.tif"]
    assert got["ended"] == ["2 denoised, 1 failed"]
    assert run.summary is not None and len(run.summary.failed) == 1 and not got["failed"]
    # again: existing results are skipped unless overwrite
    run.start(model, [folder / "a.tif"], out, PredictConfig())
    assert run.summary.skipped and not run.summary.ok
    assert got["ended"][-1] == "0 denoised, 1 skipped (result exists), 0 failed"
    run.start(model, [folder / "a.tif"], out, PredictConfig(), overwrite=True)
    assert run.summary.ok and not run.summary.skipped


def test_files_run_cancel_removes_the_partial_file(model, folder, tmp_path) -> None:
    run = FilesRun()
    run.file_started.connect(lambda ev: run.cancel())  # cancel as the first file starts
    out = tmp_path / "out"
    run.start(model, [folder / "a.tif", folder / "b.tif"], out, PredictConfig(tile_shape=(16, 16)))
    assert run.summary is not None and run.summary.cancelled and not run.summary.ok
    assert list(out.iterdir()) == [] and run.state is JobState.CANCELLED


@pytest.mark.parametrize(
    ("inputs", "out", "says"),
    [
        ([], "x", "Add input files"),
        (["{folder}"], "", "output folder"),
        (["/nope"], "x", "no such"),
    ],
)
def test_files_run_refuses_bad_inputs(model, folder, tmp_path, inputs, out, says) -> None:
    run = FilesRun()
    got = _record(run, "failed", "state_changed")
    inputs = [i.format(folder=folder) for i in inputs]
    assert not run.start(model, inputs, str(tmp_path / out) if out else "", PredictConfig())
    assert says in got["failed"][0] and not got["state_changed"]


def test_train_run_on_several_images() -> None:
    rng = np.random.default_rng(0)
    images = [(rng.random(s) * 100).astype(np.float32) for s in ((32, 32), (40, 24), (24, 48))]
    run = TrainRun(registry=ModelRegistry())
    got = _record(run, "failed", "ended")
    assert run.start(images, _cfg(), source_name="a + 2 more", image_names=["a", "b", "c"])
    assert not got["failed"] and run.model is not None
    assert run.trainer is None and got["ended"][0].startswith("Done: a + 2 more (2D, 3 steps)")


def test_train_run_time_budget_ends_as_done() -> None:
    image = (np.random.default_rng(0).random((32, 32)) * 100).astype(np.float32)
    run = TrainRun(registry=ModelRegistry())
    got = _record(run, "ended", "step")
    t0 = time.monotonic()
    run.start(image, _cfg(steps=MAX_STEPS, time_limit_s=1.0, steps_per_epoch=10), source_name="x")
    assert time.monotonic() - t0 < 30
    assert (
        0 < len(got["step"]) < MAX_STEPS and got["step"][-1].elapsed_s >= 1.0
    )  # the budget ended it
    assert got["ended"][0].startswith("Done: ")  # the budget ran out: not "Stopped"
