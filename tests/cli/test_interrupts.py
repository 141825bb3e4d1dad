"""Runs killed or stopped part-way (kill -9, SIGTERM, SIGHUP, Ctrl-C) leave a complete output or none,
and the rerun does the right thing: resume training, redo what was cut off, skip what is done."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile
import zarr

import napari_n2v
from napari_n2v.cli.main import main
from napari_n2v.core.io.store_marker import is_complete
from napari_n2v.core.model.model_io import load_model
from napari_n2v.core.train.checkpoint import load_checkpoint

from ..conftest import blobs
from .test_batch import make_model

ENV = {**os.environ, "PYTHONPATH": str(Path(napari_n2v.__file__).parents[1])}
TRAIN = ["--patch", "16", "--batch", "2", "--seed", "0", "--device", "cpu", "--precision", "fp32"]
POSIX = pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")


def _cli(*args: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "napari_n2v", *args]
    return subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(what, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    """Wait until ``what()`` holds while ``proc`` runs (no fixed sleeps)."""
    end = time.monotonic() + timeout
    while not what():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended first: {proc.communicate()[1][-2000:]}")
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def _step(path: Path) -> int:
    try:
        return load_checkpoint(path).step
    except Exception:  # not there yet
        return 0


@pytest.fixture
def noisy(tmp_path):
    path = tmp_path / "img.tif"
    img = blobs((64, 64)) * 100 + np.random.default_rng(0).normal(0, 10, (64, 64))
    tifffile.imwrite(path, img.astype(np.float32))
    return path


@POSIX
def test_kill_9_then_resume_goes_on_from_the_checkpoint(noisy, tmp_path, capsys):
    out, ckpt = tmp_path / "m.n2v.safetensors", tmp_path / "m.ckpt.safetensors"
    args = ["train", str(noisy), "--out", str(out), "--steps", "100000", *TRAIN]
    proc = _cli(*args, "--checkpoint-every", "0.3s")
    try:
        _wait_for(lambda: _step(ckpt) >= 10, proc)  # a checkpoint after step 10 or later
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        proc.kill()
        proc.communicate()
    reached = _step(ckpt)
    assert not out.exists() and reached >= 10  # the killed run: no model, a checkpoint
    again = [*args[:4], "--steps", str(reached + 6), *TRAIN]
    assert main(again) == 2  # a rerun without --resume does not silently start afresh
    assert "add --resume to go on from it" in capsys.readouterr().err
    rc = main([*again, "--resume"])
    said = capsys.readouterr()
    assert rc == 0, said.err
    assert f"resuming from {ckpt}: step {reached} of {reached + 6}," in said.out + said.err
    assert load_model(out).steps_trained == reached + 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img.tif", "m.n2v.safetensors"]


@POSIX
@pytest.mark.parametrize(
    ("sig", "code", "name"),
    [("SIGTERM", 143, "SIGTERM"), ("SIGHUP", 129, "SIGHUP"), ("SIGINT", 130, "Ctrl-C")],
)
def test_sigterm_sighup_ctrl_c_stop_save_and_keep_the_checkpoint(noisy, tmp_path, sig, code, name):
    out, ckpt = tmp_path / "m.n2v.safetensors", tmp_path / "m.ckpt.safetensors"
    proc = _cli("train", str(noisy), "--out", str(out), "--steps", "100000", *TRAIN,
                "--checkpoint-every", "0.2s")  # fmt: skip
    try:
        _wait_for(lambda: _step(ckpt) >= 3, proc)
        proc.send_signal(getattr(signal, sig))
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == code, err
    model = load_model(out)
    assert f"{name}: stopping after this step" in err
    assert f"stopped by {name} after {model.steps_trained} steps: saved the best model" in err
    assert load_checkpoint(ckpt).step == model.steps_trained  # --resume goes on from here
    assert "kept the checkpoint" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["img.tif", out.name, ckpt.name])


@pytest.fixture
def stacks(tmp_path):
    """Two zarr stacks big enough that predicting one takes a few seconds."""
    folder = tmp_path / "zarrs"
    folder.mkdir()
    for k in range(2):
        arr = zarr.create_array(str(folder / f"img{k}.zarr"), shape=(24, 256, 256), dtype="f4")
        arr[...] = np.random.default_rng(k).random((24, 256, 256), dtype=np.float32)
        arr.attrs["axes"] = "SYX"
    return folder


@POSIX
def test_kill_9_inside_a_zarr_file_then_the_rerun_redoes_it(stacks, tmp_path, capsys):
    model = make_model(tmp_path / "m.n2v.safetensors", depth=2)
    out = tmp_path / "out"
    argv = ["predict", str(model), str(stacks), "--out-dir", str(out), "--device", "cpu"]
    proc = _cli(*argv)
    partial = out / f".img0_n2v.zarr.partial-{proc.pid}"
    try:
        _wait_for(lambda: len(list(partial.glob("c/*"))) >= 1, proc)  # first tiles written
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        proc.kill()
        proc.communicate()
    assert not (out / "img0_n2v.zarr").exists()  # cut off: nothing at the final name
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "2 denoised" in err and "Traceback" not in err
    assert all(is_complete(out / f"img{k}_n2v.zarr") for k in range(2))
    assert sorted(p.name for p in out.iterdir()) == ["img0_n2v.zarr", "img1_n2v.zarr"]
    assert main(argv) == 0 and "2 skipped" in capsys.readouterr().err


@POSIX
def test_ctrl_c_inside_a_single_zarr_output_leaves_nothing(stacks, tmp_path, capsys):
    model = make_model(tmp_path / "m.n2v.safetensors", depth=2)
    out = tmp_path / "big_n2v.zarr"
    argv = ["predict", str(model), str(stacks / "img0.zarr"), "--out", str(out), "--device", "cpu"]
    proc = _cli(*argv)
    try:
        partial = tmp_path / f".big_n2v.zarr.partial-{proc.pid}"
        _wait_for(lambda: len(list(partial.glob("c/*"))) >= 1, proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.n2v.safetensors", "zarrs"]
    assert main(argv) == 0 and is_complete(out)  # the rerun is not refused


@POSIX
def test_two_runs_to_the_same_tiff_the_second_is_refused(stacks, tmp_path, capsys):
    model = make_model(tmp_path / "m.n2v.safetensors", depth=2)
    out = tmp_path / "den.tif"
    argv = ["predict", str(model), str(stacks / "img0.zarr"), "--out", str(out), "--device", "cpu"]
    first = _cli(*argv)
    try:
        _wait_for(lambda: (tmp_path / "den.tif.lock").exists(), first)  # it is writing
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: another run is writing") and f"pid {first.pid}" in err
        assert len(err.splitlines()) == 1
        assert first.wait(timeout=120) == 0
    finally:
        first.kill()
        first.communicate()
    assert tifffile.imread(out).shape == (24, 256, 256)
    assert main(argv) == 2 and "already exists" in capsys.readouterr().err
