"""Turn a user's array + TrainConfig into checked, canonical training data (all user errors raised here,
before any training starts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .axes import to_canonical, validate_axes
from .config import TrainConfig, max_masked_pixels
from .data import Region, channel_stats, check_dtype, check_finite, fit_patch, split_regions
from .errors import N2VError

if TYPE_CHECKING:
    from .n2v_model import N2VModel


@dataclass
class TrainData:
    data: np.ndarray  # canonical (S, C, *spatial), the input's dtype
    val_data: np.ndarray
    train_region: Region
    val_region: Region
    patch: tuple[int, ...]
    n_masked: int
    mean: np.ndarray
    std: np.ndarray
    struct_dim: int | None
    messages: list[str] = field(default_factory=list)
    #: Several images (a :class:`napari_n2v.core.sources.SourceSet`): patches come from there, and
    #: ``data``/``val_data`` are only the first image's lazy view.
    sources: Any = None

    @property
    def channels(self) -> int:
        return int(self.data.shape[1])


def _canonical(image: Any, axes: str, what: str) -> np.ndarray:
    if image is None or not hasattr(image, "shape"):
        raise N2VError(f"{what} is not an array.")
    if 0 in tuple(image.shape):
        raise N2VError(f"{what} is empty (shape {tuple(image.shape)}).")
    check_dtype(image.dtype)
    try:
        validate_axes(axes, image.shape)
    except N2VError as err:  # say which image: the training one or the validation one
        raise N2VError(f"{what} (shape {tuple(image.shape)}): {err}") from err
    data = to_canonical(np.asarray(image), axes)
    check_finite(data, what)
    return data


def prepare_data(
    image: Any,
    config: TrainConfig,
    *,
    val_image: Any = None,
    model: N2VModel | None = None,
    names: Sequence[str] | None = None,
) -> TrainData:
    """Check and canonicalise one image (loaded into memory), or a list of images (left where they
    are, read patch by patch: :func:`napari_n2v.core.sources.prepare_sources`)."""
    if isinstance(image, list | tuple):
        from .sources import prepare_sources

        return prepare_sources(image, config, val_image=val_image, model=model, names=names)
    data = _canonical(image, config.axes, "the training image")
    messages: list[str] = []
    m = 2**config.depth
    spatial = data.shape[2:]
    names = "ZYX"[-len(spatial) :]
    for n, a in zip(spatial, names, strict=True):
        if n < m:
            hint = (
                " Train plane by plane instead (treat Z as frames: axes with S or T instead of Z)."
                if a == "Z"
                else ""
            )
            raise N2VError(
                f"the image has only {n} pixel(s) along {a}; training needs at least {m} "
                f"(2**depth with depth={config.depth}).{hint}"
            )
    want = config.resolved_patch_size
    patch = fit_patch(want, spatial, m)
    if patch != want:
        messages.append(f"patch {want} is larger than the image {tuple(spatial)}: using {patch}.")
    if config.masked_pixels is not None and config.masked_pixels > max_masked_pixels(patch):
        raise N2VError(
            f"masked_pixels={config.masked_pixels} is too many for the {patch} patch that fits this "
            f"image: use at most {max_masked_pixels(patch)}."
        )
    n_masked = config.resolved_masked_pixels(patch)
    if val_image is not None:
        val_data = _canonical(val_image, config.axes, "the validation image")
        if val_data.shape[1] != data.shape[1]:
            raise N2VError(
                f"the validation image has {val_data.shape[1]} channel(s), the training image "
                f"{data.shape[1]}: they must match."
            )
        vpatch = fit_patch(patch, val_data.shape[2:], m)
        if vpatch != patch:
            raise N2VError(
                f"the validation image {tuple(val_data.shape[2:])} is smaller than the patch {patch}."
            )
        full = tuple(slice(0, n) for n in spatial)
        train_region = Region(0, data.shape[0], full)
        val_region = Region(0, val_data.shape[0], tuple(slice(0, n) for n in val_data.shape[2:]))
    else:
        val_data = data
        train_region, vr, msg = split_regions(data.shape[0], spatial, patch, config.val_fraction)
        val_region = vr or train_region
        if msg:
            messages.append(msg)
    if model is not None:
        if model.n_channels != data.shape[1]:
            raise N2VError(
                f"the model has {model.n_channels} channel(s) but the image {data.shape[1]}."
            )
        mean, std = model.mean, model.std
    else:
        mean, std = channel_stats(data)
    struct_dim = names.index(config.struct_axis) if config.struct_axis else None
    return TrainData(
        data, val_data, train_region, val_region, patch, n_masked, mean, std, struct_dim, messages
    )
