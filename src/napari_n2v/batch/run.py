"""Run many files: :func:`predict_files` in this process or on a dask.distributed cluster, and
:func:`open_client` to reach one. The jobs, events and one file's prediction are in
:mod:`napari_n2v.batch.jobs`; the cluster path in :mod:`napari_n2v.batch.cluster`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from napari_n2v.batch.cluster import cluster_predict
from napari_n2v.batch.jobs import (
    REDO,
    BatchSummary,
    FileEvent,
    Job,
    TileEvent,
    as_cancel,
    one_line,
    predict_file_iter,
)
from napari_n2v.core.errors import N2VError
from napari_n2v.core.io.outputs import output_state

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.core.config import PredictConfig
    from napari_n2v.core.model.n2v_model import N2VModel


def predict_files(
    model: N2VModel | str | Path,
    jobs: Sequence[Job],
    *,
    axes: str | None = None,
    config: PredictConfig | None = None,
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
        Replace existing outputs (default: skip them, reported as ``skipped``). A zarr store without
        its completion marker is not done: it is predicted again (the ``started`` event says so).
    cancel
        Checked between tiles (or blocks): the current file's partial output is removed (an
        existing output stays as it was), and the rest are not started; the summary says
        ``cancelled``.
    client
        A ``distributed.Client``: run on its cluster (see :mod:`napari_n2v.batch.cluster`).
    block
        On a cluster: the spatial block shape a large zarr is cut into (default by model kind).
    """
    from napari_n2v.core.config import PredictConfig
    from napari_n2v.core.model.model_io import load_model

    config = config or PredictConfig()
    is_cancelled = as_cancel(cancel)
    if client is not None:
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
    if isinstance(model, str | Path):
        model = load_model(model, device=config.device)
    summary = BatchSummary()
    total = len(jobs)
    for i, job in enumerate(jobs):
        if is_cancelled():
            summary.cancelled = True
            break
        state = output_state(job.out)
        if state == "done" and not overwrite:
            summary.skipped.append(job)
            yield FileEvent(i, total, job, "skipped", "exists")
            continue
        redo = state == "incomplete"
        yield FileEvent(i, total, job, "started", REDO if redo else "")
        t0 = time.perf_counter()
        tiles = predict_file_iter(model, job, axes, config, overwrite=overwrite or redo)
        try:
            for done, n in tiles:
                yield TileEvent(i, done, n)
                if is_cancelled():
                    raise _Cancelled
        except _Cancelled:
            tiles.close()  # its temporary output is removed
            summary.cancelled = True
            yield FileEvent(i, total, job, "cancelled", seconds=time.perf_counter() - t0)
            break
        except Exception as err:  # one bad file must not stop the others (it left no output)
            summary.failed.append((job, one_line(err)))
            yield FileEvent(i, total, job, "failed", one_line(err), time.perf_counter() - t0)
            continue
        finally:
            tiles.close()  # abandoned mid-file (the consumer stopped): its temporary is removed
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
