"""Jobs and events of a many-file run, and one file's prediction (:func:`predict_file_iter`).

Qt-free. :func:`napari_n2v.batch.run.predict_files` is a generator of small events (:class:`FileEvent` when a file starts and
ends, :class:`TileEvent` as its tiles or blocks finish) that returns a :class:`BatchSummary`; it takes a
``cancel`` flag checked between tiles. The CLI drains it with a progress bar; the Predict widget's Files
mode runs it in a worker. With ``client=`` (a ``distributed.Client``: :func:`open_client`) files become
tasks and a large zarr becomes blocks with a halo, written by the workers (:mod:`napari_n2v.batch.cluster`).

A file that fails is reported (one line) and the others go on; an existing output is skipped unless
``overwrite`` (a zarr store without its completion marker is redone); outputs are
``<stem>_n2v<suffix>`` with the input's axes and pixel size, each written completely or not at all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from napari_n2v.core.errors import N2VError
from napari_n2v.core.io.file_list import expand_inputs, output_paths
from napari_n2v.core.io.outputs import check_folder

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.core.config import PredictConfig
    from napari_n2v.core.model.denoiser import Denoiser


@dataclass(frozen=True)
class Job:
    """One input and where its result goes."""

    src: Path
    out: Path


@dataclass(frozen=True)
class FileEvent:
    """A file started (``status="started"``) or ended: ``ok``, ``skipped``, ``failed`` (``message``
    says why, one line) or ``cancelled``. ``index`` counts from 0 over ``total`` jobs."""

    index: int
    total: int
    job: Job
    status: str
    message: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class TileEvent:
    """Progress inside file ``index``: ``done`` of ``total`` tiles (blocks on a cluster)."""

    index: int
    done: int
    total: int


@dataclass
class BatchSummary:
    ok: list[Job] = field(default_factory=list)
    skipped: list[Job] = field(default_factory=list)
    failed: list[tuple[Job, str]] = field(default_factory=list)
    cancelled: bool = False

    @property
    def exit_code(self) -> int:
        """0 when nothing failed (skipped files are fine), 1 when some failed."""
        return 1 if self.failed else 0

    def describe(self) -> str:
        parts = [f"{len(self.ok)} denoised", f"{len(self.skipped)} skipped (exist; --overwrite)"]
        parts.append(f"{len(self.failed)} failed")
        return ", ".join(parts) + (", cancelled" if self.cancelled else "")


#: The ``started`` event's message for an output an interrupted run left incomplete (redone).
REDO = "an interrupted run left it incomplete: predicting it again"


def plan_jobs(inputs: Sequence[str | Path], out_dir: str | Path) -> list[Job]:
    """Expand files/folders/globs and name their outputs in ``out_dir`` (created if its parent exists)."""
    srcs = expand_inputs(inputs)
    out_dir = Path(out_dir)
    if not out_dir.exists():
        if not out_dir.parent.exists():
            raise N2VError(
                f"the folder {out_dir.parent} does not exist: give an existing --out-dir."
            )
    elif not out_dir.is_dir():
        raise N2VError(f"--out-dir {out_dir} is a file, not a folder.")
    check_folder(out_dir)  # writable: found before any work, not after the first file
    out_dir.mkdir(exist_ok=True)
    outs = output_paths(srcs, out_dir)
    clash = [s for s, o in zip(srcs, outs, strict=True) if s.resolve() == o.resolve()]
    if clash:
        raise N2VError(
            f"{clash[0]} would be overwritten by its own result: choose another --out-dir."
        )
    return [Job(s, o) for s, o in zip(srcs, outs, strict=True)]


def as_cancel(cancel: Callable[[], bool] | threading.Event | None) -> Callable[[], bool]:
    """A ``threading.Event``, a callable or None -> a callable that says whether to stop."""
    if cancel is None:
        return lambda: False
    if isinstance(cancel, threading.Event):
        return cancel.is_set
    return cancel


def one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if isinstance(err, N2VError) else f"{type(err).__name__}: {text}"


def predict_file_iter(
    model: Denoiser, job: Job, axes: str | None, config: PredictConfig, overwrite: bool = False
) -> Generator[tuple[int, int], None, None]:
    """Denoise one file into ``job.out``; yields (tiles done, total). The output is written beside
    its target (zarr streamed tile by tile; TIFF at the end) and moved into place when complete
    (:func:`napari_n2v.core.io.outputs.image_output`): an interrupted or failed file leaves nothing,
    an existing one is replaced only with ``overwrite``. Raises N2VError for anything the user can
    fix."""
    from napari_n2v.core.io.image_io import axes_hint, read_image
    from napari_n2v.core.io.outputs import image_output
    from napari_n2v.core.layout import Layout
    from napari_n2v.core.predict.prediction import predict_iter

    image = read_image(job.src, axes, model_axes=model.axes, model_3d=model.is_3d)
    try:
        Layout.create(image.axes, image.data.shape, model.is_3d)
    except N2VError as err:
        raise N2VError(f"{err} {axes_hint(image)}") from err
    n_sp = 3 if model.is_3d else 2
    with image_output(
        job.out,
        image.data.shape,
        image.axes,
        scale=image.scale,
        unit=image.unit,
        overwrite=overwrite,
        n_spatial=n_sp,
    ) as sink:
        gen = predict_iter(model, image.data, image.axes, config, out=sink.array)
        while True:
            try:
                ev = next(gen)
            except StopIteration as stop:
                result = stop.value
                break
            yield ev.done, ev.total
        if sink.array is None:
            sink.write(result)
