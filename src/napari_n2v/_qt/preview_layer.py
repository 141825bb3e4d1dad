"""The live preview's layer: one layer per previewed image, updated in place, with its own contrast; and
whether a preview is worth showing yet (an untrained network's answer is a flat, dark square)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import ndimage as ndi

from napari_n2v._qt.layer_kinds import PREVIEW_KEY, preview_name
from napari_n2v.run_models.predict_job import contrast_limits

if TYPE_CHECKING:  # pragma: no cover
    import napari
    from napari.layers import Image

#: A preview is shown once it resembles a blurred copy of the noisy slice this well (Pearson
#: correlation): what any denoiser gets right first. An untrained network's answer does not.
MIN_LIKENESS = 0.8
#: Width (pixels) of the blur the preview is compared with.
LIKENESS_SIGMA = 2.0


def likeness(preview: np.ndarray, noisy: np.ndarray) -> float:
    """Correlation of ``preview`` with a Gaussian blur of ``noisy`` (both ``(Y, X[, C])``, one plane)."""
    sigma = (LIKENESS_SIGMA, LIKENESS_SIGMA) + (0.0,) * (noisy.ndim - 2)
    blurred = ndi.gaussian_filter(np.asarray(noisy, dtype=np.float32), sigma)
    a = np.asarray(preview, dtype=np.float64).ravel()
    b = blurred.astype(np.float64).ravel()
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok] - a[ok].mean(), b[ok] - b[ok].mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def _as_source_dtype(plane: np.ndarray, source: Image) -> np.ndarray:
    """An RGB preview in the source's integer type (napari reads RGB integers as 0..max)."""
    if source.rgb and np.issubdtype(source.dtype, np.integer):
        info = np.iinfo(source.dtype)
        return np.clip(plane, info.min, info.max).astype(source.dtype)
    return plane


class PreviewLayer:
    """The preview layer of one source image: created on the first :meth:`show`, then updated in
    place. Its contrast is the preview's own (robust percentiles, as a Predict result's), renewed
    with every preview until the user sets the contrast by hand."""

    def __init__(self, viewer: napari.Viewer) -> None:
        self.viewer = viewer
        self.layer: Image | None = None
        self._limits: tuple[float, float] | None = None  # what we set last

    def show(self, source: Image, plane: np.ndarray) -> Image:
        """Put ``plane`` (``(Y, X[, C])``) in the preview layer of ``source``; returns the layer."""
        name = preview_name(source.name)
        plane = _as_source_dtype(plane, source)
        current = self.layer
        if current is None or current not in self.viewer.layers:
            current = next((ly for ly in self.viewer.layers if ly.name == name), None)
        if current is not None and current.data.shape == plane.shape:
            current.data = plane
            current.name = name
        else:
            if current is not None:  # shape changed (another slice size, another layer): afresh
                self.viewer.layers.remove(current)
            current, self._limits = self.viewer.add_image(plane, **_kwargs(source, name)), None
        self.layer = current
        self._contrast(current, plane)
        return current

    def _contrast(self, layer: Image, plane: np.ndarray) -> None:
        if layer.rgb:
            return
        now = tuple(float(v) for v in layer.contrast_limits)
        if self._limits is not None and not np.allclose(now, self._limits, rtol=1e-4):
            return  # the user set the contrast: keep it
        layer.contrast_limits = contrast_limits(plane)
        low, high = (float(v) for v in layer.contrast_limits)
        self._limits = (low, high)


def _kwargs(source: Image, name: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "name": name,
        "rgb": bool(source.rgb),
        "scale": tuple(source.scale[-2:]),  # a layer's ndim excludes the RGB axis
        "translate": tuple(source.translate[-2:]),
        "metadata": {PREVIEW_KEY: source.name},
    }
    if not source.rgb:
        kwargs["colormap"] = source.colormap.name
    return kwargs
