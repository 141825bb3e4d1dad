"""The one way outputs are written: under a temporary name beside the target, moved into place only
when complete, with an exclusive lock so that two runs never write the same output.

Beside a target ``out.tif`` while it is written::

    out.tif.lock               the writer's pid, host (and, on Linux, process start time)
    .out.tif.partial-<pid>     what is being written (a file, or a folder for a zarr store)
    .out.tif.old-<pid>         an overwritten folder, for the moment of the swap

The lock is :mod:`.lock`'s. A run killed with SIGKILL leaves its lock and temporary behind; the next
writer of the same target (or :func:`cleanup_stale`) sees that the lock's process is gone, takes the
lock over and removes them. A zarr store is complete only with :mod:`.store_marker`'s marker.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import N2VError
from .lock import (
    Note,
    acquire,
    check_lock,
    clear_leftovers,
    old_path,
    partial_path,
    release,
    remove,
)
from .lock import cleanup_stale as cleanup_stale  # re-exported: the writer's clean-up

#: Free space asked for beyond a size estimate (file-system overhead, metadata).
SPACE_MARGIN = 1.05
_log = logging.getLogger(__name__)


def describe_os_error(err: OSError, path: str | Path) -> N2VError:
    """The one-line :class:`N2VError` for an OS error while writing ``path``: what went wrong and
    what to change (e.g. ENOSPC: "no space left on device writing X: free space or choose ...")."""
    code = err.errno
    why = {
        errno.ENOSPC: f"no space left on device writing {path}: free space or choose another folder",
        getattr(errno, "EDQUOT", -1): f"disk quota exceeded writing {path}: free space in your "
        "quota or choose another folder",
        errno.EROFS: f"{path} is on a read-only file system: choose a folder you can write to",
        errno.EACCES: f"permission denied writing {path}: choose a folder you can write to",
        errno.EPERM: f"not permitted to write {path}: choose a folder you can write to",
        errno.ENOTDIR: f"a file stands where a folder is expected in {path}: rename that file "
        "or choose another output",
        errno.EISDIR: f"a folder stands where a file is expected at {path}: choose another name",
        errno.EEXIST: f"{path} already exists: pass --overwrite or choose another name",
    }.get(code if code is not None else -2)
    if why is None:
        text = " ".join(str(err.strerror or err).split())
        why = f"cannot write {path}: {text}"
    return N2VError(why)


#: OS errors a user can fix (full disk, permissions, ...): turned into one-line N2VErrors.
USER_ERRNOS = {
    errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EISDIR,
    getattr(errno, "EDQUOT", errno.ENOSPC),
}  # fmt: skip


# --- checks and writing ---------------------------------------------------------------------------
def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return ""  # unreachable


def _nearest_folder(parent: Path, make_parents: bool) -> Path:
    """``parent``, or with ``make_parents`` its nearest existing ancestor (where folders are made)."""
    p = parent
    while not p.exists() and p != p.parent:
        p = p.parent
    if not p.is_dir():
        raise N2VError(f"{p} is a file, not a folder: choose another output folder")
    if p != parent and not make_parents:
        raise N2VError(f"the folder {parent} does not exist: create it or choose another folder")
    return p


def check_writable(
    target: str | Path,
    *,
    overwrite: bool = False,
    is_dir: bool = False,
    size_hint: int | None = None,
    make_parents: bool = False,
) -> Path:
    """Check, before any work, that ``target`` can be written: it does not exist (or ``overwrite``
    and of the same kind), its folder exists (or ``make_parents``: can be made) and is writable, has
    ``size_hint`` bytes (+5%) free, and no live run holds its lock. Raises a one-line N2VError."""
    target = Path(target).expanduser()
    if os.path.lexists(target):
        if not overwrite:
            raise N2VError(f"{target} exists: pass --overwrite or choose another name")
        if target.is_dir() != is_dir:
            what, want = ("a folder", "a file") if target.is_dir() else ("a file", "a folder")
            raise N2VError(f"{target} is {what}, not {want}: remove it or choose another name")
    check_lock(target)
    folder = _nearest_folder(target.parent, make_parents)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise N2VError(
            f"cannot write in {folder} (permission denied): choose a folder you can write to"
        )
    probe = folder / f".napari-n2v-probe-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:  # os.access says yes to root everywhere: a read-only file system shows only on writing
        os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        probe.unlink()
    except OSError as err:
        raise describe_os_error(err, folder) from err
    if size_hint is not None:
        free, need = shutil.disk_usage(folder).free, size_hint * SPACE_MARGIN
        if free < need:
            raise N2VError(
                f"not enough free space in {folder}: the output needs about {_size(need)}, "
                f"{_size(free)} is free; free space or choose another folder"
            )
    return target


def _fsync(path: str | Path, folder: bool = False) -> None:
    if folder and os.name == "nt":
        return  # folders cannot be opened for fsync there
    fd = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        if not folder:
            raise  # a file's data not reaching the disk (e.g. ENOSPC) is an error
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    if not path.is_dir():
        _fsync(path)
        return
    for root, _dirs, files in os.walk(path):
        for name in files:
            _fsync(os.path.join(root, name))
        _fsync(root, folder=True)


def _appeared(target: Path) -> N2VError:
    return N2VError(
        f"{target} was created by something else while this run wrote it; it was left as it is: "
        "choose another name or pass --overwrite"
    )


def _move_into_place(tmp: Path, target: Path, overwrite: bool, is_dir: bool) -> None:
    if not overwrite and not is_dir:
        try:
            os.link(tmp, target)  # fails if the target exists, with no window for a race
            os.unlink(tmp)
            return
        except FileExistsError:
            raise _appeared(target) from None
        except OSError as err:
            if err.errno in USER_ERRNOS - {errno.EPERM}:
                raise
            # no hard links on this file system: check, then rename
    if not overwrite and os.path.lexists(target):
        raise _appeared(target)
    if is_dir and os.path.lexists(target):
        old = old_path(target)
        os.replace(target, old)
        try:
            os.replace(tmp, target)
        except BaseException:
            os.replace(old, target)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)


@contextmanager
def atomic_write(
    target: str | Path,
    *,
    overwrite: bool = False,
    is_dir: bool = False,
    size_hint: int | None = None,
    make_parents: bool = False,
    note: Note | None = None,
) -> Iterator[Path]:
    """Write ``target`` completely or not at all; yields the temporary path to write to.

    Parameters
    ----------
    target
        The output: a file, or with ``is_dir`` a folder (a zarr directory store).
    overwrite
        Replace an existing target, only once the new one is complete.
    is_dir, size_hint, make_parents
        As in :func:`check_writable`, which runs first; missing folders are then made.
    note
        Receives one-line notes (a folder made, a stale lock taken over); default: logging.

    Yields
    ------
    Path
        ``<dir>/.<name>.partial-<pid>``, not yet existing: the caller creates it (a file, or a
        folder). On a normal exit it is fsynced and moved to ``target`` (a folder replaced with
        ``overwrite`` is renamed aside, the new one moved in, the old one deleted). On any exception
        (KeyboardInterrupt and SystemExit too) it is removed and the exception re-raised; OS errors a
        user can fix (no space, read-only, permissions) become a one-line N2VError. A target that
        appeared meanwhile is never replaced without ``overwrite``: N2VError.
    """
    target = Path(target).expanduser()
    say = note or _log.warning
    check_writable(
        target, overwrite=overwrite, is_dir=is_dir, size_hint=size_hint, make_parents=make_parents
    )
    if not target.parent.exists():
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise describe_os_error(err, target.parent) from err
        say(f"created the folder {target.parent}")
    try:
        token = acquire(target, say)
    except OSError as err:
        raise describe_os_error(err, target.parent) from err
    tmp = partial_path(target)
    try:
        clear_leftovers(target, say)  # may restore a target an interrupted overwrite set aside
        if not overwrite and os.path.lexists(target):
            raise N2VError(f"{target} exists: pass --overwrite or choose another name")
        yield tmp
        if not os.path.lexists(tmp):
            raise RuntimeError(f"nothing was written to {tmp} for {target}")
        _fsync_tree(tmp)
        _move_into_place(tmp, target, overwrite, is_dir)
        _fsync(target.parent, folder=True)
    except OSError as err:
        remove(tmp)
        if err.errno in USER_ERRNOS:
            raise describe_os_error(err, target) from err
        raise
    except BaseException:
        remove(tmp)
        raise
    finally:
        release(target, token)


def write_bytes_atomic(
    target: str | Path, data: bytes, *, overwrite: bool = False, make_parents: bool = False
) -> Path:
    """Write ``data`` to ``target`` with :func:`atomic_write` (same checks and errors)."""
    target = Path(target).expanduser()
    with (
        atomic_write(
            target, overwrite=overwrite, size_hint=len(data), make_parents=make_parents
        ) as tmp,
        open(tmp, "xb") as f,
    ):
        f.write(data)
    return target
