"""The one worker path of the widgets and the export dialog: a superqt generator worker that calls a run
model's handlers (:class:`napari_n2v.run_models.jobs.Handlers`) on the main thread."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from napari.utils.notifications import show_error
from superqt.utils import GeneratorWorker, create_worker

from napari_n2v.run_models.jobs import Handlers


def _run(gen: Generator[Any, None, Any]) -> Generator[Any, None, Any]:
    return (yield from gen)


def start_worker(gen: Generator[Any, None, Any], handlers: Handlers) -> GeneratorWorker:
    """Run ``gen`` in Qt's global thread pool (a launcher for the run models)."""
    # An "errored" slot also stops superqt from re-raising the error in the main thread.
    return create_worker(
        _run,
        gen,
        _start_thread=True,
        _connect={
            "yielded": handlers.event,
            "returned": handlers.returned,
            "errored": handlers.errored,
            "warned": lambda args: handlers.warned(str(args[0])),
            "finished": handlers.finished,
        },
    )


def notify_error(message: str) -> None:
    """The one way an error reaches the user: a napari notification with the engine's message."""
    show_error(message)
