"""Batch and tile sizes from free GPU memory (core/memory_plan.py), with the CUDA queries faked."""

import numpy as np
import pytest
import torch

from napari_n2v.core.config import PredictConfig, TrainConfig
from napari_n2v.core.events import InfoEvent
from napari_n2v.core.model.n2v_model import N2VModel
from napari_n2v.core.model.unet import build_unet
from napari_n2v.core.plan import train_plan as plan_mod
from napari_n2v.core.plan.defaults import defaults_for
from napari_n2v.core.plan.machine import Machine
from napari_n2v.core.predict import memory_plan as mp
from napari_n2v.core.predict.prediction import predict_iter
from napari_n2v.core.predict.tiling import DEFAULT_TILE_2D, DEFAULT_TILE_3D, balanced_tile
from napari_n2v.core.train.trainer import Trainer

GiB = 2**30
CUDA, CPU = torch.device("cuda"), torch.device("cpu")
BF16 = torch.bfloat16


def _model(axes="YX", channels=1):
    cfg = TrainConfig(axes=axes)
    net = build_unet(cfg, channels).eval()
    return N2VModel(cfg, net, np.zeros(channels, np.float32), np.ones(channels, np.float32))


def _batch(dev, cfg, patch, dtype=BF16):
    """The training batch the plan would take on ``dev`` for ``cfg`` (its default filters)."""
    d = defaults_for(Machine(dev, "bf16" if dtype else "fp32"), cfg.is_3d)
    cfg = cfg if cfg.n_filters else cfg.replace(n_filters=d.n_filters)
    return mp.train_batch_size(dev, cfg, 1, patch, d.batch_size, dtype)


@pytest.fixture
def free(monkeypatch):
    """Set the free GPU memory the plan sees (None: the query failed)."""

    def set_free(n):
        monkeypatch.setattr(mp, "free_gpu_memory", lambda device: n)

    return set_free


def _m(model):
    return 2**model.config.depth


# --- the query -------------------------------------------------------------------------------------
def test_free_memory_query_counts_the_allocators_unused_cache(monkeypatch):
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda d=None: (8 * GiB, 16 * GiB))
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda d=None: GiB)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda d=None: GiB // 4)
    assert mp.free_gpu_memory(CUDA) == 8 * GiB + 3 * GiB // 4
    assert mp.free_gpu_memory(CPU) is None


def test_a_failed_query_gives_none_and_the_defaults(monkeypatch):
    def broken(d=None):
        raise RuntimeError("CUDA driver initialization failed")

    monkeypatch.setattr(torch.cuda, "mem_get_info", broken)
    assert mp.free_gpu_memory(CUDA) is None
    assert _batch(CUDA, TrainConfig(axes="YX"), (64, 64)) == 128
    assert _batch(CUDA, TrainConfig(axes="ZYX"), (16, 64, 64)) == 32
    model = _model()
    assert mp.predict_plan(CUDA, model, (4096, 4096), BF16) == (DEFAULT_TILE_2D, 4)


# --- the estimate ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kw",
    [
        dict(axes="YX"),
        dict(axes="ZYX"),
        dict(axes="YX", n2v2=True, depth=3, n_filters=16),
        dict(axes="YX", batch_norm=False, kernel_size=5),
    ],
)
@pytest.mark.parametrize("channels", [1, 3])
def test_param_count_matches_the_built_network(kw, channels):
    cfg = TrainConfig(**kw)
    built = sum(p.numel() for p in build_unet(cfg, channels).parameters())
    assert mp.param_count(cfg, channels) == built


def test_estimate_scales_with_voxels_dtype_and_width():
    cfg = TrainConfig(axes="YX", n_filters=32)  # the documented figure's width
    one = mp.train_bytes(cfg, 1, (64, 64), BF16)
    assert mp.train_bytes(cfg, 1, (128, 128), BF16) == pytest.approx(4 * one, rel=1e-6)
    assert mp.train_bytes(cfg, 1, (64, 64), None) > 1.8 * one  # fp32 activations: twice the bytes
    assert mp.train_bytes(cfg.replace(n_filters=64), 1, (64, 64), BF16) > 1.9 * one
    # the documented figure: 1356 bytes a voxel in bf16 before the margin
    assert one == pytest.approx(mp.MARGIN * 1356 * 64 * 64, rel=1e-6)
    # inference keeps no activations for a backward pass
    assert mp.infer_bytes(cfg, 1, (64, 64), BF16) < one / 3


# --- training batch --------------------------------------------------------------------------------
def test_cpu_and_mps_keep_todays_training_defaults(free):
    free(80 * GiB)  # never asked off CUDA, but even if it were
    for dev, b2, b3 in ((CPU, 16, 4), (torch.device("mps"), 32, 8)):
        assert _batch(dev, TrainConfig(axes="YX"), (64, 64)) == b2
        assert _batch(dev, TrainConfig(axes="ZYX"), (16, 64, 64)) == b3


def test_big_gpu_keeps_the_default_training_batch(free):
    free(80 * GiB)
    assert _batch(CUDA, TrainConfig(axes="YX"), (64, 64)) == 128
    assert _batch(CUDA, TrainConfig(axes="ZYX"), (16, 64, 64)) == 32


