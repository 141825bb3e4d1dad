"""Layer helpers of the Predict widget: the result's name and properties, temporary zarr stores.

Functions here read layers (on the main thread) but never add or change any.
"""

from __future__ import annotations

import atexit
from pathlib import Path
from typing import TYPE_CHECKING, Any

from napari_n2v.core.io import lazy_io

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.run_models.predict_job import PredictOutput

SUFFIX = "_n2v"
#: Temporary zarr stores made for streamed results in this session; removed at exit.
TEMP_STORES: list[Path] = []


@atexit.register
def _remove_temp_stores() -> None:  # pragma: no cover - runs at interpreter exit
    for p in TEMP_STORES:
        lazy_io.remove_store(p)


def result_name(source: str, existing: list[str], suffix: str = SUFFIX) -> str:
    """``<source>_n2v`` (or another ``suffix``), or ``<source>_n2v [n]`` with the first free ``n``
    (nothing is replaced)."""
    base = f"{source}{suffix}"
    name, n = base, 1
    while name in existing:
        name, n = f"{base} [{n}]", n + 1
    return name


def level0(data: Any) -> Any:
    """The full-resolution array of a layer's data (level 0 of a multiscale list)."""
    if isinstance(data, (list, tuple)) or type(data).__name__ == "MultiScaleData":
        return data[0]
    return data


def placed_like(
    src: Any, name: str, limits: tuple[float, float], metadata: dict[str, Any], rgb: bool = True
) -> dict[str, Any]:
    """Keyword arguments for ``viewer.add_image`` of a layer made from ``src``: its world placement
    and axis labels, the colormap (``rgb``: RGB when ``src`` is), ``limits`` and ``metadata``."""
    kwargs: dict[str, Any] = {
        "name": name,
        "scale": src.scale,
        "translate": src.translate,
        "rotate": src.rotate,
        "shear": src.shear,
        "axis_labels": src.axis_labels,
        "units": src.units,
        "rgb": bool(src.rgb and rgb),
        "contrast_limits": limits,
        "metadata": metadata,
    }
    if not kwargs["rgb"]:
        kwargs["colormap"] = src.colormap.name if not src.rgb else "gray"
    return kwargs


def result_kwargs(src: Any, out: PredictOutput, name: str) -> dict[str, Any]:
    """Keyword arguments for ``viewer.add_image`` of a result: the source's world placement and
    axis labels, contrast limits from the data, and where the result came from (``metadata``)."""
    store = str(out.store) if out.store else None
    return placed_like(src, name, out.contrast_limits, {"n2v_source": src.name, "n2v_store": store})


def add_beside(viewer: Any, data: Any, kwargs: dict[str, Any], beside: Any) -> Any:
    """Add an image layer just above ``beside`` in the layer list (on top when it is gone): in grid
    mode the two are shown next to each other."""
    layer = viewer.add_image(data, **kwargs)
    if beside is not None and beside in viewer.layers:
        viewer.layers.move(viewer.layers.index(layer), viewer.layers.index(beside) + 1)
    return layer


def remove_temp_store_of(layer: Any) -> None:
    """Delete the temporary zarr store behind a removed result layer (user-chosen stores stay)."""
    meta = getattr(layer, "metadata", None) or {}
    store = meta.get("n2v_store")
    if store and Path(store) in TEMP_STORES:
        lazy_io.remove_store(store)
        TEMP_STORES.remove(Path(store))


def stream_target(form: Any) -> Path | None:
    """The zarr store a result streams into (a new temporary one when the box is empty), or None
    when streaming is off; an existing, non-empty folder is refused (N2VError)."""
    from napari_n2v.core.errors import N2VError

    if not form.stream_check.isChecked():
        return None
    text = form.store_edit.text().strip()
    out_path = Path(text).expanduser() if text else lazy_io.temp_store_path()
    if text and out_path.exists() and (out_path.is_file() or any(out_path.iterdir())):
        raise N2VError(f"{out_path} already exists; give a new folder for the zarr result.")
    if not text:
        TEMP_STORES.append(out_path)
    return out_path
