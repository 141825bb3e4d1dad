"""Noise2Void training as a generator of small events; cooperative stop; best model always kept.

``Trainer.run()`` yields one :class:`TrainEvent` per optimiser step (plus :class:`PreviewEvent` /
:class:`InfoEvent` when there is something to show) and returns the best model by validation loss.
``train()`` drains it for scripts and the CLI.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections import deque
from collections.abc import Generator
from typing import Any

import numpy as np
import torch

from .config import PredictConfig, TrainConfig
from .data import DevicePatchSampler, PatchSampler
from .device import (
    default_batch_size,
    describe_device,
    resolve_device,
    seed_everything,
)
from .distributed import Ranks
from .errors import N2VError
from .events import Event, InfoEvent, PreviewEvent, TrainEvent
from .model import build_unet
from .n2v_model import N2VModel
from .progress import TrainProgress, drain
from .step import StepRunner, val_sampler
from .train_setup import TrainData, prepare_data


class Trainer:
    """One training run. Construct on any thread (inputs are validated here), run ``run()`` in a worker.

    Parameters
    ----------
    image
        Array (numpy, dask, zarr) whose dimensions match ``config.axes``; or a list of such arrays
        (same axes, any sizes), left where they are and read patch by patch.
    config
        The run's settings.
    val_image
        Optional separate validation array (same axes); otherwise a held-out part of ``image``.
    model
        Continue training this model (its architecture and normalisation are kept).
    name
        Name of the resulting model.
    image_names
        Names of the images in a list (for messages), e.g. their file names.

    Under torchrun (a process group is initialised) the run is data-parallel: see
    :mod:`napari_n2v.core.distributed`.
    """

    def __init__(
        self,
        image: Any,
        config: TrainConfig,
        *,
        val_image: Any = None,
        model: N2VModel | None = None,
        name: str | None = None,
        image_names: list[str] | None = None,
    ) -> None:
        if model is not None:
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
            arch = {
                k: getattr(model.config, k)
                for k in ("depth", "n_filters", "kernel_size", "batch_norm", "n2v2")
            }
            # the architecture's fine print (e.g. CAREamics's blur-pool edge) stays with the model
            config = config.replace(**arch, extra={**model.config.extra, **config.extra})
        self.config = config
        self.data: TrainData = prepare_data(
            image, config, val_image=val_image, model=model, names=image_names
        )
        self.ranks = Ranks()
        self.device = resolve_device(config.device)
        self.batch_size = config.batch_size or default_batch_size(self.device, config.is_3d)
        self._base = model
        self.name = name or (model.name if model else "n2v model")
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._preview: tuple[np.ndarray, str] | None = None
        self._net: torch.nn.Module | None = None
        self._best_state: dict[str, torch.Tensor] | None = None
        self._best_val: float | None = None
        self._history: list[dict[str, Any]] = []
        self._steps_done = 0
        self.lag = 0 if self.device.type == "cpu" else 2  # steps between a step and its loss read

    # --- thread-safe controls ---------------------------------------------------------------------
    def stop(self) -> None:
        """Ask ``run()`` to finish and return the best model so far (on a GPU the up to two steps
        already queued still complete and are reported)."""
        self._stop.set()

    def request_preview(self, image: np.ndarray, axes: str) -> None:
        """Ask for the current model's prediction of ``image`` (yielded as a PreviewEvent)."""
        with self._lock:
            self._preview = (np.asarray(image), axes)

    # --- models -----------------------------------------------------------------------------------
    def _wrap(self, net: torch.nn.Module) -> N2VModel:
        base_steps = self._base.steps_trained if self._base else 0
        return N2VModel(
            config=self.config,
            network=net,
            mean=self.data.mean,
            std=self.data.std,
            history=list(self._history),
            name=self.name,
            steps_trained=base_steps + self._steps_done,
        )

    @property
    def best_model(self) -> N2VModel | None:
        """The best model so far by validation loss (a copy, safe to use while training goes on)."""
        if self._best_state is None:
            return None
        net = build_unet(self.config, self.data.channels)
        net.load_state_dict(self._best_state)
        return self._wrap(net.eval())

    @property
    def current_model(self) -> N2VModel | None:
        return self._wrap(self._net) if self._net is not None else None

    # --- the loop ---------------------------------------------------------------------------------
    def run(self) -> Generator[Event, None, N2VModel]:
        """Train; yields a TrainEvent per step (and Preview/Info events); returns the best model."""
        cfg, dev, d = self.config, self.device, self.data
        rk = self.ranks
        seed = seed_everything(rk.common_seed(cfg.seed))
        gen = torch.Generator(device=dev).manual_seed(rk.rank_seed(seed))
        for msg in d.messages:
            yield InfoEvent(msg)
        if rk.active:
            yield InfoEvent(rk.describe(self.batch_size, cfg.learning_rate))
        yield InfoEvent(
            f"training on {describe_device(dev, cfg.precision, cfg.n_spatial)}, batch "
            f"{self.batch_size}, patch {d.patch}, {d.n_masked} masked pixels per patch"
        )
        net = copy.deepcopy(self._base.network) if self._base else build_unet(cfg, d.channels)
        runner = StepRunner(
            net,
            d,
            strategy=cfg.resolved_strategy,
            radius=cfg.neighbor_radius,
            struct_span=cfg.struct_span,
            learning_rate=cfg.learning_rate,
            precision=cfg.precision,
            device=dev,
            batch_size=self.batch_size,
            steps_per_epoch=cfg.steps_per_epoch,
        )
        self._net = runner.net
        runner.train_net = rk.wrap(runner.net, dev)  # DDP under torchrun: gradients all-reduced
        sampler = self._sampler(np.random.default_rng(rk.rank_seed(seed)))
        val = (
            runner.make_val(val_sampler(d, seed + 1), cfg.val_patches, seed + 1)
            if rk.is_main
            else []
        )
        t_start = time.perf_counter()
        self._rate, self._t_last = 0.0, t_start
        pending: deque[tuple[int, torch.Tensor]] = deque()
        limit = cfg.time_limit_s
        for step in range(1, cfg.steps + 1):
            late = limit is not None and time.perf_counter() - t_start >= limit  # a time budget
            if rk.should_stop(self._stop.is_set() or late):  # a stop on any rank ends all ranks
                self._stop.set()
                break
            pending.append((step, runner.step(sampler, gen)))
            # On a GPU, read each loss `lag` steps late, with the following steps already queued:
            # the host never waits on an idle device (a stop then ends up to `lag` steps later).
            # Steps that validate are read at once: validation and the kept model see exactly their
            # weights. On the CPU (lag 0) a step runs synchronously, so each is read at once.
            boundary = self._validates(step)
            while pending and (boundary or len(pending) > self.lag):
                yield from self._finish(runner, val, *pending.popleft(), t_start)
        while pending:
            yield from self._finish(runner, val, *pending.popleft(), t_start)
        last = self._history[-1]["step"] if self._history else 0
        if self._steps_done > last:  # stopped between validations: validate what we have
            val_loss = rk.share(runner.validate(val) if rk.is_main else None)
            self._record(runner.net, self._steps_done, float("nan"), val_loss)
        best = self.best_model
        if best is None:
            raise N2VError("training stopped before the first step: no model was trained.")
        return best

    def _validates(self, step: int) -> bool:
        """Whether ``step`` ends an epoch (or the run): it is validated and its loss read at once."""
        return step % self.config.steps_per_epoch == 0 or step == self.config.steps

    def _finish(
        self, runner: StepRunner, val: list, step: int, loss_t: torch.Tensor, t_start: float
    ) -> Generator[Event, None, None]:
        """Read a step's loss, validate at epoch ends, report the step and serve a preview request."""
        cfg = self.config
        loss = float(loss_t)
        if not math.isfinite(loss):
            raise N2VError(
                f"training diverged (the loss became {loss} at step {step}): lower the learning "
                f"rate (now {runner.lr:g}). The best model so far is kept."
            )
        self._steps_done = step
        now = time.perf_counter()
        inst = self.batch_size / max(now - self._t_last, 1e-9)
        self._t_last = now
        self._rate = inst if step <= 2 else 0.9 * self._rate + 0.1 * inst
        val_loss = None
        if self._validates(step):  # rank 0 validates; every rank steps the schedule with its loss
            val_loss = self.ranks.share(runner.validate(val) if self.ranks.is_main else None)
            self._record(runner.net, step, loss, val_loss)
            runner.sched.step(val_loss)
            self._t_last = time.perf_counter()  # validation time is not training throughput
        rate = self._rate
        eta = (cfg.steps - step) * self.batch_size / rate if rate > 0 else None
        if cfg.time_limit_s is not None:  # a time budget ends the run first when it is shorter
            left = max(0.0, cfg.time_limit_s - (time.perf_counter() - t_start))
            eta = left if eta is None else min(eta, left)
        yield TrainEvent(
            step,
            cfg.steps,
            (step - 1) // cfg.steps_per_epoch + 1,
            loss,
            val_loss,
            self._best_val,
            runner.lr,
            rate,
            eta,
            time.perf_counter() - t_start,
        )
        with self._lock:
            req, self._preview = self._preview, None
        if req is not None:
            preview = self._wrap(runner.net).predict(
                req[0], req[1], PredictConfig(device=str(self.device))
            )
            yield PreviewEvent(step, preview)
            self._t_last = time.perf_counter()

    def _sampler(self, rng: np.random.Generator) -> PatchSampler:
        """On a GPU, keep the image on the device when it takes < 25% of free memory as float32."""
        d, cfg = self.data, self.config
        if d.sources is not None:  # several images, left on disk: patches read where they are
            return d.sources.sampler("train", d.patch, cfg.augment, rng)
        if self.device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(self.device)
            if d.data.size * 4 < 0.25 * free:
                return DevicePatchSampler(
                    d.data, d.train_region, d.patch, cfg.augment, rng, self.device
                )
        return PatchSampler(d.data, d.train_region, d.patch, cfg.augment, rng)

    def _record(self, net: torch.nn.Module, step: int, train_loss: float, val_loss: float) -> None:
        self._history.append({"step": step, "train_loss": train_loss, "val_loss": val_loss})
        if math.isfinite(val_loss) and (self._best_val is None or val_loss < self._best_val):
            self._best_val = val_loss
            self._best_state = {
                k: v.detach().to("cpu", copy=True).contiguous() for k, v in net.state_dict().items()
            }


def train(
    image: Any,
    config: TrainConfig,
    *,
    val_image: Any = None,
    model: N2VModel | None = None,
    name: str | None = None,
    progress: bool = False,
) -> N2VModel:
    """Train and return the best model; with ``progress`` a tqdm bar shows steps and losses."""
    trainer = Trainer(image, config, val_image=val_image, model=model, name=name)
    if not progress:
        return drain(trainer.run())
    with TrainProgress(config.steps, config.time_limit_s) as bar:
        return drain(trainer.run(), bar.update)
