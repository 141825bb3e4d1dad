"""The engine's internals the benchmarks need, in one place (``engine.build_unet(config, 1)``);
everything else comes from the public API (``import napari_n2v as n2v``).

Each name lists the modules it may live in, the newest layout first (the ``core/{model,train,io}``
packages), then the flat ``core/*.py`` layout they came from: when the engine's modules move, fix
the paths here.
"""

from __future__ import annotations

import importlib
from typing import Any

_C = "napari_n2v.core"
_WHERE: dict[str, tuple[str, ...]] = {
    # the network and the training step (time-to-quality marks, scale-out models)
    "build_unet": (f"{_C}.model.unet", f"{_C}.model"),
    "StepRunner": (f"{_C}.train.step", f"{_C}.step"),
    "val_sampler": (f"{_C}.train.step", f"{_C}.step"),
    # the device block (GPU suite)
    "describe_device": (f"{_C}.plan.machine", f"{_C}.device"),
    # files and stores (memory and scale-out suites)
    "write_image": (f"{_C}.io.image_io", f"{_C}.image_io"),
    "tag_zarr": (f"{_C}.io.image_io", f"{_C}.image_io"),
    "create_zarr_like": (f"{_C}.io.lazy_io", f"{_C}.lazy_io"),
    "as_dask": (f"{_C}.io.lazy_io", f"{_C}.lazy_io"),
    # the command line's entry point, run in-process by the memory and scale-out suites
    "cli_main": ("napari_n2v.cli.main:main", "napari_n2v.cli:main"),
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'benchmarks.engine' has no attribute {name!r}")
    return resolve(name)


def resolve(name: str) -> Any:
    """The object ``name`` from the first of its modules that imports and has it."""
    errors = []
    for where in _WHERE[name]:
        module, _, attr = where.partition(":")
        try:
            return getattr(importlib.import_module(module), attr or name)
        except (ImportError, AttributeError) as e:
            errors.append(f"{where}: {e}")
    raise ImportError(f"benchmarks.engine cannot find {name}: " + "; ".join(errors))


def step_runner(trainer: Any, net: Any) -> Any:
    """The training step ``trainer`` builds, around ``net`` (to redo its validation)."""
    cls = resolve("StepRunner")
    if hasattr(cls, "for_plan"):
        return cls.for_plan(net, trainer.plan)
    return cls.for_config(net, trainer.data, trainer.config, trainer.device, trainer.batch_size)


__all__ = sorted(_WHERE)
