"""The zoo export's state without Qt: writing a BioImage Model Zoo package (predict the test data, trace
TorchScript, validate) as a job on the run models' kernel, so the dialog stays responsive.

Usage (the dialog passes :func:`napari_n2v._qt.worker.start_worker` as the launcher)::

    run = ExportRun(launcher=run_sync)
    run.failed.connect(print)
    run.start(model, "nuclei.zip", name="Nuclei N2V", description="", authors="Ada Lovelace",
              sample=image, sample_axes="YX")
    run.path  # the package written, or None
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psygnal import Signal

from napari_n2v.run_models.job_state import JobRun, JobState
from napari_n2v.run_models.jobs import Launcher, run_sync

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.core.model.n2v_model import N2VModel

#: What the job says while it writes the package (it cannot report finer steps).
WRITING = "Writing the package: test data, TorchScript, validation…"


@dataclass(frozen=True)
class ExportStage:
    """The job has begun a stage (``message``: a line for the user)."""

    message: str


def zip_path(path: str | Path) -> Path:
    """``path`` ending in ``.zip`` (added when missing), with ``~`` expanded."""
    path = Path(path).expanduser()
    return path if path.suffix.lower() == ".zip" else path.with_name(path.name + ".zip")


class ExportRun(JobRun):
    """Export one model as a zoo package, in a job.

    Signals
    -------
    state_changed(JobState), failed(str), warned(str)
        As for every run model; ``failed`` carries the engine's message (e.g. a missing author).
    stage(str)
        What the job is doing now.
    exported(Path)
        The package was written (validated) at this path.

    Cancel takes effect before the package is written; once writing began it completes (the
    package is written beside its target and moved into place, so it is never half there).
    """

    stage = Signal(str)
    exported = Signal(object)

    what = "Export"

    def __init__(self, launcher: Launcher = run_sync) -> None:
        super().__init__(launcher)
        self.path: Path | None = None
        self._cancel = threading.Event()

    def start(
        self,
        model: N2VModel,
        path: str | Path,
        *,
        name: str,
        description: str,
        authors: str,
        sample: Any,
        sample_axes: str | None,
        overwrite: bool = False,
    ) -> bool:
        """Write ``model`` to ``path`` (``.zip`` added when missing); an existing file is replaced
        only with ``overwrite``. False if it did not start (``failed`` says why)."""
        if self.running:
            return False
        target = zip_path(path)
        if target.exists() and not overwrite:
            return self._refuse(f"{target} already exists: choose another name, or replace it.")
        from napari_n2v.core.zoo.api import export_bioimageio

        write = partial(
            export_bioimageio,
            model,
            target,
            name=name,
            description=description,
            authors=authors,
            sample=sample,
            sample_axes=sample_axes,
            overwrite=overwrite,
        )
        self.path, self._cancel = None, threading.Event()
        return self._launch(_export(write, self._cancel))

    # --- the kernel's hooks --------------------------------------------------------------------------
    def _request_cancel(self) -> None:
        self._cancel.set()

    def _on_event(self, event: Any) -> None:
        if isinstance(event, ExportStage):
            self.stage.emit(event.message)

    def _on_returned(self, path: Path | None) -> None:
        if path is not None:
            self.path = path
            self.exported.emit(path)

    def _outcome(self) -> JobState:
        if self.error is None and self.path is not None:
            return JobState.DONE  # a cancel that came once writing began: the package is there
        return super()._outcome()


def _export(
    write: Callable[[], Path], cancel: threading.Event
) -> Generator[ExportStage, None, Path | None]:
    """``write()`` (the engine's export) as a job; None when cancelled before it began."""
    yield ExportStage(WRITING)
    if cancel.is_set():
        return None
    return write()
