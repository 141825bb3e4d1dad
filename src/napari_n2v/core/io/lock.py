"""The files beside an output while it is written: the exclusive lock ``<target>.lock``, the
temporary names, and the clean-up of what killed writers left behind.

The lock file is created with ``O_CREAT | O_EXCL`` and holds the writer's pid, host, process start
time (Linux) and a token. A lock whose process is gone (killed, e.g. with SIGKILL) is stale: the next
writer takes it over, with a note, and removes that run's temporaries. A lock from another host
cannot be checked and counts as live. Writing itself is :mod:`.atomic`'s job.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import N2VError

LOCK_SUFFIX = ".lock"
#: A lock file with no readable content yet (its writer may be between creating and filling it)
#: counts as live for this long (seconds).
UNREADABLE_LOCK_S = 10.0
#: A takeover guard older than this (seconds) belongs to a takeover that itself died.
STALE_GUARD_S = 60.0
Note = Callable[[str], None]
_log = logging.getLogger(__name__)


def lock_path(target: Path) -> Path:
    """``<target>.lock``, beside the target."""
    return target.with_name(target.name + LOCK_SUFFIX)


def partial_path(target: Path, pid: int | None = None) -> Path:
    """``<dir>/.<name>.partial-<pid>``: where ``target`` is written before it is complete."""
    return target.with_name(f".{target.name}.partial-{os.getpid() if pid is None else pid}")


def old_path(target: Path) -> Path:
    """``<dir>/.<name>.old-<pid>``: an overwritten folder, set aside during the swap."""
    return target.with_name(f".{target.name}.old-{os.getpid()}")


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state letter, start time) of a Linux process from /proc, or None (no such file)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], fields[19]


def pid_alive(pid: int, start: str | None = None) -> bool:
    """Whether process ``pid`` of this host runs (and, given its ``start`` time, is that process and
    not a later one that reused the pid). A zombie counts as gone."""
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there
        try:
            import psutil
        except ImportError:
            return True
        return bool(psutil.pid_exists(pid))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    stat = _proc_stat(pid)
    if stat is None:
        return True  # not Linux (or no /proc): the pid exists
    state, started = stat
    return state != "Z" and (start is None or start == started)


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _holder(lock: Path, text: str) -> tuple[dict[str, Any], bool]:
    """The lock's content and whether the run that holds it is still alive."""
    try:
        info = json.loads(text)
        pid = int(info["pid"])
    except (ValueError, KeyError, TypeError):
        try:
            fresh = time.time() - lock.stat().st_mtime < UNREADABLE_LOCK_S
        except OSError:
            fresh = False
        return {}, fresh
    if info.get("host") != socket.gethostname():
        return info, True
    return info, pid_alive(pid, info.get("start"))


def _busy(target: Path, info: dict[str, Any]) -> N2VError:
    host = info.get("host")
    where = f" on {host}" if host and host != socket.gethostname() else ""
    return N2VError(
        f"another run is writing {target} (pid {info.get('pid', '?')}{where}); wait for it or "
        f"choose another output (if no run is, delete {lock_path(target)})"
    )


def check_lock(target: Path) -> None:
    """Raise the one-line N2VError when a live run holds ``target``'s lock (a stale one is fine)."""
    lock = lock_path(target)
    text = _read(lock)
    if text is not None:
        held, alive = _holder(lock, text)
        if alive:
            raise _busy(target, held)


def _take_over(lock: Path, stale: str, say: Note) -> None:
    """Remove a stale lock, unless another process is taking it over too (a guard file decides)."""
    guard = lock.with_name(lock.name + ".takeover")
    try:
        os.close(os.open(guard, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        try:
            if time.time() - guard.stat().st_mtime > STALE_GUARD_S:
                guard.unlink()
        except OSError:
            pass
        return
    try:
        if _read(lock) == stale:  # still the dead run's lock, not a fresh one of a live run
            lock.unlink()
            info, _ = _holder(lock, stale)
            say(
                f"took over {lock} from a run that ended without cleaning up (pid {info.get('pid')})"
            )
    finally:
        guard.unlink(missing_ok=True)


def acquire(target: Path, say: Note) -> str:
    """Create ``target``'s lock exclusively (taking over a stale one); returns the token that
    proves it is ours. A live run's lock: the one-line N2VError "another run is writing ...".
    OSErrors (e.g. a read-only folder) propagate."""
    lock = lock_path(target)
    pid = os.getpid()
    stat = _proc_stat(pid)
    token = uuid.uuid4().hex
    info = {"pid": pid, "host": socket.gethostname(), "start": stat and stat[1], "token": token}
    for _ in range(50):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            text = _read(lock)
            if text is None:
                continue  # released meanwhile
            held, alive = _holder(lock, text)
            if alive:
                raise _busy(target, held) from None
            _take_over(lock, text, say)
            time.sleep(0.02)
            continue
        with os.fdopen(fd, "w") as f:
            json.dump(info, f)
        return token
    raise _busy(target, {})


def release(target: Path, token: str) -> None:
    """Remove ``target``'s lock if it is still the one ``token`` came from."""
    lock = lock_path(target)
    text = _read(lock)
    if text is not None and token in text:
        lock.unlink(missing_ok=True)


# --- what dead writers left -----------------------------------------------------------------------
def remove(path: Path, tries: int = 10) -> None:
    """Delete a file or folder. A folder is retried a few times: zarr 3 writes chunks from its own IO
    thread, so a write in flight when Ctrl-C arrives can land after the first sweep."""
    if not (path.is_dir() and not path.is_symlink()):
        path.unlink(missing_ok=True)
        return
    for _ in range(tries):
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.lexists(path):
            return
        time.sleep(0.05)


def _leftovers(target: Path) -> list[Path]:
    marks = (f".{target.name}.partial-", f".{target.name}.old-")
    try:
        names = os.listdir(target.parent)
    except OSError:
        return []
    return [
        target.parent / n
        for n in names
        if any(n.startswith(m) and n[len(m) :].isdigit() for m in marks)
    ]


def clear_leftovers(target: Path, say: Note) -> list[Path]:
    """Remove what dead writers of ``target`` left (call only while holding its lock); an old folder
    set aside by an overwrite that died before the new one was in place is restored."""
    found = _leftovers(target)
    for p in found:
        if ".old-" in p.name and not os.path.lexists(target):
            os.replace(p, target)
            say(f"restored {target} from an overwrite that was interrupted")
        else:
            remove(p)
    return found


def cleanup_stale(directory: str | Path, *, note: Note | None = None) -> list[Path]:
    """Remove the temporaries and locks that killed runs left in ``directory`` (never those of a
    run still alive); returns what was found."""
    say = note or _log.warning
    folder = Path(directory)
    names = {n[: -len(LOCK_SUFFIX)] for n in os.listdir(folder) if n.endswith(LOCK_SUFFIX)}
    for n in os.listdir(folder):
        if n.startswith(".") and (".partial-" in n or ".old-" in n):
            names.add(n[1:].rsplit(".partial-" if ".partial-" in n else ".old-", 1)[0])
    found: list[Path] = []
    for name in sorted(names):
        target = folder / name
        try:
            token = acquire(target, say)
        except N2VError:
            continue  # a live run's files
        try:
            found += clear_leftovers(target, say)
        finally:
            release(target, token)
    return found
