"""bf16 for 3D on the CPU: the auto policy, the non-finite step guard and 3D channels-last prediction."""

import copy
from typing import ClassVar

import numpy as np
import pytest
import torch

from napari_n2v.core import device as device_mod
from napari_n2v.core.config import PredictConfig, TrainConfig
from napari_n2v.core.device import (
    autocast_dtype,
    bf16_conv3d_faulty,
    memory_format,
)
from napari_n2v.core.errors import N2VError
from napari_n2v.core.model.unet import build_unet
from napari_n2v.core.plan.machine import cpu_isa, describe_device
from napari_n2v.core.predict import prediction as prediction_mod
from napari_n2v.core.predict.prediction import predict
from napari_n2v.core.progress import drain
from napari_n2v.core.train import trainer as training_mod
from napari_n2v.core.train.step import MAX_SKIPPED_STEPS, StepRunner
from napari_n2v.core.train.trainer import InfoEvent, Trainer, TrainEvent

from ..conftest import blobs
from .test_prediction import _model

CPU = torch.device("cpu")
TINY_3D = dict(
    axes="ZYX",
    patch_size=(12, 16, 16),  # bottom level 3 planes: bf16 is safe (see bf16_conv3d_faulty)
    batch_size=2,
    n_filters=4,
    val_patches=2,
    steps=6,
    steps_per_epoch=3,
    device="cpu",
    seed=0,
)


@pytest.mark.parametrize(("has_bf16", "expected"), [(True, torch.bfloat16), (False, None)])
def test_auto_precision_on_the_cpu_is_bf16_for_3d_and_2d(monkeypatch, has_bf16, expected):
    monkeypatch.setattr(device_mod, "cpu_has_bf16", lambda: has_bf16)  # replaces the cached one
    assert autocast_dtype(CPU, "auto", 3) is expected
    assert autocast_dtype(CPU, "auto", 2) is expected
    assert autocast_dtype(CPU, "fp32", 3) is None
    want = f"CPU {cpu_isa()}, " + ("bf16" if has_bf16 else "fp32")
    assert describe_device("cpu", "auto", 3) == want


def test_memory_format_per_device_and_dimensionality():
    assert memory_format(CPU, 2) == torch.channels_last
    assert memory_format(CPU, 3) == torch.channels_last_3d
    assert memory_format(torch.device("cuda"), 3) == torch.contiguous_format
    assert memory_format(torch.device("mps"), 2) == torch.contiguous_format


class FaultyRunner(StepRunner):
    """A StepRunner that puts NaN into one gradient (or the loss) on chosen bf16 steps and records the
    full state (weights, batch-norm statistics) around every step."""

    nan_grad_steps: ClassVar[frozenset[int] | None] = frozenset()  # None: every bf16 step
    nan_loss_steps: ClassVar[frozenset[int]] = frozenset()
    instances: ClassVar[list["FaultyRunner"]] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.log: list[tuple[int, dict, dict]] = []
        next(self.net.parameters()).register_hook(self._nan_grad)
        self.net.register_forward_hook(self._nan_out)
        FaultyRunner.instances.append(self)

    def _hit(self, steps):
        return (steps is None and self.dtype is not None) or (steps and self.steps in steps)

    def _nan_grad(self, grad):
        if self._hit(self.nan_grad_steps):
            grad = grad.clone()
            grad.view(-1)[0] = float("nan")
        return grad

    def _nan_out(self, module, inputs, out):
        # only the training forward (grad on): not validation nor the guard's no-grad re-evaluation
        if module.training and torch.is_grad_enabled() and self._hit(self.nan_loss_steps):
            return out * float("nan")
        return out

    def step(self, sampler, gen):
        before = copy.deepcopy(self.net.state_dict())
        loss = super().step(sampler, gen)
        self.log.append((self.steps, before, copy.deepcopy(self.net.state_dict())))
        return loss


