"""``napari-n2v train | predict | demo``: the engine from the command line.

User mistakes print one line (``error: ...``) and exit with status 2; nothing existing is overwritten unless
``--overwrite`` is given.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from napari_n2v.core.errors import N2VError

# tifffile's axis letters -> ours (tifffile 'S' is colour samples, 'I'/'Q' image sequences)
_FROM_TIFF = {"S": "C", "I": "S", "Q": "S", "C": "C", "T": "T", "Z": "Z", "Y": "Y", "X": "X"}


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.replace("x", ",").split(",") if v)
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"expected numbers like 64 or 16,64,64, got {text!r}"
        ) from err


def _check_out(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise N2VError(f"{path} already exists: choose another --out, or add --overwrite.")
    if not path.parent.exists():
        raise N2VError(f"the folder {path.parent} does not exist.")


def read_image(path: str | Path, axes: str | None) -> tuple[Any, str]:
    """Open a TIFF (read into memory) or a zarr array (lazy); axes from --axes or the file's metadata."""
    path = Path(path)
    if not path.exists():
        raise N2VError(f"no such file: {path}")
    if path.suffix == ".zarr" or path.is_dir():
        import zarr

        arr = zarr.open(str(path), mode="r")
        if not hasattr(arr, "shape"):
            raise N2VError(f"{path} is a zarr group: give the path of an array inside it.")
        if axes is None:
            raise N2VError(f"give --axes for the zarr array {path} (shape {arr.shape}).")
        return arr, axes
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            data = series.asarray()
            file_axes = series.axes
    except (tifffile.TiffFileError, OSError, ValueError) as err:
        raise N2VError(f"cannot read {path} as a TIFF: {err}") from err
    if axes is None:
        mapped = "".join(_FROM_TIFF.get(a, "?") for a in file_axes)
        if "?" in mapped or len(set(mapped)) != len(mapped):
            raise N2VError(f"the TIFF's axes {file_axes!r} are ambiguous: give --axes (e.g. ZYX).")
        axes = mapped
    return data, axes


def write_result(path: Path, data: Any, axes: str) -> None:
    import tifffile

    tifffile.imwrite(path, data, metadata={"axes": axes.replace("S", "Q")})


def _train(args: argparse.Namespace) -> None:
    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.model_io import load_model
    from napari_n2v.core.training import train

    out = Path(args.out)
    _check_out(out, args.overwrite)
    image, axes = read_image(args.image, args.axes)
    val = read_image(args.val, axes)[0] if args.val else None
    base = load_model(args.continue_from, device=args.device) if args.continue_from else None
    given = {
        "patch_size": args.patch,
        "steps": args.steps,
        "batch_size": args.batch,
        "masked_pixels": args.masked_pixels,
        "learning_rate": args.lr,
        "seed": args.seed,
        "struct_axis": args.struct_axis,
    }
    cfg = TrainConfig(
        axes=axes,
        n2v2=args.n2v2,
        device=args.device,
        **{k: v for k, v in given.items() if v is not None},
    )
    model = train(image, cfg, val_image=val, model=base, name=out.name.split(".")[0], progress=True)
    model.save(out, overwrite=args.overwrite)
    print(f"saved {out} ({model.describe()})")


def _predict(args: argparse.Namespace) -> None:
    from napari_n2v.core.config import PredictConfig
    from napari_n2v.core.model_io import load_model
    from napari_n2v.core.prediction import predict_iter

    out = Path(args.out)
    _check_out(out, args.overwrite)
    model = load_model(args.model, device=args.device)
    image, axes = read_image(args.image, args.axes)
    cfg = PredictConfig(
        tile_shape=args.tile,
        overlap=args.overlap,
        batch_size=args.batch,
        device=args.device,
        tta=args.tta,
    )
    target = None
    if out.suffix == ".zarr":
        import zarr

        target = zarr.open_array(
            str(out), mode="w", shape=image.shape, dtype="f4", chunks=_chunks(image.shape)
        )
    from tqdm.auto import tqdm

    gen = predict_iter(model, image, axes, cfg, out=target)
    with tqdm(unit="tile", dynamic_ncols=True) as bar:
        while True:
            try:
                ev = next(gen)
            except StopIteration as stop:
                result = stop.value
                break
            bar.total = ev.total
            bar.update(ev.done - bar.n)
    if target is None:
        write_result(out, result, axes)
    print(f"wrote {out}")


def _chunks(shape: Sequence[int]) -> tuple[int, ...]:
    return tuple([1] * (len(shape) - 2) + [min(512, s) for s in shape[-2:]])


def build_parser() -> argparse.ArgumentParser:
    from napari_n2v import __version__

    p = argparse.ArgumentParser(
        prog="napari-n2v", description="Noise2Void denoising (self-supervised)."
    )
    p.add_argument("--version", action="version", version=f"napari-n2v {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model on a noisy image and save it")
    t.add_argument("image", help="TIFF file or zarr array")
    t.add_argument(
        "--axes", help="axes of the image, e.g. YX, ZYX, TYX, YXC (default: from the TIFF)"
    )
    t.add_argument("--out", required=True, help="model file to write (.n2v.safetensors)")
    t.add_argument("--steps", type=int)
    t.add_argument("--patch", type=_ints, help="patch size: 64,64 or 16,64,64")
    t.add_argument("--batch", type=int)
    t.add_argument("--masked-pixels", type=int, help="blind-spot pixels per patch")
    t.add_argument("--lr", type=float, help="learning rate")
    t.add_argument("--n2v2", action="store_true", help="N2V2 variant (no checkerboard artefacts)")
    t.add_argument(
        "--struct-axis", choices=["X", "Y", "Z"], help="structN2V: mask a line along this axis"
    )
    t.add_argument("--val", help="separate validation image (same axes)")
    t.add_argument("--continue-from", help="a model file to continue training")
    t.add_argument("--seed", type=int)
    t.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    t.add_argument("--overwrite", action="store_true")
    t.set_defaults(func=_train)

    q = sub.add_parser("predict", help="denoise an image with a trained model")
    q.add_argument("model")
    q.add_argument("image", help="TIFF file or zarr array")
    q.add_argument("--out", required=True, help="output .tif, or .zarr to stream large data")
    q.add_argument("--axes", help="axes of the image (default: from the TIFF)")
    q.add_argument("--tile", type=_ints, help="tile shape, e.g. 512,512 or 32,128,128")
    q.add_argument(
        "--overlap",
        type=_ints,
        help="context discarded at each tile side (default: the model's halo)",
    )
    q.add_argument("--batch", type=int, help="tiles per batch")
    q.add_argument("--tta", action="store_true", help="average the 8 flips/rotations")
    q.add_argument("--device", default="auto")
    q.add_argument("--overwrite", action="store_true")
    q.set_defaults(func=_predict)

    d = sub.add_parser("demo", help="noisy nuclei sample -> train -> denoise -> TIFF, PNG and PSNR")
    d.add_argument("--out", default="demo_output", help="folder for the results")
    d.add_argument("--kind", choices=["2d", "3d", "both"], default="both")
    d.add_argument("--steps", type=int, help="training steps (default: a CPU-sized budget)")
    d.add_argument("--device", default="auto")
    d.add_argument("--overwrite", action="store_true")
    d.set_defaults(func=_demo)
    return p


def _demo(args: argparse.Namespace) -> None:
    from napari_n2v.demo import run_demo

    run_demo(Path(args.out), args.kind, args.steps, args.device, args.overwrite)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    t0 = time.perf_counter()
    try:
        args.func(args)
    except N2VError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print(f"done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
