"""Many image files from a few words: expand files, folders and globs; name each one's output.

Used by ``napari-n2v train|predict INPUT...``, by :mod:`napari_n2v.batch.jobs` and by the widgets' Files mode,
so "a folder" means the same thing everywhere: its TIFF, PNG and JPEG files and zarr arrays, sorted by
name, not recursive.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable
from pathlib import Path

from napari_n2v.core.errors import N2VError

#: File kinds an input folder or glob contributes (a zarr folder is one image).
IMAGE_SUFFIXES = (".tif", ".tiff", ".zarr", ".png", ".jpg", ".jpeg")
#: Suffixes an output keeps; other inputs (PNG, JPEG: 8/16-bit only) give a float32 TIFF.
_KEPT = (".tif", ".tiff")
_KINDS = ".tif, .tiff, .png, .jpg or .zarr"
_ZARR_MARKERS = (".zarray", ".zgroup", "zarr.json")
#: Double suffixes kept together when naming an output (``a.ome.tif`` -> ``a_n2v.ome.tif``).
_DOUBLE = (".ome.tif", ".ome.tiff")


def is_zarr(path: Path) -> bool:
    """A zarr array or group (a folder with zarr metadata, or any ``.zarr`` path)."""
    return path.suffix.lower() == ".zarr" or (
        path.is_dir() and any((path / m).exists() for m in _ZARR_MARKERS)
    )


def _is_image(path: Path) -> bool:
    if path.name.startswith("."):
        return False
    return is_zarr(path) or (path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES)


def expand_inputs(inputs: Iterable[str | Path]) -> list[Path]:
    """Files, folders (their images, sorted; not recursive) and globs -> a list of image paths.

    Order is kept and duplicates are dropped. Raises :class:`N2VError` naming the input that gave
    nothing, so a typo is a usage error rather than an empty run.
    """
    found: list[Path] = []
    for item in inputs:
        text = str(item)
        path = Path(text)
        if path.exists() and (is_zarr(path) or not path.is_dir()):
            hits = [path]
        elif path.is_dir():
            hits = sorted(p for p in path.iterdir() if _is_image(p))
            if not hits:
                raise N2VError(
                    f"the folder {path} is not a zarr array and holds no images ({_KINDS}): give "
                    "a zarr array, a folder of images, or the files themselves."
                )
        elif glob.has_magic(text):
            hits = sorted(p for p in map(Path, glob.glob(text)) if _is_image(p))
            if not hits:
                raise N2VError(f"the pattern {text!r} matches no image ({_KINDS}).")
        else:
            raise N2VError(f"no such file or folder: {path}")
        found.extend(hits)
    if not found:
        raise N2VError("no input images given.")
    unique = list(dict.fromkeys(p.resolve() for p in found))
    by_resolved = {p.resolve(): p for p in reversed(found)}
    return [by_resolved[p] for p in unique]


def output_name(path: Path, tag: str = "_n2v") -> str:
    """``cells.tif`` -> ``cells_n2v.tif``; ``a.ome.tif`` -> ``a_n2v.ome.tif``; ``b.ome.zarr`` ->
    ``b_n2v.zarr`` (zarr outputs are plain arrays with axes attributes, not OME-Zarr groups);
    ``c.png`` -> ``c_n2v.tif`` (the result is float32, which PNG and JPEG cannot hold)."""
    name = path.name.rstrip("/")
    low = name.lower()
    if is_zarr(path):
        stem = name[: -len(".ome.zarr")] if low.endswith(".ome.zarr") else Path(name).stem
        if not low.endswith(".zarr"):
            stem = name
        return f"{stem}{tag}.zarr"
    for double in _DOUBLE:
        if low.endswith(double):
            return f"{name[: -len(double)]}{tag}{name[-len(double) :]}"
    p = Path(name)
    suffix = p.suffix if p.suffix.lower() in _KEPT else ".tif"
    return f"{p.stem}{tag}{suffix}"


def output_paths(inputs: list[Path], out_dir: Path, tag: str = "_n2v") -> list[Path]:
    """One output per input in ``out_dir``; two inputs that would share an output name are refused."""
    outs = [out_dir / output_name(p, tag) for p in inputs]
    seen: dict[Path, Path] = {}
    for src, out in zip(inputs, outs, strict=True):
        if out in seen:
            raise N2VError(
                f"{seen[out]} and {src} would both be written to {out}: rename one of them or "
                "predict them into different --out-dir folders."
            )
        seen[out] = src
    return outs
