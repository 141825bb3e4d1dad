"""Tiled prediction: ``predict_iter`` yields progress per batch of tiles and returns the denoised array.

The input is read tile by tile (numpy, dask or zarr) and written tile by tile into ``out`` (a numpy array by
default, or any array with ``__setitem__`` such as a zarr array), so data larger than memory streams through.

At the image border the network's convolutions pad by replicating the edge (:func:`border_padding`), not
with zeros as in training: with zeros, every output pixel within a receptive field of the border sees
the padding, and a lightly trained model gives a band of other values there, even on a constant image.
Tiles whose kept part is a receptive field away from every block edge run the (faster) zero-padded copy:
padding cannot reach what they keep.
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Generator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from napari_n2v.core.config import PredictConfig
from napari_n2v.core.device import memory_format, out_of_memory_hint
from napari_n2v.core.errors import N2VError
from napari_n2v.core.layout import Layout
from napari_n2v.core.model.denoiser import Denoiser
from napari_n2v.core.model.unet import MaxBlurPool
from napari_n2v.core.plan.predict_plan import plan_prediction
from napari_n2v.core.predict.tiling import Tile
from napari_n2v.core.progress import drain
from napari_n2v.core.train.data import check_dtype


@dataclass(frozen=True)
class PredictEvent:
    done: int  # tiles done
    total: int
    eta_s: float | None


def read_padded(image: Any, layout: Layout, sample: int, read: Sequence[slice]) -> np.ndarray:
    """Block (C, *tile) of the image padded (reflect) at its far ends to the network's multiple."""
    real = [slice(s.start, min(s.stop, n)) for s, n in zip(read, layout.spatial_shape, strict=True)]
    block = layout.to_block(np.asarray(image[layout.index(sample, real)]))
    extra = [s.stop - r.stop for s, r in zip(read, real, strict=True)]
    if any(extra):
        pads = [(0, 0)] + [(0, e) for e in extra]
        mode = "reflect" if min(block.shape[1:]) > 1 else "edge"
        block = np.pad(block, pads, mode=mode)  # type: ignore[call-overload]
    return block


