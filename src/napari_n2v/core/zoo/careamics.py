"""CAREamics 0.3.x N2V/N2V2 zoo packages -> our U-Net, with the same predictions.

CAREamics's ``careamics.models.unet.UNet`` has the same layers as ours; the differences are mapped
exactly, never approximated:

- its convolutions keep a bias before batch norm: folded into the running mean (``rm - b``), which
  is the same function in eval mode and irrelevant in training mode (batch statistics);
- ``independent_channels`` (one U-Net per channel) uses grouped convolutions and interleaves the
  skip connections per group: written as dense, block-diagonal weights with the decoder's input
  channels permuted into our ``cat([up, skip])`` order;
- its N2V2 blur pool sees zero padding at the far border: our U-Net's ``pool_edge="zero"``;
- it normalises with ``(x - mean) / (std + 1e-6)``: our ``std`` is ``std + 1e-6``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from napari_n2v.core.config import TrainConfig
from napari_n2v.core.errors import N2VError
from napari_n2v.core.model.n2v_model import N2VModel
from napari_n2v.core.model.unet import build_unet
from napari_n2v.core.zoo.arch import UNet
from napari_n2v.core.zoo.package import Package

CAREAMICS_EPS = 1e-6


def load_careamics(pkg: Package) -> N2VModel:
    """The N2VModel equivalent to a CAREamics-exported N2V/N2V2 package."""
    entry = pkg.weights()["pytorch_state_dict"]
    arch = entry.get("architecture") or {}
    kw: dict[str, Any] = arch.get("kwargs") or {}
    if arch.get("callable") != "UNet" or arch.get("import_from") != "careamics.models.unet":
        raise N2VError(
            f"{pkg.label} ('{pkg.name}') is a CAREamics package with the architecture "
            f"{arch.get('import_from')}.{arch.get('callable')}; napari-n2v imports CAREamics's "
            "N2V/N2V2 U-Net only."
        )
    n_dim, n_in = int(kw.get("conv_dims", 2)), int(kw.get("in_channels", 1))
    depth, init = int(kw.get("depth", 3)), int(kw.get("num_channels_init", 64))
    n2v2, bn = bool(kw.get("n2v2", False)), bool(kw.get("use_batch_norm", True))
    groups = n_in if kw.get("independent_channels", True) else 1
    problems = []
    if int(kw.get("num_classes", 1)) != n_in:
        problems.append(f"{kw.get('num_classes')} output channels for {n_in} input channels")
    if kw.get("residual"):
        problems.append("a residual connection")
    if str(kw.get("final_activation", "None")).lower() not in ("none", "null", ""):
        problems.append(f"a final {kw.get('final_activation')} activation")
    if int(kw.get("pool_kernel", 2)) != 2 or n_dim not in (2, 3) or not 1 <= depth <= 5:
        problems.append("an unsupported pooling, dimension or depth")
    if problems:
        raise N2VError(
            f"{pkg.label} ('{pkg.name}') is a CAREamics U-Net with {', '.join(problems)}: not an "
            "N2V denoiser napari-n2v can map onto its U-Net."
        )
    mean, std = _normalisation(pkg, n_in)
    config = _config(pkg, n_dim, n_in, depth, init * groups, bn, n2v2)
    state = pkg.load_state_dict(entry)
    if n2v2:
        network: torch.nn.Module = UNet(
            n_dim, n_in, depth, init * groups, 3, bn, n2v2=True, pool_edge="zero"
        )
    else:
        network = build_unet(config, n_in)
    try:
        mapped = map_state_dict(state, depth=depth, batch_norm=bn, n2v2=n2v2, groups=groups)
        if n2v2:  # the blur kernels are not in CAREamics's state dict (non-persistent buffers)
            mapped.update({k: v for k, v in network.state_dict().items() if k.endswith(".kernel")})
        network.load_state_dict(mapped, strict=True)
    except (KeyError, RuntimeError, ValueError) as err:
        msg = " ".join(str(err).split())[:300]
        raise N2VError(
            f"{pkg.label} ('{pkg.name}'): its CAREamics weights do not fit the U-Net its rdf "
            f"describes: {msg}"
        ) from err
    history = [{"source": "careamics", "package": pkg.label}]
    return N2VModel(config, network.eval(), mean, std, history, name=pkg.name, steps_trained=0)


def _normalisation(pkg: Package, n_ch: int) -> tuple[np.ndarray, np.ndarray]:
    inp, _ = pkg.only_input_output()
    for step in inp.get("preprocessing") or []:
        if step.get("id") == "fixed_zero_mean_unit_variance":
            kw = step.get("kwargs") or {}
            mean = np.broadcast_to(np.asarray(kw["mean"], np.float64), n_ch)
            std = np.broadcast_to(np.asarray(kw["std"], np.float64), n_ch) + CAREAMICS_EPS
            return mean.astype(np.float32), std.astype(np.float32)
    raise N2VError(
        f"{pkg.label} ('{pkg.name}'): no fixed mean/std normalisation in its rdf; napari-n2v "
        "imports CAREamics models trained with mean_std normalisation only."
    )


def _config(
    pkg: Package, n_dim: int, n_ch: int, depth: int, n_filters: int, bn: bool, n2v2: bool
) -> TrainConfig:
    """Our TrainConfig from the rdf kwargs plus, where readable, careamics.yaml's training axes,
    patch size, masking strategy and structN2V mask."""
    import yaml

    spatial = "ZYX" if n_dim == 3 else "YX"
    arch: dict[str, Any] = {"depth": depth, "n_filters": n_filters, "batch_norm": bn, "n2v2": n2v2}
    # its convolutions pad with zeros at the image border too when predicting (ours: replicate)
    extra: dict[str, Any] = {"source": "careamics", "conv_padding": "zeros"}
    if n2v2:
        extra["pool_edge"] = "zero"
    base = TrainConfig(axes=("C" if n_ch > 1 else "") + spatial, extra=extra, **arch)
    entry = pkg.attachment("careamics.yaml")
    if entry is None:
        return base
    try:
        cfg = yaml.safe_load(pkg.read(entry, "careamics.yaml"))
        data, algo = cfg.get("data_config") or {}, cfg.get("algorithm_config") or {}
        n2v = algo.get("n2v_config") or {}
        more: dict[str, Any] = {"axes": str(data.get("axes") or base.axes)}
        patch = (data.get("patching") or {}).get("patch_size") or data.get("patch_size")
        if patch:
            more["patch_size"] = tuple(int(p) for p in patch)
        if n2v.get("strategy") in ("uniform", "median"):
            more["strategy"] = n2v["strategy"]
        struct = n2v.get("struct_mask") or {}
        axis = {"horizontal": "X", "vertical": "Y"}.get(str(struct.get("axes", "")))
        if axis:
            more["struct_axis"], more["struct_span"] = axis, int(struct.get("span", 1))
        return base.replace(**more)
    except (N2VError, AttributeError, TypeError, ValueError, yaml.YAMLError):
        return base  # the weights and the rdf suffice to predict; the training details are extras


def _dense(w: torch.Tensor, groups: int) -> torch.Tensor:
    """A grouped convolution's weight (out, in/groups, *k) as the dense, block-diagonal
    (out, in, *k) weight of the same convolution."""
    if groups == 1:
        return w
    out, in_g = w.shape[:2]
    og = out // groups
    d = w.new_zeros((out, in_g * groups, *w.shape[2:]))
    for g in range(groups):
        d[g * og : (g + 1) * og, g * in_g : (g + 1) * in_g] = w[g * og : (g + 1) * og]
    return d


def _interleave_perm(a: int, b: int, groups: int) -> list[int]:
    """For our input ``cat([up (a ch), skip (b ch)])``: each channel's index in CAREamics's
    per-group interleaving ``[up_0, skip_0, up_1, skip_1, ...]``."""
    ag, bg = a // groups, b // groups
    ups = [(j // ag) * (ag + bg) + j % ag for j in range(a)]
    skips = [(k // bg) * (ag + bg) + ag + k % bg for k in range(b)] if b else []
    return ups + skips


def _block(
    src: dict[str, torch.Tensor],
    c: str,
    o: str,
    batch_norm: bool,
    groups: int,
    perm: list[int] | None = None,
) -> dict[str, torch.Tensor]:
    """CAREamics ``Conv_Block`` at prefix ``c`` -> our ConvBlock at prefix ``o``."""
    out: dict[str, torch.Tensor] = {}
    for i, (conv, bn) in enumerate((("conv1", "batch_norm1"), ("conv2", "batch_norm2"))):
        w = _dense(src[f"{c}.{conv}.weight"], groups)
        if i == 0 and perm is not None:
            w = w[:, perm]
        bias = src[f"{c}.{conv}.bias"]
        if batch_norm:
            j = 3 * i  # [conv, bn, relu, conv, bn, relu]
            out[f"{o}.{j}.weight"] = w
            for name in ("weight", "bias", "running_var", "num_batches_tracked"):
                out[f"{o}.{j + 1}.{name}"] = src[f"{c}.{bn}.{name}"]
            out[f"{o}.{j + 1}.running_mean"] = src[f"{c}.{bn}.running_mean"] - bias
        else:
            j = 2 * i  # [conv, relu, conv, relu]
            out[f"{o}.{j}.weight"], out[f"{o}.{j}.bias"] = w, bias
    return out


def map_state_dict(
    src: dict[str, torch.Tensor], *, depth: int, batch_norm: bool, n2v2: bool, groups: int
) -> dict[str, torch.Tensor]:
    """CAREamics UNet state dict -> ours (without N2V2 blur kernels)."""
    out: dict[str, torch.Tensor] = {}
    for n in range(depth):
        out.update(_block(src, f"encoder.encoder_blocks.{2 * n}", f"down.{n}", batch_norm, groups))
    out.update(_block(src, "decoder.bottleneck", "bottom", batch_norm, groups))
    for n in range(depth):
        c = f"decoder.decoder_blocks.{2 * n + 1}"
        a = src[f"{c}.conv1.weight"].shape[1] * groups  # the block's input channels
        skip = 0 if (n2v2 and n == depth - 1) else a // 2
        perm = _interleave_perm(a - skip, skip, groups) if groups > 1 else None
        out.update(_block(src, c, f"up.{n}", batch_norm, groups, perm))
    out["head.weight"] = _dense(src["final_conv.weight"], groups)
    out["head.bias"] = src["final_conv.bias"]
    return out
