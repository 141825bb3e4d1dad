"""One optimiser step and one validation pass of Noise2Void: the numeric core of a training run."""

from __future__ import annotations

import math
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
import torch

from napari_n2v.core.device import (
    memory_format,
    out_of_memory_hint,
)
from napari_n2v.core.plan.train_plan import TrainPlan
from napari_n2v.core.train.data import PatchSampler, Sampler
from napari_n2v.core.train.masking import Masker, MaskResult, masked_mse
from napari_n2v.core.train.prepare import TrainData

#: The learning rate is halved after this many steps without a better validation loss (at least 10
#: validations), never below ``MIN_LR_FACTOR`` times the start. Counted in steps, not validations, so
#: that frequent validation (for a live curve) does not make the schedule hasty: counted in validations,
#: a few-minute GPU run halved the rate dozens of times and froze the model early (docs/benchmarks.md,
#: "GPU"). 4,000 steps is the Noise2Void paper's schedule (10 epochs of 400 steps).
LR_PATIENCE_STEPS = 4000
MIN_LR_FACTOR = 1 / 64
#: After this many steps skipped for non-finite bf16 values, a CPU run goes on in fp32.
MAX_SKIPPED_STEPS = 3


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

    With reduced precision on the CPU (bf16 autocast) every step is guarded: a step whose loss or
    gradients are not finite is skipped, its weights, batch-norm statistics and optimiser state left
    as they were; after ``MAX_SKIPPED_STEPS`` such steps the run goes on in fp32. ``skipped`` counts
    them and ``take_notice()`` says what happened. The CPU reads every step's loss anyway, so the
    check costs no pipelining; on a GPU there is no such check (it would make the host wait).
    """

    def __init__(
        self,
        net: torch.nn.Module,
        data: TrainData,
        *,
        strategy: str,
        radius: int,
        half: tuple[int, ...] | None,
        learning_rate: float,
        dtype: torch.dtype | None,
        device: torch.device,
        batch_size: int,
        steps_per_epoch: int,
    ) -> None:
        self.device, self.batch_size, self.patch = device, batch_size, data.patch
        n_dim = len(data.patch)
        self.fmt = memory_format(device, n_dim)
        self.net = net.to(device, memory_format=self.fmt).train()  # type: ignore[call-overload]
        self.train_net: torch.nn.Module = (
            self.net
        )  # what step() calls: a DDP wrapper under torchrun
        self.opt = torch.optim.Adam(self.net.parameters(), lr=learning_rate)
        self.sched = plateau_scheduler(self.opt, learning_rate, steps_per_epoch)
        self.dtype = dtype  # the plan's autocast dtype (None: fp32)
        self.scaler = torch.amp.GradScaler(device.type) if self.dtype == torch.float16 else None
        self._notices: list[str] = []
        self.steps = 0  # step() calls so far: the Trainer's step number
        self.skipped = 0  # guarded steps skipped for non-finite values
        self.masker = Masker(data.patch, data.n_masked, strategy, radius, half, device)
        shape = (1, -1, *[1] * n_dim)
        self.mean = torch.as_tensor(data.mean, device=device).reshape(shape)
        self.std = torch.as_tensor(data.std, device=device).reshape(shape)

    @classmethod
    def for_plan(cls, net: torch.nn.Module, plan: TrainPlan) -> StepRunner:
        """A runner with the masking, optimiser, batch and precision that ``plan`` settled."""
        config = plan.config
        return cls(
            net,
            plan.data,
            strategy=config.resolved_strategy,
            radius=config.neighbor_radius,
            half=plan.blind_spot.half,
            learning_rate=config.learning_rate,
            dtype=plan.machine.amp_dtype,
            device=plan.machine.device,
            batch_size=plan.batch_size,
            steps_per_epoch=config.steps_per_epoch,
        )

    @property
    def guard(self) -> bool:
        """Whether steps are checked for non-finite values: reduced precision on the CPU."""
        return self.dtype is not None and self.device.type == "cpu"

    def amp(self) -> AbstractContextManager[Any]:
        return (
            torch.autocast(self.device.type, dtype=self.dtype)
            if self.dtype is not None
            else nullcontext()
        )

    @property
    def lr(self) -> float:
        return float(self.opt.param_groups[0]["lr"])

    def masked_batch(self, sampler: Sampler, n: int, gen: torch.Generator) -> MaskResult:
        """Cut ``n`` patches, normalise them and apply blind-spot masking."""
        cut = sampler.sample(n)
        x = (
            cut
            if isinstance(cut, torch.Tensor)
            else torch.from_numpy(cut).to(self.device, non_blocking=True)
        )
        return self.masker((x - self.mean) / self.std, gen)

    def step(self, sampler: Sampler, gen: torch.Generator) -> torch.Tensor:
        """One optimiser step on a fresh batch; returns the loss (MSE at the masked pixels) as a
        0-d tensor on the device, not yet read: on a GPU the caller can queue the next step first.

        A guarded step skipped for non-finite values (see the class) returns the batch's loss if it
        was finite, else the batch's fp32 loss with the unchanged weights: finite unless the weights
        themselves have diverged, which the caller then reports as it would in fp32."""
        self.steps += 1
        hint = f"lower the batch size (now {self.batch_size}) or the patch size (now {self.patch})."
        with out_of_memory_hint(hint):
            mr = self.masked_batch(sampler, self.batch_size, gen)
            x = mr.masked.contiguous(memory_format=self.fmt)
            saved = [b.clone() for b in self.net.buffers()] if self.guard else None
            with self.amp():
                pred = self.train_net(x)
            loss = masked_mse(pred, mr.coords, mr.targets)
            self.opt.zero_grad(set_to_none=True)
            if self.scaler is not None:
                self.scaler.scale(loss).backward()
                self.scaler.step(self.opt)
                self.scaler.update()
            else:
                loss.backward()
                if saved is not None and not self._finite(loss):
                    return self._skip(loss, x, mr, saved)
                self.opt.step()
        return loss.detach()

    def _finite(self, loss: torch.Tensor) -> bool:
        """Whether ``loss`` and every gradient are finite (one host read)."""
        flags = [loss.isfinite()]
        flags += [p.grad.isfinite().all() for p in self.net.parameters() if p.grad is not None]
        return bool(torch.stack(flags).all())

    def _skip(
        self, loss: torch.Tensor, x: torch.Tensor, mr: MaskResult, saved: list[torch.Tensor]
    ) -> torch.Tensor:
        """Drop a bf16 step with non-finite values: no update, batch-norm statistics restored."""
        self.opt.zero_grad(set_to_none=True)
        what = "gradients" if bool(loss.isfinite()) else "loss"
        if what == "loss":  # report what the unchanged weights give this batch in fp32
            with torch.no_grad():  # the bare net: no DDP collective on this rank alone
                loss = masked_mse(self.net(x), mr.coords, mr.targets)
        with torch.no_grad():
            for buf, old in zip(self.net.buffers(), saved, strict=True):
                buf.copy_(old)
        self.skipped += 1
        self._notices.append(f"step {self.steps}: non-finite bf16 {what}, step skipped")
        if self.skipped == MAX_SKIPPED_STEPS:
            self.dtype = None
            self._notices.append(
                f"{MAX_SKIPPED_STEPS} steps with non-finite bf16 values: continuing in fp32"
            )
        return loss.detach()

    def take_notice(self) -> str | None:
        """The oldest message about a skipped step or the switch to fp32 not yet taken, or None."""
        return self._notices.pop(0) if self._notices else None

    def make_val(self, sampler: Sampler, n: int, seed: int) -> list[MaskResult]:
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


def val_sampler(data: TrainData, seed: int) -> Sampler:
    if data.sources is not None:  # several images: their held-out files or regions
        return data.sources.sampler("val", data.patch, False, np.random.default_rng(seed))
    return PatchSampler(
        data.val_data, data.val_region, data.patch, False, np.random.default_rng(seed)
    )
