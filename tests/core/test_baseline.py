"""Blind filters are J-invariant (edges included), baseline() tunes them by the score alone, and its
verdict sentence and errors read right."""

from __future__ import annotations

import numpy as np
import pytest

from napari_n2v.core.baseline import (
    Score,
    baseline,
    blind_gaussian,
    blind_median,
    gaussian,
    masked_score,
    median,
    self_supervised_score,
)
from napari_n2v.core.baseline import calibrate as C
from napari_n2v.core.errors import N2VError

from .test_score import correlated, psnr, shapes

PROBES_2D = [(0, 0), (1, 1), (0, 7), (2, 49), (39, 49), (20, 25), (1, 48), (38, 2)]


@pytest.mark.parametrize(
    ("fn", "kw"),
    [
        (blind_gaussian, {"sigma": 2.0}),
        (blind_gaussian, {"sigma": 0.5}),
        (blind_gaussian, {"sigma": 1.0, "footprint": (3, 3)}),
        (blind_gaussian, {"sigma": (1.0, 3.0), "footprint": (3, 5)}),
        (blind_median, {"size": 5}),
        (blind_median, {"size": 7, "footprint": (3, 3)}),
    ],
)
def test_blind_filters_never_see_the_pixel_or_its_footprint(fn, kw):
    x = np.random.default_rng(0).normal(size=(40, 50))
    base = fn(x, **kw)
    hy, hx = (np.asarray(kw.get("footprint", (1, 1))) // 2).tolist()
    reach = 0.0
    for i, j in PROBES_2D:
        y = x.copy()
        y[max(0, i - hy) : i + hy + 1, max(0, j - hx) : j + hx + 1] += 1000.0
        out = fn(y, **kw)
        assert out[i, j] == pytest.approx(base[i, j], abs=1e-9)
        reach = max(reach, np.abs(out - base).max())
    assert reach > 0.1  # the changes do reach other pixels


def test_blind_gaussian_is_the_gaussian_without_its_centre():
    x = np.random.default_rng(1).normal(size=(64, 64))
    k = np.exp(-0.5 * (np.arange(-8, 9) / 2.0) ** 2)
    w0 = (k[8] / k.sum()) ** 2
    expected = (gaussian(x, 2.0) - w0 * x) / (1 - w0)
    assert np.abs(blind_gaussian(x, 2.0) - expected)[10:-10, 10:-10].max() < 1e-6


def test_3d_and_independent_axes():
    rng = np.random.default_rng(2)
    vol = rng.normal(size=(12, 40, 40)).astype(np.float32)
    out = blind_gaussian(vol, 1.5, axes="ZYX", footprint=(1, 3, 3))
    y = vol.copy()
    y[6, 19:22, 19:22] += 100
    assert blind_gaussian(y, 1.5, axes="ZYX", footprint=(1, 3, 3))[6, 20, 20] == pytest.approx(
        out[6, 20, 20], abs=1e-4
    )
    assert out.dtype == np.float32
    assert np.abs(out[5] - blind_gaussian(vol[5], 1.5, footprint=(3, 3))).max() > 0.01  # mixes Z
    # T and C are filtered independently, in any position
    tyxc = rng.normal(size=(3, 40, 40, 2))
    for fn, p in ((blind_gaussian, 1.5), (blind_median, 5), (gaussian, 1.5), (median, 3)):
        got = fn(tyxc, p, axes="TYXC")
        assert np.allclose(got[1, :, :, 0], fn(tyxc[1, :, :, 0], p), atol=1e-6)


def test_calibrated_sigma_is_near_the_oracle():
    clean = shapes()
    grid = np.exp(np.linspace(np.log(0.5), np.log(8), 30))
    for sigma in (15, 25, 50):
        noisy = clean + np.random.default_rng(sigma).normal(0, sigma, clean.shape)
        res = baseline(noisy, methods=("gaussian",))
        g = res["gaussian"]
        oracle_blind = grid[np.argmax([psnr(blind_gaussian(noisy, s), clean) for s in grid])]
        oracle_plain = grid[np.argmax([psnr(gaussian(noisy, s), clean) for s in grid])]
        assert 0.7 < g.param / oracle_blind < 1.3
        assert 0.7 < g.param / oracle_plain < 1.3
        assert g.output == "mix" and 0 < g.alpha < 0.5
        assert psnr(g.image, clean) > psnr(blind_gaussian(noisy, g.param), clean)
        assert psnr(g.image, clean) > psnr(noisy, clean) + 5


def test_baseline_result_shapes_scores_and_best():
    clean = shapes(128)
    noisy = (clean + np.random.default_rng(3).normal(0, 25, clean.shape)).astype(np.float32)
    res = baseline(noisy)
    assert [r.method for r in res.results] == ["gaussian", "median"]
    assert res.best.score.mean == min(r.score.mean for r in res.results)
    for r in res.results:
        assert r.image.shape == noisy.shape
        assert r.score.ci_low < r.score.mean < r.score.ci_high
        assert dict(r.tried)[r.param] == r.score.mean
        assert r.score.mean == min(m for _, m in r.tried)
    assert res.noise_var == pytest.approx(625, rel=0.1)
    plain = baseline(noisy, output="plain")["median"]
    assert plain.output == "plain" and np.allclose(plain.image, median(noisy, int(plain.param)))
    blind = baseline(noisy, output="blind")["median"]
    assert np.allclose(blind.image, blind_median(noisy, int(blind.param)))


def test_baseline_with_axes_footprint_and_crop(monkeypatch):
    clean = shapes(96)
    rng = np.random.default_rng(4)
    stack = np.stack([clean, clean.T, clean[::-1]], axis=-1) + rng.normal(0, 20, (96, 96, 3))
    res = baseline(stack, axes="YXT", methods=("gaussian",))
    assert res["gaussian"].image.shape == stack.shape
    vol = np.stack([clean] * 8) + correlated((8, 96, 96), 20, 2, rng)
    res3 = baseline(vol, axes="ZYX", footprint=(1, 3, 3), methods=("gaussian",))
    assert res3.noise_var == pytest.approx(400, rel=0.15)
    # a large image is searched on a crop but scored whole, so it pairs with a whole-image score
    monkeypatch.setattr(C, "SEARCH_PIXELS", 48 * 48)
    full = baseline(stack[..., 0], methods=("gaussian",))
    n2v = masked_score(lambda m: gaussian(m, 1.5), stack[..., 0], np.random.default_rng(0))
    assert full["gaussian"].score.grid == n2v.grid
    assert full["gaussian"].score.n == 96 * 96


def _score(mean: float) -> Score:
    return Score(mean, mean - 3, mean + 3, 10_000)


def test_sentence():
    clean = shapes(128)
    noisy = clean + np.random.default_rng(5).normal(0, 25, clean.shape)
    res = baseline(noisy, methods=("gaussian",), noise_var=625.0)
    best = res.best.score.mean
    assert "best classical baseline is a Gaussian blur (sigma = " in res.sentence()
    better = res.sentence(_score(625 + (best - 625) / 4))
    assert better.startswith("N2V is better by ~6.0 dB")
    worse = res.sentence(_score(best + 30))
    assert worse.startswith("A Gaussian blur (sigma = ") and "use it, or train longer" in worse
    assert res.sentence(_score(best + 1)).startswith("Too close to call")
    # a whole-image masked score of a good predictor pairs with the baseline's score
    n2v = masked_score(lambda m: blind_gaussian(m, 10.0), noisy, np.random.default_rng(0))
    assert "use it, or train longer" in res.sentence(n2v)


def test_budget_and_optional_methods():
    clean = shapes(128)
    noisy = clean + np.random.default_rng(6).normal(0, 25, clean.shape)
    with pytest.raises(N2VError, match="time budget"):
        baseline(noisy, time_budget_s=0.0)
    res = baseline(noisy, methods=("nlm",))
    r = res["nlm"]
    assert r.output == "direct" and psnr(r.image, clean) > psnr(noisy, clean) + 5
    assert len(r.tried) >= 5


def test_bm3d_when_installed():
    pytest.importorskip("bm3d")
    clean = shapes(64)
    noisy = clean + np.random.default_rng(7).normal(0, 25, clean.shape)
    r = baseline(noisy, methods=("bm3d",))["bm3d"]
    assert psnr(r.image, clean) > psnr(noisy, clean) + 5


@pytest.mark.parametrize(
    ("image", "kw", "match"),
    [
        (np.full((64, 64), np.nan), {}, "NaN"),
        (np.ones((64, 64)), {}, "constant"),
        (np.random.default_rng(0).normal(size=(16, 64)), {}, "too small"),
        (np.random.default_rng(0).normal(size=(64, 64)), {"axes": "ZYX"}, "dimension"),
        (np.random.default_rng(0).normal(size=(64, 64)), {"axes": "YQ"}, "unknown letter"),
        (np.random.default_rng(0).normal(size=(64, 64)), {"methods": ("wiener",)}, "method"),
        (np.random.default_rng(0).normal(size=(64, 64)), {"output": "best"}, "output"),
        (np.random.default_rng(0).normal(size=(64, 64)), {"footprint": (3,)}, "footprint"),
    ],
)
def test_errors_are_one_line_n2v_errors(image, kw, match):
    with pytest.raises(N2VError, match=match) as e:
        baseline(image, **kw)
    assert "\n" not in str(e.value)


def test_filter_argument_errors():
    x = np.zeros((32, 32))
    with pytest.raises(N2VError, match="sigma"):
        blind_gaussian(x, -1.0)
    with pytest.raises(N2VError, match="too small for footprint"):
        blind_gaussian(x, 0.2, footprint=(3, 3))
    with pytest.raises(N2VError, match="median size"):
        blind_median(x, 3, footprint=(3, 3))
    with pytest.raises(N2VError, match="median size"):
        median(x, 4)


def test_search_is_paired_across_parameters():
    clean = shapes(128)
    noisy = clean + np.random.default_rng(8).normal(0, 25, clean.shape)
    r = baseline(noisy, methods=("gaussian",))["gaussian"]
    assert self_supervised_score(noisy, blind_gaussian(noisy, r.param)).mean == pytest.approx(
        r.score.mean, rel=1e-5
    )
