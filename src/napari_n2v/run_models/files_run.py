"""The Predict widget's Files… mode without Qt: many image files in, results written to a folder.

It wraps :func:`napari_n2v.batch.run.predict_files` (this process, or a dask cluster by address) and turns its
events into signals; a file that fails is reported and the others go on; Cancel is cooperative (the file
being written is removed, the rest are not started).

Usage::

    run = FilesRun(launcher=run_sync)
    run.file_done.connect(lambda ev: print(ev.job.src, ev.status, ev.message))
    run.start(model, ["night1/"], "night1_n2v/", PredictConfig())
    run.summary  # a BatchSummary: ok, skipped, failed, cancelled
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psygnal import Signal

from napari_n2v.core.errors import N2VError
from napari_n2v.run_models.job_state import JobRun
from napari_n2v.run_models.jobs import Launcher, run_sync

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.batch.jobs import BatchSummary, Job
    from napari_n2v.core.config import PredictConfig
    from napari_n2v.core.model.n2v_model import N2VModel


class FilesRun(JobRun):
    """Plan, start and cancel the prediction of many files.

    Signals
    -------
    state_changed(JobState)
        Running started or ended.
    file_started(FileEvent), file_done(FileEvent)
        A file began; a file ended (``status``: ``ok``, ``skipped``, ``failed`` with ``message``,
        ``cancelled``).
    tile(TileEvent)
        Tiles (blocks on a cluster) done of the current file.
    warned(str)
        A Python warning from the job, each text once per run.
    failed(str)
        The one message for an error that stopped the whole run (bad input, unreachable cluster).
    ended(str)
        The summary line, e.g. ``'3 denoised, 1 skipped (result exists), 0 failed'``.
    """

    file_started = Signal(object)
    file_done = Signal(object)
    tile = Signal(object)
    ended = Signal(str)

    what = "Prediction"

    def __init__(self, launcher: Launcher = run_sync) -> None:
        super().__init__(launcher)
        self.summary: BatchSummary | None = None
        self.total = 0
        self._cancel = threading.Event()

    def plan(self, inputs: Sequence[str | Path], out_dir: str | Path) -> list[Job]:
        """The jobs (input -> output) for ``inputs`` (files, folders, globs) into ``out_dir``.

        Raises N2VError naming what to change (no inputs, no output folder, an input that gives
        nothing, two outputs with one name)."""
        from napari_n2v.batch.jobs import plan_jobs

        if not inputs:
            raise N2VError("Add input files or a folder (Add files… / Add folder…).")
        if not str(out_dir).strip():
            raise N2VError("Choose an output folder for the results.")
        return plan_jobs([str(p) for p in inputs], Path(str(out_dir)).expanduser())

    def start(
        self,
        model: N2VModel | None,
        inputs: Sequence[str | Path],
        out_dir: str | Path,
        config: PredictConfig,
        *,
        cluster: str = "",
        overwrite: bool = False,
    ) -> bool:
        """Denoise ``inputs`` into ``out_dir``; ``cluster``: a scheduler address (``tcp://host:8786``)
        or ``local:N``, empty for this process. False if it did not start (``failed`` says why)."""
        if self.running or model is None:
            return False
        try:
            jobs = self.plan(inputs, out_dir)
        except N2VError as err:
            return self._refuse(str(err))
        self.summary, self.total = None, len(jobs)
        self._cancel = threading.Event()
        return self._launch(_predict(model, jobs, config, cluster.strip(), overwrite, self._cancel))

    # --- the kernel's hooks --------------------------------------------------------------------------
    def _request_cancel(self) -> None:
        """Stop at the next tile: the file being written is removed, the others are not started."""
        self._cancel.set()

    def _on_event(self, event: Any) -> None:
        from napari_n2v.batch.jobs import FileEvent, TileEvent

        if isinstance(event, TileEvent):
            self.tile.emit(event)
        elif isinstance(event, FileEvent):
            (self.file_started if event.status == "started" else self.file_done).emit(event)

    def _on_returned(self, summary: BatchSummary) -> None:
        self.summary = summary
        self.ended.emit(describe(summary))


def _predict(
    model: N2VModel,
    jobs: list[Job],
    config: PredictConfig,
    cluster: str,
    overwrite: bool,
    cancel: threading.Event,
) -> Generator[Any, None, BatchSummary]:
    """:func:`napari_n2v.batch.run.predict_files`, on a cluster opened (and closed) here when given."""
    from napari_n2v.batch.run import open_client, predict_files

    client, close = None, None
    if cluster:
        local = cluster.startswith("local:")
        client, close = open_client(
            cluster=cluster if local else None, scheduler=None if local else cluster
        )
    try:
        return (
            yield from predict_files(
                model, jobs, config=config, overwrite=overwrite, cancel=cancel, client=client
            )
        )
    finally:
        if close is not None:
            close()


def describe(summary: BatchSummary) -> str:
    """``'3 denoised, 1 skipped (result exists), 0 failed'`` (``, cancelled`` when it was)."""
    parts = [f"{len(summary.ok)} denoised"]
    if summary.skipped:
        parts.append(f"{len(summary.skipped)} skipped (result exists)")
    parts.append(f"{len(summary.failed)} failed")
    return ", ".join(parts) + (", cancelled" if summary.cancelled else "")
