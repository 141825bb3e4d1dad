"""Device and numeric-precision policy: cuda > mps > cpu, bf16 where the hardware does it natively."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
import torch

from napari_n2v.core.errors import N2VError


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """Turn ``'auto'``, ``'cpu'``, ``'cuda'``, ``'cuda:1'`` or ``'mps'`` into a usable device."""
    if isinstance(name, torch.device):
        return name
    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError as err:
        raise N2VError(
            f"unknown device {name!r}: use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."
        ) from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise N2VError(
            "device 'cuda' was asked for but no CUDA GPU is available: use 'auto' or 'cpu'."
        )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise N2VError(
            "device 'mps' was asked for but Apple MPS is not available: use 'auto' or 'cpu'."
        )
    return dev


@lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """True when this CPU computes bf16 matrix products natively (AVX512-BF16 / AMX), so autocast pays."""
    try:
        with open("/proc/cpuinfo") as f:  # Linux only; elsewhere no bf16 autocast on the CPU
            flags = f.read()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def autocast_dtype(
    device: torch.device, precision: str = "auto", n_dim: int = 2
) -> torch.dtype | None:
    """The autocast dtype for ``precision`` on ``device``; None means plain fp32.

    On the CPU, 'auto' uses bf16 (2D and 3D) where the CPU computes it natively (:func:`cpu_has_bf16`):
    with channels-last memory it about doubles 3D training there. bf16 3D backward passes were once
    seen to give non-finite gradients, so training guards every reduced-precision CPU step and falls
    back to fp32 if that recurs (:class:`napari_n2v.core.train.step.StepRunner`).
    ``n_dim`` (2 or 3) is part of the policy's signature; today no choice depends on it.
    """
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        return torch.float16 if device.type in ("cuda", "mps") else torch.bfloat16
    # auto
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and cpu_has_bf16():
        return torch.bfloat16
    return None


def memory_format(device: torch.device, n_dim: int) -> torch.memory_format:
    """The tensor layout networks and batches use: channels-last for 2D (not on MPS), channels-last-3d
    for 3D on the CPU (oneDNN's fast path: 2D 1.3x, 3D 1.15-1.2x over NCHW/NCDHW), contiguous otherwise
    (3D on a GPU is unmeasured in channels-last-3d)."""
    if n_dim == 2 and device.type != "mps":
        return torch.channels_last
    if n_dim == 3 and device.type == "cpu":
        return torch.channels_last_3d
    return torch.contiguous_format


def bf16_conv3d_faulty(patch: tuple[int, ...], depth: int) -> bool:
    """Whether bf16 training of a 3D U-Net on ``patch`` would hit a CPU kernel fault.

    On the CPU (torch 2.13, oneDNN) the bf16 backward pass of a Conv3d returns wrong weight gradients
    (uninitialised memory: values up to 3e38, sometimes inf/NaN; a different answer on every call)
    when its input has exactly two planes in Z and more than one sample: the U-Net's level with
    ``Z / 2**level == 2``. fp32, forward passes and every other Z size we tried (1, 3-8) are correct.
    Found by a scan of Conv3d shapes (``git show 9e42697:benchmarks/bf16_3d_check.py``, ``--conv-scan``);
    the training then runs in fp32.
    """
    if len(patch) != 3:
        return False
    z = patch[0]
    return any(z == 2 * 2**level for level in range(depth + 1))


def seed_everything(seed: int | None) -> int:
    """Seed torch (NumPy generators get the seed explicitly); returns it (a fresh one for None)."""
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0] % (2**31))
    torch.manual_seed(seed)
    return seed


@contextmanager
def out_of_memory_hint(advice: str) -> Iterator[None]:
    """Turn torch's out-of-memory errors (GPU or CPU) into an N2VError that says what to change."""
    try:
        yield
    except RuntimeError as err:  # torch.OutOfMemoryError is a RuntimeError too
        text = str(err).lower()
        if (
            isinstance(err, torch.OutOfMemoryError)
            or "out of memory" in text
            or "can't allocate" in text
        ):
            raise N2VError(f"out of memory: {advice}") from err
        raise
