"""What a new user hits in the first hour with the command line (issue 9)."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tifffile

from napari_n2v.cli.main import main
from napari_n2v.core.model.model_io import load_model

from ..conftest import blobs
from .conftest import FAST


def _noisy(shape, seed=0):
    rng = np.random.default_rng(seed)
    return (blobs(shape, seed=seed) * 1000 + rng.normal(0, 50, shape)).astype(np.float32)


@pytest.fixture
def stack3d(tmp_path):
    """A plain 3D TIFF whose file does not name its axes (tifffile calls them QYX)."""
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, _noisy((12, 40, 40)))
    return path


def test_one_number_sizes_and_a_plain_3d_tiff(stack3d, tmp_path, capsys):
    model = tmp_path / "m.n2v.safetensors"
    args = ["train", str(stack3d), "--axes", "ZYX", "--out", str(model), *FAST]
    assert main(args) == 0
    assert load_model(model).config.patch_size == (16, 16, 16)  # one number: a cube
    out = tmp_path / "den.tif"
    # no --axes: the file does not say, so the model's axes (ZYX) are used, not SYX
    assert main(["predict", str(model), str(stack3d), "--out", str(out), "--tile", "64"]) == 0
    assert tifffile.imread(out).shape == (12, 40, 40)


def test_axes_errors_name_the_flag_and_the_guess(stack3d, tmp_path, capsys):
    model = tmp_path / "m.n2v.safetensors"
    assert main(["train", str(stack3d), "--axes", "ZYX", "--out", str(model), *FAST]) == 0
    flat = tmp_path / "plane.tif"
    tifffile.imwrite(flat, _noisy((40, 40)))
    capsys.readouterr()
    assert main(["predict", str(model), str(flat), "--out", str(tmp_path / "o.tif")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--axes" in err and "'YX'" in err and "no Z" in err


def test_training_a_plain_stack_says_what_it_guessed(stack3d, tmp_path, capsys):
    assert main(["train", str(stack3d), "--out", str(tmp_path / "m.n2v.safetensors"), *FAST]) == 0
    err = capsys.readouterr().err
    assert "guessed" in err and "'SYX'" in err and "--axes ZYX" in err


@pytest.mark.parametrize(
    ("argv", "expect"),
    [
        (["train", "x.tif", "--out", "m", "--patch", "abc"], "--patch"),
        (["predict", "m"], "required"),
        (["train", "x.tif", "--out", "m", "--steps", "many"], "--steps"),
    ],
)
def test_usage_errors_are_one_line(argv, expect, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("error:") and expect in err and "usage" not in err


def test_a_folder_that_is_not_zarr(tmp_path, capsys):
    folder = tmp_path / "pictures"
    folder.mkdir()
    (folder / "a.txt").write_text("hi")
    assert main(["train", str(folder), "--out", str(tmp_path / "m.n2v.safetensors"), *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "not a zarr" in err


def test_no_empty_progress_bar_before_an_error(stack3d, tmp_path, capsys):
    model = tmp_path / "m.n2v.safetensors"
    assert main(["train", str(stack3d), "--axes", "ZYX", "--out", str(model), *FAST]) == 0
    capsys.readouterr()
    bad = tmp_path / "nan.tif"
    img = _noisy((12, 40, 40))
    img[3, 4, 5] = np.nan
    tifffile.imwrite(bad, img)
    assert main(["predict", str(model), str(bad), "--out", str(tmp_path / "o.tif")]) == 2
    err = capsys.readouterr().err
    assert "tile/s" not in err and "0/" not in err and err.count("\n") == 1 and "NaN" in err


def test_wrong_validation_image_says_so(stack3d, tmp_path, capsys):
    val = tmp_path / "val.tif"
    tifffile.imwrite(val, _noisy((40, 40)))
    argv = ["train", str(stack3d), "--axes", "ZYX", "--val", str(val), "--out", str(tmp_path / "m")]
    assert main([*argv, *FAST]) == 2
    assert "validation image" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".npy"])
def test_output_suffix_is_honoured_or_refused(stack3d, tmp_path, capsys, suffix):
    model = tmp_path / "m.n2v.safetensors"
    assert main(["train", str(stack3d), "--axes", "ZYX", "--out", str(model), *FAST]) == 0
    out = tmp_path / f"den{suffix}"
    assert main(["predict", str(model), str(stack3d), "--out", str(out)]) == 2
    assert not out.exists() and ".tif" in capsys.readouterr().err


def test_zarr_output_keeps_axes_and_reads_back(stack3d, tmp_path):
    model = tmp_path / "m.n2v.safetensors"
    assert main(["train", str(stack3d), "--axes", "ZYX", "--out", str(model), *FAST]) == 0
    zout = tmp_path / "den.zarr"
    assert main(["predict", str(model), str(stack3d), "--out", str(zout)]) == 0
    from napari_n2v.core.io.image_io import read_image

    back = read_image(zout)
    assert back.axes == "ZYX" and back.axes_from == "file"


def test_help_documents_every_option(capsys):
    for cmd in ("train", "predict"):
        with pytest.raises(SystemExit):
            main([cmd, "--help"])
        text = capsys.readouterr().out
        for flag in ("--steps", "--batch", "--seed") if cmd == "train" else ("--tile", "--batch"):
            line = text[text.index(flag) :].split("\n--")[0]
            assert "default" in line, (cmd, flag)
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    assert "model file saved by napari-n2v" in capsys.readouterr().out


def test_ctrl_c_saves_the_best_model_then_exits_130(stack3d, tmp_path):
    model = tmp_path / "m.n2v.safetensors"
    argv = [sys.executable, "-m", "napari_n2v.cli.main", "train", str(stack3d), "--axes", "ZYX"]
    argv += ["--out", str(model), "--steps", "100000", "--patch", "16", "--batch", "2"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    seen = b""
    deadline = time.monotonic() + 120
    while b"loss=" not in seen and time.monotonic() < deadline:  # a step has been reported
        seen += proc.stdout.read1(4096)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    text = (seen + out).decode()
    assert proc.returncode == 130, text
    assert "saved the best model so far" in text and str(model) in text
    assert load_model(model).steps_trained > 0


@pytest.mark.parametrize("budget", ["3", "0.05m"])
def test_train_for_a_time_budget(stack3d, tmp_path, budget):
    """`--time` alone ends the run (steps are unbounded) and keeps the best model."""
    model = tmp_path / "m.n2v.safetensors"
    argv = [sys.executable, "-m", "napari_n2v", "train", str(stack3d), "--axes", "ZYX", "--out"]
    argv += [str(model), "--time", budget, "--patch", "16", "--batch", "2"]
    t0 = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert time.monotonic() - t0 < 240
    trained = load_model(model)
    assert 0 < trained.steps_trained < 10_000 and trained.config.time_limit_s == 3.0


def test_a_bad_duration_is_one_line(capsys):
    with pytest.raises(SystemExit):
        main(["train", "x.tif", "--out", "m", "--time", "soon"])
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "5m" in err
