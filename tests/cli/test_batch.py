"""Many files in one command, and prediction on a dask cluster (files -> tasks, a big zarr -> blocks)."""

from __future__ import annotations

import os
import sys
import threading

import numpy as np
import pytest
import torch
import zarr

from napari_n2v.batch.jobs import FileEvent, TileEvent, plan_jobs
from napari_n2v.batch.run import predict_files
from napari_n2v.cli.main import main
from napari_n2v.core.config import PredictConfig, TrainConfig
from napari_n2v.core.io.image_io import read_image, write_image
from napari_n2v.core.model.n2v_model import N2VModel
from napari_n2v.core.model.unet import build_unet
from napari_n2v.core.predict.prediction import predict
from napari_n2v.core.progress import drain

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*(Port|port|unclosed|Creating scratch|Unmanaged memory).*",
    "ignore::pytest.PytestUnraisableExceptionWarning",
)


def make_model(path, axes="YX", depth=1):
    """An untrained (random) tiny U-Net: enough to check where pixels go, in milliseconds."""
    torch.manual_seed(0)
    cfg = TrainConfig(axes=axes, depth=depth, n_filters=8, device="cpu")
    net = build_unet(cfg, 1).eval()
    model = N2VModel(cfg, net, np.array([0.5], np.float32), np.array([0.25], np.float32))
    model.save(path)
    return path


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    rng = np.random.default_rng(0)
    for k in range(3):
        img = rng.random((2, 40, 36)).astype(np.float32)
        write_image(d / f"cell{k}.tif", img, "TYX", scale={"Y": 0.5, "X": 0.5}, unit="um")
    (d / "notes.txt").write_text("not an image")
    return d


@pytest.fixture
def model2d(tmp_path):
    return make_model(tmp_path / "m.n2v.safetensors")


def test_folder_and_glob_skip_overwrite(folder, model2d, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["predict", str(model2d), str(folder), "--out-dir", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["cell0_n2v.tif", "cell1_n2v.tif", "cell2_n2v.tif"]
    back = read_image(out / "cell1_n2v.tif")
    assert back.axes == "TYX" and back.scale == {"Y": 0.5, "X": 0.5} and back.unit == "um"
    ref = predict(
        read_model(model2d), read_image(folder / "cell1.tif").data, "TYX", PredictConfig()
    )
    np.testing.assert_allclose(back.data, ref, atol=1e-5)
    assert "3 denoised" in capsys.readouterr().err
    # a second run skips what exists (exit 0), --overwrite replaces
    before = (out / "cell0_n2v.tif").stat().st_mtime_ns
    assert main(["predict", str(model2d), str(folder / "cell*.tif"), "--out-dir", str(out)]) == 0
    assert "3 skipped" in capsys.readouterr().err
    assert (out / "cell0_n2v.tif").stat().st_mtime_ns == before
    argv = ["predict", str(model2d), str(folder / "cell0.tif"), "--out-dir", str(out)]
    assert main([*argv, "--overwrite"]) == 0
    assert "1 denoised" in capsys.readouterr().err


def read_model(path):
    from napari_n2v.core.model.model_io import load_model

    return load_model(path, device="cpu")


def test_a_bad_file_is_one_line_and_the_rest_go_on(folder, model2d, tmp_path, capsys):
    (folder / "broken.tif").write_bytes(b"this is no tiff")
    out = tmp_path / "out"
    assert main(["predict", str(model2d), str(folder), "--out-dir", str(out)]) == 1
    err = capsys.readouterr().err
    assert "3 denoised" in err and "1 failed" in err and "Traceback" not in err
    fails = [line for line in err.splitlines() if line.startswith("failed:")]
    assert len(fails) == 1 and "broken.tif" in fails[0]
    assert sorted(p.name for p in out.iterdir()) == [f"cell{k}_n2v.tif" for k in range(3)]


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--out", "x.tif", "--out-dir", "d"], "not both"),
        ([], "--out-dir DIR"),
        (["--out-dir", "OUT", "--cluster", "local:2", "--scheduler", "tcp://x:1"], "not both"),
        (["--out-dir", "OUT", "--cluster", "remote"], "local:N"),
        (["--out-dir", "OUT", "--block", "64"], "on a cluster"),
    ],
)
def test_usage_errors_exit_2(folder, model2d, tmp_path, capsys, extra, match):
    extra = [str(tmp_path / "o") if e == "OUT" else e for e in extra]
    assert main(["predict", str(model2d), str(folder), *extra]) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1


