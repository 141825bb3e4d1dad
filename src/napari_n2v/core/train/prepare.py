"""One data preparation for training on one image or many: every check a user's data must pass, raised
here before any training starts, and the same for both (size, patch fit, masked pixels, channels, model).

One image given as an array is loaded into memory in canonical ``(S, C, *spatial)`` order; a list of
images (a folder, several layers, one file too big for memory) stays where it is, read patch by patch
through :mod:`napari_n2v.core.train.sources`. Only that storage differs; the rules are written once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from napari_n2v.core.axes import to_canonical
from napari_n2v.core.config import TrainConfig, max_masked_pixels
from napari_n2v.core.errors import N2VError
from napari_n2v.core.model.denoiser import Denoiser
from napari_n2v.core.train.data import Region, channel_stats, check_finite, fit_patch, split_regions
from napari_n2v.core.train.sources import CanonicalView, SourceSet, stream_stats, to_views


@dataclass
class TrainData:
    data: Any  # canonical (S, C, *spatial): an ndarray in the input's dtype, or the first lazy view
    val_data: Any
    train_region: Region
    val_region: Region
    patch: tuple[int, ...]
    n_masked: int
    mean: np.ndarray  # (C,)
    std: np.ndarray  # (C,)
    messages: list[str] = field(default_factory=list)
    #: Several images: patches come from there, and ``data``/``val_data`` are only the first image's view.
    sources: SourceSet | None = None

    @property
    def channels(self) -> int:
        return int(self.data.shape[1])


@dataclass(frozen=True)
class Geometry:
    """What the shapes settle: the patch that fits and the blind-spot pixels per patch."""

    patch: tuple[int, ...]
    n_masked: int
    messages: tuple[str, ...]


def _whole(shape: Sequence[int]) -> Region:
    """All samples and the whole spatial extent of a canonical ``(S, C, *spatial)`` shape."""
    return Region(0, shape[0], tuple(slice(0, n) for n in shape[2:]))


def check_geometry(smallest: Sequence[int], config: TrainConfig, many: bool) -> Geometry:
    """The rules on sizes, for one image or the smallest of many (``smallest`` is its spatial shape)."""
    m = 2**config.depth
    names = "ZYX"[-len(smallest) :]
    for n, a in zip(smallest, names, strict=True):
        if n < m:
            if many:
                raise N2VError(
                    f"the smallest image is {tuple(smallest)} pixels: training needs at least {m} "
                    "along each spatial axis; leave the small images out."
                )
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
    patch = fit_patch(want, smallest, m)
    messages = []
    if patch != want:
        what = "the smallest image" if many else "the image"
        messages.append(f"patch {want} is larger than {what} {tuple(smallest)}: using {patch}.")
    if config.masked_pixels is not None and config.masked_pixels > max_masked_pixels(patch):
        raise N2VError(
            f"masked_pixels={config.masked_pixels} is too many for the {patch} patch that fits "
            f"{'the smallest image' if many else 'this image'}: use at most "
            f"{max_masked_pixels(patch)}."
        )
    return Geometry(patch, config.resolved_masked_pixels(patch), tuple(messages))


def _check_model(model: Denoiser | None, channels: int, what: str) -> None:
    if model is not None and model.n_channels != channels:
        raise N2VError(f"the model has {model.n_channels} channel(s) but {what} {channels}.")


def prepare_data(
    image: Any,
    config: TrainConfig,
    *,
    val_image: Any = None,
    model: Denoiser | None = None,
    names: Sequence[str] | None = None,
) -> TrainData:
    """Check and canonicalise one image (loaded into memory) or a list of images (read patch by patch).

    With ``model`` (Continue), its normalisation is kept and its channel count must match.
    """
    many = isinstance(image, list | tuple)
    images = list(image) if many else [image]
    if not many and (image is None or not hasattr(image, "shape")):
        raise N2VError("the training image is not an array.")
    views = to_views(images, config.axes, names if many else ["the training image"], "image")
    smallest = tuple(min(v.shape[2 + d] for v in views) for d in range(config.n_spatial))
    geo = check_geometry(smallest, config, many)
    channels = views[0].shape[1]
    _check_model(model, channels, "the images" if many else "the image")
    vals = None
    if val_image is not None:
        vlist = list(val_image) if isinstance(val_image, list | tuple) else [val_image]
        vnames = None if many else ["the validation image"]
        vals = to_views(vlist, config.axes, vnames, "validation image")
        if vals[0].shape[1] != channels:
            raise N2VError(
                f"the validation image has {vals[0].shape[1]} channel(s), the training image "
                f"{channels}: they must match."
            )
    if many:
        return _prepare_lazy(views, vals, config, geo, model)
    return _prepare_in_memory(images[0], views[0], vals, config, geo, model)


def _prepare_in_memory(
    image: Any,
    view: CanonicalView,
    vals: list[CanonicalView] | None,
    config: TrainConfig,
    geo: Geometry,
    model: Denoiser | None,
) -> TrainData:
    data = to_canonical(np.asarray(image), config.axes)  # (S, C, *spatial)
    check_finite(data, "the training image")
    messages = list(geo.messages)
    spatial = data.shape[2:]
    if vals is not None:
        val_data = to_canonical(np.asarray(vals[0].array), config.axes)
        check_finite(val_data, "the validation image")
        if fit_patch(geo.patch, val_data.shape[2:], 2**config.depth) != geo.patch:
            raise N2VError(
                f"the validation image {tuple(val_data.shape[2:])} is smaller than the patch "
                f"{geo.patch}."
            )
        train_region, val_region = _whole(data.shape), _whole(val_data.shape)
    else:
        val_data = data
        train_region, vr, msg = split_regions(
            data.shape[0], spatial, geo.patch, config.val_fraction
        )
        val_region = vr or train_region
        if msg:
            messages.append(msg)
    mean, std = (model.mean, model.std) if model is not None else channel_stats(data)
    return TrainData(
        data, val_data, train_region, val_region, geo.patch, geo.n_masked, mean, std, messages,
    )  # fmt: skip


def _prepare_lazy(
    views: list[CanonicalView],
    vals: list[CanonicalView] | None,
    config: TrainConfig,
    geo: Geometry,
    model: Denoiser | None,
) -> TrainData:
    messages = list(geo.messages)
    train: list[tuple[CanonicalView, Region]] = []
    val: list[tuple[CanonicalView, Region]] = []
    n_val = round(len(views) * config.val_fraction)
    if vals is not None:
        train = [(v, _whole(v.shape)) for v in views]
        val = [(v, _whole(v.shape)) for v in vals]
    elif n_val >= 1 and len(views) - n_val >= 1:
        train = [(v, _whole(v.shape)) for v in views[:-n_val]]
        val = [(v, _whole(v.shape)) for v in views[-n_val:]]
        messages.append(f"validation on {n_val} held-out image(s) of {len(views)}.")
    else:
        for v in views:
            tr, va, msg = split_regions(v.shape[0], v.shape[2:], geo.patch, config.val_fraction)
            train.append((v, tr))
            val.append((v, va or tr))
            if msg and msg not in messages:
                messages.append(msg)
    mean, std = (model.mean, model.std) if model is not None else stream_stats(views)
    first = views[0]
    region = _whole(first.shape)
    return TrainData(
        first, first, region, region, geo.patch, geo.n_masked, mean, std, messages,
        SourceSet(train, val),
    )  # fmt: skip
