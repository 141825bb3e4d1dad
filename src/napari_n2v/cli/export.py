"""``napari-n2v export``: a trained model -> a BioImage Model Zoo package (spec 0.5, validated)."""

from __future__ import annotations

import argparse
import sys

from napari_n2v.core.errors import N2VError
from napari_n2v.core.io.image_io import axes_hint, read_image


def run_export(args: argparse.Namespace) -> int:
    from napari_n2v.core.model.model_io import load_model
    from napari_n2v.core.zoo.api import export_bioimageio
    from napari_n2v.core.zoo.rdf import NAME_CHARS, zoo_name

    model = load_model(args.model, device="cpu")
    name = zoo_name(args.name)
    if name != " ".join(args.name.split()):
        print(f"note: the zoo name is {name!r} (a zoo name holds {NAME_CHARS}).", file=sys.stderr)
    sample = None
    if args.sample:
        sample = read_image(args.sample, args.axes, model_axes=model.axes, model_3d=model.is_3d)
    elif model.sample is not None:
        print("note: the test image is the crop of the training data kept in the model file.",
              file=sys.stderr)  # fmt: skip
    else:
        print(
            f"note: {args.model} keeps no crop of its training data (saved by an older napari-n2v): "
            "the package's test image is synthetic; add --sample IMAGE for one from your data.",
            file=sys.stderr,
        )
    try:
        path = export_bioimageio(
            model,
            args.out,
            name=name,
            description=args.description,
            authors=args.authors,
            sample=sample.data if sample else None,
            sample_axes=sample.axes if sample else None,
            license=args.license,
            overwrite=args.overwrite,
        )
    except N2VError as err:
        if sample is not None and "axes" in str(err).lower():
            raise N2VError(f"{err} {axes_hint(sample)}") from err
        raise
    print(f"wrote {path} (BioImage Model Zoo, validated; open it in Fiji/deepImageJ, QuPath, ...)")
    return 0
