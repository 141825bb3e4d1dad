"""Settle a training run once: device and precision, network width, batch, patch, masked pixels, the
route around known faults, and the checked data. The trainer reads the plan and decides nothing itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from napari_n2v.core.config import TrainConfig
from napari_n2v.core.device import bf16_conv3d_faulty
from napari_n2v.core.model.denoiser import Denoiser
from napari_n2v.core.plan.blind_spot import BlindSpot, settle_blind_spot
from napari_n2v.core.plan.defaults import defaults_for
from napari_n2v.core.plan.machine import Machine, resolve_machine
from napari_n2v.core.predict.memory_plan import train_batch_size
from napari_n2v.core.train.parts import continue_config
from napari_n2v.core.train.prepare import TrainData, prepare_data


@dataclass(frozen=True)
class TrainPlan:
    """Everything a training run uses, settled.

    ``config`` is the user's config with the architecture settled (``n_filters``): that is what the model
    file records. ``batch_size``, ``data.patch`` and ``data.n_masked`` are what the run uses.
    """

    config: TrainConfig
    machine: Machine
    data: TrainData
    batch_size: int
    batch_lowered: bool  # the default batch was lowered to fit free GPU memory
    blind_spot: BlindSpot
    filters_by_default: bool = False  # the width came from the table for this device and precision

    @property
    def patch(self) -> tuple[int, ...]:
        return self.data.patch

    @property
    def n_masked(self) -> int:
        return self.data.n_masked

    def start_line(self) -> str:
        """'training on CPU AVX2, fp32, 16 filters (the fp32 default), batch 16, patch (64, 64), 20
        masked pixels per patch, blind spot pixel'."""
        low = " (lowered to fit free GPU memory)" if self.batch_lowered else ""
        why = f" (the {self.machine.precision} default)" if self.filters_by_default else ""
        return (
            f"training on {self.machine.label()}, {self.config.n_filters} filters{why}, "
            f"batch {self.batch_size}{low}, patch {self.patch}, "
            f"{self.n_masked} masked pixels per patch, blind spot {self.blind_spot.spec}"
        )


def plan_training(
    image: Any,
    config: TrainConfig,
    *,
    val_image: Any = None,
    model: Denoiser | None = None,
    names: Sequence[str] | None = None,
) -> TrainPlan:
    """Check the data and settle every open default of a training run (all user errors raised here)."""
    if model is not None:
        config = continue_config(model, config)
    machine = resolve_machine(config.device, config.precision, config.n_spatial)
    defaults = defaults_for(machine, config.is_3d)
    by_default = config.n_filters is None
    if by_default:
        config = config.replace(n_filters=defaults.n_filters)
    data = prepare_data(image, config, val_image=val_image, model=model, names=names)
    if (
        machine.kind == "cpu"
        and machine.precision == "bf16"
        and bf16_conv3d_faulty(data.patch, config.depth)
    ):
        d = config.depth
        machine = machine.with_precision(
            "fp32",
            f"bf16 3D training on the CPU needs at least 3 planes at every U-Net level (a oneDNN "
            f"kernel returns wrong gradients for 2): patch {tuple(data.patch)} with depth {d} "
            f"trains in fp32; a Z patch of {3 * 2**d} or more trains in bf16",
        )
    batch = config.batch_size
    lowered = False
    if batch is None:
        batch = train_batch_size(
            machine.device,
            config,
            data.channels,
            data.patch,
            defaults.batch_size,
            machine.amp_dtype,
        )
        lowered = batch < defaults.batch_size
    spot = settle_blind_spot(config, data, model)
    config = config.replace(blind_spot=spot.spec)  # the model file records what was used
    return TrainPlan(config, machine, data, batch, lowered, spot, by_default)
