"""The trainer's checkpoint hook: save the run every few minutes (and when it ends) beside its
output, and pick a run up again from such a checkpoint.

A :class:`Checkpointing` given to :class:`napari_n2v.core.train.trainer.Trainer` says where and how
often; the trainer drives a :class:`Checkpointer` (one per run): ``start`` restores a checkpoint it
resumes from, ``tick`` after each step saves when one is due, ``finish`` saves the run's last state.
The file format is :mod:`.checkpoint`'s (atomic, checksummed, no pickle). Only rank 0 of a DDP run
writes; every rank restores (the other ranks' patch and masking generators are reseeded, as rank 0's
states are the only ones saved).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from napari_n2v.core.config import TrainConfig
from napari_n2v.core.errors import N2VError
from napari_n2v.core.model.n2v_model import N2VModel
from napari_n2v.core.model.unet import build_unet
from napari_n2v.core.train.checkpoint import (
    FORMAT,
    Checkpoint,
    checkpoint_path,
    load_checkpoint,
    restore,
    save_checkpoint,
)

#: Default time between checkpoints (seconds): a crash or kill -9 costs at most this much training.
DEFAULT_EVERY_S = 300.0
_MASK, _PATCHES = "mask", "patches"  # the generators' names in the file


@dataclass(frozen=True)
class Checkpointing:
    """Where a run checkpoints (``path``), how often (``every_s``; None: never), and the loaded
    checkpoint it resumes from (``resume``)."""

    path: Path
    every_s: float | None = DEFAULT_EVERY_S
    resume: Checkpoint | None = None

    @classmethod
    def beside(
        cls, out: str | Path, every_s: float | None = DEFAULT_EVERY_S, resume: bool = False
    ) -> Checkpointing:
        """Checkpoints beside the model file ``out`` (``m.n2v.safetensors`` ->
        ``m.ckpt.safetensors``); ``resume`` loads the one there (a missing one: N2VError)."""
        path = checkpoint_path(out)
        return cls(path, every_s, load_checkpoint(path) if resume else None)


def is_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` is a napari-n2v checkpoint (read from its header only)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return (f.metadata() or {}).get("format") == FORMAT
    except Exception:  # not a file, not safetensors: not a checkpoint either way
        return False


def resumed_model(ckpt: Checkpoint) -> N2VModel:
    """The model a resumed run goes on from: the checkpoint's network (last weights), settings,
    normalisation and the steps of any model it was itself continued from."""
    try:
        config = TrainConfig.from_dict(json.loads(ckpt.config_json))
        mean = np.asarray(ckpt.extra["mean"], np.float32)
        std = np.asarray(ckpt.extra["std"], np.float32)
    except (KeyError, ValueError, TypeError, N2VError) as err:
        raise N2VError(f"the checkpoint lacks the run's settings or normalisation ({err})") from err
    net = build_unet(config, int(mean.shape[0]))
    net.load_state_dict(ckpt.model_state)
    return N2VModel(
        config=config,
        network=net.eval(),
        mean=mean,
        std=std,
        history=list(ckpt.val_history),
        name=str(ckpt.extra.get("name", "n2v model")),
        steps_trained=int(ckpt.extra.get("base_steps", 0)),
    )


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def describe_resume(ckpt: Checkpoint, path: Path, total_steps: int) -> str:
    """'resuming from m.ckpt.safetensors: step 1200 of 5000, 12.0 min trained, best validation
    loss 0.0123'."""
    best = ckpt.best_val
    best_text = f", best validation loss {best:.4g}" if best is not None else ""
    return (
        f"resuming from {path}: step {ckpt.step} of {total_steps}, "
        f"{_minutes(ckpt.elapsed_s)} trained{best_text}"
    )


