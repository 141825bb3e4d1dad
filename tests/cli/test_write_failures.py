"""Write failures a user can cause (full disk, read-only folder, a file where a folder should be, a run
already writing the output) end in one ``error:`` line, status 2, and a complete output or none."""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest
import tifffile

from napari_n2v.cli.main import main
from napari_n2v.cli.resume import every
from napari_n2v.core.io import atomic
from napari_n2v.core.io.outputs import hold_for_run, image_output
from napari_n2v.core.model.model_io import load_model

from ..conftest import blobs
from .test_batch import make_model

TRAIN = ["--steps", "4", "--patch", "16", "--batch", "2", "--seed", "0", "--device", "cpu"]


@pytest.fixture
def img(tmp_path):
    path = tmp_path / "img.tif"
    data = blobs((2, 40, 36)) * 100 + np.random.default_rng(0).normal(0, 10, (2, 40, 36))
    tifffile.imwrite(path, data.astype(np.float32), metadata={"axes": "TYX"})
    return path


@pytest.fixture
def model(tmp_path):
    return make_model(tmp_path / "m.n2v.safetensors")


def _one_error(capsys, *words: str) -> str:
    """The run ended with one ``error:`` line (progress bars above it aside) saying ``words``."""
    err = capsys.readouterr().err
    lines = [ln.strip() for ln in err.replace("\r", "\n").splitlines() if ln.strip()]
    assert [ln for ln in lines if ln.startswith("error:")] == lines[-1:], err
    assert "Traceback" not in err and all(w in lines[-1] for w in words), err
    return lines[-1]


def _no_space(monkeypatch, module=tifffile, name="imwrite"):
    real = getattr(module, name)

    def half_then_full(path, *args, **kw):  # a writer that runs out of space half-way
        with open(path, "wb") as f:
            f.write(b"\0" * 1000)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(module, name, half_then_full)
    return real


def test_full_disk_on_predict_keeps_the_previous_result(img, model, tmp_path, capsys, monkeypatch):
    out = tmp_path / "den.tif"
    argv = ["predict", str(model), str(img), "--out", str(out)]
    assert main(argv) == 0
    good = out.read_bytes()
    _no_space(monkeypatch)
    assert main([*argv, "--overwrite"]) == 2
    _one_error(capsys, f"no space left on device writing {out}: free space or choose another")
    assert out.read_bytes() == good  # the old result stays until a new one is complete
    out.unlink()
    assert main(argv) == 2 and not out.exists()  # and without one: nothing half-written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img.tif", "m.n2v.safetensors"]


def test_full_disk_when_a_zarr_store_lands(img, model, tmp_path, capsys, monkeypatch):
    out = tmp_path / "den.zarr"

    def full(path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic, "_fsync_tree", full)
    assert main(["predict", str(model), str(img), "--out", str(out)]) == 2
    _one_error(capsys, "no space left on device writing")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img.tif", "m.n2v.safetensors"]


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES])
def test_read_only_folder_is_refused_before_any_work(img, tmp_path, capsys, monkeypatch, code):
    real_open = os.open

    def refuse(path, flags, mode=0o777, **kw):
        if ".napari-n2v-probe-" in str(path):
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, mode, **kw)

    def no_work(*args, **kwargs):
        raise AssertionError("work started")

    model = make_model(tmp_path / "m.n2v.safetensors")
    monkeypatch.setattr(atomic.os, "open", refuse)
    monkeypatch.setattr("napari_n2v.core.train.trainer.Trainer.__init__", no_work)
    monkeypatch.setattr("napari_n2v.core.model.model_io.load_model", no_work)
    words = "read-only file system" if code == errno.EROFS else "permission denied"
    outs = [("--out", "den.tif"), ("--out", "den.zarr"), ("--out-dir", "outs")]
    for flag, name in outs:
        assert main(["predict", str(model), str(img), flag, str(tmp_path / name)]) == 2
        _one_error(capsys, words, "choose a folder you can write to")
    assert main(["train", str(img), "--out", str(tmp_path / "new.n2v.safetensors"), *TRAIN]) == 2
    _one_error(capsys, words)
    assert main(["demo", "--out", str(tmp_path / "demo"), "--steps", "1"]) == 2
    _one_error(capsys, words)


