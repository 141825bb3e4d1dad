"""Batch and tile sizes from free GPU memory: the training batch and prediction tiles on CUDA.

Training keeps the per-device batch of :func:`..device.default_batch_size` (the batch is part of the
method: it changes the optimisation) and lowers it only when it does not fit in free memory.
Prediction grows its tiles, then its batch, with free memory: larger tiles recompute less overlap and
more tiles per pass keep a large card busy. On a CPU or MPS, or when the query fails, the fixed
defaults hold. Free memory is read once per call (``torch.cuda.mem_get_info`` plus what this process's
caching allocator holds unused); nothing is allocated to ask.

The estimate
------------
Bytes per voxel of a patch or tile, counted over the U-Net of :mod:`..zoo.arch` (widths
``w_l = n_filters * 2**l``; a level-``l`` voxel covers ``2**(n_dim * l)`` input voxels, so deeper levels
count that much less), in the autocast dtype (bf16/fp16: 2 bytes, fp32: 4):

* training keeps for the backward pass each conv's input, each conv and batch-norm output (ReLU works in
  place), the concatenated skips, the pooled outputs and the max-pool indices (int64, 8 bytes), and the
  backward pass adds gradients of about ``4 * w_0`` channels at the top level. Default 2D network
  (32 filters, depth 2, 1 channel): 630 values and 12 indices, 1.3 KiB a voxel in bf16 (5.3 MiB per
  64x64 patch before the margin).
* inference (no autograd) holds the skips of every level and at most ``4 * w_0`` more channels at the
  top level (the concatenation, and the upsampled input or a conv and a batch-norm output), plus about
  six fp32 copies of the input channels (block read, normalised, output, rescaled).

Both are multiplied by ``MARGIN`` (cuDNN workspaces, allocator rounding, the loss and the masking
buffers), and the weights (Adam: ``18 * params`` bytes; inference ``6 * params``) are subtracted from the
budget. Checked on a CPU in fp32 with the default network (growth of peak RSS per patch between batch 8
and 32, one process each), estimate before the margin vs measured: training 10.7 vs 10.3 MB per 64x64
patch and 142 vs 130 MB per 16x64x64; inference (unfused, oneDNN's reorders) 3.0 vs 3.8 MB and 46 vs
53 MB, within the margin. Not yet checked against ``torch.cuda.max_memory_allocated`` on a GPU.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from napari_n2v.core.config import TrainConfig
from napari_n2v.core.device import autocast_dtype, default_batch_size, resolved_n_filters
from napari_n2v.core.model.denoiser import Denoiser
from napari_n2v.core.predict.tiling import DEFAULT_TILE_2D, DEFAULT_TILE_3D, balanced_tile

#: Shares of free memory a training step / a prediction batch may plan to use.
TRAIN_SHARE = 0.7
PREDICT_SHARE = 0.6
#: Safety factor on the activation estimate (cuDNN workspaces, allocator rounding, small buffers).
MARGIN = 1.5
#: Prediction: tiles per pass on a GPU when free memory is unknown; the most planned; a tile grows only
#: while this many of it still fit; and at most this many voxels per pass (each batch is stacked in host
#: memory as fp32 on the way in and out).
GPU_PREDICT_BATCH = 4
MAX_PREDICT_BATCH = 16
MIN_PREDICT_BATCH = 4
MAX_BATCH_VOXELS = 2**26
#: Candidate largest tiles, as factors of the default tile (Z, Y, X), smallest first: one step below the
#: default for small GPUs, up to 2048x2048 (2D) or 64x512x512 (3D) for large ones.
TILE_LADDER_2D = ((0.5, 0.5), (1, 1), (2, 2), (4, 4))
TILE_LADDER_3D = ((0.5, 0.5, 0.5), (1, 1, 1), (1, 2, 2), (2, 2, 2))


def free_gpu_memory(device: torch.device) -> int | None:
    """Bytes free for this process on a CUDA ``device``; None elsewhere or when the query fails."""
    if device.type != "cuda":
        return None
    try:
        free, _total = torch.cuda.mem_get_info(device)
        # memory this process's caching allocator holds but does not use is free to it too
        cached = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
    except Exception:  # no driver, a broken device, a CPU-only build: fall back to the defaults
        return None
    return int(free) + max(0, int(cached))


def _dtype_bytes(dtype: torch.dtype | None) -> int:
    return 4 if dtype is None else dtype.itemsize


def _widths(config: TrainConfig) -> list[int]:
    return [resolved_n_filters(config) * 2**level for level in range(config.depth + 1)]


def train_values_per_voxel(config: TrainConfig, channels: int) -> tuple[float, float]:
    """(activation values, int64 pool indices) a training step keeps per input voxel of one patch."""
    n, depth, w = config.n_spatial, config.depth, _widths(config)
    layer = 2 if config.batch_norm else 1  # conv output (+ batch-norm output; ReLU is in place)

    def at(level: int) -> float:  # voxels of this level per input voxel
        return float(2 ** (-n * level))

    act, idx = 2.0 * channels, 0.0  # the input (cast for the first conv) and the head's output
    for level in range(depth):
        act += 2 * layer * w[level] * at(level)  # the encoder block's two layers
        if config.n2v2:  # replicate pad and stride-1 max pool before the blur
            act += 2 * w[level] * at(level)
            idx += w[level] * at(level)
        else:
            idx += w[level] * at(level + 1)
        act += w[level] * at(level + 1)  # pooled: the next conv's input
    act += layer * (w[depth] + w[depth - 1]) * at(depth)  # the bottom block
    for level in range(depth):
        skip = 0 if (config.n2v2 and level == 0) else w[level]
        act += (w[level] + skip) * at(level)  # concatenation: the decoder block's input
        act += layer * (w[level] + w[max(level - 1, 0)]) * at(level)
    act += 4 * w[0]  # gradients alive during the backward pass at the top level
    return act, idx


def infer_values_per_voxel(config: TrainConfig, channels: int) -> float:
    """Activation values alive at the peak of a forward pass, per input voxel of one tile."""
    n, w = config.n_spatial, _widths(config)
    skips = sum(w[level] * 2.0 ** (-n * level) for level in range(config.depth))
    # beside the skips: the concatenation (2 w_0) and the upsampled input or a conv and a batch-norm
    # output (batch norm is folded into the conv for prediction, unless that fails)
    return skips + 4 * w[0]


def train_bytes(
    config: TrainConfig, channels: int, patch: Sequence[int], dtype: torch.dtype | None
) -> int:
    """Estimated bytes one patch needs through a training step (with ``MARGIN``)."""
    act, idx = train_values_per_voxel(config, channels)
    per_voxel = act * _dtype_bytes(dtype) + 8 * idx
    return math.ceil(MARGIN * per_voxel * math.prod(patch))


def infer_bytes(
    config: TrainConfig, channels: int, tile: Sequence[int], dtype: torch.dtype | None
) -> int:
    """Estimated bytes one tile needs through a forward pass (with ``MARGIN``)."""
    per_voxel = infer_values_per_voxel(config, channels) * _dtype_bytes(dtype) + 6 * 4 * channels
    return math.ceil(MARGIN * per_voxel * math.prod(tile))


def param_count(config: TrainConfig, channels: int) -> int:
    """Weights of the U-Net ``config`` builds (convolutions and batch norms), counted, not built."""
    k, w = config.kernel_size**config.n_spatial, _widths(config)
    per_channel = 2 if config.batch_norm else 1  # batch-norm weight and bias, or the conv's bias

    def block(c_in: int, c_mid: int, c_out: int) -> int:
        return (c_in * c_mid + c_mid * c_out) * k + per_channel * (c_mid + c_out)

    total, c = 0, channels
    for level in range(config.depth):
        total += block(c, w[level], w[level])
        c = w[level]
    total += block(c, w[-1], w[-2])
    for level in range(config.depth):
        skip = 0 if (config.n2v2 and level == 0) else w[level]
        total += block(w[level] + skip, w[level], w[max(level - 1, 0)])
    return total + (w[0] + 1) * channels


def _pow2_floor(n: int) -> int:
    return 1 << (n.bit_length() - 1) if n >= 1 else 1


def _safe_dtype(device: torch.device, precision: str, n_dim: int) -> torch.dtype | None:
    try:
        return autocast_dtype(device, precision, n_dim)
    except Exception:  # a CUDA query failed: plan for fp32, the larger
        return None


def train_batch_size(
    device: torch.device, config: TrainConfig, channels: int, patch: Sequence[int]
) -> int:
    """Patches per step when the user gave none: :func:`..device.default_batch_size`, lowered on CUDA
    to a power of two that fits in ``TRAIN_SHARE`` of free memory (at least 1: if even one patch does
    not fit, the step's out-of-memory message says what to change)."""
    default = default_batch_size(device, config.is_3d)
    free = free_gpu_memory(device)
    if free is None:
        return default
    dtype = _safe_dtype(device, config.precision, config.n_spatial)
    budget = TRAIN_SHARE * free - 18 * param_count(config, channels)
    fits = int(budget // train_bytes(config, channels, patch, dtype)) if budget > 0 else 0
    return max(1, min(default, _pow2_floor(fits)))


def batch_note(batch: int, device: torch.device, config: TrainConfig) -> str:
    """' (lowered to fit free GPU memory)' when the default batch was lowered, else ''."""
    if config.batch_size is None and batch < default_batch_size(device, config.is_3d):
        return " (lowered to fit free GPU memory)"
    return ""


def predict_plan(
    device: torch.device,
    model: Denoiser,
    padded: Sequence[int],
    dtype: torch.dtype | None,
    *,
    tile: Sequence[int] | None = None,
    halo: Sequence[int] | None = None,
) -> tuple[tuple[int, ...], int]:
    """(largest tile, tiles per pass) for predicting an image of (padded) spatial shape ``padded``.

    ``tile``, when given, is returned unchanged and only the batch is planned for it; ``halo`` is the
    context per side (default the model's). On CUDA the largest tile is the largest of the ladder whose
    actual tile (:func:`.tiling.balanced_tile`, never beyond the image) fits ``MIN_PREDICT_BATCH`` times
    in ``PREDICT_SHARE`` of free memory, and the batch as many as fit (at most ``MAX_PREDICT_BATCH``).
    Elsewhere, or when the query fails: the default tile and 1 tile per pass (4 on a GPU).
    """
    default = DEFAULT_TILE_3D if model.is_3d else DEFAULT_TILE_2D
    largest = tuple(tile) if tile is not None else default
    if device.type != "cuda":
        return largest, 1
    free = free_gpu_memory(device)
    if free is None:
        return largest, GPU_PREDICT_BATCH
    halo = tuple(halo) if halo is not None else model.halo
    m = 2**model.config.depth
    params = sum(p.numel() for p in model.network.parameters())
    budget = PREDICT_SHARE * free - 6 * params

    def real(t: Sequence[int]) -> tuple[int, ...]:
        return balanced_tile(padded, t, halo, m)

    def cost(t: Sequence[int]) -> int:
        return infer_bytes(model.config, model.n_channels, real(t), dtype)

    if tile is None:
        ladder = TILE_LADDER_3D if model.is_3d else TILE_LADDER_2D
        rungs = [tuple(int(d * f) for d, f in zip(default, fs, strict=True)) for fs in ladder]
        fitting = [r for r in rungs if MIN_PREDICT_BATCH * cost(r) <= budget]
        largest = fitting[-1] if fitting else rungs[0]
    fits = int(budget // cost(largest)) if budget > 0 else 0
    batch = min(fits, MAX_PREDICT_BATCH, MAX_BATCH_VOXELS // math.prod(real(largest)))
    return largest, max(1, batch)
