"""N2V against the calibrated baselines without a clean image: the verdict follows the true error."""

import numpy as np
import pytest
import torch

from napari_n2v.core.baseline.versus import CROP_2D, central_crop, compare_with_baselines
from napari_n2v.core.config import PredictConfig, TrainConfig
from napari_n2v.core.model.n2v_model import N2VModel
from napari_n2v.core.predict.prediction import predict

from ..conftest import blobs
from .test_score import shapes

FP32 = PredictConfig(device="cpu", precision="fp32")


class Fixed(torch.nn.Module):
    """A fixed 2D convolution (in normalised units): what a trained network would compute."""

    def __init__(self, kernel: np.ndarray) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 1, kernel.shape[0], padding=kernel.shape[0] // 2, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.from_numpy(kernel[None, None].astype(np.float32)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def _model(kernel: np.ndarray) -> N2VModel:
    cfg = TrainConfig(axes="YX", n_filters=8)
    return N2VModel(cfg, Fixed(kernel).eval(), np.zeros(1, np.float32), np.ones(1, np.float32))


def _noisy(sigma=0.25, seed=0):
    clean = blobs((192, 192), n=20, seed=seed) * 2
    return clean, clean + np.random.default_rng(seed).normal(0, sigma, clean.shape).astype(
        np.float32
    )


def test_a_model_worse_than_a_blur_is_told_so():
    _, noisy = _noisy()
    zero = np.zeros((5, 5))  # predicts the mean everywhere: far worse than any blur
    cmp = compare_with_baselines(_model(zero), noisy, "YX", config=FP32)
    assert cmp.n2v_better is False and cmp.gap_db < -1
    assert "use it, or train longer" in cmp.sentence


def test_a_model_better_than_the_blur_is_told_so(monkeypatch):
    from napari_n2v.core.baseline import versus

    clean, noisy = _noisy(sigma=0.6)
    # an oracle that returns the clean image: J-invariant (it ignores its input) and better than any
    # filter; the masked score must see it
    monkeypatch.setattr(versus, "predict", lambda model, x, axes, config: clean)
    cmp = compare_with_baselines(_model(np.zeros((5, 5))), noisy, "YX", config=FP32)
    base_mse = np.mean((cmp.baselines.best.image - clean) ** 2)
    assert base_mse > 1e-4  # the premise: the best filter is not perfect
    assert cmp.n2v_better is True and cmp.gap_db >= 0
    assert cmp.sentence.startswith("N2V is better")


def test_big_images_are_judged_on_a_central_crop():
    img = np.zeros((3, 2000, 900), np.float32)
    crop = central_crop(img, "TYX", is_3d=False)
    assert crop.shape == (1, CROP_2D[0], 512)


@pytest.mark.parametrize("width", [0.7, 1.5])
def test_the_gap_in_db_follows_the_true_one(width):
    # A J-invariant "network" (a blind smoothing kernel) against the tuned, blended blur: the
    # sentence's dB figure must be the true PSNR difference, not the masked plain filter's (which sees
    # a hidden pixel's replacement there and looked 1.5-3.5 dB worse than it is on Set12).
    clean = shapes(256).astype(np.float32)
    noisy = (clean + np.random.default_rng(0).normal(0, 25, clean.shape)).astype(np.float32)
    yy, xx = np.mgrid[-3:4, -3:4]
    kernel = np.exp(-(yy**2 + xx**2) / (2 * width**2))
    kernel[3, 3] = 0
    model = _model(kernel / kernel.sum())
    cmp = compare_with_baselines(model, noisy, "YX", config=FP32)
    ours = np.asarray(predict(model, noisy, "YX", FP32))
    true_gap = 10 * np.log10(
        np.mean((cmp.baselines.best.image - clean) ** 2) / np.mean((ours - clean) ** 2)
    )
    assert abs(cmp.gap_db - true_gap) < 0.5
