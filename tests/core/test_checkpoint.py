"""Training checkpoints: a resumed run takes the very step the uninterrupted run takes next."""

from __future__ import annotations

import copy
import json
import math
import pickle

import numpy as np
import pytest
import torch

from napari_n2v.core.config import TrainConfig
from napari_n2v.core.errors import N2VError
from napari_n2v.core.model.unet import build_unet
from napari_n2v.core.plan.train_plan import plan_training
from napari_n2v.core.train.checkpoint import (
    checkpoint_path,
    load_checkpoint,
    restore,
    save_checkpoint,
)
from napari_n2v.core.train.parts import BestKeeper, make_sampler
from napari_n2v.core.train.step import StepRunner, plateau_scheduler

from ..conftest import blobs

CFG = TrainConfig(
    axes="YX",
    patch_size=(16, 16),
    n_filters=8,
    batch_size=2,
    steps_per_epoch=2,
    learning_rate=1e-3,
    precision="fp32",
    device="cpu",
    seed=0,
)
HISTORY = [{"step": 2, "train_loss": 0.5, "val_loss": 0.4}, {"step": 3, "train_loss": math.nan, "val_loss": 0.3}]  # fmt: skip


def _net(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_unet(CFG, 1)


def _step(net, opt, gen) -> float:
    x = torch.randn(2, 1, 16, 16, generator=gen)
    loss = ((net(x) - x) ** 2).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(loss.detach())


def _weights(net) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


@pytest.fixture
def run(tmp_path):
    """A tiny U-Net after 3 Adam steps with a plateau schedule, its checkpoint, and the 4th step
    taken by the uninterrupted run."""
    net = _net(0)
    opt = torch.optim.Adam(net.parameters(), lr=CFG.learning_rate)
    sched = plateau_scheduler(opt, CFG.learning_rate, CFG.steps_per_epoch)
    gen = torch.Generator().manual_seed(1)
    rng = np.random.default_rng(2)
    for _ in range(3):
        _step(net, opt, gen)
        sched.step(0.5)
    best = _weights(net)
    path = save_checkpoint(
        tmp_path / "m.ckpt.safetensors",
        model=net,
        optimizer=opt,
        scheduler=sched,
        step=3,
        elapsed_s=12.5,
        val_history=HISTORY,
        best_state=best,
        config_json=CFG.to_json(),
        extra={"note": "x"},
        seed=0,
        torch_generators={"mask": gen},
        numpy_generators={"patches": rng},
    )
    loss = _step(net, opt, gen)
    return path, _weights(net), loss, rng.random(3), best


def test_resume_takes_the_same_next_step(run):
    path, after, loss, draws, best = run
    net = _net(7)  # other initial weights: all of them must come from the checkpoint
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    sched = plateau_scheduler(opt, 0.1, 1)
    gen, rng = torch.Generator().manual_seed(99), np.random.default_rng(99)
    ckpt = load_checkpoint(path)
    restore(
        ckpt, net, opt, sched, torch_generators={"mask": gen}, numpy_generators={"patches": rng}
    )
    assert _step(net, opt, gen) == loss
    for k, v in _weights(net).items():
        assert torch.equal(v, after[k]), k
    np.testing.assert_array_equal(rng.random(3), draws)
    assert ckpt.step == 3 and ckpt.elapsed_s == 12.5 and ckpt.seed == 0
    assert ckpt.extra == {"note": "x"} and ckpt.best_val == 0.3
    assert json.dumps(ckpt.val_history) == json.dumps(HISTORY)  # NaN kept
    assert TrainConfig.from_dict(json.loads(ckpt.config_json)) == CFG
    assert ckpt.best_state is not None and all(
        torch.equal(ckpt.best_state[k], best[k]) for k in best
    )
    assert sched.state_dict()["num_bad_epochs"] == 2 and sched.patience == 2000


def test_weights_alone_do_not_resume_the_same_run(run):
    """The control: without the optimiser state (Adam's moments) the next step differs."""
    path, after, _, _, _ = run
    net = _net(7)
    net.load_state_dict(load_checkpoint(path).model_state)
    gen = torch.Generator().manual_seed(1)
    for _ in range(3):
        torch.randn(2, 1, 16, 16, generator=gen)
    _step(net, torch.optim.Adam(net.parameters(), lr=CFG.learning_rate), gen)
    assert not all(torch.equal(v, after[k]) for k, v in _weights(net).items())


def test_resume_of_the_trainers_step_runner(tmp_path):
    """The Trainer's own state (StepRunner's Adam and schedule, masking generator, patch sampler)."""
    img = (blobs((48, 48)) * 100 + np.random.default_rng(0).normal(0, 5, (48, 48))).astype("f4")
    plan = plan_training(img, CFG)
    data, dev = plan.data, plan.machine.device

    def runner_and_rngs(seed):
        runner = StepRunner.for_plan(_net(seed), plan)
        sampler = make_sampler(data, CFG, dev, np.random.default_rng(seed))
        return runner, sampler, torch.Generator().manual_seed(seed)

    runner, sampler, gen = runner_and_rngs(0)
    keeper = BestKeeper()
    for step in range(1, 4):
        loss = float(runner.step(sampler, gen))
        if step % 2 == 0:
            keeper.record(runner.net, step, loss, 1.0 / step)
            runner.sched.step(1.0 / step)
    path = save_checkpoint(
        tmp_path / "run.ckpt.safetensors",
        model=runner.net,
        optimizer=runner.opt,
        scheduler=runner.sched,
        step=runner.steps,
        elapsed_s=1.0,
        val_history=keeper.history,
        best_state=keeper.best_state,
        config_json=CFG.to_json(),
        torch_generators={"mask": gen},
        numpy_generators={"patches": sampler.rng},
    )
    expected = float(runner.step(sampler, gen))
    resumed, sampler2, gen2 = runner_and_rngs(5)
    ckpt = load_checkpoint(path)
    restore(
        ckpt,
        resumed.net,
        resumed.opt,
        resumed.sched,
        torch_generators={"mask": gen2},
        numpy_generators={"patches": sampler2.rng},
    )
    assert float(resumed.step(sampler2, gen2)) == expected
    for k, v in resumed.net.state_dict().items():
        assert torch.equal(v, runner.net.state_dict()[k]), k
    assert ckpt.step == 3 and ckpt.best_val == 0.5


def _flip(path, offset_from_end: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[-offset_from_end] ^= 0x01
    path.write_bytes(bytes(raw))


def test_tampered_or_damaged_checkpoints_are_refused(run, tmp_path):
    path = run[0]
    good = path.read_bytes()
    _flip(path, 100)  # one bit of a tensor
    with pytest.raises(N2VError, match="changed or damaged after it was written"):
        load_checkpoint(path)
    text = good.replace(b'\\"step\\": 3', b'\\"step\\": 9')  # an edited step count
    assert text != good
    path.write_bytes(text)
    with pytest.raises(N2VError, match="checksum does not match"):
        load_checkpoint(path)
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(N2VError, match="not a readable checkpoint") as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)
    path.write_bytes(pickle.dumps({"step": 3}))
    with pytest.raises(N2VError, match="is a Python pickle"):
        load_checkpoint(path)
    with pytest.raises(N2VError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.ckpt.safetensors")


def test_model_file_is_not_a_checkpoint(tmp_path):
    from napari_n2v.core.model.model_file import encode_meta, write_model_file

    path = tmp_path / "m.n2v.safetensors"
    meta = encode_meta(CFG.to_json(), np.zeros(1), np.ones(1), [], "m", 3)
    write_model_file(path, _net(0).state_dict(), meta)
    with pytest.raises(N2VError, match="is a model file, not a checkpoint"):
        load_checkpoint(path)


def test_checkpoint_of_another_network_is_refused(run):
    ckpt = load_checkpoint(run[0])
    wider = build_unet(CFG.replace(n_filters=16), 1)
    with pytest.raises(N2VError, match="does not fit this run") as info:
        restore(ckpt, wider, torch.optim.Adam(wider.parameters()))
    assert "\n" not in str(info.value)
    deeper = build_unet(CFG.replace(depth=3), 1)
    with pytest.raises(N2VError, match="another network"):
        restore(ckpt, deeper, torch.optim.Adam(deeper.parameters()))


def test_inconsistent_optimiser_state_is_refused(run, tmp_path):
    """A checkpoint whose Adam moments do not match its weights' shapes (checksum made valid)."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    from napari_n2v.core.train.checkpoint import _digest

    with safe_open(str(run[0]), framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    tensors["optim/0/exp_avg"] = torch.zeros(3)
    meta["digest"] = _digest(tensors, meta)
    bad = tmp_path / "bad.ckpt.safetensors"
    save_file(tensors, str(bad), metadata=meta)
    with pytest.raises(N2VError, match=r"exp_avg of .* has the wrong shape"):
        load_checkpoint(bad)


def test_save_is_atomic_and_keeps_the_previous_checkpoint(run, monkeypatch):
    path = run[0]
    good = path.read_bytes()
    net = _net(3)

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("safetensors.torch.save_file", fail)
    opt = torch.optim.Adam(net.parameters())
    with pytest.raises(N2VError, match="no space left"):
        save_checkpoint(
            path,
            model=net,
            optimizer=opt,
            scheduler=None,
            step=9,
            elapsed_s=0,
            val_history=[],
            best_state=None,
            config_json="{}",
        )
    assert path.read_bytes() == good
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_checkpoint_without_best_and_its_path():
    assert checkpoint_path("a/m.n2v.safetensors").as_posix() == "a/m.ckpt.safetensors"
    assert checkpoint_path("m.safetensors").name == "m.ckpt.safetensors"
    assert checkpoint_path("model").name == "model.ckpt.safetensors"


def test_round_trip_without_best_state(tmp_path):
    net = _net(0)
    opt = torch.optim.Adam(net.parameters())
    path = save_checkpoint(
        tmp_path / "c.ckpt.safetensors",
        model=net,
        optimizer=opt,
        scheduler=None,
        step=0,
        elapsed_s=0.0,
        val_history=[],
        best_state=None,
        config_json=CFG.to_json(),
    )
    ckpt = load_checkpoint(path)
    assert ckpt.best_state is None and ckpt.best_val is None and ckpt.optimizer_state["state"] == {}
    other = copy.deepcopy(net)
    restore(ckpt, other, torch.optim.Adam(other.parameters()))
