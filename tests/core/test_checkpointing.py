"""The trainer's checkpoints: a run stopped (or killed) and resumed ends where the uninterrupted run
ends; checkpoints are written every few minutes and when the run ends; a failing one is a note."""

from __future__ import annotations

import errno

import numpy as np
import pytest
import torch

from napari_n2v.core.config import TrainConfig
from napari_n2v.core.errors import N2VError
from napari_n2v.core.events import InfoEvent, TrainEvent
from napari_n2v.core.progress import drain
from napari_n2v.core.train import checkpointing
from napari_n2v.core.train.checkpoint import load_checkpoint
from napari_n2v.core.train.checkpointing import Checkpointing, is_checkpoint, resumed_model
from napari_n2v.core.train.trainer import Trainer

from ..conftest import blobs

CFG = TrainConfig(
    axes="YX",
    patch_size=(16, 16),
    n_filters=8,
    depth=2,
    batch_size=2,
    steps=8,
    steps_per_epoch=2,
    val_patches=4,
    precision="fp32",
    device="cpu",
    seed=3,
)
NEVER = 1e9  # no periodic checkpoint within a test: only the one at the end of a run


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(0)
    return (blobs((48, 48)) * 100 + rng.normal(0, 5, (48, 48))).astype("f4")


def _run(trainer, stop_at=None, events=None):
    def on(ev):
        if events is not None:
            events.append(ev)
        if stop_at is not None and isinstance(ev, TrainEvent) and ev.step == stop_at:
            trainer.stop()

    return drain(trainer.run(), on)


def _same(a, b):
    sa, sb = a.network.state_dict(), b.network.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("lag", [0, 2])
def test_stopped_and_resumed_run_ends_where_the_uninterrupted_one_does(image, tmp_path, lag):
    """``lag`` 2: losses read two steps late, as on a GPU (the stop then lands two steps later)."""
    whole = _run(Trainer(image, CFG))
    path = tmp_path / "m.ckpt.safetensors"
    first = Trainer(image, CFG, checkpoint=Checkpointing(path, NEVER))
    first.lag = lag
    _run(first, stop_at=4 if lag == 0 else 5)  # lag 2: step 6 already queued, then stopped
    ckpt = load_checkpoint(path)
    reached = 4 if lag == 0 else 6
    assert ckpt.step == reached and ckpt.seed == 3 and len(ckpt.val_history) == reached // 2
    events: list = []
    second = Trainer(image, CFG.replace(seed=99), checkpoint=Checkpointing(path, NEVER, ckpt))
    second.lag = lag
    resumed = _run(second, events=events)
    steps = [ev.step for ev in events if isinstance(ev, TrainEvent)]
    assert steps == list(range(reached + 1, 9))
    said = [ev.message for ev in events if isinstance(ev, InfoEvent)]
    assert any(s.startswith(f"resuming from {path}: step {reached} of 8,") for s in said)
    assert _same(resumed, whole) and resumed.steps_trained == whole.steps_trained == 8
    assert resumed.history == whole.history
    assert load_checkpoint(path).step == 8  # the end of the run is saved too
    beside = Checkpointing.beside(tmp_path / "m.n2v.safetensors", resume=True)
    assert beside.path == path and beside.resume is not None and beside.resume.step == 8
    with pytest.raises(N2VError, match="no checkpoint at"):
        Checkpointing.beside(tmp_path / "other.n2v.safetensors", resume=True)


def test_without_the_optimiser_state_the_run_differs(image, tmp_path):
    """The control: the same weights and step, fresh Adam moments, do not give the same model."""
    whole = _run(Trainer(image, CFG))
    path = tmp_path / "m.ckpt.safetensors"
    _run(Trainer(image, CFG, checkpoint=Checkpointing(path, NEVER)), stop_at=4)
    ckpt = load_checkpoint(path)
    ckpt.optimizer_state = {"state": {}, "param_groups": ckpt.optimizer_state["param_groups"]}
    resumed = _run(Trainer(image, CFG, checkpoint=Checkpointing(path, NEVER, ckpt)))
    assert not _same(resumed, whole)


def test_checkpoints_every_interval_and_a_failing_one_is_a_note(image, tmp_path, monkeypatch):
    path = tmp_path / "m.ckpt.safetensors"
    saved: list[int] = []
    real = checkpointing.save_checkpoint

    def count(p, **kw):
        saved.append(kw["step"])
        return real(p, **kw)

    monkeypatch.setattr(checkpointing, "save_checkpoint", count)
    _run(Trainer(image, CFG.replace(steps=5), checkpoint=Checkpointing(path, 0.0)))
    assert saved == [1, 2, 3, 4, 5] and is_checkpoint(path)
    assert not is_checkpoint(tmp_path / "missing") and not is_checkpoint(tmp_path)

    def full(p, **kw):
        raise N2VError(f"no space left on device writing {p}: free space or choose another folder")

    monkeypatch.setattr(checkpointing, "save_checkpoint", full)
    events: list = []
    model = _run(Trainer(image, CFG, checkpoint=Checkpointing(path, 0.0)), events=events)
    notes = [e.message for e in events if isinstance(e, InfoEvent) and "could not" in e.message]
    assert notes == [
        f"could not save a checkpoint (training goes on): no space left on device writing {path}: "
        "free space or choose another folder"
    ]
    assert model.steps_trained == 8  # the run went on to its end


def test_off_writes_nothing_and_a_os_error_is_a_note_too(image, tmp_path, monkeypatch):
    path = tmp_path / "m.ckpt.safetensors"
    _run(Trainer(image, CFG.replace(steps=2), checkpoint=Checkpointing(path, None)))
    assert not path.exists()

    def broken(p, **kw):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(checkpointing, "save_checkpoint", broken)
    events: list = []
    _run(Trainer(image, CFG.replace(steps=2), checkpoint=Checkpointing(path, 0.0)), events=events)
    assert sum("could not save a checkpoint" in getattr(e, "message", "") for e in events) == 1


def test_resuming_a_continued_model_keeps_its_normalisation_and_steps(image, tmp_path):
    base = _run(Trainer(image, CFG.replace(steps=2)))
    path = tmp_path / "m.ckpt.safetensors"
    trainer = Trainer(image * 3, CFG, model=base, checkpoint=Checkpointing(path, NEVER))
    _run(trainer, stop_at=2)
    ckpt = load_checkpoint(path)
    again = resumed_model(ckpt)
    np.testing.assert_array_equal(again.mean, base.mean)
    assert again.steps_trained == 2 and again.config.n_filters == 8
    done = _run(Trainer(image * 3, CFG, checkpoint=Checkpointing(path, NEVER, ckpt)))
    assert done.steps_trained == 2 + 8
    np.testing.assert_array_equal(done.std, base.std)
    ckpt.extra.pop("mean")
    with pytest.raises(N2VError, match="lacks the run's settings or normalisation"):
        resumed_model(ckpt)
