"""The U-Net's width when the config leaves it open: 32, or 16 for 3D on a CPU; the model records it."""

import numpy as np
import pytest
import torch

from napari_n2v.core.config import TrainConfig
from napari_n2v.core.model.model_io import load_model
from napari_n2v.core.model.unet import build_unet
from napari_n2v.core.plan.defaults import defaults_for, settled_n_filters
from napari_n2v.core.plan.machine import Machine
from napari_n2v.core.progress import drain
from napari_n2v.core.train.trainer import Trainer

from ..conftest import blobs


@pytest.mark.parametrize(
    ("device", "precision", "is_3d", "expected"),
    [
        ("cpu", "bf16", True, 16),
        ("cpu", "fp32", True, 16),
        ("cpu", "bf16", False, 32),
        ("cpu", "fp32", False, 16),  # no native bf16: the fp32 sweep's width
        ("cuda", "bf16", True, 32),
        ("cuda", "fp16", False, 32),
        ("mps", "fp32", True, 32),
    ],
)
def test_default_width_by_machine(device, precision, is_3d, expected):
    assert defaults_for(Machine(torch.device(device), precision), is_3d).n_filters == expected


def test_a_given_width_always_wins():
    assert settled_n_filters(TrainConfig(axes="ZYX", n_filters=24, device="cpu")) == 24
    assert settled_n_filters(TrainConfig(axes="ZYX", device="cpu")) == 16
    net = build_unet(TrainConfig(axes="ZYX", device="cpu"), 1)
    assert net.down[0][0].out_channels == 16


def test_a_3d_cpu_model_records_its_width_and_reloads_it(tmp_path):
    rng = np.random.default_rng(0)
    img = (blobs((16, 32, 32), seed=1) * 100 + rng.normal(0, 5, (16, 32, 32))).astype(np.float32)
    cfg = TrainConfig(axes="ZYX", patch_size=(12, 16, 16), batch_size=2, steps=2, val_patches=2,
                      steps_per_epoch=2, device="cpu", seed=0)  # fmt: skip
    assert cfg.n_filters is None
    model = drain(Trainer(img, cfg).run())
    assert model.config.n_filters == 16
    assert "16 filters" in str(model)
    path = model.save(tmp_path / "m.n2v")
    again = load_model(path)
    assert again.config.n_filters == 16
    assert again.network.down[0][0].out_channels == 16
