"""``napari-n2v baseline``: the classical filters a microscopist already has (Gaussian, median, optional
non-local means and BM3D), each tuned on the image itself by a score that needs no clean image."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from napari_n2v.cli.common import check_out
from napari_n2v.core.errors import N2VError
from napari_n2v.core.io.image_io import check_output_suffix, read_image, write_image


def add_args(b: argparse.ArgumentParser) -> None:
    b.add_argument("image", help="the noisy image (TIFF or zarr; loaded into memory)")
    b.add_argument(
        "--out", required=True, help="where the best baseline's result goes (.tif or .zarr)"
    )
    b.add_argument("--axes", help="axes of the image (default: from the file)")
    b.add_argument(
        "--methods",
        default="gaussian,median",
        help="comma-separated: gaussian, median, nlm (scikit-image), bm3d (needs the bm3d package) "
        "(default: gaussian,median)",
    )
    b.add_argument(
        "--footprint",
        help="noise correlated over neighbours: the box left out around each pixel, e.g. 3x3 or 1x5 "
        "(default: none, independent noise)",
    )
    b.add_argument("--overwrite", action="store_true", help="replace an existing output")


def _footprint(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    try:
        sizes = tuple(int(v) for v in text.lower().replace(",", "x").split("x"))
    except ValueError:
        sizes = ()
    if not sizes or any(s < 1 or s % 2 == 0 for s in sizes):
        raise N2VError(f"--footprint {text!r}: give odd sizes per spatial axis, e.g. 3x3 or 1x5.")
    return sizes


def table(result: object) -> str:
    """One row per method: its parameter, score with 95% interval, and the estimated gain in dB."""
    from napari_n2v.core.baseline.calibrate import BaselineResult

    assert isinstance(result, BaselineResult)
    var = result.noise_var
    rows = [f"{'method':<40} {'score (95% interval)':>30} {'~gain':>8}"]
    for r in sorted(result.results, key=lambda r: r.score.mean):
        s = r.score
        floored = s.mean - var < var / 100  # within the noise estimate's error: a lower bound
        gain = 10 * math.log10(var / max(s.mean - var, var / 100))
        mark = "  <- best" if r is result.best else ""
        cell = f"{s.mean:.4g} ({s.ci_low:.4g} to {s.ci_high:.4g})"
        rows.append(f"{r.label():<40} {cell:>30} {'>' if floored else ' '}{gain:>5.1f} dB{mark}")
    rows.append(
        f"noise variance (estimated): {var:.4g}; a score is the error plus this, lower is better"
    )
    return "\n".join(rows)


def run_baseline(args: argparse.Namespace) -> int:
    from napari_n2v.core.baseline.calibrate import baseline

    out = check_output_suffix(args.out)
    check_out(Path(out), args.overwrite)
    methods = tuple(m.strip().lower() for m in args.methods.split(",") if m.strip())
    image = read_image(args.image, args.axes)
    result = baseline(image.data, image.axes, methods=methods, footprint=_footprint(args.footprint))
    print(table(result))
    best = result.best.image
    write_image(out, best, image.axes, scale=image.scale, unit=image.unit, overwrite=args.overwrite)
    print(f"wrote {out}: {result.best.label()}")
    return 0
