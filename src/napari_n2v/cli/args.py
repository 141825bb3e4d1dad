"""The arguments of ``train``, ``predict`` and ``export``: help texts read their defaults from the configs
and the plan's defaults table."""

from __future__ import annotations

import argparse


def ints(text: str) -> tuple[int, ...]:
    """``64`` -> (64,) (the same on every spatial axis); ``16,64,64`` or ``16x64x64`` -> per axis."""
    try:
        values = tuple(int(v) for v in text.replace("x", ",").split(",") if v)
    except ValueError:
        values = ()
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(
            f"expected a positive number like 64, or one per axis like 16,64,64; got {text!r}"
        )
    return values


def duration(text: str) -> float:
    """``300``, ``300s``, ``5m``, ``1h``, ``1h30m`` -> seconds."""
    import re

    t = text.strip().lower()
    parts = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?", t)
    if not t or parts is None or not any(parts.groups()):
        raise argparse.ArgumentTypeError(
            f"expected a duration like 300 (seconds), 90s, 5m, 1h or 1h30m; got {text!r}"
        )
    h, m, sec = (float(g) if g else 0.0 for g in parts.groups())
    seconds = 3600 * h + 60 * m + sec
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"the duration must be positive; got {text!r}")
    return seconds


def train_args(t: argparse.ArgumentParser) -> None:
    from napari_n2v.cli import resume
    from napari_n2v.core.config import DEFAULT_MASKED_FRACTION, TrainConfig
    from napari_n2v.core.plan.defaults import describe_train_defaults

    d, auto = TrainConfig(), describe_train_defaults()
    t.add_argument(
        "image",
        nargs="+",
        help="TIFF, PNG or JPEG files, zarr arrays or OME-Zarr images, folders of them or globs "
        "(same axes); several (or one over 2 GB) are read patch by patch from disk, never all in "
        "memory",
    )
    t.add_argument(
        "--axes",
        help="axes of the image, e.g. YX, ZYX, TYX, YXC (default: from the file; a plain TIFF "
        "that does not say is read as SYX, a series of 2D images)",
    )
    t.add_argument(
        "--out",
        required=True,
        help="model file to write: NAME.n2v.safetensors (added to a name without a suffix)",
    )
    t.add_argument("--steps", type=int, help=f"optimiser steps (default: {d.steps})")
    t.add_argument(
        "--patch",
        type=ints,
        help="patch size: one number for a square (2D) or cube (3D), or one per axis such as "
        f"16,64,64; each a multiple of 2**depth (default: {auto['patch']})",
    )
    t.add_argument(
        "--batch",
        type=int,
        help=f"patches per step (default: by device; {auto['batch']})",
    )
    t.add_argument(
        "--masked-pixels",
        type=int,
        help=f"blind-spot pixels per patch (default: {DEFAULT_MASKED_FRACTION * 100:g}%% of the patch, "
        f"{TrainConfig(axes='YX').resolved_masked_pixels()} of 64x64)",
    )
    t.add_argument("--lr", type=float, help=f"learning rate (default: {d.learning_rate:g})")
    t.add_argument("--n2v2", action="store_true", help="N2V2 variant (no checkerboard artefacts)")
    t.add_argument(
        "--struct-axis", choices=["X", "Y", "Z"], help="structN2V: mask a line along this axis"
    )
    t.add_argument(
        "--blind-spot",
        help="what the network may not see around each masked pixel: auto (chosen from the noise: "
        "a box for camera noise correlated between neighbours, one pixel for white noise), pixel, "
        "a box such as 3x3, 5x5 or 3x3x3, or a line such as 1x5 (along X); sizes per spatial axis "
        "in (Z)YX order (default: auto; see `napari-n2v inspect`)",
    )
    t.add_argument("--val", help="separate validation image (same axes)")
    t.add_argument(
        "--continue-from",
        help="a model file to continue training (fine-tune), or a checkpoint to resume from",
    )
    t.add_argument("--seed", type=int, help="random seed, for repeatable runs (default: random)")
    t.add_argument(
        "--time",
        type=duration,
        help="train for this wall-clock budget (300, 90s, 5m, 1h) and keep the best model; with "
        "--steps too, whichever comes first ends the run",
    )
    machine_args(t)
    t.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    _quiet_arg(t)
    resume.add_args(t)


