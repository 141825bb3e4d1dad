"""The blend with the input: its weight from the validation loss and the noise, its use in prediction,
its place in the model file, and its credit in the comparison with the baselines."""

from __future__ import annotations

import types

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_n2v.core.baseline.score import Score
from napari_n2v.core.baseline.versus import as_blend
from napari_n2v.core.config import PredictConfig
from napari_n2v.core.errors import N2VError
from napari_n2v.core.model.model_io import load_model
from napari_n2v.core.predict.prediction import predict
from napari_n2v.core.train.blend import MAX_WEIGHT, blend_weight


def _data(noise: np.ndarray, scale: float = 1.0) -> types.SimpleNamespace:
    """What blend_weight reads of a TrainData: the canonical data and its normalisation."""
    x = (100 + scale * noise).astype(np.float32)[None, None]
    return types.SimpleNamespace(data=x, mean=np.array([100.0]), std=np.array([scale]))


def test_weight_is_the_error_share_m_over_m_plus_v():
    white = _data(np.random.default_rng(0).normal(0, 1, (256, 256)), scale=7.0)  # v = 1 normalised
    assert blend_weight(1.5, white, (1, 1)) == pytest.approx(0.5 / 1.5, abs=0.03)
    assert blend_weight(1.2, white, (1, 1)) == pytest.approx(0.2 / 1.2, abs=0.03)
    assert blend_weight(0.9, white, (1, 1)) == 0.0  # no error left above the noise: keep the output
    assert blend_weight(50.0, white, (1, 1)) == MAX_WEIGHT  # a guard, not 0.98
    assert blend_weight(None, white, (1, 1)) == 0.0  # never validated
    assert blend_weight(float("nan"), white, (1, 1)) == 0.0


def test_correlated_noise_is_measured_outside_the_blind_spot():
    w = np.random.default_rng(1).normal(0, 1, (256, 256))
    corr = ndi.uniform_filter(w, 2, mode="wrap")
    corr /= corr.std()  # variance 1, lag-1 correlation 0.5: neighbours' differences understate it
    data = _data(corr)
    assert blend_weight(1.5, data, (3, 3)) == pytest.approx(0.5 / 1.5, abs=0.04)
    assert blend_weight(1.5, data, (1, 1)) > 0.45  # read at lag 1 the noise looks half as strong


@pytest.fixture(scope="module")
def trained():
    """A briefly trained model (validated on enough pixels to measure its error) and its image."""
    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.train.trainer import train

    from ..conftest import TINY, disc

    img = disc(96)
    more = {"steps": 10, "val_patches": 64, "steps_per_epoch": 5, "batch_size": 4}
    return train(img, TrainConfig(axes="YX", patch_size=(32, 32), **{**TINY, **more})), img


def test_training_measures_it_and_prediction_uses_it(trained):
    model, img = trained
    assert 0.0 < model.blend <= MAX_WEIGHT  # ten steps: a poor network keeps much of the input
    alone = predict(model, img, "YX", PredictConfig(blend=False))
    blended = predict(model, img, "YX")
    np.testing.assert_allclose(blended, alone + model.blend * (img - alone), rtol=1e-5, atol=1e-3)
    assert "keeps" in model.describe() and "of the input" in model.describe()


def test_model_file_keeps_it_and_refuses_a_bad_one(trained, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save_file

    model, _ = trained
    path = model.save(tmp_path / "m.n2v.safetensors")
    assert load_model(path).blend == pytest.approx(model.blend)
    with safe_open(str(path), "pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    for bad in ("1.5", "-0.1", "nan", "lots"):
        save_file(tensors, tmp_path / "bad.n2v.safetensors", metadata={**meta, "blend": bad})
        with pytest.raises(N2VError, match="inconsistent contents"):
            load_model(tmp_path / "bad.n2v.safetensors")
    old = {k: v for k, v in meta.items() if k != "blend"}  # a file from before the blend
    save_file(tensors, tmp_path / "old.n2v.safetensors", metadata=old)
    assert load_model(tmp_path / "old.n2v.safetensors").blend == 0.0


def test_blend_credit_matches_the_mse_of_the_blend():
    rng = np.random.default_rng(3)
    v, m, n = 25.0, 9.0, 200_000
    noise, err = rng.normal(0, v**0.5, n), rng.normal(0, m**0.5, n)
    blind = Score(mean=float(np.mean((err - noise) ** 2)), ci_low=0.0, ci_high=0.0, n=n)
    for a in (0.1, 0.3):
        true = float(np.mean((a * noise + (1 - a) * err) ** 2)) + v  # plus v: the score's scale
        assert as_blend(blind, v, a).mean == pytest.approx(true, rel=0.02)
    best = as_blend(blind, v)
    assert best.mean == pytest.approx(m * v / (m + v) + v, rel=0.02)
    assert best.mean <= as_blend(blind, v, 0.1).mean


def test_zoo_package_carries_it_for_us_and_not_for_other_consumers(trained, tmp_path):
    from napari_n2v.core.zoo.api import export_bioimageio, load_package

    from .bioimageio_helpers import NET, member, npy, offline

    model, img = trained
    path = tmp_path / "m.zip"
    with offline():
        export_bioimageio(model, path, name="blend", description="d", authors="Ada", sample=img)
        back = load_package(path)
    assert model.blend > 0 and back.blend == pytest.approx(model.blend)
    x, y = npy(path, "test_input.npy"), npy(path, "test_output.npy")
    np.testing.assert_allclose(model.predict(x[0], "CYX", NET), y[0], rtol=1e-5, atol=1e-4)
    assert "keeps" in member(path, "README.md").decode()
