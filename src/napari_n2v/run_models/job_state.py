"""The one job kernel of the run models: a job started on a launcher, its five handlers, cancel, and an
evented state (idle -> running -> done | failed | cancelled).

Each run model (Train, Predict, Files…, zoo export) subclasses :class:`JobRun`: it builds the engine
generator, calls :meth:`JobRun._launch` and overrides the hooks it needs; starting, the handlers'
bookkeeping, the error message, warnings (each text once per run), cancel and shutdown live here once.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Generator
from typing import Any

from psygnal import Signal

from napari_n2v.run_models.jobs import Handlers, Job, Launcher, error_message, guarded, run_sync


class JobState(str, enum.Enum):
    """Where a run model's job stands; the last three say how the last job ended."""

    IDLE = "idle"  # nothing was started yet
    RUNNING = "running"  # started (by the launcher, or being started) and not finished
    DONE = "done"  # ran to its end
    FAILED = "failed"  # ended by an error (``failed`` said which)
    CANCELLED = "cancelled"  # ended early because :meth:`JobRun.cancel` asked it to


class JobRun:
    """Base of the run models: at most one job at a time, run by ``launcher``.

    Signals (emitted on the thread that calls the launcher's handlers: the main thread)
    -----------------------------------------------------------------------------------
    state_changed(JobState)
        The job started or ended; :attr:`state` says how.
    warned(str)
        A Python warning from the job, each text once per run.
    failed(str)
        The one message for an error (refused before starting, or ended the job); shown once.

    Hooks for subclasses: :meth:`_on_event`, :meth:`_on_returned`, :meth:`_on_errored` (after
    ``failed``), :meth:`_request_cancel`, :meth:`_cleanup` (the job is over, before the state
    changes), :meth:`_outcome` and :meth:`_on_ended` (after the state changed).
    """

    state_changed = Signal(object)
    warned = Signal(str)
    failed = Signal(str)

    #: The subject of a generic error message: ``'<what> failed: …'``.
    what = "The job"

    def __init__(self, launcher: Launcher = run_sync) -> None:
        self.launcher = launcher
        self.job: Job | None = None
        self.state = JobState.IDLE
        self.cancel_requested = False
        self.error: str | None = None  # the message of the error that ended the last job
        self._seen: set[str] = set()  # texts shown once per run
        self._live: object = None  # the job whose handlers are heard (None: none)

    @property
    def running(self) -> bool:
        """Whether a job was started and has not finished."""
        return self.state is JobState.RUNNING

    # --- actions -------------------------------------------------------------------------------------
    def cancel(self) -> None:
        """Ask the running job to end early (see :meth:`_request_cancel`); nothing when none runs."""
        if self.running:
            self.cancel_requested = True
            self._request_cancel()

    def shutdown(self, timeout_s: float = 30.0) -> bool:
        """Cancel the job, end it at its next ``yield`` and wait for it; True if it ended in time.

        The run is over when this returns (``cancelled``): what the job's handlers would still
        deliver later (its owner is going away) is ignored."""
        job = self.job
        self.cancel()
        if job is None:
            return True
        job.quit()
        deadline = time.monotonic() + timeout_s
        while job.is_running and time.monotonic() < deadline:
            time.sleep(0.01)  # no event processing: we may be inside a Qt destroyed handler
        if self.running:
            self._done()
        return not job.is_running

    # --- for subclasses ------------------------------------------------------------------------------
    def _launch(self, gen: Generator[Any, None, Any]) -> bool:
        """Run ``gen`` on the launcher with this run's handlers; False if a job runs already."""
        if self.running:
            return False
        self.cancel_requested, self.error, self._seen = False, None, set()
        self.job = self._live = live = _Pending()
        self._set_state(JobState.RUNNING)

        def only_live(handler: Callable[..., None]) -> Callable[..., None]:
            """``handler``, ignored once this job is over (e.g. a late call after a shutdown)."""
            return lambda *args: handler(*args) if self._live is live else None

        handlers = Handlers(
            only_live(self._on_event),
            only_live(self._on_returned),
            only_live(self._errored),
            only_live(self._warned),
            only_live(self._done),
        )
        job = self.launcher(guarded(gen), handlers)
        if self._live is live:  # else a synchronous launcher has finished it already
            self.job = job
        return True

    def _refuse(self, message: str) -> bool:
        """Say why a job cannot start (no state change); returns False for ``start`` to return."""
        self.failed.emit(message)
        return False

    def _once(self, text: str) -> bool:
        """True the first time ``text`` is seen in this run."""
        if text in self._seen:
            return False
        self._seen.add(text)
        return True

    def _on_event(self, event: Any) -> None:
        """An event the job yielded."""

    def _on_returned(self, result: Any) -> None:
        """The job's return value (not after a job was quit)."""

    def _on_errored(self, exc: BaseException) -> None:
        """After ``failed`` was emitted for ``exc``."""

    def _request_cancel(self) -> None:
        """How :meth:`cancel` reaches the job: by default it quits at its next ``yield``."""
        if self.job is not None:
            self.job.quit()

    def _cleanup(self) -> None:
        """The job is over; called before the state changes."""

    def _outcome(self) -> JobState:
        """How the job ended: failed on an error, else cancelled when asked, else done."""
        if self.error is not None:
            return JobState.FAILED
        return JobState.CANCELLED if self.cancel_requested else JobState.DONE

    def _on_ended(self) -> None:
        """After the state changed at the end of a job."""

    # --- the launcher's handlers ---------------------------------------------------------------------
    def _set_state(self, state: JobState) -> None:
        self.state = state
        self.state_changed.emit(state)

    def _errored(self, exc: BaseException) -> None:
        self.error = error_message(exc, self.what)
        self.failed.emit(self.error)
        self._on_errored(exc)

    def _warned(self, message: str) -> None:
        if self._once(message):  # a warning inside a loop would repeat every step or tile
            self.warned.emit(message)

    def _done(self) -> None:
        self.job, self._live = None, None
        self._cleanup()
        self._set_state(self._outcome())
        self._on_ended()


class _Pending:
    """Stands for the job while the launcher is starting it."""

    is_running = True

    def quit(self) -> None:
        pass
