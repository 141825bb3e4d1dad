"""One optimiser step and one validation pass of Noise2Void: the numeric core of a training run."""

from __future__ import annotations

import math
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
import torch

from .config import TrainConfig
from .data import PatchSampler
from .device import autocast_dtype, out_of_memory_hint
from .masking import Masker, MaskResult, masked_mse
from .train_setup import TrainData

#: The learning rate is halved after this many steps without a better validation loss (at least 10
#: validations), never below ``MIN_LR_FACTOR`` times the start. Counted in steps, not validations, so
#: that frequent validation (for a live curve) does not make the schedule hasty: counted in validations,
#: a few-minute GPU run halved the rate dozens of times and froze the model early (docs/benchmarks.md,
#: "GPU"). 4,000 steps is the Noise2Void paper's schedule (10 epochs of 400 steps).
LR_PATIENCE_STEPS = 4000
MIN_LR_FACTOR = 1 / 64


def plateau_scheduler(
    opt: torch.optim.Optimizer, learning_rate: float, steps_per_epoch: int
) -> torch.optim.lr_scheduler.ReduceLROnPlateau:
    """Halve the rate on a validation plateau of ``LR_PATIENCE_STEPS`` steps, down to a floor."""
    patience = max(10, math.ceil(LR_PATIENCE_STEPS / steps_per_epoch))
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, factor=0.5, patience=patience, min_lr=learning_rate * MIN_LR_FACTOR
    )


class StepRunner:
    """Holds the network, optimiser, masker and precision policy; ``step()`` trains on one batch.

    Parameters
    ----------
    net
        The U-Net, already on ``device``.
    data
        Prepared training data (patch shape, masked-pixel count, normalisation).
    """

    def __init__(
        self,
        net: torch.nn.Module,
        data: TrainData,
        *,
        strategy: str,
        radius: int,
        struct_span: int,
        learning_rate: float,
        precision: str,
        device: torch.device,
        batch_size: int,
        steps_per_epoch: int,
    ) -> None:
        self.device, self.batch_size, self.patch = device, batch_size, data.patch
        n_dim = len(data.patch)
        self.fmt = (
            torch.channels_last if n_dim == 2 and device.type != "mps" else torch.contiguous_format
        )
        self.net = net.to(device, memory_format=self.fmt).train()  # type: ignore[call-overload]
        self.train_net: torch.nn.Module = (
            self.net
        )  # what step() calls: a DDP wrapper under torchrun
        self.opt = torch.optim.Adam(self.net.parameters(), lr=learning_rate)
        self.sched = plateau_scheduler(self.opt, learning_rate, steps_per_epoch)
        self.dtype = autocast_dtype(device, precision, n_dim)
        self.scaler = torch.amp.GradScaler(device.type) if self.dtype == torch.float16 else None
        self.masker = Masker(
            data.patch, data.n_masked, strategy, radius, data.struct_dim, struct_span, device
        )
        shape = (1, -1, *[1] * n_dim)
        self.mean = torch.as_tensor(data.mean, device=device).reshape(shape)
        self.std = torch.as_tensor(data.std, device=device).reshape(shape)

    @classmethod
    def for_config(
        cls,
        net: torch.nn.Module,
        data: TrainData,
        config: TrainConfig,
        device: torch.device,
        batch_size: int,
    ) -> StepRunner:
        """A runner with the masking, optimiser and precision that ``config`` asks for."""
        return cls(
            net,
            data,
            strategy=config.resolved_strategy,
            radius=config.neighbor_radius,
            struct_span=config.struct_span,
            learning_rate=config.learning_rate,
            precision=config.precision,
            device=device,
            batch_size=batch_size,
            steps_per_epoch=config.steps_per_epoch,
        )

    def amp(self) -> AbstractContextManager[Any]:
        return (
            torch.autocast(self.device.type, dtype=self.dtype)
            if self.dtype is not None
            else nullcontext()
        )

    @property
    def lr(self) -> float:
        return float(self.opt.param_groups[0]["lr"])

    def masked_batch(self, sampler: PatchSampler, n: int, gen: torch.Generator) -> MaskResult:
        """Cut ``n`` patches, normalise them and apply blind-spot masking."""
        cut = sampler.sample(n)
        x = (
            cut
            if isinstance(cut, torch.Tensor)
            else torch.from_numpy(cut).to(self.device, non_blocking=True)
        )
        return self.masker((x - self.mean) / self.std, gen)

    def step(self, sampler: PatchSampler, gen: torch.Generator) -> torch.Tensor:
        """One optimiser step on a fresh batch; returns the loss (MSE at the masked pixels) as a
        0-d tensor on the device, not yet read: on a GPU the caller can queue the next step first."""
        hint = f"lower the batch size (now {self.batch_size}) or the patch size (now {self.patch})."
        with out_of_memory_hint(hint):
            mr = self.masked_batch(sampler, self.batch_size, gen)
            with self.amp():
                pred = self.train_net(mr.masked.contiguous(memory_format=self.fmt))
            loss = masked_mse(pred, mr.coords, mr.targets)
            self.opt.zero_grad(set_to_none=True)
            if self.scaler is not None:
                self.scaler.scale(loss).backward()
                self.scaler.step(self.opt)
                self.scaler.update()
            else:
                loss.backward()
                self.opt.step()
        return loss.detach()

    def make_val(self, sampler: PatchSampler, n: int, seed: int) -> list[MaskResult]:
        """A fixed set of ``n`` masked validation patches (the same every epoch: comparable losses)."""
        gen = torch.Generator(device=self.device).manual_seed(seed)
        batches = []
        while n > 0:
            batches.append(self.masked_batch(sampler, min(n, self.batch_size), gen))
            n -= self.batch_size
        return batches

    @torch.no_grad()
    def validate(self, val: list[MaskResult]) -> float:
        self.net.eval()
        try:
            total = 0.0
            for mr in val:
                with self.amp():
                    pred = self.net(mr.masked.contiguous(memory_format=self.fmt))
                total += float(masked_mse(pred, mr.coords, mr.targets)) * mr.masked.shape[0]
            return total / sum(mr.masked.shape[0] for mr in val)
        finally:
            self.net.train()


def val_sampler(data: TrainData, seed: int) -> PatchSampler:
    if data.sources is not None:  # several images: their held-out files or regions
        return data.sources.sampler("val", data.patch, False, np.random.default_rng(seed))
    return PatchSampler(
        data.val_data, data.val_region, data.patch, False, np.random.default_rng(seed)
    )
