"""Image outputs on the atomic writer: complete or absent, judged done or not on a rerun, one run
per output."""

from __future__ import annotations

import errno
import os
import socket

import numpy as np
import pytest
import tifffile
import zarr

from napari_n2v.core.errors import N2VError
from napari_n2v.core.io import atomic
from napari_n2v.core.io.image_io import read_image, write_image
from napari_n2v.core.io.lock import lock_path
from napari_n2v.core.io.outputs import (
    HeldOutput,
    check_folder,
    check_output,
    hold_for_run,
    image_output,
    output_state,
)
from napari_n2v.core.io.store_marker import MARKER, is_complete

IMG = np.arange(2 * 8 * 6, dtype=np.float32).reshape(2, 8, 6)


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("name", ["out.tif", "out.zarr"])
def test_output_appears_only_when_complete(tmp_path, name):
    out = tmp_path / name
    with image_output(out, IMG.shape, "TYX", scale={"Y": 0.5, "X": 0.5}, unit="um") as sink:
        assert not out.exists() and sink.tmp.name == f".{name}.partial-{os.getpid()}"
        assert _names(tmp_path) == sorted(
            [f"{name}.lock"] + ([sink.tmp.name] if sink.array else [])
        )
        if sink.array is not None:
            sink.array[0] = IMG[0]  # streamed ...
            sink.array[1] = IMG[1]
            assert not is_complete(sink.tmp)  # ... and marked only at the end
        else:
            sink.write(IMG)
    back = read_image(out)
    np.testing.assert_array_equal(np.asarray(back.data), IMG)
    assert back.axes == "TYX"
    if name.endswith(".tif"):  # (zarr arrays record them as attributes, not read back)
        assert back.scale == {"Y": 0.5, "X": 0.5} and back.unit == "um"
    assert output_state(out) == "done" and _names(tmp_path) == [name]


@pytest.mark.parametrize("name", ["out.tif", "out.zarr"])
@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError])
def test_interrupted_output_leaves_nothing_and_keeps_the_old_one(tmp_path, name, exc):
    out = tmp_path / name
    write_image(out, IMG + 1, "TYX")
    with pytest.raises(exc), image_output(out, IMG.shape, "TYX", overwrite=True) as sink:
        if sink.array is not None:
            sink.array[0] = IMG[0]
        raise exc
    np.testing.assert_array_equal(np.asarray(read_image(out).data), IMG + 1)
    assert _names(tmp_path) == [name]


def test_a_full_disk_is_one_line_and_the_old_output_stays(tmp_path, monkeypatch):
    out = tmp_path / "out.tif"
    write_image(out, IMG + 1, "TYX")
    real = tifffile.imwrite

    def half_then_full(path, data, **kw):  # a writer that runs out of space half-way
        real(path, data[:1], **kw)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tifffile, "imwrite", half_then_full)
    with pytest.raises(N2VError, match=r"^no space left on device writing .*out.tif: free space"):
        write_image(out, IMG, "TYX", overwrite=True)
    monkeypatch.undo()
    np.testing.assert_array_equal(read_image(out).data, IMG + 1)
    assert _names(tmp_path) == ["out.tif"]


def test_write_image_is_exclusive_and_keeps_ome_names(tmp_path):
    out = tmp_path / "a.ome.tif"
    write_image(out, IMG, "TYX")
    with tifffile.TiffFile(out) as tif:
        assert tif.is_ome  # decided by the target's name, not the temporary's
    with pytest.raises(N2VError, match="exists: pass --overwrite"):
        write_image(out, IMG, "TYX")
    with tifffile.TiffFile(write_image(tmp_path / "b.tif", IMG, "TYX")) as tif:
        assert not tif.is_ome and tif.series[0].axes == "TYX"
    z = write_image(tmp_path / "c.zarr", IMG, "TYX")
    assert zarr.open_array(str(z), mode="r").attrs[MARKER] is True


def test_states_and_checks_before_any_work(tmp_path):
    done, bare = tmp_path / "done.zarr", tmp_path / "bare.zarr"
    write_image(done, IMG, "TYX")
    zarr.create_array(str(bare), shape=(4,), dtype="f4")  # no marker: an interrupted run's
    assert [output_state(p) for p in (done, bare, tmp_path / "x.tif")] == [
        "done",
        "incomplete",
        "missing",
    ]
    with pytest.raises(N2VError, match=r"bare.zarr exists but is incomplete .* add --overwrite"):
        check_output(bare, False)
    with pytest.raises(N2VError, match=r"done.zarr already exists: choose another --out-dir"):
        check_output(done, False, flag="--out-dir")
    assert check_output(bare, True) == bare
    with pytest.raises(N2VError, match=r"needs about .* free space"):
        check_output(tmp_path / "big.tif", False, size_hint=2**62)
    (tmp_path / "file").write_text("x")
    with pytest.raises(N2VError, match="is a file, not a folder"):
        check_output(tmp_path / "file" / "out.tif", False)
    with pytest.raises(N2VError, match="is a file, not a folder"):
        check_folder(tmp_path / "file")
    assert check_folder(tmp_path / "new") == tmp_path / "new"  # made later by its user
    assert not (tmp_path / "new").exists()


def test_read_only_folder_is_found_before_work(tmp_path, monkeypatch):
    real_open = os.open

    def refuse(path, flags, mode=0o777, **kw):
        if ".napari-n2v-probe-" in str(path):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, mode, **kw)

    monkeypatch.setattr(atomic.os, "open", refuse)
    with pytest.raises(N2VError, match="read-only file system: choose a folder"):
        check_output(tmp_path / "out.tif", False)
    with pytest.raises(N2VError, match="read-only file system"):
        check_folder(tmp_path / "outs")


def test_held_output_completes_or_is_abandoned(tmp_path):
    out = tmp_path / "out.zarr"
    held = HeldOutput(out, IMG.shape, "TYX")
    zarr.open_array(str(held.sink.tmp), mode="r+")[...] = IMG  # as a cluster's worker writes
    held.complete()
    assert is_complete(out) and _names(tmp_path) == ["out.zarr"]
    again = HeldOutput(out, IMG.shape, "TYX", overwrite=True)
    again.abandon()
    assert is_complete(out) and _names(tmp_path) == ["out.zarr"]
    np.testing.assert_array_equal(zarr.open_array(str(out), mode="r")[:], IMG)


def test_one_training_run_per_output(tmp_path):
    model = tmp_path / "m.n2v.safetensors"
    with hold_for_run(model):
        with pytest.raises(
            N2VError, match=rf"another run is training into .*\(pid {os.getpid()}\)"
        ):
            with hold_for_run(model):
                pass
        model.write_bytes(b"the run's own save is not blocked")  # another lock
    assert _names(tmp_path) == ["m.n2v.safetensors"]
    dead = tmp_path / "m.n2v.safetensors.run.lock"
    dead.write_text(f'{{"pid": 999999999, "host": "{socket.gethostname()}"}}')  # a killed run's
    notes: list[str] = []
    with hold_for_run(model, note=notes.append):
        assert lock_path(tmp_path / "m.n2v.safetensors.run").exists()
    assert notes and "took over" in notes[0] and not dead.exists()