def test_a_failing_model_save_says_where_the_run_is_kept(img, tmp_path, capsys, monkeypatch):
    out = tmp_path / "new.n2v.safetensors"
    import safetensors.torch as st

    real = st.save_file

    def refuse_the_model(tensors, path, metadata=None):
        if metadata and metadata.get("format") == "napari-n2v":  # the model, not the checkpoint
            raise OSError(errno.EACCES, "Permission denied", path)
        return real(tensors, path, metadata=metadata)

    monkeypatch.setattr(st, "save_file", refuse_the_model)
    assert main(["train", str(img), "--out", str(out), *TRAIN]) == 2
    ckpt = tmp_path / "new.ckpt.safetensors"
    _one_error(capsys, "permission denied writing", f"the last checkpoint is {ckpt}", "--resume")
    monkeypatch.undo()
    other = tmp_path / "other.n2v.safetensors"  # --continue-from a checkpoint resumes from it
    more = [a if a != "4" else "6" for a in TRAIN]
    assert main(["train", str(img), "--out", str(other), *more, "--continue-from", str(ckpt)]) == 0
    assert load_model(other).steps_trained == 6 and ckpt.exists()
    assert main(["train", str(img), "--out", str(out), *TRAIN, "--resume"]) == 0
    assert load_model(out).steps_trained == 4 and not ckpt.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["predict", "{m}", "{img}", "--out", "{f}/den.tif"],
        ["predict", "{m}", "{img}", "--out-dir", "{f}/outs"],
        ["predict", "{m}", "{img}", "--out-dir", "{f}"],
        ["train", "{img}", "--out", "{f}/m.n2v.safetensors", *TRAIN],
        ["export", "{m}", "{f}/m.zip", "--name", "a name", "--authors", "A B", "--sample", "{img}"],
        ["demo", "--out", "{f}/demo", "--steps", "1"],
    ],
)
def test_a_file_where_a_folder_is_expected(img, model, tmp_path, capsys, argv):
    f = tmp_path / "notes.txt"
    f.write_text("a file")
    args = [a.format(m=model, img=img, f=f) for a in argv]
    assert main(args) == 2
    _one_error(capsys, "is a file, not a folder")


def test_os_errors_elsewhere_are_one_line_too(monkeypatch, capsys, model, img, tmp_path):
    def boom(args):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x"))

    monkeypatch.setattr("napari_n2v.cli.predict.run_predict", boom)
    assert main(["predict", str(model), str(img), "--out", str(tmp_path / "x.tif")]) == 2
    _one_error(capsys, f"no space left on device writing {tmp_path / 'x'}")


def test_a_second_writer_of_the_same_output_is_refused(img, model, tmp_path, capsys):
    out = tmp_path / "den.tif"
    with image_output(out, (2, 40, 36), "TYX") as sink:  # another run, writing it now
        assert main(["predict", str(model), str(img), "--out", str(out)]) == 2
        _one_error(capsys, f"another run is writing {out} (pid {os.getpid()})")
        sink.write(np.zeros((2, 40, 36), np.float32))
    assert not tifffile.imread(out).any()  # the first run's result, untouched
    m = tmp_path / "new.n2v.safetensors"
    with hold_for_run(m):  # a training run into the same model file
        assert main(["train", str(img), "--out", str(m), *TRAIN]) == 2
        _one_error(capsys, f"another run is training into {m}")
    assert not m.exists()


def test_checkpoint_flags(img, model, tmp_path, capsys):
    assert (every("5"), every("0.5"), every("90s"), every("1h")) == (300, 30, 90, 3600)
    assert every("off") is None and every("0") is None
    out = tmp_path / "new.n2v.safetensors"
    assert main(["train", str(img), "--out", str(out), *TRAIN, "--resume"]) == 2
    _one_error(capsys, "no checkpoint at", "without --resume")
    argv = ["train", str(img), "--out", str(out), *TRAIN, "--resume", "--continue-from", "x"]
    assert main(argv) == 2
    _one_error(capsys, "not both")
    with pytest.raises(SystemExit):
        main(["train", str(img), "--out", str(out), "--checkpoint-every", "soon"])
    assert "expected minutes like 5" in capsys.readouterr().err
    assert main(["train", str(img), "--out", str(out), *TRAIN, "--checkpoint-every", "off"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img.tif", "m.n2v.safetensors", out.name]
