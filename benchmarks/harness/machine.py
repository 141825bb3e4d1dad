"""The machine block every result carries: date, CPU model and instruction set, cores, load, torch.

The same command runs at very different speeds on a CPU with and without native bf16
(``avx512_bf16``, ``amx_bf16``), with 2 or 16 cores, idle or loaded.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path
from typing import Any

from benchmarks.harness.basics import loadavg

#: CPU flags that decide how fast the engine can be (vector width, bf16 and int8 matrix units).
ISA_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_tile", "amx_bf16")


def cpu_info() -> tuple[str, list[str]]:
    """(model name, the ``ISA_FLAGS`` it has) from /proc/cpuinfo; the platform's name elsewhere."""
    model, flags = platform.processor() or platform.machine(), set[str]()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, val = (s.strip() for s in line.partition(":"))
            if key == "model name":
                model = val
            elif key == "flags":
                flags = set(val.split())
                break
    except OSError:
        pass
    return model, [f for f in ISA_FLAGS if f in flags]


def torch_info() -> dict[str, Any]:
    """torch's version, CPU threads and the first CUDA device; ``{"torch": None}`` without it."""
    try:
        import torch
    except ImportError:
        return {"torch": None}
    info: dict[str, Any] = {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        info.update(gpu=torch.cuda.get_device_name(0), cudnn=torch.backends.cudnn.version())
    return info


def machine_block() -> dict[str, Any]:
    """What a reader needs to place a figure: when, on what CPU/GPU, how loaded, which torch."""
    model, isa = cpu_info()
    date = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    return {"date": date, "cpu": model, "isa": isa, "cores": os.cpu_count(), "loadavg": loadavg(),
            "python": platform.python_version(), **torch_info()}  # fmt: skip


def describe(m: dict[str, Any]) -> str:
    """One line for the report: ``AMD EPYC, 2 cores, avx512_bf16; torch 2.13.0+cpu``."""
    isa = m.get("isa")
    top = [f for f in ("amx_bf16", "avx512_bf16", "avx512f", "avx2") if isa and f in isa][:1]
    parts = [m.get("gpu"), m.get("cpu"), m.get("cores") and f"{m['cores']} cores"]
    parts.append(top[0] if top else "CPU ISA not recorded" if isa is None else "no AVX2")
    return ", ".join(p for p in parts if p) + f"; torch {m.get('torch') or '?'}"