class Checkpointer:
    """One run's checkpoints; a no-op without a :class:`Checkpointing` (see the module doc)."""

    def __init__(self, policy: Checkpointing | None, trainer: Any) -> None:
        self.policy = policy
        self.trainer = trainer
        self.parts: tuple[Any, Any, Any, int] | None = None  # runner, generator, sampler, seed
        self.saved_step = 0
        self.last_save = time.monotonic()
        self.failed = False

    def seed(self, seed: int | None) -> int | None:
        """The run's seed: the checkpoint's when resuming (the same validation patches)."""
        ckpt = self.policy.resume if self.policy else None
        return ckpt.seed if ckpt is not None and ckpt.seed is not None else seed

    def start(self, runner: Any, gen: Any, sampler: Any, seed: int) -> tuple[int, str | None]:
        """Bind the run's parts; when resuming, put the checkpoint back. Returns the step reached
        and a line that says so (or where checkpoints go; None: nowhere)."""
        self.parts = (runner, gen, sampler, seed)
        self.last_save = time.monotonic()
        ckpt = self.policy.resume if self.policy else None
        if ckpt is None:
            every = self.policy.every_s if self.policy else None
            if every is None:
                return 0, None
            return 0, f"checkpoints every {_minutes(every)} to {self.policy.path}"  # type: ignore[union-attr]
        tr, rk = self.trainer, self.trainer.ranks
        own = {"torch_generators": {_MASK: gen}, "numpy_generators": {_PATCHES: sampler.rng}}
        restore(ckpt, runner.net, runner.opt, runner.sched, scaler=runner.scaler,
                **(own if rk.is_main else {}))  # fmt: skip
        if not rk.is_main:  # rank 0's states alone are saved: the others draw afresh
            fresh = rk.rank_seed(seed) + 104729 * ckpt.step
            gen.manual_seed(fresh)
            sampler.rng.bit_generator.state = np.random.default_rng(fresh).bit_generator.state
        runner.steps = tr._steps_done = self.saved_step = ckpt.step
        keeper = tr._best
        keeper.history = list(ckpt.val_history)
        keeper.best_state, keeper.best_val = ckpt.best_state, ckpt.best_val
        tr._meter.start -= ckpt.elapsed_s  # a time budget counts the time already trained
        return ckpt.step, describe_resume(ckpt, self.policy.path, tr.config.steps)  # type: ignore[union-attr]

    def tick(self, step: int) -> str | None:
        """After a step whose state is settled: save when one is due. Returns a line when saving
        failed (training goes on; said once)."""
        pol = self.policy
        if pol is None or pol.every_s is None or time.monotonic() - self.last_save < pol.every_s:
            return None
        return self.save(step)

    def finish(self) -> str | None:
        """At the end of a run (stopped, out of time or complete): save its last state, so that a
        failing model save loses nothing and ``--resume`` can go on (a caller that saved the model
        of a complete run removes it)."""
        if self.policy is None or self.policy.every_s is None:
            return None
        if self.trainer._steps_done <= self.saved_step:
            return None
        return self.save(self.trainer._steps_done)

    def save(self, step: int) -> str | None:
        """Write the checkpoint at ``step`` (rank 0 only); a line when it failed, else None."""
        tr = self.trainer
        self.last_save = time.monotonic()
        if self.parts is None or self.policy is None or not tr.ranks.is_main:
            return None
        runner, gen, sampler, seed = self.parts
        base = tr._base
        extra = {
            "mean": np.asarray(tr.data.mean).tolist(),
            "std": np.asarray(tr.data.std).tolist(),
            "base_steps": int(base.steps_trained) if base is not None else 0,
            "name": tr.name,
        }
        try:
            save_checkpoint(
                self.policy.path,
                model=runner.net,
                optimizer=runner.opt,
                scheduler=runner.sched,
                step=step,
                elapsed_s=tr._meter.elapsed,
                val_history=tr._best.history,
                best_state=tr._best.best_state,
                config_json=tr.config.to_json(),
                extra=extra,
                scaler=runner.scaler,
                seed=seed,
                torch_generators={_MASK: gen},
                numpy_generators={_PATCHES: sampler.rng},
            )
        except (N2VError, OSError) as err:
            first, self.failed = not self.failed, True
            return f"could not save a checkpoint (training goes on): {err}" if first else None
        finally:
            tr._meter.pause_ends()  # saving is not training throughput
        self.saved_step, self.failed = step, False
        return None
