"""Many files and big arrays: predict folders and globs in this process or on a dask.distributed cluster.

Qt-free. :func:`predict_files` is a generator of small events (:class:`FileEvent` when a file starts and
ends, :class:`TileEvent` as its tiles or blocks finish) that returns a :class:`BatchSummary`; it takes a
``cancel`` flag checked between tiles. The CLI drains it with a progress bar; the Predict widget's Files
mode runs it in a worker. With ``client=`` (a ``distributed.Client``: :func:`open_client`) files become
tasks and a large zarr becomes blocks with a halo, written by the workers (:mod:`napari_n2v.batch_cluster`).

A file that fails is reported (one line) and the others go on; an existing output is skipped unless
``overwrite``; outputs are ``<stem>_n2v<suffix>`` with the input's axes and pixel size.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from napari_n2v.core.errors import N2VError
from napari_n2v.core.file_list import expand_inputs, is_zarr, output_paths


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


def plan_jobs(inputs: Sequence[str | Path], out_dir: str | Path) -> list[Job]:
    """Expand files/folders/globs and name their outputs in ``out_dir`` (created if its parent exists)."""
    srcs = expand_inputs(inputs)
    out_dir = Path(out_dir)
    if not out_dir.exists():
        if not out_dir.parent.exists():
            raise N2VError(
                f"the folder {out_dir.parent} does not exist: give an existing --out-dir."
            )
        out_dir.mkdir()
    elif not out_dir.is_dir():
        raise N2VError(f"--out-dir {out_dir} is a file, not a folder.")
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


def remove_output(path: Path) -> None:
    from napari_n2v.core.lazy_io import remove_store

    if path.is_dir():
        remove_store(path)
    elif path.exists():
        path.unlink()


def predict_file_iter(
    model: Any, job: Job, axes: str | None, config: Any
) -> Generator[tuple[int, int], None, None]:
    """Denoise one file into ``job.out`` (zarr streamed tile by tile; TIFF written when complete);
    yields (tiles done, total). Raises N2VError for anything the user can fix."""
    from napari_n2v.core.image_io import axes_hint, read_image, tag_zarr, write_image
    from napari_n2v.core.layout import Layout
    from napari_n2v.core.lazy_io import create_zarr_like
    from napari_n2v.core.prediction import predict_iter

    image = read_image(job.src, axes, model_axes=model.axes, model_3d=model.is_3d)
    try:
        Layout.create(image.axes, image.data.shape, model.is_3d)
    except N2VError as err:
        raise N2VError(f"{err} {axes_hint(image)}") from err
    target = None
    if job.out.suffix == ".zarr":
        n_sp = 3 if model.is_3d else 2
        target = create_zarr_like(job.out, image.data.shape, n_spatial=n_sp, overwrite=True)
        tag_zarr(target, image.axes, image.scale, image.unit)
    gen = predict_iter(model, image.data, image.axes, config, out=target)
    while True:
        try:
            ev = next(gen)
        except StopIteration as stop:
            result = stop.value
            break
        yield ev.done, ev.total
    if target is None:  # write beside, then rename: a crash never leaves a half-written TIFF
        part = job.out.with_name(f".{job.out.stem}.partial{job.out.suffix}")
        try:
            write_image(part, result, image.axes, scale=image.scale, unit=image.unit)
            os.replace(part, job.out)
        finally:
            part.unlink(missing_ok=True)


def predict_files(
    model: Any,
    jobs: Sequence[Job],
    *,
    axes: str | None = None,
    config: Any = None,
    overwrite: bool = False,
    cancel: Callable[[], bool] | threading.Event | None = None,
    client: Any = None,
    block: Sequence[int] | None = None,
) -> Generator[FileEvent | TileEvent, None, BatchSummary]:
    """Denoise every job's input with ``model`` (an N2VModel, or a model file path).

    Parameters
    ----------
    axes
        Axes of every input (None: each file's own, else the model's when the dimensions fit).
    config
        A PredictConfig (tiles, overlap, device, TTA); None: defaults.
    overwrite
        Replace existing outputs (default: skip them, reported as ``skipped``).
    cancel
        Checked between tiles (or blocks): the current file's partial output is removed, and the
        rest are not started; the summary says ``cancelled``.
    client
        A ``distributed.Client``: run on its cluster (see :mod:`napari_n2v.batch_cluster`).
    block
        On a cluster: the spatial block shape a large zarr is cut into (default by model kind).
    """
    from napari_n2v.core.config import PredictConfig
    from napari_n2v.core.model_io import load_model

    config = config or PredictConfig()
    is_cancelled = as_cancel(cancel)
    if client is not None:
        from napari_n2v.batch_cluster import cluster_predict

        return (
            yield from cluster_predict(
                client,
                model,
                jobs,
                axes=axes,
                config=config,
                overwrite=overwrite,
                cancel=is_cancelled,
                block=block,
            )
        )
    if not hasattr(model, "network"):
        model = load_model(model, device=config.device)
    summary = BatchSummary()
    total = len(jobs)
    for i, job in enumerate(jobs):
        if is_cancelled():
            summary.cancelled = True
            break
        if job.out.exists() and not overwrite:
            summary.skipped.append(job)
            yield FileEvent(i, total, job, "skipped", "exists")
            continue
        yield FileEvent(i, total, job, "started")
        t0 = time.perf_counter()
        try:
            for done, n in predict_file_iter(model, job, axes, config):
                yield TileEvent(i, done, n)
                if is_cancelled():
                    raise _Cancelled
        except _Cancelled:
            remove_output(job.out)
            summary.cancelled = True
            yield FileEvent(i, total, job, "cancelled", seconds=time.perf_counter() - t0)
            break
        except Exception as err:  # one bad file must not stop the others
            if is_zarr(job.out):
                remove_output(job.out)
            summary.failed.append((job, one_line(err)))
            yield FileEvent(i, total, job, "failed", one_line(err), time.perf_counter() - t0)
            continue
        summary.ok.append(job)
        yield FileEvent(i, total, job, "ok", seconds=time.perf_counter() - t0)
    return summary


class _Cancelled(Exception):
    pass


def open_client(cluster: str | None = None, scheduler: str | None = None) -> tuple[Any, Any]:
    """``cluster="local:N"`` starts a LocalCluster of N one-thread worker processes; ``scheduler`` is
    the address of any running one (dask-jobqueue, dask-gateway, Kubernetes...). Returns (client,
    closer); call ``closer()`` when done."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as err:  # pragma: no cover - distributed is a requirement
        raise N2VError("dask.distributed is not installed: pip install distributed.") from err
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as err:
            raise N2VError(
                f"cannot reach a dask scheduler at {scheduler}: {one_line(err)}; check the address "
                "(e.g. tcp://host:8786) or use --cluster local:N."
            ) from err
        return client, client.close
    kind, _, n = (cluster or "").partition(":")
    if kind != "local" or not n.isdigit() or int(n) < 1:
        raise N2VError(f"--cluster {cluster!r}: use local:N (N worker processes), e.g. local:4.")
    lc = LocalCluster(
        n_workers=int(n), threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = Client(lc)

    def close() -> None:
        client.close()
        lc.close()

    return client, close
