"""Atomic, exclusive output writing: nothing half-written ever sits at the final name."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zarr

import napari_n2v
from napari_n2v.core.errors import N2VError
from napari_n2v.core.io import atomic
from napari_n2v.core.io.atomic import (
    atomic_write,
    check_writable,
    cleanup_stale,
    describe_os_error,
    write_bytes_atomic,
)
from napari_n2v.core.io.image_io import tag_zarr
from napari_n2v.core.io.lazy_io import create_zarr_like
from napari_n2v.core.io.lock import lock_path, partial_path, pid_alive
from napari_n2v.core.io.store_marker import MARKER, is_complete, mark_complete

ENV = {**os.environ, "PYTHONPATH": str(Path(napari_n2v.__file__).parents[1])}


#: A writer of a 16 MiB file that stops half-way until a "go" file appears.
WRITER = """
import sys, time
from pathlib import Path
from napari_n2v.core.io.atomic import atomic_write
out, ready, go = (Path(a) for a in sys.argv[1:4])
with atomic_write(out) as tmp, open(tmp, "wb") as f:
    for i in range(16):
        f.write(b"x" * 2**20)
        if i == 7:
            f.flush()
            ready.write_text("ready")
            while not go.exists():
                time.sleep(0.02)
"""


def _half_written(out: Path, tmp_path: Path) -> subprocess.Popen:
    """A child process that has written half of ``out`` and waits for ``tmp_path / "go"``."""
    ready, go = tmp_path / "ready", tmp_path / "go"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(out), str(ready), str(go)], env=ENV)
    end = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < end, "the child never got ready"
        time.sleep(0.02)
    return proc


def test_writes_whole_file_leaves_nothing_else_and_replaces_only_with_overwrite(tmp_path):
    out = tmp_path / "out.bin"
    write_bytes_atomic(out, b"old")
    assert out.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
    with pytest.raises(N2VError, match="exists: pass --overwrite"):
        write_bytes_atomic(out, b"new")
    assert out.read_bytes() == b"old"
    write_bytes_atomic(out, b"new", overwrite=True)
    assert out.read_bytes() == b"new"


@pytest.mark.parametrize(
    ("exc", "raised", "words"),
    [
        (RuntimeError("writer failed"), RuntimeError, "writer failed"),
        (KeyboardInterrupt(), KeyboardInterrupt, None),
        (OSError(errno.ENOSPC, "No space left on device"), N2VError, "^no space left on device"),
    ],
)
def test_failing_writer_keeps_old_file_and_removes_temporary(tmp_path, exc, raised, words):
    out = tmp_path / "out.bin"
    out.write_bytes(b"old")
    with pytest.raises(raised, match=words), atomic_write(out, overwrite=True) as tmp:
        tmp.write_bytes(b"half")
        raise exc
    assert out.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]  # no temporary, no lock


def test_failing_move_keeps_the_old_output_and_a_folder_swap_can_be_undone(tmp_path, monkeypatch):
    out, f = tmp_path / "out.zarr", tmp_path / "f.bin"
    out.mkdir()
    (out / "old").write_text("old")
    f.write_bytes(b"old")
    real_replace = os.replace

    def fail_moving_in(src, dst):  # the old store is already set aside when this fails
        if ".partial-" in str(src):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", fail_moving_in)
    with pytest.raises(N2VError, match="no space"):
        with atomic_write(out, overwrite=True, is_dir=True) as tmp:
            tmp.mkdir()
            (tmp / "new").write_text("new")
    with pytest.raises(N2VError, match="no space"):  # the same for a file
        write_bytes_atomic(f, b"new", overwrite=True)
    monkeypatch.undo()
    assert [p.name for p in out.iterdir()] == ["old"] and f.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin", "out.zarr"]
    f.unlink()
    with atomic_write(out, overwrite=True, is_dir=True) as tmp:
        tmp.mkdir()
        (tmp / "new").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zarr"]  # old one deleted
    shutil.rmtree(out)  # a swap killed half-way: the old store set aside, the new one not in
    (tmp_path / ".out.zarr.old-1").mkdir()
    with pytest.raises(N2VError, match="exists: pass --overwrite"):
        with atomic_write(out, is_dir=True, note=lambda s: None) as tmp:
            tmp.mkdir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zarr"]  # the old one restored


@pytest.mark.parametrize("is_dir", [False, True])
def test_target_appearing_meanwhile_is_never_replaced(tmp_path, is_dir):
    out = tmp_path / "out"
    with pytest.raises(N2VError, match="created by something else"):
        with atomic_write(out, is_dir=is_dir) as tmp:
            if is_dir:
                tmp.mkdir()
                (tmp / "mine").write_text("mine")
            else:
                tmp.write_text("mine")
            out.write_text("theirs")  # another program wrote the output meanwhile
    assert out.read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_second_writer_in_process_is_refused(tmp_path, monkeypatch):
    out = tmp_path / "out.bin"
    with atomic_write(out) as tmp:
        tmp.write_bytes(b"first")
        with pytest.raises(N2VError, match=rf"another run is writing .*\(pid {os.getpid()}\)"):
            write_bytes_atomic(out, b"second")
        with pytest.raises(N2VError, match="another run is writing"):
            check_writable(out)
        monkeypatch.setattr(atomic, "check_lock", lambda target: None)  # a lock taken after it
        with pytest.raises(N2VError, match="another run is writing"):
            write_bytes_atomic(out, b"second")
    assert out.read_bytes() == b"first"


def test_second_writer_from_another_process_is_refused(tmp_path):
    out = tmp_path / "out.bin"
    proc = _half_written(out, tmp_path)
    try:
        with pytest.raises(N2VError, match=rf"another run is writing .*\(pid {proc.pid}\)") as e:
            write_bytes_atomic(out, b"parent")
        assert "\n" not in str(e.value)
        (tmp_path / "go").write_text("go")
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        proc.wait()
    assert out.stat().st_size == 16 * 2**20


def test_kill_9_mid_write_leaves_only_a_temporary_that_cleanup_and_rerun_handle(tmp_path):
    (folder := tmp_path / "outs").mkdir()
    out = folder / "big.bin"
    proc = _half_written(out, tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    tmp = partial_path(out, proc.pid)
    assert not out.exists() and tmp.stat().st_size == 8 * 2**20 and lock_path(out).exists()
    assert check_writable(out) == out  # a stale lock does not block
    notes: list[str] = []
    with atomic_write(out, note=notes.append) as rerun:  # the rerun removes the dead run's files
        assert not tmp.exists()
        rerun.write_bytes(b"whole")
    took_over = f"took over {lock_path(out)} from a run that ended without cleaning up"
    assert notes == [f"{took_over} (pid {proc.pid})"]
    (folder / ".other.bin.partial-1").mkdir()  # a folder store another dead run left, and its lock
    dead = f'{{"pid": {proc.pid}, "host": "{socket.gethostname()}"}}'
    lock_path(folder / "other.bin").write_text(dead)
    assert [p.name for p in cleanup_stale(folder, note=notes.append)] == [".other.bin.partial-1"]
    assert sorted(p.name for p in folder.iterdir()) == ["big.bin"] and len(notes) == 2


def test_unreadable_or_remote_locks_count_as_live(tmp_path):
    out = tmp_path / "out.bin"
    lock_path(out).write_text("")
    with pytest.raises(N2VError, match=r"another run is writing .*\(pid \?\)"):
        check_writable(out)
    os.utime(lock_path(out), (0, 0))  # written long ago
    write_bytes_atomic(out, b"ok")
    assert out.read_bytes() == b"ok" and not lock_path(out).exists()
    lock_path(out).write_text('{"pid": 1, "host": "some-other-host"}')  # cannot be checked: live
    with pytest.raises(N2VError, match="pid 1 on some-other-host"):
        write_bytes_atomic(out, b"x", overwrite=True)


def test_missing_folder_is_refused_or_made_and_a_file_is_no_folder(tmp_path):
    out = tmp_path / "a" / "b" / "out.bin"
    with pytest.raises(N2VError, match="does not exist: create it"):
        check_writable(out)
    notes: list[str] = []
    with atomic_write(out, make_parents=True, note=notes.append) as tmp:
        tmp.write_bytes(b"x")
    assert out.read_bytes() == b"x" and notes == [f"created the folder {out.parent}"]
    with pytest.raises(N2VError, match="is a file, not a folder: choose another"):
        check_writable(out / "sub" / "out.bin", make_parents=True)
    with pytest.raises(N2VError, match="is a file, not a folder: remove it"):
        check_writable(out, overwrite=True, is_dir=True)


@pytest.mark.parametrize(
    ("code", "words"),
    [(errno.EACCES, "permission denied"), (errno.EROFS, "read-only file system")],
)
def test_read_only_folder_by_the_probe_or_the_permission_bits(tmp_path, monkeypatch, code, words):
    real_open = os.open

    def refuse(path, flags, mode=0o777, **kw):
        if ".napari-n2v-probe-" in str(path):
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, mode, **kw)

    monkeypatch.setattr(atomic.os, "open", refuse)
    with pytest.raises(N2VError, match=words):
        check_writable(tmp_path / "out.bin")
    monkeypatch.setattr(atomic.os, "access", lambda path, mode: False)  # the permission bits say no
    with pytest.raises(N2VError, match=r"cannot write in .*permission denied"):
        check_writable(tmp_path / "out.bin")


def test_free_space_is_checked_against_the_estimate(tmp_path, monkeypatch):
    usage = atomic.shutil.disk_usage(tmp_path)
    monkeypatch.setattr(atomic.shutil, "disk_usage", lambda p: usage._replace(free=1000 * 2**20))
    check_writable(tmp_path / "out.bin", size_hint=900 * 2**20)
    with pytest.raises(N2VError, match=r"needs about 1.0 GiB, 1000.0 MiB is free") as e:
        check_writable(tmp_path / "out.bin", size_hint=2**30 - 10 * 2**20)
    assert "\n" not in str(e.value)


def test_describe_os_error_says_what_to_change():
    table = {
        errno.ENOSPC: "no space left on device writing /x/out.tif: free space",
        errno.EDQUOT: "disk quota exceeded writing /x/out.tif",
        errno.EROFS: "/x/out.tif is on a read-only file system",
        errno.EACCES: "permission denied writing /x/out.tif",
        errno.EPERM: "not permitted to write /x/out.tif",
        errno.ENOTDIR: "a file stands where a folder is expected",
        errno.EEXIST: "/x/out.tif already exists: pass --overwrite",
        errno.EIO: "cannot write /x/out.tif: Input/output error",
    }
    for code, words in table.items():
        err = describe_os_error(OSError(code, os.strerror(code)), Path("/x/out.tif"))
        assert isinstance(err, N2VError) and words in str(err) and "\n" not in str(err)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_zombies_and_reused_pids_count_as_gone():
    assert pid_alive(os.getpid()) and not pid_alive(os.getpid(), start="0")  # a reused pid
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    os.kill(proc.pid, signal.SIGKILL)
    stat = Path(f"/proc/{proc.pid}/stat")
    while stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":  # killed, not yet reaped
        time.sleep(0.01)
    assert not pid_alive(proc.pid)
    proc.wait()


def test_store_marker_round_trip_on_a_real_zarr_store(tmp_path):
    out = tmp_path / "out.zarr"
    assert not is_complete(out)
    with atomic_write(out, is_dir=True) as tmp:
        arr = create_zarr_like(tmp, (8, 8))  # our writer, as the CLI and widgets use it
        arr[...] = np.ones((8, 8), np.float32)
        tag_zarr(arr, "YX", None, None)
        assert not is_complete(tmp)
        mark_complete(tmp)
        assert is_complete(tmp)
    assert is_complete(out) and zarr.open(str(out), mode="r").attrs[MARKER] is True
    zarr.open_group(str(tmp_path / "ome.zarr"), mode="w").create_array("0", shape=(4,), dtype="f4")
    assert not is_complete(tmp_path / "ome.zarr")
    mark_complete(tmp_path / "ome.zarr")
    assert is_complete(tmp_path / "ome.zarr")
    (tmp_path / "plain").mkdir()
    assert not is_complete(tmp_path / "plain")
    with pytest.raises(N2VError, match="not a zarr store"):
        mark_complete(tmp_path / "plain")
