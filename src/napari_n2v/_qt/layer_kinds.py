"""What a layer is to this plugin, read from plain attributes (no Qt): its full-resolution array, whether
it is a live preview (never an input to train or predict on), and whether it is a result of this plugin
(never an input to train on)."""

from __future__ import annotations

import re
from typing import Any


def full_array(layer: Any) -> Any:
    """The layer's full-resolution array (level 0 of a multiscale layer; numpy, dask or zarr, not copied)."""
    data = layer.data
    if getattr(layer, "multiscale", False) or isinstance(data, list | tuple):
        return data[0]
    return data


#: Key in a preview layer's ``metadata``; its value is the name of the layer being previewed.
PREVIEW_KEY = "n2v_preview_of"


def preview_name(layer_name: str) -> str:
    """Name of the one preview layer belonging to the layer called ``layer_name``."""
    return f"{layer_name} (N2V preview)"


def is_preview(layer: Any) -> bool:
    """Whether ``layer`` is a live-preview layer (never a sensible input to train or predict on)."""
    metadata = getattr(layer, "metadata", None) or {}
    return PREVIEW_KEY in metadata or str(getattr(layer, "name", "")).endswith("(N2V preview)")


def preview_source(layer: Any) -> str | None:
    """The name of the layer ``layer`` previews, or None when it is no preview layer."""
    if not is_preview(layer):
        return None
    name = (getattr(layer, "metadata", None) or {}).get(PREVIEW_KEY)
    return str(name) if name else str(layer.name).removesuffix(" (N2V preview)")


#: ``metadata`` keys of the layers this plugin makes from another: a prediction, its residual, the
#: "Compare" baseline, a result opened from Files…
RESULT_KEYS = ("n2v_source", "n2v_residual_of", "n2v_baseline_of", "n2v_file")
#: Names of results, also when saved and opened again: ``<name>_n2v``, ``<name>_n2v [2]``, ...
_RESULT_NAME = re.compile(r"_(n2v|residual)( \[\d+\])?$")


def is_result(layer: Any) -> bool:
    """Whether ``layer`` is a result of this plugin (a denoised image, a residual, a baseline) or a
    preview: training on it would learn from a denoised image, not from noise."""
    metadata = getattr(layer, "metadata", None) or {}
    if is_preview(layer) or any(k in metadata for k in RESULT_KEYS):
        return True
    return bool(_RESULT_NAME.search(str(getattr(layer, "name", ""))))
