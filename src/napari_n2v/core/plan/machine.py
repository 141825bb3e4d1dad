"""What this run's hardware is and what it computes in: device, precision, CPU instruction set."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

import torch

from napari_n2v.core.device import autocast_dtype, resolve_device
from napari_n2v.core.errors import N2VError

_DTYPE_NAMES = {torch.bfloat16: "bf16", torch.float16: "fp16"}


@lru_cache(maxsize=1)
def cpu_isa() -> str:
    """The widest vector instruction set of this CPU that matters to torch: 'AMX', 'AVX512-BF16',
    'AVX512', 'AVX2', 'ARM64' or 'x86-64' (read from /proc/cpuinfo; 'unknown' elsewhere)."""
    import platform

    try:
        with open("/proc/cpuinfo") as f:
            flags = set(f.read().split())
    except OSError:
        return "ARM64" if platform.machine().lower() in ("arm64", "aarch64") else "unknown"
    for flag, name in (
        ("amx_bf16", "AMX"),
        ("avx512_bf16", "AVX512-BF16"),
        ("avx512f", "AVX512"),
        ("avx2", "AVX2"),
    ):
        if flag in flags:
            return name
    return "ARM64" if platform.machine().lower() in ("arm64", "aarch64") else "x86-64"


@dataclass(frozen=True)
class Machine:
    """The device a run uses and the precision it computes in ('fp32', 'bf16' or 'fp16')."""

    device: torch.device
    precision: str
    reason: str = ""  # why the precision differs from what was asked, when it does

    @property
    def amp_dtype(self) -> torch.dtype | None:
        """The autocast dtype (None: plain fp32)."""
        return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)

    @property
    def kind(self) -> str:
        """'cpu', 'cuda' or 'mps'."""
        return self.device.type

    def label(self) -> str:
        """'CPU AVX512-BF16, bf16', 'CPU AVX2, fp32', 'CUDA: NVIDIA H100, bf16', 'Apple MPS, fp32'."""
        if self.device.type == "cuda":
            where = f"CUDA: {torch.cuda.get_device_name(self.device)}"
        elif self.device.type == "mps":
            where = "Apple MPS"
        else:
            where = f"CPU {cpu_isa()}"
        return f"{where}, {self.precision}"

    def with_precision(self, precision: str, reason: str) -> Machine:
        return dataclasses.replace(self, precision=precision, reason=reason)


def resolve_machine(
    device: str | torch.device = "auto", precision: str = "auto", n_dim: int = 2
) -> Machine:
    """The device for ``device`` and the precision ``precision`` runs in there (see
    :func:`napari_n2v.core.device.autocast_dtype`: 'auto' is bf16 where the hardware does it natively)."""
    dev = resolve_device(device)
    dt = autocast_dtype(dev, precision, n_dim)
    return Machine(dev, _DTYPE_NAMES.get(dt, "fp32") if dt is not None else "fp32")


def describe_device(
    name: str | torch.device = "auto", precision: str = "auto", n_dim: int = 2
) -> str:
    """A short label for a UI: 'CPU AVX2, fp32', 'CPU AVX512-BF16, bf16', 'CUDA: NVIDIA H100, bf16'."""
    try:
        return resolve_machine(name, precision, n_dim).label()
    except N2VError as err:
        return f"unavailable: {err}"
