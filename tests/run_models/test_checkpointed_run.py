"""The Train widget's run model given an output: the run is checkpointed, so a crash of napari loses
at most the minutes since the last checkpoint, and the run can be resumed from it."""

from __future__ import annotations

import numpy as np

from napari_n2v.core.config import TrainConfig
from napari_n2v.core.train.checkpoint import load_checkpoint
from napari_n2v.core.train.checkpointing import Checkpointing
from napari_n2v.run_models.registry import ModelRegistry
from napari_n2v.run_models.train_run import TrainRun

CFG = TrainConfig(axes="YX", steps=4, batch_size=2, patch_size=(16, 16), val_patches=2,
                  steps_per_epoch=2, n_filters=8, seed=0, device="cpu")  # fmt: skip


def test_a_run_given_an_output_checkpoints_and_resumes(tmp_path):
    image = (np.random.default_rng(0).random((32, 32)) * 100).astype(np.float32)
    path = tmp_path / "run.ckpt.safetensors"
    run = TrainRun(registry=ModelRegistry())
    saved: list[int] = []
    run.step.connect(lambda ev: saved.append(load_checkpoint(path).step) if path.exists() else None)
    assert run.start(image, CFG, checkpoint=Checkpointing(path, every_s=0.0))
    assert saved == [1, 2, 3]  # every step here (every few minutes by default), before the next
    assert run.model is not None and load_checkpoint(path).step == 4
    again = TrainRun(registry=ModelRegistry())
    ckpt = load_checkpoint(path)
    assert again.start(image, CFG.replace(steps=6), checkpoint=Checkpointing(path, None, ckpt))
    assert again.model is not None and again.model.steps_trained == 6
