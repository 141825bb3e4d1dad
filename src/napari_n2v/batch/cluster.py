"""Prediction on a dask.distributed cluster: files become tasks, a large zarr becomes blocks with a halo.

The model file's bytes are scattered to every worker once (``broadcast=True``); each worker loads them
once and keeps the model. A block task reads its block plus a halo of the model's receptive field (rounded
to the network's size multiple, and starting on one, as tiles do), predicts it with the usual tiling,
crops the halo and writes the rest straight into the output zarr, whose chunks are the blocks: no two
tasks write the same chunk, nothing goes back through the client, and a worker's memory is about one
block. The result equals single-process prediction within float rounding. A worker that dies has its
task rerun elsewhere by the scheduler (``distributed.scheduler.allowed-failures`` times).
"""

from __future__ import annotations

import hashlib
import math
import tempfile
import time
import uuid
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_n2v.batch.blocks import plan_blocks as plan_blocks  # re-exported
from napari_n2v.batch.jobs import REDO, BatchSummary, FileEvent, Job, TileEvent, one_line
from napari_n2v.core.axes import per_axis
from napari_n2v.core.errors import N2VError
from napari_n2v.core.io.file_list import is_zarr
from napari_n2v.core.io.outputs import HeldOutput, output_state

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.core.config import PredictConfig
    from napari_n2v.core.model.denoiser import Denoiser
    from napari_n2v.core.model.n2v_model import N2VModel

#: Default spatial block (a multiple of any network's size multiple): ~0.1-0.2 GB in float32 with halo.
BLOCK_2D = (2048, 2048)
BLOCK_3D = (64, 512, 512)
_MODELS: dict[str, N2VModel] = {}  # per worker process: model file digest -> loaded model


def model_bytes(model: N2VModel | str | Path) -> bytes:
    """The safetensors bytes of a model file path or of an in-memory N2VModel."""
    if isinstance(model, str | Path):
        return Path(model).read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.n2v.safetensors"
        model.save(path)
        return path.read_bytes()


def _worker_model(data: bytes, device: str) -> N2VModel:
    """Load the scattered model once per worker (and size torch's threads to the worker's)."""
    key = hashlib.sha1(data).hexdigest() + device
    if key not in _MODELS:
        import torch

        from napari_n2v.core.model.model_io import load_model

        try:
            from distributed import get_worker

            torch.set_num_threads(max(1, int(get_worker().state.nthreads)))
        except (ImportError, ValueError):
            pass
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.n2v.safetensors"
            path.write_bytes(data)
            _MODELS[key] = load_model(path, device=device)
    return _MODELS[key]


def file_task(
    data: bytes,
    src: str,
    out: str,
    axes: str | None,
    config: PredictConfig,
    overwrite: bool = False,
) -> str:
    """One whole file on a worker (as :func:`napari_n2v.batch.jobs.predict_file_iter` does locally)."""
    from napari_n2v.batch.jobs import predict_file_iter

    model = _worker_model(data, config.device)
    for _ in predict_file_iter(model, Job(Path(src), Path(out)), axes, config, overwrite):
        pass
    return out


def block_task(
    data: bytes, src: str, out: str, axes: str, read: tuple, write: tuple, config: PredictConfig
) -> int:
    """Predict ``src[read]`` and write its ``write`` part (array coordinates) into the zarr ``out``."""
    import zarr

    from napari_n2v.core.io.image_io import read_image
    from napari_n2v.core.predict.prediction import predict

    model = _worker_model(data, config.device)
    piece = np.asarray(read_image(src, axes).data[read])
    result = predict(model, piece, axes, config)
    crop = tuple(
        slice(w.start - r.start, w.stop - r.start) for r, w in zip(read, write, strict=True)
    )
    zarr.open_array(out, mode="r+")[write] = result[crop]
    return int(np.prod([w.stop - w.start for w in write]))


def worker_peak_rss_mb(client: Any) -> list[int]:
    """Each worker process's peak resident memory so far (MB; Linux/macOS), for the closing summary."""

    def peak() -> int:
        import resource
        import sys

        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(kb / 1024 / (1024 if sys.platform == "darwin" else 1))

    return sorted(client.run(peak).values())


