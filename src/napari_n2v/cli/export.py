"""``napari-n2v export``: a trained model -> a BioImage Model Zoo package (spec 0.5, validated)."""

from __future__ import annotations

import argparse

from napari_n2v.core.errors import N2VError
from napari_n2v.core.io.image_io import axes_hint, read_image


def run_export(args: argparse.Namespace) -> int:
    from napari_n2v.core.model.model_io import load_model
    from napari_n2v.core.zoo.api import export_bioimageio

    model = load_model(args.model, device="cpu")
    sample = read_image(args.sample, args.axes, model_axes=model.axes, model_3d=model.is_3d)
    try:
        path = export_bioimageio(
            model,
            args.out,
            name=args.name,
            description=args.description,
            authors=args.authors,
            sample=sample.data,
            sample_axes=sample.axes,
            license=args.license,
            overwrite=args.overwrite,
        )
    except N2VError as err:
        if "axes" in str(err).lower():
            raise N2VError(f"{err} {axes_hint(sample)}") from err
        raise
    print(f"wrote {path} (BioImage Model Zoo, validated; open it in Fiji/deepImageJ, QuPath, ...)")
    return 0
