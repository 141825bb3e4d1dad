"""Noise2Void training as a generator of small events; cooperative stop; best model always kept.

``Trainer.run()`` yields one :class:`TrainEvent` per optimiser step (plus :class:`PreviewEvent` /
:class:`InfoEvent` when there is something to show) and returns the best model by validation loss.
``train()`` drains it for scripts and the CLI.
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Generator
from typing import Any

import numpy as np
import torch

from napari_n2v.core.config import PredictConfig, TrainConfig
from napari_n2v.core.device import seed_everything
from napari_n2v.core.errors import N2VError
from napari_n2v.core.events import Event, InfoEvent, PreviewEvent, TrainEvent
from napari_n2v.core.model.n2v_model import N2VModel
from napari_n2v.core.model.unet import build_unet
from napari_n2v.core.plan.train_plan import TrainPlan, plan_training
from napari_n2v.core.progress import TrainProgress, drain
from napari_n2v.core.train.blend import blend_weight
from napari_n2v.core.train.checkpointing import Checkpointer, Checkpointing, resumed_model
from napari_n2v.core.train.distributed import Ranks
from napari_n2v.core.train.parts import (
    BestKeeper,
    Mailbox,
    RateMeter,
    finite_loss,
    make_sampler,
    wrap_model,
)
from napari_n2v.core.train.prepare import TrainData
from napari_n2v.core.train.step import StepRunner, val_sampler


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
    checkpoint
        Save the run every few minutes and when it ends (see
        :mod:`napari_n2v.core.train.checkpointing`); with ``resume`` set, go on from that checkpoint
        (its network, normalisation, optimiser, step count, validation history and seed).

    Notes
    -----
    Under torchrun (a process group is initialised) the run is data-parallel: see
    :mod:`napari_n2v.core.train.distributed`.
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
        checkpoint: Checkpointing | None = None,
    ) -> None:
        if checkpoint is not None and checkpoint.resume is not None and model is None:
            model = resumed_model(checkpoint.resume)
        self.checkpoint = checkpoint
        self.plan: TrainPlan = plan_training(
            image, config, val_image=val_image, model=model, names=image_names
        )
        self.config = self.plan.config
        self.device = self.plan.machine.device
        self.data: TrainData = self.plan.data
        self.batch_size = self.plan.batch_size
        self.ranks = Ranks()
        self._base = model
        self.name = name or (model.name if model else "n2v model")
        self._stop = threading.Event()
        self._preview: Mailbox[tuple[np.ndarray, str]] = Mailbox()
        self._net: torch.nn.Module | None = None
        self._best = BestKeeper()
        self._meter = RateMeter(self.batch_size)
        self._steps_done = 0
        self.lag = 0 if self.device.type == "cpu" else 2  # steps between a step and its loss read

    # --- thread-safe controls ---------------------------------------------------------------------
    def stop(self) -> None:
        """Ask ``run()`` to finish and return the best model so far (on a GPU the up to two steps
        already queued still complete and are reported)."""
        self._stop.set()

    def request_preview(self, image: np.ndarray, axes: str) -> None:
        """Ask for the current model's prediction of ``image`` (yielded as a PreviewEvent)."""
        self._preview.put((np.asarray(image), axes))

    # --- models -----------------------------------------------------------------------------------
    def _wrap(self, net: torch.nn.Module) -> N2VModel:
        return wrap_model(self, net, self._best.history)

    @property
    def best_model(self) -> N2VModel | None:
        """The best model so far by validation loss (a copy, safe to use while training goes on)."""
        state = self._best.best_state
        if state is None:
            return None
        net = build_unet(self.config, self.data.channels)
        net.load_state_dict(state)
        return self._wrap(net.eval())

    @property
    def current_model(self) -> N2VModel | None:
        return self._wrap(self._net) if self._net is not None else None

    # --- the loop ---------------------------------------------------------------------------------
    def run(self) -> Generator[Event, None, N2VModel]:
        """Train; yields a TrainEvent per step (and Preview/Info events); returns the best model."""
        cfg, dev, d = self.config, self.device, self.data
        rk = self.ranks
        hook = Checkpointer(self.checkpoint, self)
        seed = seed_everything(rk.common_seed(hook.seed(cfg.seed)))
        gen = torch.Generator(device=dev).manual_seed(rk.rank_seed(seed))
        for msg in d.messages:
            yield InfoEvent(msg)
        if rk.active:
            yield InfoEvent(rk.describe(self.batch_size, cfg.learning_rate))
        net = copy.deepcopy(self._base.network) if self._base else build_unet(cfg, d.channels)
        runner = StepRunner.for_plan(net, self.plan)
        yield InfoEvent(self.plan.start_line())
        yield InfoEvent(f"blind spot {self.plan.blind_spot.why}")
        if self.plan.machine.reason:
            yield InfoEvent(self.plan.machine.reason)
        self._net = runner.net
        runner.train_net = rk.wrap(runner.net, dev)  # DDP under torchrun: gradients all-reduced
        sampler = make_sampler(d, cfg, dev, np.random.default_rng(rk.rank_seed(seed)))
        val = (
            runner.make_val(val_sampler(d, seed + 1), cfg.val_patches, seed + 1)
            if rk.is_main
            else []
        )
        meter = self._meter = RateMeter(self.batch_size)
        start, said = hook.start(runner, gen, sampler, seed)
        if said:
            yield InfoEvent(said)
        pending: deque[tuple[int, torch.Tensor]] = deque()
        for step in range(start + 1, cfg.steps + 1):
            late = meter.out_of_time(cfg)  # a time budget ends the run like a stop
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
                yield from self._finish(runner, val, *pending.popleft())
            if not pending and (note := hook.tick(step)):  # every step read: a settled state
                yield InfoEvent(note)
        while pending:
            yield from self._finish(runner, val, *pending.popleft())
        if self._steps_done > self._best.last_step:  # stopped between validations: validate now
            val_loss = rk.share(runner.validate(val) if rk.is_main else None)
            self._best.record(runner.net, self._steps_done, float("nan"), val_loss)
        best = self.best_model
        if best is None:
            raise N2VError("training stopped before the first step: no model was trained.")
        best.blend = blend_weight(self._best.best_val, d, self.plan.blind_spot.extent)
        if note := hook.finish():
            yield InfoEvent(note)
        return best

    def _validates(self, step: int) -> bool:
        """Whether ``step`` ends an epoch (or the run): it is validated and its loss read at once."""
        return step % self.config.steps_per_epoch == 0 or step == self.config.steps

    def _finish(
        self, runner: StepRunner, val: list, step: int, loss_t: torch.Tensor
    ) -> Generator[Event, None, None]:
        """Read a step's loss, validate at epoch ends, report the step and serve a preview request."""
        cfg = self.config
        while (notice := runner.take_notice()) is not None:  # bf16 steps skipped on the CPU
            yield InfoEvent(notice)
        loss = finite_loss(loss_t, step, runner.lr)
        self._steps_done = step
        meter = self._meter
        rate = meter.tick(step)
        val_loss = None
        if self._validates(step):  # rank 0 validates; every rank steps the schedule with its loss
            val_loss = self.ranks.share(runner.validate(val) if self.ranks.is_main else None)
            self._best.record(runner.net, step, loss, val_loss)
            runner.sched.step(val_loss)
            meter.pause_ends()
        yield TrainEvent(
            step,
            cfg.steps,
            (step - 1) // cfg.steps_per_epoch + 1,
            loss,
            val_loss,
            self._best.best_val,
            runner.lr,
            rate,
            meter.eta(step, cfg),
            meter.elapsed,
        )
        req = self._preview.take()
        if req is not None:
            preview = self._wrap(runner.net).predict(
                req[0], req[1], PredictConfig(device=str(self.device))
            )
            yield PreviewEvent(step, preview)
            meter.pause_ends()


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
