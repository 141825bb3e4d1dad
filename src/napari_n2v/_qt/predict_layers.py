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


def result_name(source: str, existing: list[str]) -> str:
    """``<source>_n2v``, or ``<source>_n2v [n]`` with the first free ``n`` (nothing is replaced)."""
    base = f"{source}{SUFFIX}"
    name, n = base, 1
    while name in existing:
        name, n = f"{base} [{n}]", n + 1
    return name


def level0(data: Any) -> Any:
    """The full-resolution array of a layer's data (level 0 of a multiscale list)."""
    if isinstance(data, (list, tuple)) or type(data).__name__ == "MultiScaleData":
        return data[0]
    return data


def result_kwargs(src: Any, out: PredictOutput, name: str) -> dict[str, Any]:
    """Keyword arguments for ``viewer.add_image`` of a result: the source's world placement and
    axis labels, contrast limits from the data, and where the result came from (``metadata``)."""
    kwargs: dict[str, Any] = {
        "name": name,
        "scale": src.scale,
        "translate": src.translate,
        "rotate": src.rotate,
        "shear": src.shear,
        "axis_labels": src.axis_labels,
        "units": src.units,
        "rgb": src.rgb,
        "contrast_limits": out.contrast_limits,
        "metadata": {"n2v_source": src.name, "n2v_store": str(out.store) if out.store else None},
    }
    if not src.rgb:
        kwargs["colormap"] = src.colormap.name
    return kwargs


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
