"""The Trainer's helpers, each with one job: continuing a model's config, keeping the best weights,
measuring the rate and ETA, and choosing where patches are cut from."""

from __future__ import annotations

import math
import threading
import time
from typing import Any, Generic, TypeVar

import numpy as np
import torch

from napari_n2v.core.config import TrainConfig
from napari_n2v.core.errors import N2VError
from napari_n2v.core.model.n2v_model import N2VModel
from napari_n2v.core.predict.memory_plan import free_gpu_memory
from napari_n2v.core.train.data import DevicePatchSampler, PatchSampler, Sampler
from napari_n2v.core.train.prepare import TrainData

#: What continuing a model keeps from it: the architecture.
ARCH_FIELDS = ("depth", "n_filters", "kernel_size", "batch_norm", "n2v2")


def continue_config(model: Any, config: TrainConfig) -> TrainConfig:
    """``config`` with ``model``'s architecture, after checking the model can go on training here."""
    if not getattr(model, "trainable", True):
        raise N2VError(
            f"{model.name} is a TorchScript zoo model: it can denoise, but not be trained "
            "further. Train a new model instead (or fine-tune an N2V package)."
        )
    if model.is_3d != config.is_3d:
        raise N2VError(
            f"cannot continue a {'3D' if model.is_3d else '2D'} model on "
            f"{'3D' if config.is_3d else '2D'} training data (axes {config.axes!r})."
        )
    arch = {k: getattr(model.config, k) for k in ARCH_FIELDS}
    # the architecture's fine print (e.g. CAREamics's blur-pool edge) stays with the model
    return config.replace(**arch, extra={**model.config.extra, **config.extra})


class BestKeeper:
    """The loss history and a CPU copy of the weights with the best validation loss so far."""

    def __init__(self) -> None:
        self.history: list[dict[str, Any]] = []
        self.best_val: float | None = None
        self.best_state: dict[str, torch.Tensor] | None = None

    @property
    def last_step(self) -> int:
        return int(self.history[-1]["step"]) if self.history else 0

    def record(self, net: torch.nn.Module, step: int, train_loss: float, val_loss: float) -> None:
        self.history.append({"step": step, "train_loss": train_loss, "val_loss": val_loss})
        if math.isfinite(val_loss) and (self.best_val is None or val_loss < self.best_val):
            self.best_val = val_loss
            self.best_state = {
                k: v.detach().to("cpu", copy=True).contiguous() for k, v in net.state_dict().items()
            }


class RateMeter:
    """Patches per second between reported steps (smoothed), and the time left for a run."""

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self.start = self.last = time.perf_counter()
        self.rate = 0.0

    def tick(self, step: int) -> float:
        now = time.perf_counter()
        inst = self.batch_size / max(now - self.last, 1e-9)
        self.last = now
        self.rate = inst if step <= 2 else 0.9 * self.rate + 0.1 * inst
        return self.rate

    def pause_ends(self) -> None:
        """Validation and previews are not training throughput: restart the clock after them."""
        self.last = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def eta(self, step: int, config: TrainConfig) -> float | None:
        eta = (config.steps - step) * self.batch_size / self.rate if self.rate > 0 else None
        if config.time_limit_s is not None:  # a time budget ends the run first when it is shorter
            left = max(0.0, config.time_limit_s - self.elapsed)
            eta = left if eta is None else min(eta, left)
        return eta

    def out_of_time(self, config: TrainConfig) -> bool:
        return config.time_limit_s is not None and self.elapsed >= config.time_limit_s


def make_sampler(
    data: TrainData, config: TrainConfig, device: torch.device, rng: np.random.Generator
) -> Sampler:
    """Where training patches are cut: from files left on disk, from a copy on the GPU when the image
    takes < 25% of its free memory as float32, or from the array in memory."""
    if data.sources is not None:  # several images, left on disk: patches read where they are
        return data.sources.sampler("train", data.patch, config.augment, rng)
    free = free_gpu_memory(device)
    if free is not None:
        if data.data.size * 4 < 0.25 * free:
            return DevicePatchSampler(
                data.data, data.train_region, data.patch, config.augment, rng, device
            )
    return PatchSampler(data.data, data.train_region, data.patch, config.augment, rng)


T = TypeVar("T")


class Mailbox(Generic[T]):
    """One pending request from another thread (the newest wins), taken once by the training loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._item: T | None = None

    def put(self, item: T) -> None:
        with self._lock:
            self._item = item

    def take(self) -> T | None:
        with self._lock:
            item, self._item = self._item, None
        return item


def finite_loss(loss_t: torch.Tensor, step: int, lr: float) -> float:
    """The step's loss as a float, or the error that says the run diverged and what to change."""
    loss = float(loss_t)
    if not math.isfinite(loss):
        raise N2VError(
            f"training diverged (the loss became {loss} at step {step}): lower the learning "
            f"rate (now {lr:g}). The best model so far is kept."
        )
    return loss


def wrap_model(trainer: Any, net: torch.nn.Module, history: list[dict[str, Any]]) -> N2VModel:
    """``net`` as an :class:`N2VModel` of ``trainer``'s run: its config, normalisation, history, name
    and steps (those of a continued model included), and a small crop of the training data (read once
    per run) that a zoo export uses as its test image."""
    from napari_n2v.core.model.n2v_model import training_sample

    base = trainer._base
    sample = getattr(trainer, "_sample", None)
    if sample is None:
        sample = trainer._sample = training_sample(trainer.data.data, trainer.config.n_spatial)
    spatial = "ZYX" if trainer.config.n_spatial == 3 else "YX"
    return N2VModel(
        config=trainer.config,
        network=net,
        mean=trainer.data.mean,
        std=trainer.data.std,
        history=list(history),
        name=trainer.name,
        steps_trained=(base.steps_trained if base else 0) + trainer._steps_done,
        sample=sample,
        sample_axes="C" + spatial,
    )
