"""``napari-n2v predict``: read the model and the image, denoise tile by tile, write by suffix; many
inputs (``--out-dir``) and dask clusters (``--cluster``/``--scheduler``) go through :mod:`napari_n2v.batch.run`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from napari_n2v.cli.common import check_out
from napari_n2v.core.errors import N2VError
from napari_n2v.core.io.image_io import axes_hint, check_output_suffix, read_image


def predict_config(args: argparse.Namespace) -> Any:
    """The PredictConfig that predict's flags describe (one file or many)."""
    from napari_n2v.core.config import PredictConfig

    return PredictConfig(
        tile_shape=args.tile,
        overlap=args.overlap,
        batch_size=args.batch,
        device=args.device,
        precision=args.precision,
        tta=args.tta,
        blend=args.blend,
    )


def _check_args(args: argparse.Namespace) -> None:
    if bool(args.out) == bool(args.out_dir):
        raise N2VError(
            "give --out OUT.tif|OUT.zarr for one input, or --out-dir DIR for many (not both)."
        )
    if args.cluster and args.scheduler:
        raise N2VError("give --cluster local:N or --scheduler ADDRESS, not both.")
    if args.block and not (args.cluster or args.scheduler):
        raise N2VError(
            "--block applies on a cluster: add --cluster local:N or --scheduler ADDRESS."
        )


def run_predict(args: argparse.Namespace) -> int:
    _check_args(args)
    if args.out_dir or args.cluster or args.scheduler or len(args.image) > 1:
        if args.qc:
            raise N2VError("--qc judges one input at a time: give one image and --out.")
        return run_batch(args)
    args.image = args.image[0]
    return _run_one(args)


def run_batch(args: argparse.Namespace) -> int:
    """Many files (or a cluster): one line per failure, a summary, exit 0 / 1 (some failed)."""
    from napari_n2v.batch.jobs import Job, plan_jobs
    from napari_n2v.batch.run import open_client, predict_files
    from napari_n2v.cli.progress import BatchProgress
    from napari_n2v.core.io.file_list import expand_inputs
    from napari_n2v.core.model.model_io import load_model
    from napari_n2v.core.progress import drain, progress_mode

    if args.out_dir:
        jobs = plan_jobs(args.image, args.out_dir)
    else:
        srcs = expand_inputs(args.image)
        if len(srcs) != 1:
            raise N2VError(f"--out takes one input, got {len(srcs)}: use --out-dir DIR for many.")
        out = check_output_suffix(args.out)
        check_out(out, args.overwrite)
        jobs = [Job(srcs[0], out)]
    model = load_model(
        args.model,
        device="cpu" if args.cluster or args.scheduler else args.device,
        trust=args.trust,
    )
    cfg = predict_config(args)
    client, close = (None, None)
    if args.cluster or args.scheduler:
        client, close = open_client(args.cluster, args.scheduler)
        print(f"dask cluster: {client.dashboard_link or client.scheduler.address}", file=sys.stderr)
    bar = BatchProgress(len(jobs), progress_mode(args.quiet))
    try:
        gen = predict_files(
            model,
            jobs,
            axes=args.axes,
            config=cfg,
            overwrite=args.overwrite,
            client=client,
            block=args.block,
        )
        summary = drain(gen, bar.update)
        if client is not None:
            from napari_n2v.batch.cluster import worker_peak_rss_mb

            rss = ", ".join(map(str, worker_peak_rss_mb(client)))
            print(f"workers' peak RSS: {rss} MB", file=sys.stderr)
    finally:
        bar.close()
        if close is not None:
            close()
    print(f"{len(jobs)} input(s): {summary.describe()}", file=sys.stderr)
    return summary.exit_code


def _run_one(args: argparse.Namespace) -> int:
    from napari_n2v.cli.progress import TileProgress
    from napari_n2v.core.io.outputs import image_output
    from napari_n2v.core.layout import Layout
    from napari_n2v.core.model.model_io import load_model
    from napari_n2v.core.predict.prediction import predict_iter
    from napari_n2v.core.progress import drain, progress_mode

    out = check_output_suffix(args.out)
    check_out(out, args.overwrite)
    model = load_model(args.model, device=args.device, trust=args.trust)
    image = read_image(args.image, args.axes, model_axes=model.axes, model_3d=model.is_3d)
    try:
        Layout.create(image.axes, image.data.shape, model.is_3d)
    except N2VError as err:
        raise N2VError(f"{err} {axes_hint(image)}") from err
    cfg = predict_config(args)
    bar = TileProgress(progress_mode(args.quiet))
    out_kw: dict[str, Any] = {"scale": image.scale, "unit": image.unit, "overwrite": args.overwrite}
    out_kw["n_spatial"] = 3 if model.is_3d else 2
    try:  # written beside `out` (its lock held: a second run is refused), moved in when complete
        with image_output(out, image.data.shape, image.axes, **out_kw) as sink:
            result = drain(
                predict_iter(model, image.data, image.axes, cfg, out=sink.array), bar.update
            )
            if sink.array is None:
                sink.write(result)
    finally:
        bar.close()
    print(f"wrote {out}")
    if args.qc:
        from napari_n2v.cli.judge import quality_check

        print(quality_check(model, image.data, result, image.axes))
    return 0
