"""The widgets' run models without Qt: start, stop, continue, reset, errors, axes, loading."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from napari_n2v.core.config import PredictConfig, TrainConfig
from napari_n2v.core.errors import N2VError
from napari_n2v.core.layout import guess_axes
from napari_n2v.core.predict.prediction import predict
from napari_n2v.run_models.job_state import JobState
from napari_n2v.run_models.jobs import format_eta
from napari_n2v.run_models.predict_axes import infer_axes
from napari_n2v.run_models.predict_run import PredictRun, needs_trust
from napari_n2v.run_models.registry import ModelRegistry
from napari_n2v.run_models.train_run import TrainRun

GUI = ("qtpy", "napari", "magicgui", "superqt", "PyQt5", "PyQt6", "PySide2", "PySide6", "pyqtgraph")


def _cfg(**kw) -> TrainConfig:
    base = dict(axes="YX", steps=3, batch_size=2, patch_size=(16, 16), val_patches=2,
                steps_per_epoch=3, n_filters=8, seed=0)  # fmt: skip
    return TrainConfig(**{**base, **kw})


@pytest.fixture
def image() -> np.ndarray:
    return (np.random.default_rng(0).random((32, 32)) * 100).astype(np.float32)


def _record(run, *names: str) -> dict[str, list]:
    got: dict[str, list] = {n: [] for n in names}
    for n in names:
        getattr(run, n).connect(lambda *a, n=n: got[n].append(a[0] if len(a) == 1 else a))
    return got


def test_run_models_import_no_gui() -> None:
    code = (
        "import napari_n2v.run_models.train_run, napari_n2v.run_models.predict_run\n"
        "import sys; print(' '.join(sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert not {m.split(".")[0] for m in out.stdout.split()} & set(GUI)


def test_train_start_keeps_the_model_and_registers_it(image) -> None:
    reg = ModelRegistry()
    run = TrainRun(registry=reg)
    got = _record(run, "step", "ended", "failed", "state_changed")
    assert run.start(image, _cfg(), source_name="cells")
    assert not run.running and run.model is not None
    assert [e.step for e in got["step"]] == [1, 2, 3]
    assert got["ended"] == [f"Done: {run.model.name}. Ready for the Predict widget."]
    assert reg.names() == ["cells (2D, 3 steps)"] and not got["failed"]
    assert got["state_changed"] == [JobState.RUNNING, JobState.DONE]


def test_stop_keeps_the_best_model_and_says_stopped(image) -> None:
    run = TrainRun(registry=ModelRegistry())
    run.step.connect(lambda ev: run.stop() if ev.step == 2 else None)
    got = _record(run, "ended")
    run.start(image, _cfg(steps=50), source_name="x")
    assert run.model is not None and got["ended"][0].startswith("Stopped:")
    assert run.model.steps_trained < 50
    assert run.state is JobState.CANCELLED  # cut short by the user; its best model is kept


def test_continue_and_reset(image) -> None:
    run = TrainRun(registry=ModelRegistry())
    assert not run.can_continue("YX")
    run.start(image, _cfg(), source_name="x")
    first = run.model
    assert run.can_continue("YX") and not run.can_continue("ZYX") and not run.can_continue(None)
    run.start(image, _cfg(), source_name="x", resume=True)
    assert run.model is not first and run.model.steps_trained == first.steps_trained + 3
    run.reset()
    assert run.model is None and not run.can_continue("YX")
    assert len(run.registry) == 2  # the registry keeps what was trained


def test_setup_error_is_one_message_and_nothing_runs(image) -> None:
    run = TrainRun(registry=ModelRegistry())
    got = _record(run, "failed", "state_changed")
    assert not run.start(image[None], _cfg(), source_name="x")  # 3D data for axes YX
    assert len(got["failed"]) == 1 and not got["state_changed"] and not run.running


def test_runtime_error_is_one_message_and_the_run_ends(image, monkeypatch) -> None:
    from napari_n2v.core.train.trainer import Trainer

    def boom(self):
        yield from ()
        raise RuntimeError("out of memory (simulated)")

    monkeypatch.setattr(Trainer, "run", boom)
    run = TrainRun(registry=ModelRegistry())
    got = _record(run, "failed", "ended")
    run.start(image, _cfg(), source_name="x")
    assert got["failed"] == [
        "Training failed: RuntimeError: out of memory (simulated) "
        "Use a smaller batch size, patch or tile."
    ]
    assert not run.running and run.model is None and not got["ended"]
    assert run.state is JobState.FAILED


def test_a_patch_larger_than_the_image_is_shrunk_with_the_engines_message(image) -> None:
    run = TrainRun(registry=ModelRegistry())
    got = _record(run, "info", "failed")
    run.start(image, _cfg(patch_size=(64, 64)), source_name="x")
    assert any("larger than the image" in m and "(32, 32)" in m for m in got["info"])
    assert run.model is not None and not got["failed"]
    assert len(got["info"]) == len(set(got["info"]))  # each message once


@pytest.fixture(scope="module")
def model2d():
    from napari_n2v.core.train.trainer import train

    img = (np.random.default_rng(1).random((32, 32)) * 100).astype(np.float32)
    return train(img, _cfg())


def test_predict_plans_with_the_engines_axes_guess_and_runs(model2d, tmp_path) -> None:
    run = PredictRun(registry=ModelRegistry())
    path = model2d.save(tmp_path / "m.n2v.safetensors")
    name = run.load(path)
    assert run.model_name == name and run.model is not None
    stack = (np.random.default_rng(2).random((3, 32, 32)) * 100).astype(np.float32)
    axes, plan = run.plan(stack.shape, False, "")
    assert axes == "SYX" == guess_axes(3, is_3d=False) and "frame by frame" in plan
    got = _record(run, "returned", "ended", "failed", "progress")
    cfg = PredictConfig(tile_shape=(32, 32))
    assert run.start(stack, axes, cfg, source_name="stack")
    ((out, source),) = got["returned"]
    assert source == "stack" and got["ended"] == [False] and not got["failed"]
    assert run.state is JobState.DONE
    np.testing.assert_allclose(
        out.data, predict(run.model, stack, "SYX", cfg), rtol=1e-5, atol=1e-4
    )
    assert got["progress"][-1].done == got["progress"][-1].total


def test_predict_error_is_one_message_and_the_store_is_removed(
    model2d, tmp_path, monkeypatch
) -> None:
    from napari_n2v.core.predict import prediction

    def boom(*a, **k):
        yield from ()
        raise RuntimeError("engine exploded (simulated)")

    monkeypatch.setattr(prediction, "predict_iter", boom)
    reg = ModelRegistry()
    run = PredictRun(registry=reg)
    run.select(reg.add(model2d, "m"))
    got = _record(run, "failed", "returned", "ended")
    store = tmp_path / "out.zarr"
    run.start(
        np.zeros((32, 32), np.float32), "YX", PredictConfig(), source_name="a", out_path=store
    )
    assert got["failed"] == ["Prediction failed: RuntimeError: engine exploded (simulated)"]
    assert not got["returned"] and got["ended"] == [False] and not store.exists()
    assert run.state is JobState.FAILED


def test_predict_cancel_returns_nothing_and_removes_the_store(model2d, tmp_path) -> None:
    reg = ModelRegistry()
    run = PredictRun(registry=reg)
    run.select(reg.add(model2d, "m"))
    run.progress.connect(lambda ev: run.cancel())  # at the first tile
    got = _record(run, "returned", "ended")
    store = tmp_path / "out.zarr"
    image = np.zeros((64, 64), np.float32)
    cfg = PredictConfig(tile_shape=(32, 32))
    assert run.start(image, "YX", cfg, source_name="a", out_path=store)
    assert not got["returned"] and got["ended"] == [True] and not store.exists()
    assert run.state is JobState.CANCELLED and run.cancelled


def test_predict_needs_a_model_and_fitting_axes(model2d) -> None:
    run = PredictRun(registry=ModelRegistry())
    with pytest.raises(N2VError, match="needs a model"):
        run.plan((32, 32), False, "")
    run.select(run.registry.add(model2d, "m"))
    with pytest.raises(N2VError, match="Axes box"):
        run.plan((32, 32), False, "ZYX")
    with pytest.raises(N2VError, match="no model file"):
        run.load("/nonexistent/model.n2v.safetensors")


def test_needs_trust_reads_the_engines_refusal() -> None:
    from napari_n2v.core.errors import TrustRequired

    assert needs_trust(TrustRequired("... Run it only if you trust its source ..."))
    assert not needs_trust(N2VError("weights missing: trust=True would not help"))
    assert not needs_trust(OSError("trust=True"))


def test_axes_guess_is_the_engines() -> None:
    # A 2D model on a 3D array: SYX (the engine's rule), not ZYX; planes are predicted one by one.
    assert infer_axes((5, 32, 32), False, False) == "SYX"
    assert infer_axes((4, 5, 32, 32), False, False) == "STYX"
    assert infer_axes((5, 32, 32), False, True) == "ZYX"
    assert infer_axes((4, 5, 32, 32), False, True) == "TZYX"
    assert infer_axes((32, 32, 3), True, False, 3) == "YXC"
    assert infer_axes((2, 8, 32, 32), False, True, 2) == "CZYX"
    for ndim in (2, 3, 4):
        for is_3d in (False, True):
            if ndim == 2 and is_3d:
                continue
            assert infer_axes((8,) * ndim, False, is_3d) == guess_axes(ndim, is_3d)
    with pytest.raises(N2VError):
        infer_axes((2, 3, 4, 32, 32), False, False)  # no guess for 5 dims: type the axes


def test_format_eta() -> None:
    assert format_eta(None) == "…" and format_eta(float("nan")) == "…"
    assert format_eta(12) == "0:12" and format_eta(65) == "1:05" and format_eta(3723) == "1:02:03"
