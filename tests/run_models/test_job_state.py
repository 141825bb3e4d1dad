"""The run models' job kernel (:class:`JobRun`) without Qt: states, the five handlers, cancel, shutdown."""

from __future__ import annotations

import warnings

import pytest

from napari_n2v.run_models.job_state import JobRun, JobState
from napari_n2v.run_models.jobs import Handlers, run_sync


class Echo(JobRun):
    """The smallest run model: records what its job yields and returns."""

    what = "Echo"

    def __init__(self, launcher=run_sync) -> None:
        super().__init__(launcher)
        self.events: list[object] = []
        self.results: list[object] = []

    def start(self, gen) -> bool:
        return self._launch(gen)

    def _on_event(self, event) -> None:
        self.events.append(event)

    def _on_returned(self, result) -> None:
        self.results.append(result)


class HeldJob:
    """A job that runs only when the test says so (as a thread worker would, later)."""

    def __init__(self, gen, handlers: Handlers) -> None:
        self.gen, self.handlers = gen, handlers
        self.is_running, self.quit_asked = True, False

    def quit(self) -> None:
        self.quit_asked = True

    def finish(self) -> None:
        """Run to the end like :func:`run_sync` (or, after ``quit``, end as a quit worker does:
        no return value, then ``finished``)."""
        self.is_running = False
        if self.quit_asked:
            self.gen.close()
            self.handlers.finished()
        else:
            run_sync(self.gen, self.handlers)


class Held:
    """A launcher that holds each job (:class:`HeldJob`) until the test finishes it."""

    def __init__(self) -> None:
        self.jobs: list[HeldJob] = []

    def __call__(self, gen, handlers: Handlers) -> HeldJob:
        self.jobs.append(HeldJob(gen, handlers))
        return self.jobs[-1]


def counting(n: int, result: str = "done"):
    yield from range(n)
    return result


def _states(run: JobRun) -> list[JobState]:
    got: list[JobState] = []
    run.state_changed.connect(got.append)
    return got


def test_a_job_runs_once_at_a_time_and_ends_done() -> None:
    launcher = Held()
    run = Echo(launcher)
    states = _states(run)
    assert run.state is JobState.IDLE and not run.running
    assert run.start(counting(3))
    assert run.running and run.job is launcher.jobs[0]
    assert not run.start(counting(1)) and len(launcher.jobs) == 1  # one job at a time
    launcher.jobs[0].finish()
    assert states == [JobState.RUNNING, JobState.DONE] and run.job is None
    assert run.events == [0, 1, 2] and run.results == ["done"]
    assert run.start(counting(1)) and len(launcher.jobs) == 2  # and again once it ended


def test_an_error_is_one_message_and_the_job_ends_failed() -> None:
    def boom():
        yield 1
        raise RuntimeError("out of memory (simulated)")

    run = Echo()
    failed: list[str] = []
    run.failed.connect(failed.append)
    states = _states(run)
    assert run.start(boom())
    assert failed == [
        "Echo failed: RuntimeError: out of memory (simulated) "
        "Use a smaller batch size, patch or tile."
    ]
    assert run.error == failed[0] and states == [JobState.RUNNING, JobState.FAILED]
    assert not run.results


def test_cancel_quits_the_job_and_it_ends_cancelled() -> None:
    launcher = Held()
    run = Echo(launcher)
    run.cancel()  # nothing runs: nothing happens
    assert not run.cancel_requested
    run.start(counting(5))
    run.cancel()
    job = launcher.jobs[0]
    assert job.quit_asked and run.cancel_requested
    job.finish()
    assert run.state is JobState.CANCELLED and not run.results
    run.start(counting(1))  # a new job starts afresh
    assert not run.cancel_requested


def test_each_warning_text_once_per_run() -> None:
    def warns():
        for text in ("a", "b", "a", "a"):
            warnings.warn(text, UserWarning, stacklevel=1)
            yield text
        return None

    run = Echo()
    got: list[str] = []
    run.warned.connect(got.append)
    run.start(warns())
    assert got == ["a", "b"]
    run.start(warns())
    assert got == ["a", "b", "a", "b"]


@pytest.mark.parametrize("ends", [True, False])
def test_shutdown_quits_and_waits_for_the_job(ends: bool) -> None:
    launcher = Held()
    run = Echo(launcher)
    assert run.shutdown()  # nothing runs
    run.start(counting(3))
    job = launcher.jobs[0]
    if ends:  # the worker thread ends at its next yield once asked to quit
        job.quit = lambda: setattr(job, "is_running", False)
    assert run.shutdown(timeout_s=0.05) is ends
    assert run.state is JobState.CANCELLED and run.job is None
    states = _states(run)
    job.quit_asked = False
    job.finish()  # what the job delivers after the shutdown is not heard
    assert not states and not run.events and not run.results