def _run(monkeypatch, precision, nan_grad_steps=frozenset(), nan_loss_steps=frozenset()):
    monkeypatch.setattr(FaultyRunner, "nan_grad_steps", nan_grad_steps)
    monkeypatch.setattr(FaultyRunner, "nan_loss_steps", nan_loss_steps)
    monkeypatch.setattr(FaultyRunner, "instances", [])
    monkeypatch.setattr(training_mod, "StepRunner", FaultyRunner)
    rng = np.random.default_rng(0)
    img = (blobs((16, 32, 32), seed=3) * 100 + rng.normal(0, 5, (16, 32, 32))).astype(np.float32)
    trainer = Trainer(img, TrainConfig(precision=precision, **TINY_3D))
    events: list = []
    try:
        model = drain(trainer.run(), events.append)
    except N2VError as err:
        model = err
    return model, events, FaultyRunner.instances[0]


def _unchanged(before, after):
    return all(torch.equal(before[k], after[k]) for k in before)


def _infos(events):
    return [e.message for e in events if isinstance(e, InfoEvent)]


def test_a_non_finite_bf16_gradient_skips_that_step_only(monkeypatch):
    model, events, runner = _run(monkeypatch, "bf16", nan_grad_steps={2})
    assert not isinstance(model, N2VError)
    assert runner.skipped == 1 and runner.dtype == torch.bfloat16
    assert [_unchanged(b, a) for _, b, a in runner.log] == [False, True, False, False, False, False]
    assert "step 2: non-finite bf16 gradients, step skipped" in _infos(events)
    assert not any("fp32" in m for m in _infos(events))
    steps = [e for e in events if isinstance(e, TrainEvent)]
    assert [e.step for e in steps] == [1, 2, 3, 4, 5, 6]
    assert all(np.isfinite(e.train_loss) for e in steps)


def test_a_non_finite_bf16_loss_is_skipped_and_reported_in_fp32(monkeypatch):
    model, events, runner = _run(monkeypatch, "bf16", nan_loss_steps={2})
    assert not isinstance(model, N2VError)
    assert runner.skipped == 1
    assert [_unchanged(b, a) for _, b, a in runner.log][1]  # BN statistics restored too
    assert "step 2: non-finite bf16 loss, step skipped" in _infos(events)
    losses = [e.train_loss for e in events if isinstance(e, TrainEvent)]
    assert len(losses) == 6 and all(np.isfinite(losses))


def test_repeated_bf16_faults_switch_the_run_to_fp32(monkeypatch):
    model, events, runner = _run(monkeypatch, "bf16", nan_grad_steps=None)
    assert not isinstance(model, N2VError)
    assert runner.skipped == MAX_SKIPPED_STEPS and runner.dtype is None
    assert [_unchanged(b, a) for _, b, a in runner.log] == [True] * 3 + [False] * 3
    infos = _infos(events)
    for step in (1, 2, 3):
        assert f"step {step}: non-finite bf16 gradients, step skipped" in infos
    assert f"{MAX_SKIPPED_STEPS} steps with non-finite bf16 values: continuing in fp32" in infos
    last = [e for e in events if isinstance(e, TrainEvent)][-1]
    assert last.step == 6 and np.isfinite(last.train_loss) and np.isfinite(last.val_loss)


@pytest.mark.parametrize("fault", ["grad", "loss"])
def test_fp32_keeps_the_divergence_error(monkeypatch, fault):
    grad, loss = ({2}, ()) if fault == "grad" else ((), {2})
    err, _, runner = _run(monkeypatch, "fp32", nan_grad_steps=grad, nan_loss_steps=loss)
    assert isinstance(err, N2VError) and "training diverged" in str(err)
    # a NaN gradient is applied, so step 3's loss is the first NaN; a NaN loss is caught at once
    assert f"at step {3 if fault == 'grad' else 2}" in str(err)
    assert runner.skipped == 0 and not runner.guard