def _tta(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Average over the 8 flips/rotations in the last two (Y, X) dims."""
    acc = torch.zeros_like(x, dtype=torch.float32)
    for k in range(4):
        for flip in (False, True):
            t = torch.rot90(x, k, dims=(-2, -1))
            t = torch.flip(t, dims=(-1,)) if flip else t
            y = net(t).float()
            y = torch.flip(y, dims=(-1,)) if flip else y
            acc += torch.rot90(y, -k, dims=(-2, -1))
    return acc / 8


def border_padding(model: Denoiser) -> str:
    """How the convolutions pad at the image border when predicting: ``"replicate"`` for napari-n2v's
    models; ``"zeros"`` where the model's config says so (CAREamics imports predict as CAREamics does)."""
    extra = getattr(model.config, "extra", None) or {}
    return str(extra.get("conv_padding", "replicate"))


def padded_layers(net: nn.Module) -> list[nn.Module]:
    """The convolutions that pad, and the N2V2 blur pools, of ``net`` (none in a TorchScript network,
    whose layers cannot be changed)."""
    out: list[nn.Module] = []
    for m in net.modules():
        pads = m.padding if isinstance(m, nn.Conv2d | nn.Conv3d) else None
        if (isinstance(pads, tuple) and any(p > 0 for p in pads)) or isinstance(m, MaxBlurPool):
            out.append(m)
    return out


def inference_network(
    net: torch.nn.Module, device: torch.device, fmt: torch.memory_format, padding: str = "zeros"
) -> torch.nn.Module:
    """An eval-mode copy of ``net`` on ``device``, its convolutions padding with ``padding``, each batch
    norm folded into its convolution (15-28% faster prediction on a CPU; identical up to float
    rounding). The original is untouched, so a network still training can be previewed."""
    with warnings.catch_warnings():  # its first import runs torch.utils.mkldnn's @script_method
        warnings.filterwarnings("ignore", r"`torch\.jit\.script_method` is", DeprecationWarning)
        from torch.fx.experimental.optimization import fuse

    eval_copy = copy.deepcopy(net).eval()
    for layer in padded_layers(
        eval_copy
    ):  # before fusing: the traced graph bakes the blur pool's in
        setattr(layer, "padding_mode", padding)  # noqa: B010 (a torch attribute, typed as a tensor)
    try:
        eval_copy = fuse(eval_copy, inplace=True)
    except Exception:  # an untraceable network still predicts, just unfused
        pass
    return eval_copy.to(device, memory_format=fmt)  # type: ignore[call-overload]


def near_block_edge(tile: Tile, reach: int) -> bool:
    """Whether any pixel ``tile`` keeps lies within ``reach`` of its block's edge (where the network's
    padding shows: at an image border, or with an overlap below the receptive field)."""
    for r, c in zip(tile.read, tile.crop, strict=True):
        if c.start < reach or (r.stop - r.start) - c.stop < reach:
            return True
    return False


def predict_iter(
    model: Denoiser,
    image: Any,
    axes: str | None = None,
    config: PredictConfig | None = None,
    *,
    out: Any = None,
) -> Generator[PredictEvent, None, Any]:
    """Denoise ``image`` with ``model``; yields :class:`PredictEvent`, returns the result (float32,
    same shape and axes as the input, in its intensity scale; ``out`` when given)."""
    config = config or PredictConfig()
    shape = tuple(image.shape)
    check_dtype(image.dtype)
    plan = plan_prediction(model, shape, axes, config)
    if out is None:
        out = np.empty(shape, dtype=np.float32)
    elif tuple(out.shape) != shape:
        raise N2VError(f"out has shape {tuple(out.shape)} but the image has {shape}.")
    layout, device, dt = plan.layout, plan.machine.device, plan.machine.amp_dtype
    tile, tiles, total, batch = plan.tile, plan.tiles, plan.total, plan.batch
    mean = torch.as_tensor(model.mean, dtype=torch.float32, device=device).reshape(
        1, -1, *[1] * len(tile)
    )
    std = torch.as_tensor(model.std, dtype=torch.float32, device=device).reshape(
        1, -1, *[1] * len(tile)
    )
    fmt = memory_format(device, len(tile))
    net = inference_network(model.network, device, fmt)
    pad = border_padding(model)
    edge_net = net
    if pad != "zeros" and padded_layers(model.network):
        edge_net = inference_network(model.network, device, fmt, padding=pad)
    amp = torch.autocast(device.type, dtype=dt) if dt is not None else nullcontext()
    x_dtype = torch.float32
    if dt == torch.bfloat16 and device.type == "cpu":
        # the fused copy in bf16 outright: the same output as autocast (every op ran in bf16 there
        # too), without the per-call casts; 3D ~5% faster on an AVX512-BF16 CPU
        net, edge_net, amp, x_dtype = net.to(dt), edge_net.to(dt), nullcontext(), dt
    keep = float(getattr(model, "blend", 0.0)) if config.blend else 0.0
    reach = max(model.halo)
    edge = [near_block_edge(t, reach) for t in tiles]
    # per sample, the tiles near a block edge first, so that a batch is mostly of one kind
    order = [i for i in range(len(tiles)) if edge[i]] + [
        i for i in range(len(tiles)) if not edge[i]
    ]
    jobs = [(s, i) for s in range(layout.n_samples) for i in order]
    t0, done = time.perf_counter(), 0
    for i in range(0, len(jobs), batch):
        chunk = [(s, tiles[k], edge[k]) for s, k in jobs[i : i + batch]]
        blocks = [read_padded(image, layout, s, t.read) for s, t, _ in chunk]
        raw = x = torch.from_numpy(np.stack(blocks).astype(np.float32, copy=False)).to(device)
        if not torch.isfinite(x).all():
            raise N2VError(
                "the image contains NaN or infinite values: replace them (e.g. with 0) first."
            )
        x = ((x - mean) / std).to(x_dtype).contiguous(memory_format=fmt)
        hint = f"use smaller tiles (now {tile}) or a smaller batch (now {batch})."
        with torch.inference_mode(), amp, out_of_memory_hint(hint):
            use = edge_net if any(e for _, _, e in chunk) else net
            y = _tta(use, x) if config.tta else use(x)
        y = y.float() * std + mean
        if keep:  # the blend the training measured (core/train/blend.py)
            y = torch.lerp(y, raw, keep)
        y = y.cpu().numpy()
        for (s, t, _), block in zip(chunk, y, strict=True):
            crop = (slice(None), *t.crop)
            out[layout.index(s, t.write)] = layout.from_block(block[crop])
        done += len(chunk)
        rate = done / (time.perf_counter() - t0)
        yield PredictEvent(done, total, (total - done) / rate if rate > 0 else None)
    return out


def predict(
    model: Denoiser,
    image: Any,
    axes: str | None = None,
    config: PredictConfig | None = None,
    *,
    out: Any = None,
) -> Any:
    """Denoise ``image`` and return the result (see :func:`predict_iter`)."""
    return drain(predict_iter(model, image, axes, config, out=out))
