"""Prediction at the image border (issue 22): a constant image gives a constant output, border included."""

import numpy as np
import pytest
import torch

from napari_n2v.core.config import PredictConfig, TrainConfig
from napari_n2v.core.model.n2v_model import N2VModel
from napari_n2v.core.model.unet import build_unet
from napari_n2v.core.predict.prediction import border_padding
from napari_n2v.core.train.trainer import train
from napari_n2v.core.zoo.rdf import network_kwargs

from ..conftest import blobs

FP32 = PredictConfig(device="cpu", precision="fp32")


def _untrained(axes: str, n2v2: bool, **extra) -> N2VModel:
    """A network whose batch norms are far from identity, as early in training: the zero padding of
    its convolutions shows at the border."""
    cfg = TrainConfig(axes=axes, n2v2=n2v2, n_filters=8, extra=extra)
    torch.manual_seed(0)
    net = build_unet(cfg, 1)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d | torch.nn.BatchNorm3d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return N2VModel(cfg, net.eval(), np.array([10.0], np.float32), np.array([3.0], np.float32))


def _spread(out: np.ndarray) -> float:
    """How far the output strays from its value in the middle (0 for a constant output)."""
    centre = out[tuple(n // 2 for n in out.shape)]
    return float(np.abs(out - centre).max())


@pytest.mark.filterwarnings("ignore:tiles of")  # small tiles on purpose: border and interior ones
@pytest.mark.parametrize(
    ("axes", "shape", "tile"),
    [("YX", (96, 80), (48, 48)), ("ZYX", (20, 48, 40), (16, 32, 32))],
)
@pytest.mark.parametrize("n2v2", [False, True])
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_constant_image_gives_a_constant_output(axes, shape, tile, n2v2, precision):
    model = _untrained(axes, n2v2)
    const = np.full(shape, 20.0, np.float32)
    for t in (None, tile):  # one tile (all border) and several (border and interior tiles)
        out = model.predict(const, axes, FP32.replace(precision=precision, tile_shape=t))
        assert _spread(out) <= 1e-4 * abs(float(out.mean())), (t, _spread(out))
    zeros = _untrained(axes, n2v2, conv_padding="zeros")  # what prediction did before
    assert _spread(zeros.predict(const, axes, FP32)) > 0.01  # the test can see a border band


def test_a_lightly_trained_model_has_no_border_band():
    rng = np.random.default_rng(0)
    img = (blobs((64, 64)) * 100 + rng.normal(0, 10, (64, 64))).astype(np.float32)
    cfg = TrainConfig(axes="YX", steps=6, batch_size=2, patch_size=(16, 16), n_filters=8, seed=0)
    model = train(img, cfg)
    const = np.full((80, 72), float(img.mean()), np.float32)
    out = model.predict(const, "YX", FP32)
    assert _spread(out) <= 1e-4 * abs(float(out.mean()))


@pytest.mark.filterwarnings("ignore:tiles of")
def test_tiles_away_from_the_border_match_and_careamics_keeps_zero_padding(rng):
    model = _untrained("YX", False)
    img = rng.normal(10, 3, (256, 240)).astype(np.float32)
    whole = model.predict(img, "YX", FP32)
    tiled = model.predict(img, "YX", FP32.replace(tile_shape=(128, 128)))  # interior tiles too
    np.testing.assert_allclose(tiled, whole, atol=1e-4, rtol=0)
    assert border_padding(model) == "replicate"
    assert network_kwargs(model)["padding_mode"] == "replicate"  # the exported network pads alike
    careamics = _untrained("YX", False, conv_padding="zeros")
    assert border_padding(careamics) == "zeros" and "padding_mode" not in network_kwargs(careamics)
