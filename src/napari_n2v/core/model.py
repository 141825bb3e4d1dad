"""U-Net for 2D and 3D, with the N2V2 variant (max-blur-pool downsampling, no top skip connection)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .config import TrainConfig


def _conv(n_dim: int) -> type[nn.Module]:
    return nn.Conv3d if n_dim == 3 else nn.Conv2d


def _bn(n_dim: int) -> type[nn.Module]:
    return nn.BatchNorm3d if n_dim == 3 else nn.BatchNorm2d


class ConvBlock(nn.Sequential):
    """Two (conv -> [batch norm] -> ReLU) layers: ``c_in -> c_mid -> c_out`` channels."""

    def __init__(
        self, n_dim: int, c_in: int, c_mid: int, c_out: int, kernel: int, batch_norm: bool
    ) -> None:
        layers: list[nn.Module] = []
        for a, b in ((c_in, c_mid), (c_mid, c_out)):
            layers.append(_conv(n_dim)(a, b, kernel, padding=kernel // 2, bias=not batch_norm))
            if batch_norm:
                layers.append(_bn(n_dim)(b))
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class MaxBlurPool(nn.Module):
    """Max pool (size 2, stride 1) then a [1, 2, 1] blur with stride 2: shift-robust downsampling (N2V2)."""

    def __init__(self, n_dim: int, channels: int) -> None:
        super().__init__()
        self.n_dim = n_dim
        k1 = torch.tensor([1.0, 2.0, 1.0])
        k = k1[:, None] * k1[None, :] if n_dim == 2 else k1[:, None, None] * k1[None, :, None] * k1
        k = k / k.sum()
        self.register_buffer("kernel", k[None, None].repeat(channels, *([1] * (n_dim + 1))))
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = [0, 1] * self.n_dim
        x = F.pad(x, pad, mode="replicate")
        x = (F.max_pool3d if self.n_dim == 3 else F.max_pool2d)(x, 2, stride=1)
        conv = F.conv3d if self.n_dim == 3 else F.conv2d
        kernel: torch.Tensor = self.kernel  # type: ignore[assignment]
        return conv(x, kernel.to(x.dtype), stride=2, padding=1, groups=self.channels)


class UNet(nn.Module):
    """A U-Net of ``depth`` levels; filters double per level; bilinear/trilinear upsampling.

    As in CSBDeep/CAREamics, the bottom block and each decoder block end at the width of the level
    above, so the decoder is half as wide as a naive mirror (0.68 instead of 0.91 GFLOP per 64x64
    patch, same receptive field).

    Input and output are (B, C, [Z,] Y, X); each spatial size must be a multiple of ``2**depth``.
    """

    def __init__(
        self,
        n_dim: int,
        channels: int,
        depth: int = 2,
        n_filters: int = 32,
        kernel_size: int = 3,
        batch_norm: bool = True,
        n2v2: bool = False,
    ) -> None:
        super().__init__()
        self.n_dim, self.depth, self.n2v2 = n_dim, depth, n2v2
        widths = [n_filters * 2**i for i in range(depth + 1)]
        self.down = nn.ModuleList()
        self.pools = nn.ModuleList()
        c = channels
        for w in widths[:-1]:
            self.down.append(ConvBlock(n_dim, c, w, w, kernel_size, batch_norm))
            self.pools.append(MaxBlurPool(n_dim, w) if n2v2 else _maxpool(n_dim))
            c = w
        self.bottom = ConvBlock(n_dim, c, widths[-1], widths[-2], kernel_size, batch_norm)
        self.up = nn.ModuleList()
        for level in reversed(range(depth)):
            skip = 0 if (n2v2 and level == 0) else widths[level]
            out = widths[max(level - 1, 0)]
            self.up.append(
                ConvBlock(n_dim, widths[level] + skip, widths[level], out, kernel_size, batch_norm)
            )
        self.head = _conv(n_dim)(widths[0], channels, 1)
        self._mode = "trilinear" if n_dim == 3 else "bilinear"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for block, pool in zip(self.down, self.pools, strict=True):
            x = block(x)
            skips.append(x)
            x = pool(x)
        x = self.bottom(x)
        for i, block in enumerate(self.up):
            level = self.depth - 1 - i
            x = F.interpolate(x, scale_factor=2, mode=self._mode, align_corners=False)
            if not (self.n2v2 and level == 0):
                x = torch.cat([x, skips[level]], dim=1)
            x = block(x)
        return self.head(x)


def _maxpool(n_dim: int) -> nn.Module:
    return nn.MaxPool3d(2) if n_dim == 3 else nn.MaxPool2d(2)


def build_unet(config: TrainConfig, channels: int) -> UNet:
    """The U-Net that ``config`` describes, for data with ``channels`` channels."""
    return UNet(
        n_dim=config.n_spatial,
        channels=channels,
        depth=config.depth,
        n_filters=config.n_filters,
        kernel_size=config.kernel_size,
        batch_norm=config.batch_norm,
        n2v2=config.n2v2,
    )


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
