"""Judging a denoised result without a clean image (generated data only)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_n2v.core.errors import N2VError
from napari_n2v.core.noise.analysis import inspect_noise
from napari_n2v.core.noise.qc import qc, val_plateau

from .test_noise import ISO, LINE, SIGMA, noise, structured

SHAPE = (256, 256)


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    return structured(SHAPE, seed=11)


def has(report, text: str) -> bool:
    return any(text in f for f in report.findings)


def test_ideal_result_is_ok(clean):
    noisy = clean + noise(SHAPE, 1)
    rep = qc(noisy, clean)
    assert rep.ok, rep.findings
    assert rep.std_ratio[0] == pytest.approx(1.0, abs=0.1)
    assert abs(rep.structure) < 0.05
    assert rep.reach == (0, 0) and max(abs(v) for v in rep.acf["X"]) < 0.05
    assert rep.findings == ("The residual looks like the noise: no problem found.",)
    assert "Quality check (ok)" in rep.table()


def test_ideal_result_with_poisson_noise_is_ok(clean):
    rng = np.random.default_rng(2)
    noisy = 0.01 * rng.poisson(clean / 0.01)
    rep = qc(noisy, clean)
    assert rep.ok, rep.findings
    assert abs(rep.structure) < 0.05


def test_heavily_blurred_result_shows_structure(clean):
    noisy = clean + noise(SHAPE, 2)
    rep = qc(noisy, ndi.gaussian_filter(noisy, 3))
    assert not rep.ok
    assert rep.structure > 0.2
    assert has(rep, "Structure in the residual") and has(rep, "train shorter or use N2V2")
    assert not has(rep, "barely")


def test_blurred_clean_image_shows_structure(clean):
    """Even without any noise left in the result, lost detail is found."""
    noisy = clean + noise(SHAPE, 3)
    rep = qc(noisy, ndi.gaussian_filter(clean, 2))
    assert rep.structure > 0.1 and has(rep, "Structure in the residual")


def test_barely_denoised(clean):
    noisy = clean + noise(SHAPE, 4)
    rep = qc(noisy, 0.9 * noisy + 0.1 * clean)
    assert not rep.ok
    assert rep.std_ratio[0] == pytest.approx(0.1, abs=0.03)
    assert has(rep, "barely differs from the input") and has(rep, "train longer")
    assert not has(rep, "Structure")  # noise left in the result is not structure
    half = qc(noisy, 0.5 * noisy + 0.5 * clean)
    assert has(half, "removes only part of the noise") and not has(half, "barely")


def test_correlated_residual_names_a_blind_spot(clean):
    noisy = clean + noise(SHAPE, 5, ISO)
    rep = qc(noisy, clean)  # the residual is the correlated noise itself
    assert rep.reach in {(1, 1), (2, 2)} and rep.acf["X"][0] > 0.5
    assert not rep.ok
    assert has(rep, "Noise still correlated at lag 1") and has(
        rep, f"--blind-spot {rep.blind_spot}"
    )
    assert rep.blind_spot in {"3x3", "5x5"}
    # trained with a box that covers the correlation: nothing to report
    assert qc(noisy, clean, blind_spot="5x5").ok
    assert not qc(noisy, clean, blind_spot="1x5").ok


def test_result_keeping_correlated_noise_names_a_line(clean):
    n = noise(SHAPE, 6, LINE.reshape(1, 3))
    noisy = clean + n
    # what a 1-pixel blind spot learns from such noise: the part of each pixel's noise that its
    # neighbours along X predict stays in the result
    nbrs = (np.roll(n, 1, axis=1) + np.roll(n, -1, axis=1)) / 2
    learned = np.sum(n * nbrs) / np.sum(nbrs * nbrs) * nbrs
    rep = qc(noisy, clean + learned)
    assert abs(rep.acf["X"][0]) < 0.3  # the residual is much whiter than the noise
    assert not has(rep, "train longer") and not has(rep, "Structure")
    assert np.isnan(rep.structure) and "not judged" in rep.table()
    assert has(rep, "keeps the correlated part of the noise")
    assert rep.blind_spot in {"1x3", "1x5"} and has(rep, f"--blind-spot {rep.blind_spot}")


def test_result_identical_to_input(clean):
    noisy = clean + noise(SHAPE, 12)
    rep = qc(noisy, noisy.copy())
    assert rep.std_ratio == (0.0,) and has(rep, "barely differs") and not rep.ok


def test_smoothed_noise_left_in_result(clean):
    n = noise(SHAPE, 7)
    rep = qc(clean + n, clean + ndi.gaussian_filter(n, 1.0) * 1.5)
    assert has(rep, "keeps a smoothed copy of the noise")


def test_reuses_a_given_noise_report(clean):
    noisy = clean + noise(SHAPE, 8)
    report = inspect_noise(noisy)
    faked = type(report)(**{**report.__dict__, "noise_std": (2 * SIGMA,)})
    rep = qc(noisy, clean, noise=faked)  # the residual now looks half as strong as the noise
    assert rep.noise_std == (2 * SIGMA,) and has(rep, "removes only part of the noise")


def test_3d(clean):
    shape = (16, 96, 96)
    c3 = structured(shape, seed=12)
    noisy = c3 + noise(shape, 9)
    assert qc(noisy, c3, "ZYX").ok
    blurred = qc(noisy, ndi.gaussian_filter(noisy, (0, 3, 3)), "ZYX")
    assert has(blurred, "Structure in the residual")


def test_validation_history():
    falling = list(np.linspace(1.0, 0.5, 30))
    level = list(np.r_[np.linspace(1.0, 0.5, 20), 0.5 + 0.01 * np.sin(np.arange(20))])
    assert val_plateau(falling) is False
    assert val_plateau(level) is True
    assert val_plateau([1.0, 0.9, 0.8]) is None
    clean_img = structured((64, 64))
    noisy = clean_img + noise((64, 64), 10)
    rep = qc(noisy, clean_img, val_history=falling)
    assert rep.val_plateau is False and has(rep, "still falling") and not rep.ok
    assert qc(noisy, clean_img, val_history=level).val_plateau is True


def test_errors(clean):
    noisy = clean + noise(SHAPE, 11)
    with pytest.raises(N2VError, match="shape"):
        qc(noisy, clean[:128])
    bad = clean.copy()
    bad[0, 0] = np.nan
    with pytest.raises(N2VError, match="NaN"):
        qc(noisy, bad)
    with pytest.raises(N2VError, match="odd"):
        qc(noisy, clean, blind_spot="4x4")
