"""Resolve once: the plans settle every open default, and the trainer/prediction read them."""

import pytest
import torch

from napari_n2v.core.config import PredictConfig, TrainConfig
from napari_n2v.core.errors import N2VError
from napari_n2v.core.plan.defaults import defaults_for, defaults_for_kind, describe_train_defaults
from napari_n2v.core.plan.machine import Machine, cpu_isa, resolve_machine
from napari_n2v.core.plan.predict_plan import plan_prediction
from napari_n2v.core.plan.train_plan import plan_training
from napari_n2v.core.train.trainer import Trainer

from ..conftest import blobs
from .test_prediction import _model


def test_a_train_plan_settles_every_open_default():
    img = blobs((64, 64))
    plan = plan_training(img, TrainConfig(axes="YX", device="cpu", precision="fp32"))
    d = defaults_for(plan.machine, is_3d=False)
    assert plan.config.n_filters == d.n_filters  # recorded in the model file
    assert plan.batch_size == d.batch_size and not plan.batch_lowered
    assert plan.patch == (64, 64) and plan.n_masked == 41
    assert plan.machine == Machine(torch.device("cpu"), "fp32")
    assert plan.start_line() == (
        f"training on CPU {cpu_isa()}, fp32, {d.n_filters} filters (the fp32 default), "
        f"batch {d.batch_size}, patch (64, 64), "
        f"41 masked pixels per patch, blind spot {plan.blind_spot.spec}"
    )


def test_user_choices_win_over_the_plan():
    cfg = TrainConfig(axes="YX", device="cpu", batch_size=3, n_filters=8, masked_pixels=7)
    plan = plan_training(blobs((64, 64)), cfg)
    assert (plan.batch_size, plan.config.n_filters, plan.n_masked) == (3, 8, 7)


def test_the_plan_routes_the_bf16_conv3d_fault_to_fp32():
    img = blobs((16, 32, 32))
    cfg = TrainConfig(axes="ZYX", device="cpu", precision="bf16", patch_size=(8, 16, 16))
    plan = plan_training(img, cfg)
    assert plan.machine.precision == "fp32" and "trains in fp32" in plan.machine.reason
    ok = plan_training(img, cfg.replace(patch_size=(12, 16, 16)))
    assert ok.machine.precision == "bf16" and ok.machine.reason == ""


def test_the_trainer_reads_its_plan():
    cfg = TrainConfig(axes="YX", device="cpu", precision="fp32", patch_size=(32, 32))
    trainer = Trainer(blobs((64, 64)), cfg)
    assert trainer.batch_size == trainer.plan.batch_size
    assert trainer.config.n_filters == trainer.plan.config.n_filters is not None


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_each_precision_can_be_asked_for_on_any_cpu(precision):
    assert resolve_machine("cpu", precision).precision == precision


def test_a_predict_plan_expands_one_number_and_refuses_a_wrong_count():
    model = _model()
    plan = plan_prediction(model, (300, 200), "YX", PredictConfig(device="cpu", tile_shape=(128,)))
    assert len(plan.tile) == 2 and plan.total == len(plan.tiles) > 1
    with pytest.raises(N2VError, match=r"tile_shape \(Y, X\) \(1, 2, 3\) needs one value or 2"):
        plan_prediction(model, (300, 200), "YX", PredictConfig(tile_shape=(1, 2, 3)))
    with pytest.raises(N2VError, match="channel"):
        plan_prediction(model, (2, 64, 64), "CYX", PredictConfig())


def test_the_cli_help_reads_the_defaults_table():
    text = describe_train_defaults()["batch"]
    cpu2, cpu3 = (defaults_for_kind("cpu", "fp32", d).batch_size for d in (False, True))
    cuda2 = defaults_for_kind("cuda", "fp32", False).batch_size
    assert f"CPU {cpu2} in 2D, {cpu3} in 3D; CUDA {cuda2} in 2D" in text
