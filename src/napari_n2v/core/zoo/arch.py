"""napari-n2v's U-Net as one self-contained file: it imports torch alone (never napari_n2v).

This very file is copied into every BioImage Model Zoo package that napari-n2v exports (as
``n2v_unet.py``, the ``pytorch_state_dict`` architecture), so the package runs wherever torch does:
``UNet(**kwargs)`` with the kwargs from the package's rdf.yaml, then ``load_state_dict``.

It builds the same network, with the same state-dict keys, as ``napari_n2v.core.model.unet.build_unet``
(a test checks both agree). ``pool_edge="zero"`` reproduces CAREamics's N2V2 blur pool at the far
border (their max pool drops the last row/column and the blur pads with zeros); napari-n2v's own
models use ``"replicate"``. ``padding_mode`` is the convolutions' (torch's): napari-n2v trains with
``"zeros"`` and predicts, and exports, with ``"replicate"`` (no band of other values along the image
border); the weights are the same.

Input and output are (B, C, [Z,] Y, X); each spatial size must be a multiple of ``2**depth``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["UNet"]


def _conv(n_dim: int) -> type[nn.Module]:
    return nn.Conv3d if n_dim == 3 else nn.Conv2d


def _bn(n_dim: int) -> type[nn.Module]:
    return nn.BatchNorm3d if n_dim == 3 else nn.BatchNorm2d


class ConvBlock(nn.Sequential):
    """Two (conv -> [batch norm] -> ReLU) layers: ``c_in -> c_mid -> c_out`` channels."""

    def __init__(
        self,
        n_dim: int,
        c_in: int,
        c_mid: int,
        c_out: int,
        kernel: int,
        batch_norm: bool,
        padding_mode: str = "zeros",
    ) -> None:
        layers: list[nn.Module] = []
        for a, b in ((c_in, c_mid), (c_mid, c_out)):
            conv = _conv(n_dim)(
                a, b, kernel, padding=kernel // 2, bias=not batch_norm, padding_mode=padding_mode
            )
            layers.append(conv)
            if batch_norm:
                layers.append(_bn(n_dim)(b))
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class MaxBlurPool(nn.Module):
    """Max pool (size 2, stride 1) then a [1, 2, 1] blur with stride 2: shift-robust downsampling (N2V2).

    ``edge="replicate"`` pads the far border by one before the max pool (napari-n2v); ``"zero"``
    does not, so the blur sees zero padding there (CAREamics). ``padding_mode`` is how the blur
    pads each border (torch's ``"zeros"``, or ``"replicate"``).
    """

    def __init__(
        self, n_dim: int, channels: int, edge: str = "replicate", padding_mode: str = "zeros"
    ) -> None:
        super().__init__()
        if edge not in ("replicate", "zero"):
            raise ValueError(f"edge must be 'replicate' or 'zero' (got {edge!r})")
        self.n_dim, self.channels, self.edge = n_dim, channels, edge
        self.padding_mode = padding_mode
        k1 = torch.tensor([1.0, 2.0, 1.0])
        k = k1[:, None] * k1[None, :] if n_dim == 2 else k1[:, None, None] * k1[None, :, None] * k1
        k = k / k.sum()
        self.register_buffer("kernel", k[None, None].repeat(channels, *([1] * (n_dim + 1))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.edge == "replicate":
            x = F.pad(x, [0, 1] * self.n_dim, mode="replicate")
        x = (F.max_pool3d if self.n_dim == 3 else F.max_pool2d)(x, 2, stride=1)
        conv = F.conv3d if self.n_dim == 3 else F.conv2d
        kernel: torch.Tensor = self.kernel  # type: ignore[assignment]
        if self.padding_mode != "zeros":
            x = F.pad(x, [1, 1] * self.n_dim, mode=self.padding_mode)
            return conv(x, kernel.to(x.dtype), stride=2, groups=self.channels)
        return conv(x, kernel.to(x.dtype), stride=2, padding=1, groups=self.channels)


def _maxpool(n_dim: int) -> nn.Module:
    return nn.MaxPool3d(2) if n_dim == 3 else nn.MaxPool2d(2)


class UNet(nn.Module):
    """A U-Net of ``depth`` levels; filters double per level; bilinear/trilinear upsampling.

    As in CSBDeep/CAREamics, the bottom block and each decoder block end at the width of the level
    above. ``n2v2`` swaps max pooling for max-blur pooling and drops the top skip connection.
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
        pool_edge: str = "replicate",
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__()
        self.n_dim, self.depth, self.n2v2 = n_dim, depth, n2v2
        pad = padding_mode
        widths = [n_filters * 2**i for i in range(depth + 1)]
        self.down = nn.ModuleList()
        self.pools = nn.ModuleList()
        c = channels
        for w in widths[:-1]:
            self.down.append(ConvBlock(n_dim, c, w, w, kernel_size, batch_norm, pad))
            self.pools.append(MaxBlurPool(n_dim, w, pool_edge, pad) if n2v2 else _maxpool(n_dim))
            c = w
        self.bottom = ConvBlock(n_dim, c, widths[-1], widths[-2], kernel_size, batch_norm, pad)
        self.up = nn.ModuleList()
        for level in reversed(range(depth)):
            skip = 0 if (n2v2 and level == 0) else widths[level]
            out = widths[max(level - 1, 0)]
            c_in = widths[level] + skip
            self.up.append(ConvBlock(n_dim, c_in, widths[level], out, kernel_size, batch_norm, pad))
        self.head = _conv(n_dim)(widths[0], channels, 1)
        self._mode = "trilinear" if n_dim == 3 else "bilinear"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for block, pool in zip(self.down, self.pools):  # noqa: B905 (TorchScript has no strict=)
            x = block(x)
            skips.append(x)
            x = pool(x)
        x = self.bottom(x)
        for i, block in enumerate(self.up):
            level = self.depth - 1 - i
            x = F.interpolate(x, scale_factor=2.0, mode=self._mode, align_corners=False)
            if not (self.n2v2 and level == 0):
                x = torch.cat([x, skips[level]], dim=1)
            x = block(x)
        return self.head(x)