def predict_args(q: argparse.ArgumentParser) -> None:
    from napari_n2v.core.plan.predict_plan import describe_predict_defaults

    auto_p = describe_predict_defaults()
    q.add_argument(
        "model",
        help="a model file saved by napari-n2v train (.n2v.safetensors), or a BioImage Model Zoo "
        "package (.zip, or a folder with rdf.yaml)",
    )
    q.add_argument(
        "image",
        nargs="+",
        help="TIFF, PNG or JPEG files, zarr arrays or OME-Zarr images, folders or globs",
    )
    q.add_argument("--out", help="output .tif/.tiff, or .zarr to stream large data (one input)")
    q.add_argument(
        "--out-dir",
        help="folder for the results of many inputs: <name>_n2v.<suffix>; existing ones are skipped",
    )
    q.add_argument(
        "--cluster", help="local:N: predict on a dask LocalCluster of N worker processes"
    )
    q.add_argument("--scheduler", help="address of a running dask scheduler (e.g. tcp://host:8786)")
    q.add_argument(
        "--block",
        type=ints,
        help="on a cluster, the block a large zarr is cut into, per spatial axis "
        "(default: 2048,2048 in 2D, 64,512,512 in 3D)",
    )
    q.add_argument(
        "--axes",
        help="axes of the image (default: from the file; else the model's axes when the number "
        "of dimensions fits)",
    )
    q.add_argument(
        "--tile",
        type=ints,
        help="largest tile: one number for every axis or one per axis, e.g. 512 or 32,256,256 "
        f"(default: {auto_p['tile']})",
    )
    q.add_argument(
        "--overlap",
        type=ints,
        help="context discarded at each tile side (default: the model's receptive field)",
    )
    q.add_argument("--batch", type=int, help=f"tiles per pass (default: {auto_p['batch']})")
    q.add_argument("--tta", action="store_true", help="average the 8 flips/rotations (8x slower)")
    q.add_argument(
        "--no-blend",
        dest="blend",
        action="store_false",
        help="the network's output alone, without the share of the input that training measured "
        "to lower the error (the model's blend weight)",
    )
    q.add_argument(
        "--qc",
        action="store_true",
        help="judge the result without a clean image: does the residual look like the noise, and is "
        "N2V better than a calibrated blur (one input at a time)",
    )
    machine_args(q)
    q.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    _quiet_arg(q)
    q.add_argument(
        "--trust",
        action="store_true",
        help="allow a zoo package's TorchScript weights (TorchScript is code: only for packages "
        "from a source you trust)",
    )


def export_args(e: argparse.ArgumentParser) -> None:
    e.add_argument("model", help="a model file saved by napari-n2v train (or a zoo package)")
    e.add_argument("out", help="the BioImage Model Zoo package to write (.zip)")
    e.add_argument(
        "--name",
        required=True,
        help="the model's name in the zoo; other characters than letters, digits, spaces and "
        "_ + - ( ) become spaces (a note says so)",
    )
    e.add_argument("--authors", required=True, help='authors, e.g. "First Last; Other Name"')
    e.add_argument("--description", default="", help="one or two sentences about the model")
    e.add_argument(
        "--sample",
        help="an image like the training data (TIFF, zarr, PNG): a crop becomes the package's test "
        "input, test output and cover (default: the crop of the training data kept in the model "
        "file; a synthetic image for a file from an older napari-n2v)",
    )
    e.add_argument("--axes", help="axes of the sample (default: from the file, else the model's)")
    e.add_argument("--license", default="CC-BY-4.0", help="SPDX licence id (default: CC-BY-4.0)")
    e.add_argument("--overwrite", action="store_true", help="replace an existing package")


def machine_args(p: argparse.ArgumentParser) -> None:
    """``--device`` and ``--precision``, the same on train and predict."""
    from napari_n2v.core.config import PRECISIONS

    p.add_argument(
        "--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)"
    )
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="what the network computes in: auto (bf16 where the hardware does it natively, else "
        "fp32), fp32, bf16 or fp16 (default: auto)",
    )


def _quiet_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar or progress lines (notes, failures and the summary are still printed); "
        "without it: a bar on a terminal, a plain line every few seconds in a log",
    )
