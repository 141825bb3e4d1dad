"""``napari-n2v predict``: read the model and the image, denoise tile by tile, write by suffix."""

from __future__ import annotations

import argparse
from typing import Any

from napari_n2v.cli import check_out
from napari_n2v.core.errors import N2VError
from napari_n2v.core.image_io import (
    axes_hint,
    check_output_suffix,
    read_image,
    tag_zarr,
    write_image,
)


class TileBar:
    """A tqdm bar over tiles, created at the first tile (so an error before it prints no empty bar)."""

    def __init__(self) -> None:
        self.bar: Any = None

    def update(self, ev: Any) -> None:
        if self.bar is None:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=ev.total, unit="tile", dynamic_ncols=True)
        self.bar.update(ev.done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_predict(args: argparse.Namespace) -> int:
    from napari_n2v.core.config import PredictConfig
    from napari_n2v.core.layout import Layout
    from napari_n2v.core.lazy_io import create_zarr_like
    from napari_n2v.core.model_io import load_model
    from napari_n2v.core.prediction import predict_iter
    from napari_n2v.core.progress import drain

    out = check_output_suffix(args.out)
    check_out(out, args.overwrite)
    model = load_model(args.model, device=args.device)
    image = read_image(args.image, args.axes, model_axes=model.axes, model_3d=model.is_3d)
    try:
        Layout.create(image.axes, image.data.shape, model.is_3d)
    except N2VError as err:
        raise N2VError(f"{err} {axes_hint(image)}") from err
    cfg = PredictConfig(
        tile_shape=args.tile,
        overlap=args.overlap,
        batch_size=args.batch,
        device=args.device,
        tta=args.tta,
    )
    target = None
    if out.suffix == ".zarr":
        n_sp = 3 if model.is_3d else 2
        target = create_zarr_like(out, image.data.shape, n_spatial=n_sp, overwrite=args.overwrite)
        tag_zarr(target, image.axes, image.scale, image.unit)
    bar = TileBar()
    try:
        result = drain(predict_iter(model, image.data, image.axes, cfg, out=target), bar.update)
    finally:
        bar.close()
    if target is None:
        write_image(out, result, image.axes, scale=image.scale, unit=image.unit)
    print(f"wrote {out}")
    return 0