def test_small_gpu_lowers_the_training_batch_to_a_power_of_two(free):
    free(2 * GiB)
    cfg = TrainConfig(axes="ZYX", n_filters=32)
    b = _batch(CUDA, cfg, (16, 64, 64))
    assert 1 <= b < 32 and b & (b - 1) == 0
    assert b * mp.train_bytes(cfg, 1, (16, 64, 64), torch.float16) <= 0.7 * 2 * GiB
    free(1024)  # not even one patch fits: 1 (the step's out-of-memory message then speaks)
    assert _batch(CUDA, cfg, (16, 64, 64)) == 1


# --- prediction plan -------------------------------------------------------------------------------
def test_cpu_and_mps_keep_todays_prediction_defaults(free):
    free(80 * GiB)
    for dev in (CPU, torch.device("mps")):
        assert mp.predict_plan(dev, _model(), (4096, 4096), None) == (DEFAULT_TILE_2D, 1)
        assert mp.predict_plan(dev, _model("ZYX"), (128, 1024, 1024), None) == (DEFAULT_TILE_3D, 1)
        assert mp.predict_plan(dev, _model(), (4096, 4096), None, tile=(96, 96)) == ((96, 96), 1)


def test_big_gpu_grows_prediction_tiles_and_batch(free):
    free(80 * GiB)
    tile, batch = mp.predict_plan(CUDA, _model(), (4096, 4096), BF16)
    assert tile == (2048, 2048) and 4 < batch <= mp.MAX_PREDICT_BATCH
    tile3, batch3 = mp.predict_plan(CUDA, _model("ZYX"), (128, 1024, 1024), BF16)
    assert tile3 == (64, 512, 512) and batch3 >= mp.MIN_PREDICT_BATCH


def test_grown_tiles_never_exceed_the_image(free):
    free(80 * GiB)
    model = _model()
    padded = (300, 700)
    tile, batch = mp.predict_plan(CUDA, model, padded, BF16)
    real = balanced_tile(padded, tile, model.halo, _m(model))
    assert real == padded  # one tile, the image itself
    assert batch == mp.MAX_PREDICT_BATCH


def test_small_gpu_keeps_prediction_tiles_at_most_the_default(free):
    free(2 * GiB)
    model = _model("ZYX")
    tile, batch = mp.predict_plan(CUDA, model, (128, 1024, 1024), BF16)
    assert all(t <= d for t, d in zip(tile, DEFAULT_TILE_3D, strict=True)) and batch >= 1
    real = balanced_tile((128, 1024, 1024), tile, model.halo, _m(model))
    assert batch * mp.infer_bytes(model.config, 1, real, BF16) <= 0.6 * 2 * GiB
    free(1024)  # nothing fits: the smallest tile, one at a time
    tile, batch = mp.predict_plan(CUDA, model, (128, 1024, 1024), BF16)
    assert tile == (16, 128, 128) and batch == 1


def test_a_given_tile_is_kept_and_only_the_batch_planned(free):
    free(80 * GiB)
    assert mp.predict_plan(CUDA, _model(), (4096, 4096), BF16, tile=(100, 100)) == ((100, 100), 16)
    free(64 * 2**20)
    tile, batch = mp.predict_plan(CUDA, _model(), (4096, 4096), BF16, tile=(1024, 1024))
    assert tile == (1024, 1024) and batch == 1


# --- wiring: predict_iter and Trainer ----------------------------------------------------------------
def _steps(image, config):
    gen = predict_iter(_model(), image, "YX", config)
    done = []
    try:
        while True:
            done.append(next(gen).done)
    except StopIteration:
        pass
    return np.diff([0, *done]).tolist()


def test_predict_iter_uses_the_plan_unless_the_user_chose(monkeypatch):
    img = np.random.default_rng(0).normal(0, 1, (200, 200)).astype(np.float32)
    cpu = PredictConfig(device="cpu", precision="fp32")
    assert _steps(img, cpu) == [1]  # CPU default: 512x512, one tile, batch 1
    seen = []

    def plan(device, model, padded, dtype, *, tile=None, halo=None):
        seen.append(tile)
        return (tuple(tile) if tile else (160, 160)), 3

    monkeypatch.setattr(mp, "predict_plan", plan)  # what core.plan.predict_plan asks
    assert _steps(img, cpu) == [3, 1]  # the plan's tile (4 tiles of 132x132), 3 per pass
    assert _steps(img, cpu.replace(batch_size=2)) == [2, 2]  # the user's batch
    assert _steps(img, cpu.replace(tile_shape=(256, 256))) == [1]  # the user's tile
    assert seen == [None, None, (256, 256)]


def _start_message(trainer):
    for ev in trainer.run():
        if isinstance(ev, InfoEvent) and ev.message.startswith("training on"):
            return ev.message
    raise AssertionError("no start message")


def test_trainer_uses_the_plan_unless_the_user_chose(monkeypatch):
    img = np.random.default_rng(0).normal(0, 1, (64, 64)).astype(np.float32)
    cfg = TrainConfig(axes="YX", patch_size=(32, 32), n_filters=8, device="cpu", steps=1)
    assert Trainer(img, cfg).batch_size == 16  # CPU default, unchanged
    assert Trainer(img, cfg.replace(batch_size=3)).batch_size == 3
    monkeypatch.setattr(plan_mod, "train_batch_size", lambda dev, cfg, ch, patch, default, dt: 2)
    lowered = Trainer(img, cfg)
    assert lowered.batch_size == 2
    assert "batch 2 (lowered to fit free GPU memory)" in _start_message(lowered)
    given = Trainer(img, cfg.replace(batch_size=3))
    assert given.batch_size == 3
    assert "batch 3, patch" in _start_message(given)
