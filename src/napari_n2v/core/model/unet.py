"""The U-Net (2D/3D, with the N2V2 variant) built from a TrainConfig, and its receptive field.

The network itself lives in :mod:`napari_n2v.core.zoo.arch`, a file that imports torch alone, because
that very file is copied into the BioImage Model Zoo packages we export: one copy of the architecture, here and there.
"""

from __future__ import annotations

from typing import Any

from napari_n2v.core.config import TrainConfig
from napari_n2v.core.plan.defaults import settled_n_filters
from napari_n2v.core.zoo.arch import ConvBlock, MaxBlurPool, UNet

__all__ = ["ConvBlock", "MaxBlurPool", "UNet", "build_unet", "halo", "unet_kwargs"]


def unet_kwargs(config: TrainConfig, channels: int) -> dict[str, Any]:
    """The :class:`UNet` keyword arguments that ``config`` describes, for data with ``channels``
    channels: the one place a config becomes a network (here and in exported zoo packages). Arguments at
    the network's own default are left out, so that a package's rdf names only what differs."""
    kw: dict[str, Any] = {
        "n_dim": config.n_spatial,
        "channels": channels,
        "depth": config.depth,
        "n_filters": settled_n_filters(config),  # None: the machine's default
        "kernel_size": config.kernel_size,
        "batch_norm": config.batch_norm,
        "n2v2": config.n2v2,
    }
    edge = config.extra.get("pool_edge", "replicate")  # "zero": CAREamics N2V2 imports
    if edge != "replicate":
        kw["pool_edge"] = edge
    return kw


def build_unet(config: TrainConfig, channels: int) -> UNet:
    """The U-Net that ``config`` describes, for data with ``channels`` channels."""
    return UNet(**unet_kwargs(config, channels))


def halo(config: TrainConfig) -> int:
    """A receptive-field radius (pixels, one side) that bounds the U-Net's, rounded up to a multiple of
    ``2**depth``: the tile margin that makes tiled prediction equal untiled prediction."""
    r = config.kernel_size // 2
    total = 0
    for level in range(config.depth):
        s = 2**level
        total += 4 * r * s  # two convs down, two up
        total += (3 if config.n2v2 else 1) * s  # pool (blur-pool reaches further)
        total += 2 * s  # upsampling interpolation
    total += 2 * r * 2**config.depth  # the bottom block
    m = 2**config.depth
    return -(-total // m) * m
