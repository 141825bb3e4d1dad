"""The Noise check and the after-training judgement as run models (no Qt): values in, values out."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_n2v.core.config import PredictConfig, TrainConfig
from napari_n2v.core.train.trainer import Trainer, train
from napari_n2v.run_models.judge_run import JudgeRun, filter_image
from napari_n2v.run_models.noise_run import NoiseRun, noise_sample, plain
from napari_n2v.run_models.predict_job import residual_of, run_prediction


def _white(shape=(128, 128), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).normal(100, 10, shape).astype(np.float32)


def _correlated(shape=(128, 128), seed=0) -> np.ndarray:
    """Camera-like noise: white noise summed over 3 × 3 neighbours (correlated 2 pixels away)."""
    noise = np.random.default_rng(seed).normal(0, 10, shape)
    return (100 + ndi.uniform_filter(noise, 3) * 3).astype(np.float32)


def _check(image, axes="YX"):
    run = NoiseRun()
    got: list = []
    run.checked.connect(got.append)
    run.failed.connect(got.append)
    assert run.start(image, axes, source_name="img")
    return got[0]


@pytest.mark.parametrize(
    ("make", "verdict", "spec"), [(_white, "white", "pixel"), (_correlated, "correlated", "5x5")]
)
def test_noise_check_says_what_training_will_use(make, verdict, spec) -> None:
    image = make()
    check = _check(image)
    assert check.report.verdict == verdict and check.spec == spec
    assert check.picture.dtype == np.uint8 and check.picture.shape == (72, 72, 3)
    assert check.verdict_line().startswith("Noise: " + verdict)
    # The one rule: what the check says is what training's "auto" settles.
    plan = Trainer(image, TrainConfig(axes="YX", steps=1, patch_size=(32, 32))).plan
    assert plan.blind_spot.spec == check.spec


def test_noise_check_failure_is_one_message() -> None:
    got = _check(np.ones((16, 16), np.float32))
    assert isinstance(got, str) and "too small" in got


def test_noise_sample_reads_a_crop_of_a_few_samples_lazily() -> None:
    import dask.array as da

    data = da.zeros((40, 3, 600, 700), chunks=(1, 3, 600, 700), dtype=np.uint16)
    sample, axes = noise_sample(data, "TCYX")
    assert axes == "TCYX" and sample.shape == (8, 3, 512, 512) and sample.dtype == np.float32
    sample, axes = noise_sample(np.zeros((5, 4, 20, 64, 64)), "STZYX")
    assert axes == "SZYX" and sample.shape == (5, 20, 64, 64)  # the middle of the second: T


def test_findings_speak_of_the_widgets_controls() -> None:
    text = "A 1-pixel blind spot cannot remove it; use --blind-spot 3x3. The standard fits (--blind-spot pixel)."
    assert plain(text) == (
        "A 1-pixel blind spot cannot remove it; use Blind spot 3x3 (Advanced settings). "
        "The standard fits (Blind spot pixel in Advanced settings)."
    )


@pytest.fixture(scope="module")
def trained():
    yy, xx = np.mgrid[:96, :96]
    clean = 100 + 80 * (np.hypot(yy - 48, xx - 48) < 24)
    image = (clean + np.random.default_rng(0).normal(0, 20, clean.shape)).astype(np.float32)
    cfg = TrainConfig(axes="YX", steps=6, batch_size=4, patch_size=(32, 32), val_patches=4,
                      steps_per_epoch=2, n_filters=8, seed=0)  # fmt: skip
    return train(image, cfg), image


def test_judge_checks_compares_and_filters_the_whole_image(trained) -> None:
    model, image = trained
    run = JudgeRun()
    judged, baselines = [], []
    run.judged.connect(judged.append)
    run.baseline.connect(baselines.append)
    assert not run.compare(image)  # nothing judged yet
    assert run.start(model, image, "YX", source_name="disc")
    (j,) = judged
    assert j.qc is not None and j.comparison is not None and j.source == "disc"
    assert j.qc_line().startswith("Quality check: ") and "--" not in j.qc_line()
    assert j.sentence() == j.comparison.sentence
    assert "N2V" in j.scores() and "dB" in j.scores() and "±" in j.scores()
    assert run.compare(image)
    (out,) = baselines
    best = j.comparison.baselines.best
    assert out.method == best.method and out.data.shape == image.shape
    np.testing.assert_allclose(out.data, filter_image(best.method, best.param, image, "YX"))
    assert not np.allclose(out.data, image)


def test_judge_says_why_when_an_image_is_too_small_to_judge(trained) -> None:
    model, _ = trained
    run = JudgeRun()
    judged: list = []
    run.judged.connect(judged.append)
    run.start(model, np.ones((16, 16), np.float32), "YX", source_name="tiny")
    (j,) = judged
    assert j.qc is None and j.qc_line().startswith("No quality check: ")
    assert j.comparison is None and j.sentence().startswith(
        "No comparison with classical filters: "
    )
    assert j.scores() == "" and not run.compare(np.ones((16, 16)))


def test_prediction_returns_the_residual_when_asked(trained) -> None:
    from napari_n2v.core.progress import drain

    model, image = trained
    out = drain(run_prediction(model, image, "YX", PredictConfig(), residual=True))
    np.testing.assert_allclose(out.residual, image - out.data, atol=1e-4)
    assert -out.residual_limits[0] == out.residual_limits[1] > 0
    assert drain(run_prediction(model, image, "YX", PredictConfig())).residual is None
    residual, _ = residual_of(np.ones((4, 4)), np.zeros((4, 4)))
    assert residual.dtype == np.float32 and np.all(residual == 1)