def _submit_blocks(
    client: Any,
    fut: Any,
    model: Denoiser,
    job: Job,
    axes: str | None,
    config: PredictConfig,
    block: Sequence[int] | None,
    tag: str,
    overwrite: bool,
) -> tuple[list[Any], HeldOutput]:
    """Create the output zarr (chunks = blocks) beside its target, held open until every block is
    written (see :class:`napari_n2v.core.io.outputs.HeldOutput`), and submit one task per block."""
    from napari_n2v.core.io.image_io import read_image

    image = read_image(job.src, axes, model_axes=model.axes, model_3d=model.is_3d)
    n_sp = 3 if model.is_3d else 2
    m = 2**model.config.depth
    halo = per_axis(config.overlap or model.halo, n_sp, "--overlap")
    blk = per_axis(block or (BLOCK_3D if model.is_3d else BLOCK_2D), n_sp, "--block")
    chunks, plans = plan_blocks(image.data.shape, image.axes, model.is_3d, m, halo, blk)
    kw = {"scale": image.scale, "unit": image.unit, "overwrite": overwrite, "chunks": chunks}
    held = HeldOutput(job.out, image.data.shape, image.axes, **kw)
    try:
        futures = [
            client.submit(
                block_task,
                fut,
                str(job.src.resolve()),
                str(held.sink.tmp.resolve()),
                image.axes,
                r,
                w,
                config,
                key=f"n2v-block-{tag}-{k}",
                pure=False,
            )
            for k, (r, w) in enumerate(plans)
        ]
    except BaseException:
        held.abandon()
        raise
    return futures, held


def _is_large_zarr(job: Job, block_bytes: int) -> bool:
    if not (is_zarr(job.src) and job.out.suffix == ".zarr"):
        return False
    from napari_n2v.core.io.image_io import read_image

    try:
        data = read_image(job.src).data
    except N2VError:
        return False
    return math.prod(data.shape) * 4 > 2 * block_bytes


def cluster_predict(
    client: Any,
    model: N2VModel | str | Path,
    jobs: Sequence[Job],
    *,
    axes: str | None,
    config: PredictConfig,
    overwrite: bool,
    cancel: Callable[[], bool],
    block: Sequence[int] | None = None,
) -> Generator[FileEvent | TileEvent, None, BatchSummary]:
    """:func:`napari_n2v.batch.run.predict_files` on a cluster (same events, same summary)."""
    from napari_n2v.core.model.model_io import load_model

    data = model_bytes(model)
    if isinstance(model, str | Path):
        model = load_model(model, device="cpu")
    fut = client.scatter(data, broadcast=True)  # the model travels once, not once per task
    n_sp = 3 if model.is_3d else 2
    blk = per_axis(block or (BLOCK_3D if model.is_3d else BLOCK_2D), n_sp, "--block")
    block_bytes = 4 * math.prod(blk or ())
    summary, total, tag = BatchSummary(), len(jobs), uuid.uuid4().hex[:8]
    pending: dict[int, list[Any]] = {}
    started: dict[int, float] = {}
    held: dict[int, HeldOutput] = {}  # block-written stores: completed here once every block is
    for i, job in enumerate(jobs):
        state = output_state(job.out)
        if state == "done" and not overwrite:
            summary.skipped.append(job)
            yield FileEvent(i, total, job, "skipped", "exists")
            continue
        yield FileEvent(i, total, job, "started", REDO if state == "incomplete" else "")
        started[i], replace = time.perf_counter(), overwrite or state == "incomplete"
        try:
            if _is_large_zarr(job, block_bytes):
                pending[i], held[i] = _submit_blocks(
                    client, fut, model, job, axes, config, block, f"{tag}-{i}", replace
                )
            else:
                pending[i] = [
                    client.submit(
                        file_task,
                        fut,
                        str(job.src.resolve()),
                        str(job.out.resolve()),
                        axes,
                        config,
                        replace,
                        key=f"n2v-file-{tag}-{i}",
                        pure=False,
                    )
                ]
        except Exception as err:
            summary.failed.append((job, one_line(err)))
            yield FileEvent(i, total, job, "failed", one_line(err))
    done_count = {i: 0 for i in pending}
    while pending:
        if cancel():
            for i, futs in pending.items():
                client.cancel(futs)
                if i in held:
                    held.pop(i).abandon()
                yield FileEvent(i, total, jobs[i], "cancelled")
            summary.cancelled = True
            break
        time.sleep(0.05)
        for i in list(pending):
            futs, job = pending[i], jobs[i]
            failed = next((f for f in futs if f.status in ("error", "cancelled")), None)
            if failed is not None:
                client.cancel(futs)
                msg = one_line(failed.exception()) if failed.status == "error" else "cancelled"
                if i in held:
                    held.pop(i).abandon()
                summary.failed.append((job, msg))
                del pending[i]
                yield FileEvent(i, total, job, "failed", msg, time.perf_counter() - started[i])
                continue
            n = sum(f.status == "finished" for f in futs)
            if n != done_count[i]:
                done_count[i] = n
                yield TileEvent(i, n, len(futs))
            if n == len(futs):
                client.cancel(futs)  # release the results (small) on the workers
                del pending[i]
                try:
                    if i in held:
                        held.pop(i).complete()  # the completion marker, then into place
                except Exception as err:  # e.g. the disk filled up meanwhile
                    summary.failed.append((job, one_line(err)))
                    yield FileEvent(i, total, job, "failed", one_line(err))
                    continue
                summary.ok.append(job)
                yield FileEvent(i, total, job, "ok", seconds=time.perf_counter() - started[i])
    return summary
