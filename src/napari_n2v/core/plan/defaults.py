"""What an open setting means on a given machine: the one table of per-device, per-precision defaults.

Every "auto" the user sees (the widgets' "auto (16)" labels, the CLI help, the start line) and every
default a run takes comes from :func:`defaults_for`. Each entry was chosen by a sweep at equal wall-clock
(``python -m benchmarks run sweep``; results in docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from napari_n2v.core.config import (
    DEFAULT_MASKED_FRACTION,
    DEFAULT_PATCH_2D,
    DEFAULT_PATCH_3D,
    TrainConfig,
)

if TYPE_CHECKING:
    from napari_n2v.core.plan.machine import Machine


@dataclass(frozen=True)
class Defaults:
    """The open defaults of one kind of run (2D or 3D) on one machine."""

    n_filters: int
    batch_size: int
    patch: tuple[int, ...]
    masked_fraction: float = DEFAULT_MASKED_FRACTION


#: (device kind, precision, is_3d) -> (first-level filters, batch); "*" matches any precision.
#: CPU: 16 filters. 3D: 3D on a CPU is too slow to be interactive at 32. 2D: 16 filters take 2.3-2.6x
#: the steps of 32 in the same time and were better at equal wall-clock in both precisions (sweeps
#: sweep_fp32_2d*, sweep_bf16_2d in docs/benchmarks.md). CPU batch: per-patch speed falls with batch
#: size there and short runs gain more from more steps.
_TABLE: dict[tuple[str, str, bool], tuple[int, int]] = {
    ("cuda", "*", False): (32, 128),
    ("cuda", "*", True): (32, 32),
    ("mps", "*", False): (32, 32),
    ("mps", "*", True): (32, 8),
    ("cpu", "bf16", False): (16, 16),
    ("cpu", "bf16", True): (16, 4),
    ("cpu", "fp32", False): (16, 16),
    ("cpu", "fp32", True): (16, 4),
}


def defaults_for(machine: Machine, is_3d: bool) -> Defaults:
    """The defaults of a 2D or 3D run on ``machine``."""
    return defaults_for_kind(machine.kind, machine.precision, is_3d)


def defaults_for_kind(kind: str, precision: str, is_3d: bool) -> Defaults:
    """The defaults of a 2D or 3D run on a device of ``kind`` ('cpu', 'cuda', 'mps') in ``precision``."""
    key = (kind, precision, is_3d)
    filters, batch = (
        _TABLE.get(key) or _TABLE.get((kind, "*", is_3d)) or _TABLE[("cpu", "fp32", is_3d)]
    )
    return Defaults(filters, batch, DEFAULT_PATCH_3D if is_3d else DEFAULT_PATCH_2D)


def settled_n_filters(config: TrainConfig) -> int:
    """``config.n_filters``, or the default for the machine its device and precision resolve to (for a
    config that did not come through a plan, e.g. a network built directly)."""
    if config.n_filters is not None:
        return int(config.n_filters)
    from napari_n2v.core.plan.machine import resolve_machine

    machine = resolve_machine(config.device, config.precision, config.n_spatial)
    return defaults_for(machine, config.is_3d).n_filters


def _sizes(values: tuple[int, ...]) -> str:
    return ",".join(map(str, values))


def describe_train_defaults() -> dict[str, str]:
    """What each open training setting means, in words, for the CLI help (read from the table)."""
    by_kind = {"cpu": "CPU", "cuda": "CUDA", "mps": "Apple MPS"}
    batch, filters = [], []
    for kind, name in by_kind.items():
        b2, b3 = defaults_for_kind(kind, "fp32", False), defaults_for_kind(kind, "fp32", True)
        batch.append(f"{name} {b2.batch_size} in 2D, {b3.batch_size} in 3D")
        filters.append(f"{name} {b2.n_filters} in 2D, {b3.n_filters} in 3D")
    return {
        "batch": "; ".join(batch) + " (on CUDA lowered to fit free memory)",
        "filters": "; ".join(filters),
        "patch": f"{_sizes(DEFAULT_PATCH_2D)} in 2D, {_sizes(DEFAULT_PATCH_3D)} in 3D",
    }
