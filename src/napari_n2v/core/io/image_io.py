"""Image files in one place: read a TIFF, a PNG or JPEG, a zarr array or an OME-Zarr with its axes; write
by suffix (a TIFF whose axes ImageJ knows, such as TZCYX, as an ImageJ hyperstack with its spacing).

The CLI, batch prediction and the widgets' file mode all go through here, so a file is read (and its axes
guessed) one way everywhere. Axes come from, in this order: what the user gave, what the file says, the
model's axes when the number of dimensions fits, and last a guess; :attr:`ImageFile.axes_from` says
which, so an error can show what was guessed and where to change it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from napari_n2v.core.errors import N2VError
from napari_n2v.core.io.pictures import PICTURE_SUFFIXES, read_picture
from napari_n2v.core.layout import guess_axes

#: tifffile's axis letters -> ours ('S' there is colour samples; 'Q'/'I' are unnamed sequences).
_FROM_TIFF = {"S": "C", "I": "S", "Q": "S", "C": "C", "T": "T", "Z": "Z", "Y": "Y", "X": "X"}
_UNNAMED = set("QI")
TIFF_SUFFIXES = (".tif", ".tiff")
#: Suffixes :func:`write_image` writes; anything else is refused before any work is done.
WRITE_SUFFIXES = (*TIFF_SUFFIXES, ".zarr")


@dataclass
class ImageFile:
    """An opened image: ``data`` (numpy for TIFF, a lazy zarr array otherwise) and its axes.

    ``axes_from`` is one of ``"user"``, ``"file"``, ``"model"``, ``"guess"``; ``scale`` maps spatial
    axis letters to pixel sizes when the file records them; ``unit`` is their unit, if known.
    """

    path: Path
    data: Any
    axes: str
    axes_from: str
    scale: dict[str, float] = field(default_factory=dict)
    unit: str | None = None

    def describe_axes(self) -> str:
        """E.g. ``axes 'SYX' (guessed: the file does not say)`` — for error messages."""
        why = {
            "user": "as given",
            "file": "from the file",
            "model": "taken from the model, as the file does not say",
            "guess": "guessed: the file does not say",
        }[self.axes_from]
        return f"axes {self.axes!r} ({why})"


def axes_hint(image: ImageFile, flag: str = "--axes") -> str:
    """The tail every axes error gets: what was used, and how to change it."""
    example = "ZYX" if image.data.ndim == 3 else "TZYX" if image.data.ndim == 4 else "YX"
    return (
        f"{image.path.name} has shape {tuple(image.data.shape)}, read with "
        f"{image.describe_axes()}; set the right ones with {flag} (e.g. {flag} {example})."
    )


def _fill_axes(
    image: ImageFile, axes: str | None, model_axes: str | None, model_3d: bool
) -> ImageFile:
    ndim = image.data.ndim
    if axes is not None:
        image.axes, image.axes_from = axes.upper(), "user"
    elif image.axes:
        image.axes_from = "file"
    elif model_axes is not None and len(model_axes) == ndim:
        image.axes, image.axes_from = model_axes, "model"
    else:
        try:
            image.axes = guess_axes(ndim, model_3d)
        except N2VError as err:
            raise N2VError(f"{err} ({image.path.name}, shape {tuple(image.data.shape)}).") from err
        image.axes_from = "guess"
    return image


def read_image(
    path: str | Path,
    axes: str | None = None,
    *,
    model_axes: str | None = None,
    model_3d: bool = False,
    lazy: bool = False,
) -> ImageFile:
    """Open ``path`` (TIFF, PNG, JPEG into memory; zarr / OME-Zarr lazily) and settle its axes.

    Parameters
    ----------
    axes
        The user's axes; they win over everything else.
    model_axes, model_3d
        A model's training axes and kind: used when the file does not name its axes (a plain TIFF)
        and the number of dimensions fits; otherwise the guess favours Z for a 3D model.
    lazy
        Leave a TIFF on disk too: memory-mapped when uncompressed, else read page by page
        (:func:`napari_n2v.core.io.tiff_map.open_tiff_lazily`); for folders larger than memory.
    """
    path = Path(path)
    if not path.exists():
        raise N2VError(f"no such file or folder: {path}")
    if path.is_dir() or path.suffix == ".zarr":
        image = _read_zarr(path)
    elif path.suffix.lower() in PICTURE_SUFFIXES:
        data, file_axes = read_picture(path)
        image = ImageFile(path, data, file_axes, "")
    elif path.suffix.lower() in TIFF_SUFFIXES or path.suffix.lower() == ".btf":
        image = _read_tiff(path, lazy=lazy)
    else:
        image = _read_tiff(path, unknown_suffix=True, lazy=lazy)
    return _fill_axes(image, axes, model_axes, model_3d)


def _read_tiff(path: Path, unknown_suffix: bool = False, lazy: bool = False) -> ImageFile:
    import tifffile

    from napari_n2v.core.io.tiff_map import open_tiff_lazily

    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            data = open_tiff_lazily(tif, path) if lazy else series.asarray()
            file_axes = series.axes
            scale, unit = _tiff_scale(tif)
    except (tifffile.TiffFileError, OSError, ValueError, IndexError) as err:
        what = f"{path.suffix} files are not read" if unknown_suffix else f"{err}"
        raise N2VError(
            f"cannot read {path} as a TIFF ({what}): give a TIFF, PNG or JPEG file, or a .zarr "
            "array."
        ) from err
    said = "" if set(file_axes) & _UNNAMED else "".join(_FROM_TIFF.get(a, "?") for a in file_axes)
    if "?" in said or len(set(said)) != len(said):
        said = ""
    return ImageFile(path, data, said, "", scale, unit)


def _tiff_scale(tif: Any) -> tuple[dict[str, float], str | None]:
    """Pixel sizes from the first page's resolution tags and ImageJ's Z spacing, when present."""
    scale: dict[str, float] = {}
    unit = None
    page = tif.pages[0]
    for letter, tag in (("X", "XResolution"), ("Y", "YResolution")):
        t = page.tags.get(tag)
        if t is not None:
            num, den = t.value
            if num and den and num != den:  # 1/1 is "no resolution"
                scale[letter] = den / num
    meta = tif.imagej_metadata or {}
    if "spacing" in meta:
        scale["Z"] = float(meta["spacing"])
    unit = meta.get("unit")
    shaped = tif.shaped_metadata[0] if tif.shaped_metadata else {}
    if isinstance(shaped, dict):
        scale.update({k: float(v) for k, v in (shaped.get("scale") or {}).items()})
        unit = shaped.get("unit", unit)
    return scale, unit


def _read_zarr(path: Path) -> ImageFile:
    import zarr

    markers = (".zarray", ".zgroup", "zarr.json")
    if path.is_dir() and not any((path / m).exists() for m in markers):
        raise N2VError(
            f"{path} is a folder but not a zarr array (no zarr.json or .zarray inside): give a "
            "TIFF file, a zarr array, or an OME-Zarr folder."
        )
    try:
        node = zarr.open(str(path), mode="r")
    except Exception as err:  # zarr raises several unrelated types for a broken store
        raise N2VError(f"cannot open {path} as zarr: {err}") from err
    if isinstance(node, zarr.Array):
        axes = _zarr_axes_attr(dict(node.attrs), node.ndim)
        return ImageFile(path, node, axes, "")
    return _read_ome_zarr(path, node)


def _zarr_axes_attr(attrs: dict[str, Any], ndim: int) -> str:
    """Axes stored by napari-n2v (``attrs['axes']``) or by xarray-style ``_ARRAY_DIMENSIONS``."""
    raw = attrs.get("axes") or attrs.get("_ARRAY_DIMENSIONS")
    if isinstance(raw, str | list) and len(raw) == ndim:
        letters = "".join(str(a)[:1].upper() for a in raw)
        if set(letters) <= set("STCZYX") and len(set(letters)) == ndim:
            return letters
    return ""


def _read_ome_zarr(path: Path, group: Any) -> ImageFile:
    attrs = dict(group.attrs)
    ms = attrs.get("multiscales") or (attrs.get("ome") or {}).get("multiscales")
    if not ms:
        raise N2VError(
            f"{path} is a zarr group, not an image: give the path of an array inside it "
            f"(e.g. {path}/0), or an OME-Zarr image."
        )
    first = ms[0]
    ds = first["datasets"][0]
    arr = group[ds["path"]]
    names = [a["name"] if isinstance(a, dict) else a for a in first.get("axes", [])]
    axes = "".join(str(n)[:1].upper() for n in names) if len(names) == arr.ndim else ""
    scale: dict[str, float] = {}
    unit = None
    for t in ds.get("coordinateTransformations", []):
        if t.get("type") == "scale" and axes:
            scale = {a: float(s) for a, s in zip(axes, t["scale"], strict=True) if a in "ZYX"}
    for a in first.get("axes", []):
        if isinstance(a, dict) and a.get("type") == "space" and a.get("unit"):
            unit = a["unit"]
    return ImageFile(path, arr, axes, "", scale, unit)


def check_output_suffix(path: str | Path) -> Path:
    """Refuse, before any work, an output whose suffix we would not honour."""
    path = Path(path)
    if path.suffix.lower() not in WRITE_SUFFIXES:
        raise N2VError(
            f"cannot write {path.name}: the output must end in .tif/.tiff (an image file) or .zarr "
            "(large data, written tile by tile)."
        )
    return path


def write_image(
    path: str | Path,
    data: np.ndarray,
    axes: str,
    *,
    scale: dict[str, float] | None = None,
    unit: str | None = None,
    overwrite: bool = False,
    into: str | Path | None = None,
) -> Path:
    """Write ``data`` as the suffix says (TIFF with axes and pixel size; zarr with axes attributes),
    atomically (:func:`napari_n2v.core.io.atomic.atomic_write`): complete or not at all, an existing
    file replaced only with ``overwrite``. ``into``: write there instead, as ``path``'s format, with
    no checks (the caller holds ``path``'s atomic write and passes its temporary)."""
    path = check_output_suffix(path)
    if into is None:
        from napari_n2v.core.io.atomic import atomic_write

        is_dir = path.suffix.lower() == ".zarr"
        with atomic_write(path, overwrite=overwrite, is_dir=is_dir, size_hint=data.nbytes) as tmp:
            return write_image(path, data, axes, scale=scale, unit=unit, into=tmp)
    dest = Path(into)
    if path.suffix.lower() == ".zarr":
        from napari_n2v.core.io.lazy_io import create_zarr_like
        from napari_n2v.core.io.store_marker import mark_complete

        n_sp = 3 if "Z" in axes else 2
        arr = create_zarr_like(dest, data.shape, dtype=data.dtype, n_spatial=n_sp, overwrite=True)
        arr[...] = data
        tag_zarr(arr, axes, scale, unit)
        mark_complete(dest)
        return path
    import tifffile

    scale = scale or {}
    res = None
    if "X" in scale and "Y" in scale and scale["X"] > 0 and scale["Y"] > 0:
        res = (1.0 / scale["X"], 1.0 / scale["Y"])
    is_ome = path.name.lower().endswith((".ome.tif", ".ome.tiff"))
    if not is_ome and _imagej_fits(
        axes, data
    ):  # Fiji opens it as a hyperstack, with Z spacing, unit
        ij: dict[str, Any] = {"axes": axes}
        if scale.get("Z"):
            ij["spacing"] = float(scale["Z"])
        if unit:
            ij["unit"] = unit
        tifffile.imwrite(dest, data, imagej=True, metadata=ij, resolution=res)
        return path
    meta: dict[str, Any] = {"axes": axes.replace("S", "Q")}
    if scale:
        meta["scale"] = scale
    if unit:
        meta["unit"] = unit
    tifffile.imwrite(dest, data, metadata=meta, resolution=res, ome=is_ome or None)
    return path


def _imagej_fits(axes: str, data: np.ndarray) -> bool:
    """ImageJ hyperstacks hold axes in the order T, Z, C, Y, X (each optional but Y, X), uint8, uint16
    or float32 pixels, and (without BigTIFF) less than 4 GB."""
    it = iter("TZCYX")
    in_order = all(a in it for a in axes) and axes.endswith("YX")
    small = data.nbytes < 2**32 - 2**25
    return in_order and small and data.dtype in (np.uint8, np.uint16, np.float32)


def tag_zarr(arr: Any, axes: str, scale: dict[str, float] | None, unit: str | None) -> None:
    """Record axes (and pixel size) on a zarr array, so reading it back needs no --axes."""
    arr.attrs.update({"axes": axes, "scale": json.loads(json.dumps(scale or {})), "unit": unit})
