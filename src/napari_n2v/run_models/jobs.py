"""Jobs: an engine generator run by a *launcher*, with the same five callbacks in the GUI and in tests.

A run model never knows how its job runs. The widgets pass :func:`napari_n2v._qt.worker.start_worker` (a
superqt thread worker); tests and scripts use :func:`run_sync`, which drains the generator with the
engine's one drain helper (:func:`napari_n2v.core.progress.drain`) on the calling thread.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Protocol

from napari_n2v.core.errors import N2VError
from napari_n2v.core.progress import drain


@dataclass(frozen=True)
class Handlers:
    """What a launcher calls, on the main thread: each event, the return value (not after a quit), an
    error (once), each warning's text, and ``finished`` last, whatever happened."""

    event: Callable[[Any], None]
    returned: Callable[[Any], None]
    errored: Callable[[BaseException], None]
    warned: Callable[[str], None]
    finished: Callable[[], None]


class Job(Protocol):
    """A started job: ``quit()`` ends it at the next ``yield``."""

    @property
    def is_running(self) -> bool: ...

    def quit(self) -> None: ...


Launcher = Callable[[Generator[Any, None, Any], Handlers], Job]


class _DoneJob:
    is_running = False

    def quit(self) -> None:
        pass


def run_sync(gen: Generator[Any, None, Any], handlers: Handlers) -> Job:
    """Launcher that runs ``gen`` to its end here and now (tests, scripts)."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = drain(gen, handlers.event)
    except Exception as err:  # every error reaches the user, once
        handlers.errored(err)
    else:
        for w in caught:
            handlers.warned(str(w.message))
        handlers.returned(result)
    handlers.finished()
    return _DoneJob()


def disconnect_all(*models: object) -> None:
    """Disconnect every listener of the run models' signals (their widget is going away)."""
    from psygnal import SignalInstance

    for model in models:
        for name in dir(type(model)):
            sig = getattr(model, name, None)
            if isinstance(sig, SignalInstance):
                sig.disconnect()


def error_message(exc: BaseException, what: str) -> str:
    """The one sentence shown for an error that ended a job: the engine's own message for an
    :class:`N2VError`, else ``'<what> failed: …'`` (with advice for running out of memory)."""
    if isinstance(exc, N2VError):
        return str(exc)
    cause = exc.__cause__ if isinstance(exc, JobFailed) and exc.__cause__ is not None else exc
    text = f"{what} failed: {type(cause).__name__}: {cause}"
    if "out of memory" in str(cause).lower():
        text += " Use a smaller batch size, patch or tile."
    return text


class JobFailed(Exception):
    """A RuntimeError raised inside a job, re-raised under another type: superqt takes a RuntimeError
    escaping a generator for "the worker was deleted" and drops it silently."""


def guarded(gen: Generator[Any, None, Any]) -> Generator[Any, None, Any]:
    """``gen`` with a RuntimeError re-raised as :class:`JobFailed` (see there)."""
    try:
        return (yield from gen)
    except RuntimeError as err:
        raise JobFailed(str(err)) from err


def format_eta(seconds: float | None) -> str:
    """``'0:12'``, ``'1:05'``, ``'1:02:03'``, or ``'…'`` when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "…"
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
