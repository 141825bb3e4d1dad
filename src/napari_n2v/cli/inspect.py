"""``napari-n2v inspect``: is the noise pixel-independent (what Noise2Void assumes), how does it depend on
intensity, and which blind spot fits it; from the noisy image alone."""

from __future__ import annotations

import argparse
from pathlib import Path

from napari_n2v.cli.common import check_out
from napari_n2v.core.io.image_io import read_image


def add_args(i: argparse.ArgumentParser) -> None:
    i.add_argument("image", help="the noisy image (TIFF, PNG or zarr)")
    i.add_argument("--axes", help="axes of the image, e.g. YX, ZYX, TYX (default: from the file)")
    i.add_argument("--plot", help="also write the noise autocorrelation as a picture (.png)")
    i.add_argument("--overwrite", action="store_true", help="replace an existing --plot file")


def run_inspect(args: argparse.Namespace) -> int:
    import numpy as np

    from napari_n2v.core.errors import N2VError
    from napari_n2v.core.noise.analysis import inspect_noise
    from napari_n2v.core.noise.report import noise_table, save_acf_png

    plot = Path(args.plot) if args.plot else None
    if plot is not None:
        if plot.suffix.lower() != ".png":
            raise N2VError(
                f"--plot {plot.name}: the picture is written as PNG; end the name in .png."
            )
        check_out(plot, args.overwrite)
    image = read_image(args.image, args.axes)
    report = inspect_noise(np.asarray(image.data), image.axes)
    print(noise_table(report))
    if plot is not None:
        save_acf_png(report.acf_map, plot)
        print(f"wrote {plot} (noise autocorrelation, lag 0 at the centre)")
    return 0