@pytest.mark.filterwarnings("ignore:tiles of")  # small tiles on purpose: they test stitching
def test_3d_prediction_runs_channels_last_3d_in_bf16_and_tiles_agree(monkeypatch, rng):
    formats = []

    def spy(net, device, fmt, **kw):
        formats.append(fmt)
        return inference_network(net, device, fmt, **kw)

    inference_network = prediction_mod.inference_network
    monkeypatch.setattr(prediction_mod, "inference_network", spy)
    model = _model("ZYX")
    img = rng.normal(10, 3, (13, 45, 39)).astype(np.float32)
    bf16 = PredictConfig(precision="bf16", device="cpu")
    whole = predict(model, img, "ZYX", bf16.replace(tile_shape=(24, 56, 48)))
    tiled = predict(model, img, "ZYX", bf16.replace(tile_shape=(12, 32, 32)))
    fp32 = predict(model, img, "ZYX", bf16.replace(precision="fp32", tile_shape=(24, 56, 48)))
    assert formats == [torch.channels_last_3d] * 6  # per call: the network and its border copy
    # bf16 keeps ~3 significant digits: here |bf16 - fp32| <= 0.005 on an output of std 0.05
    np.testing.assert_allclose(tiled, whole, atol=0.02, rtol=0)
    np.testing.assert_allclose(whole, fp32, atol=0.02, rtol=0)
    assert not np.array_equal(whole, fp32)  # bf16 really ran
    tiled32 = predict(model, img, "ZYX", bf16.replace(precision="fp32", tile_shape=(12, 32, 32)))
    np.testing.assert_allclose(tiled32, fp32, atol=1e-4, rtol=0)


@pytest.mark.parametrize(
    ("patch", "depth", "faulty"),
    [
        ((8, 64, 64), 2, True),  # bottom level: 2 planes
        ((16, 64, 64), 2, False),
        ((12, 16, 16), 2, False),
        ((16, 64, 64), 3, True),
        ((4, 32, 32), 1, True),
        ((64, 64), 2, False),
    ],
)
def test_which_3d_patches_hit_the_bf16_conv3d_fault(patch, depth, faulty):
    assert bf16_conv3d_faulty(patch, depth) is faulty


def test_a_patch_that_would_hit_the_fault_trains_in_fp32_and_says_why():
    rng = np.random.default_rng(0)
    img = (blobs((16, 32, 32), seed=3) * 100 + rng.normal(0, 5, (16, 32, 32))).astype(np.float32)
    cfg = TrainConfig(precision="bf16", **{**TINY_3D, "patch_size": (8, 16, 16)})
    events: list = []
    drain(Trainer(img, cfg).run(), events.append)
    assert any("trains in fp32" in m and "(8, 16, 16)" in m for m in _infos(events))
    assert not any("skipped" in m for m in _infos(events))


def _repeated_grads(patch, repeats):
    torch.manual_seed(0)
    cfg = TrainConfig(axes="ZYX", n_filters=4, patch_size=patch)
    net = build_unet(cfg, 1).train().to(memory_format=torch.channels_last_3d)
    x = torch.randn(2, 1, *patch).contiguous(memory_format=torch.channels_last_3d)
    runs = []
    for _ in range(repeats):
        net.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = net(x)
        (y.float() ** 2).mean().backward()
        runs.append(torch.cat([p.grad.flatten() for p in net.parameters()]).clone())
    return runs


@pytest.mark.parametrize("patch", [(12, 16, 16), (16, 16, 16)])
def test_bf16_3d_gradients_of_allowed_patches_are_finite_and_repeatable(patch):
    """The kernel fault gave a different (often absurd) gradient on most calls with a 2-plane level;
    30 identical backward passes of every patch shape we train in bf16 must agree."""
    if bf16_conv3d_faulty(patch, 2):
        pytest.skip("trained in fp32")
    runs = _repeated_grads(patch, 30)
    scale = float(runs[0].abs().max())
    assert all(torch.isfinite(r).all() for r in runs)
    assert max(float((r - runs[0]).abs().max()) for r in runs) <= 1e-3 * scale


def test_the_start_line_names_the_precision_the_run_trains_in():
    rng = np.random.default_rng(0)
    img = (blobs((16, 32, 32), seed=3) * 100 + rng.normal(0, 5, (16, 32, 32))).astype(np.float32)
    faulty = {**TINY_3D, "patch_size": (8, 16, 16), "steps": 1}  # depth 2: a 2-plane level
    events: list = []
    drain(Trainer(img, TrainConfig(precision="bf16", **faulty)).run(), events.append)
    infos = _infos(events)
    start = next(i for i, m in enumerate(infos) if m.startswith("training on "))
    assert infos[start].startswith(f"training on CPU {cpu_isa()}, fp32, ")  # not bf16
    assert any("trains in fp32" in m for m in infos[start + 1 :])  # and the notice says why
    events.clear()
    drain(Trainer(img, TrainConfig(precision="bf16", **TINY_3D)).run(), events.append)
    assert any(m.startswith(f"training on CPU {cpu_isa()}, bf16, ") for m in _infos(events))