def test_inputs_that_match_nothing_exit_2(model2d, tmp_path, capsys):
    argv = ["predict", str(model2d), str(tmp_path / "*.tif"), "--out-dir", str(tmp_path / "o")]
    assert main(argv) == 2
    assert "matches no image" in capsys.readouterr().err
    (tmp_path / "a.tif").write_bytes(b"")
    (tmp_path / "b.tif").write_bytes(b"")
    argv = ["predict", str(model2d), str(tmp_path / "a.tif"), str(tmp_path / "b.tif")]
    assert main([*argv, "--out", str(tmp_path / "o.tif")]) == 2
    assert "--out takes one input" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:tiles of")
def test_cancel_stops_between_tiles_and_removes_the_partial_output(folder, model2d, tmp_path):
    jobs = plan_jobs([folder], tmp_path / "out")
    jobs = [type(j)(j.src, j.out.with_suffix(".zarr")) for j in jobs]
    flag = threading.Event()
    events = []

    def on_event(ev):
        events.append(ev)
        if isinstance(ev, TileEvent):
            flag.set()

    cfg = PredictConfig(tile_shape=(16, 16))
    summary = drain(predict_files(model2d, jobs, config=cfg, cancel=flag), on_event)
    assert summary.cancelled and not summary.ok
    assert [e.status for e in events if isinstance(e, FileEvent)] == ["started", "cancelled"]
    assert not any(j.out.exists() for j in jobs)


# --- dask.distributed ----------------------------------------------------------------------------


class KillWorkerOnce:
    """A worker plugin that kills its worker process the first time a block task starts."""

    name = "kill-once"

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def setup(self, worker):
        pass

    def teardown(self, worker):
        pass

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing" and "n2v-block" in str(key) and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os._exit(1)


@pytest.fixture(scope="module")
def client():
    import cloudpickle
    from distributed import Client, LocalCluster

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


def test_cluster_big_zarr_blocks_equal_single_process_despite_a_killed_worker(client, tmp_path):
    from distributed.diagnostics.plugin import WorkerPlugin

    model_path = make_model(tmp_path / "m3.n2v.safetensors", axes="ZYX")
    model = read_model(model_path)
    img = np.random.default_rng(1).random((2, 20, 56, 48)).astype(np.float32)
    src = tmp_path / "big.zarr"
    write_image(src, img, "TZYX", scale={"Z": 2.0, "Y": 0.5, "X": 0.5})
    marker = tmp_path / "killed"
    plugin = type("KillOnce", (KillWorkerOnce, WorkerPlugin), {})(str(marker))
    client.register_plugin(plugin)
    try:
        jobs = plan_jobs([src], tmp_path / "out")
        gen = predict_files(
            model_path, jobs, config=PredictConfig(), client=client, block=(8, 24, 24)
        )
        events = []
        summary = drain(gen, events.append)
    finally:
        client.unregister_worker_plugin("kill-once")
    assert marker.exists()  # a worker died mid-block ...
    assert summary.exit_code == 0 and len(summary.ok) == 1  # ... and its block was rerun
    blocks = [e for e in events if isinstance(e, TileEvent)]
    assert blocks[-1].done == blocks[-1].total == 2 * 3 * 3 * 2
    out = zarr.open_array(str(jobs[0].out), mode="r")
    assert out.chunks == (1, 8, 24, 24)
    ref = predict(model, img, "TZYX")
    np.testing.assert_allclose(out[:], ref, atol=1e-4, rtol=1e-4)
    back = read_image(jobs[0].out)
    assert back.axes == "TZYX"


def test_cluster_files_become_tasks_and_failures_are_reported(client, folder, model2d, tmp_path):
    (folder / "broken.tif").write_bytes(b"no tiff")
    jobs = plan_jobs([folder], tmp_path / "out")
    summary = drain(predict_files(model2d, jobs, client=client))
    assert len(summary.ok) == 3 and summary.exit_code == 1
    assert "broken.tif" in str(summary.failed[0][0].src)
    ref = predict(read_model(model2d), read_image(folder / "cell2.tif").data, "TYX")
    np.testing.assert_allclose(read_image(tmp_path / "out" / "cell2_n2v.tif").data, ref, atol=1e-5)


def test_cli_cluster_local(model2d, tmp_path, capsys):
    img = np.random.default_rng(2).random((3, 64, 64)).astype(np.float32)
    src = tmp_path / "stack.zarr"
    write_image(src, img, "TYX")
    out = tmp_path / "stack_n2v.zarr"
    argv = ["predict", str(model2d), str(src), "--out", str(out), "--cluster", "local:2"]
    assert main([*argv, "--block", "32"]) == 0
    assert "1 denoised" in capsys.readouterr().err
    ref = predict(read_model(model2d), img, "TYX")
    np.testing.assert_allclose(zarr.open_array(str(out), mode="r")[:], ref, atol=1e-4)
