"""The Noise2Self score: it ranks J-invariant denoisers like the true PSNR, its interval covers, masking
scores non-J-invariant predictors, and a footprint keeps it valid under correlated noise."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import ndimage

from napari_n2v.core.baseline import (
    Score,
    blind_gaussian,
    blind_median,
    compare,
    db_gap,
    difference,
    estimate_noise_var,
    gaussian,
    masked_score,
    self_supervised_score,
)
from napari_n2v.core.errors import N2VError


def shapes(n: int = 256, seed: int = 0) -> np.ndarray:
    """Smooth gradients plus disks and rectangles with sharp edges, roughly 0..255."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    img = 60 + 80 * xx / n + 40 * np.sin(3 * yy / n)
    for _ in range(10):
        cy, cx = rng.uniform(0, n, 2)
        r = rng.uniform(n / 20, n / 6)
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] += rng.uniform(-60, 60)
    for _ in range(6):
        y0, x0 = rng.integers(0, n - n // 4, 2)
        h, w = rng.integers(n // 16, n // 4, 2)
        img[y0 : y0 + h, x0 : x0 + w] += rng.uniform(-50, 50)
    return img


def correlated(shape: tuple[int, ...], sigma: float, kernel: int, rng: np.random.Generator):
    """White noise convolved with a ``kernel``-wide box, scaled to standard deviation ``sigma``."""
    k = np.ones((1,) * (len(shape) - 2) + (kernel, kernel)) / kernel  # a box over Y and X
    return ndimage.convolve(rng.normal(size=shape), k, mode="wrap") * sigma


def psnr(x: np.ndarray, clean: np.ndarray) -> float:
    return float(10 * np.log10(255**2 / np.mean((x - clean) ** 2)))


def neighbour_mean(x: np.ndarray) -> np.ndarray:
    """Identity made blind: the mean of the 8 neighbours (edges wrap, so it stays J-invariant)."""
    return (9 * ndimage.uniform_filter(x, 3, mode="wrap") - x) / 8


def rank_disagreements(scores: dict, psnrs: dict, margin: float = 0.3) -> list:
    """Pairs whose PSNRs differ by more than ``margin`` dB but whose scores rank them the other way."""
    bad = []
    for a, b in itertools.combinations(scores, 2):
        if abs(psnrs[a] - psnrs[b]) > margin and (psnrs[a] > psnrs[b]) != (
            scores[a].mean < scores[b].mean
        ):
            bad.append((a, b, psnrs[a] - psnrs[b]))
    return bad


@pytest.mark.parametrize("sigma", [15, 25, 50])
def test_score_ranks_blind_denoisers_like_true_psnr(sigma):
    clean = shapes()
    noisy = clean + np.random.default_rng(sigma).normal(0, sigma, clean.shape)
    best_g = min(
        (0.7, 1, 1.4, 2, 2.8, 4),
        key=lambda s: self_supervised_score(noisy, blind_gaussian(noisy, s)).mean,
    )
    best_m = min((3, 5, 7), key=lambda s: self_supervised_score(noisy, blind_median(noisy, s)).mean)
    outputs = {
        "calibrated gaussian": blind_gaussian(noisy, best_g),
        "calibrated median": blind_median(noisy, best_m),
        "median 3": blind_median(noisy, 3),
        "neighbour mean": neighbour_mean(noisy),
        "over-smoothed": blind_gaussian(noisy, 10.0),
    }
    scores = {k: self_supervised_score(noisy, v) for k, v in outputs.items()}
    psnrs = {k: psnr(v, clean) for k, v in outputs.items()}
    assert max(psnrs.values()) - min(psnrs.values()) > 2  # the set is not trivially tied
    assert rank_disagreements(scores, psnrs) == []
    for k, v in outputs.items():  # the score estimates MSE + noise variance
        assert scores[k].mean == pytest.approx(np.mean((v - clean) ** 2) + sigma**2, rel=0.03)


def test_a_filter_that_sees_the_pixel_fools_the_plain_score_but_not_the_masked_one():
    clean = shapes()
    noisy = clean + np.random.default_rng(3).normal(0, 25, clean.shape)
    plain = self_supervised_score(noisy, gaussian(noisy, 0.7))
    masked = masked_score(lambda m: gaussian(m, 0.7), noisy, np.random.default_rng(0))
    assert plain.mean < 0.6 * 25**2  # below the noise variance: impossible for a valid score
    assert masked.mean > 25**2


def test_masked_score_ranks_a_network_like_predictor_like_its_true_mse():
    clean = shapes()
    sigma = 25
    noisy = clean + np.random.default_rng(4).normal(0, sigma, clean.shape)
    scores, true_mse = {}, {}
    for s in (0.7, 1.5, 3.0, 8.0):
        seen: list[tuple[np.ndarray, np.ndarray]] = []

        def predict(m: np.ndarray, s: float = s, seen: list = seen) -> np.ndarray:
            p = gaussian(m, s)
            seen.append((m, p))
            return p

        scores[s] = masked_score(predict, noisy, np.random.default_rng(9), n_passes=4)
        hidden = [(p - clean)[m != noisy] for m, p in seen]  # the masked pixels of each pass
        true_mse[s] = float(np.mean(np.concatenate(hidden) ** 2))
        assert 0.015 < np.mean([np.mean(m != noisy) for m, _ in seen]) < 0.025
    psnrs = {s: float(10 * np.log10(255**2 / v)) for s, v in true_mse.items()}
    assert rank_disagreements(scores, psnrs) == []
    for s, sc in scores.items():
        assert abs(sc.mean - true_mse[s] - sigma**2) < 2 * (sc.ci_high - sc.ci_low) / 2


def test_masked_score_of_a_blind_filter_agrees_with_its_plain_score():
    clean = shapes()
    noisy = clean + np.random.default_rng(5).normal(0, 25, clean.shape)
    full = self_supervised_score(noisy, blind_gaussian(noisy, 2.0))
    m = masked_score(lambda x: blind_gaussian(x, 2.0), noisy, np.random.default_rng(1))
    assert m.n < full.n / 10
    assert compare(m, full) == "tie"
    assert abs(m.mean - full.mean) < (m.ci_high - m.ci_low) / 2


@pytest.mark.parametrize("corr", [False, True])
def test_interval_covers_the_expected_score(corr):
    clean = shapes(128)
    rng = np.random.default_rng(11)
    fp = (3, 3) if corr else None
    scores = []
    for _ in range(150):
        n = correlated(clean.shape, 25, 2, rng) if corr else rng.normal(0, 25, clean.shape)
        x = clean + n
        scores.append(self_supervised_score(x, blind_gaussian(x, 1.5, footprint=fp)))
    expected = np.mean([s.mean for s in scores])
    coverage = np.mean([s.ci_low <= expected <= s.ci_high for s in scores])
    assert 0.88 <= coverage <= 1.0
    # the per-pixel standard error would be far too narrow for correlated noise
    if corr:
        spread = np.std([s.mean for s in scores])
        assert np.mean([s.se for s in scores]) > 0.8 * spread


def test_compare_ties_identical_denoisers_and_picks_clearly_better_ones():
    clean = shapes()
    ties = 0
    for k in range(30):
        noisy = clean + np.random.default_rng(100 + k).normal(0, 25, clean.shape)
        a = masked_score(lambda x: gaussian(x, 2.0), noisy, np.random.default_rng(2 * k))
        b = masked_score(lambda x: gaussian(x, 2.0), noisy, np.random.default_rng(2 * k + 1))
        ties += compare(a, b) == "tie"
    assert ties >= 24  # the paired 95% interval of a zero difference holds 0 about 95% of the time
    noisy = clean + np.random.default_rng(7).normal(0, 25, clean.shape)
    good = self_supervised_score(noisy, blind_gaussian(noisy, 2.0))
    bad = self_supervised_score(noisy, blind_gaussian(noisy, 8.0))
    assert compare(good, bad) == "a"
    assert compare(bad, good) == "b"
    assert compare(good, good) == "tie"


def test_pairing_resolves_a_small_difference_that_unpaired_intervals_cannot():
    clean = shapes()
    noisy = clean + np.random.default_rng(8).normal(0, 25, clean.shape)
    a = self_supervised_score(noisy, blind_gaussian(noisy, 2.0))
    b = self_supervised_score(noisy, blind_gaussian(noisy, 1.0))
    true_a = np.mean((blind_gaussian(noisy, 2.0) - clean) ** 2)
    true_b = np.mean((blind_gaussian(noisy, 1.0) - clean) ** 2)
    assert true_a < true_b
    assert compare(a, b) == "a"
    unpaired_a = Score(a.mean, a.ci_low, a.ci_high, a.n)
    unpaired_b = Score(b.mean, b.ci_low, b.ci_high, b.n)
    _, lo, hi = difference(unpaired_a, unpaired_b)
    _, plo, phi = difference(a, b)
    assert (phi - plo) < 0.5 * (hi - lo)


def _seeing_filters(noisy):
    """Filters that see the pixel they denoise: plain Gaussians and medians of several widths."""
    fns = {f"g{s}": (lambda m, s=s: gaussian(m, s)) for s in (0.7, 1.0, 1.4, 2.0, 4.0)}
    fns |= {f"m{k}": (lambda m, k=k: ndimage.median_filter(m, k)) for k in (3, 5)}
    return fns


@pytest.mark.parametrize("sigma", [15, 25, 50])
def test_sure_scores_filters_that_see_the_pixel_on_the_blind_scale(sigma):
    from napari_n2v.core.baseline.sure import sure_score

    clean = shapes()
    noisy = clean + np.random.default_rng(sigma + 1).normal(0, sigma, clean.shape)
    scores, psnrs = {}, {}
    for name, fn in _seeing_filters(noisy).items():
        scores[name] = sure_score(fn, noisy, sigma**2, np.random.default_rng(0))
        psnrs[name] = psnr(fn(noisy), clean)
        # MSE + noise variance, like the blind score (the plain score would be far below sigma^2)
        mse = float(np.mean((fn(noisy) - clean) ** 2))
        assert scores[name].mean == pytest.approx(mse + sigma**2, rel=0.04)
    for s in (1.0, 2.0):  # blind filters rank on the same scale
        scores[f"blind g{s}"] = self_supervised_score(noisy, blind_gaussian(noisy, s))
        psnrs[f"blind g{s}"] = psnr(blind_gaussian(noisy, s), clean)
    assert max(psnrs.values()) - min(psnrs.values()) > 2
    assert rank_disagreements(scores, psnrs) == []


def test_bm3d_ranks_above_the_blur_it_beats():
    pytest.importorskip("bm3d")
    from napari_n2v.core.baseline import baseline

    clean = shapes(128)
    noisy = clean + np.random.default_rng(9).normal(0, 25, clean.shape)
    res = baseline(noisy, methods=("gaussian", "median", "bm3d"), noise_var=25.0**2)
    scores = {r.method: r.score for r in res.results}
    psnrs = {r.method: psnr(r.image, clean) for r in res.results}
    assert psnrs["bm3d"] > psnrs["gaussian"] + 0.3
    assert rank_disagreements(scores, psnrs) == []


def _scores_and_psnrs(noisy, clean, footprint):
    outs = {f"g{s}": blind_gaussian(noisy, s, footprint=footprint) for s in (0.7, 1, 1.4, 2, 4, 8)}
    outs |= {f"m{s}": blind_median(noisy, s, footprint=footprint) for s in (7, 9)}
    return (
        {k: self_supervised_score(noisy, v) for k, v in outs.items()},
        {k: psnr(v, clean) for k, v in outs.items()},
    )


@pytest.mark.parametrize(("kernel", "footprint"), [(2, (3, 3)), (3, (5, 5))])
def test_correlated_noise_is_scored_right_with_a_footprint(kernel, footprint):
    clean = shapes()
    noisy = clean + correlated(clean.shape, 25, kernel, np.random.default_rng(12))
    scores, psnrs = _scores_and_psnrs(noisy, clean, footprint)
    assert max(psnrs.values()) - min(psnrs.values()) > 2
    assert rank_disagreements(scores, psnrs) == []


@pytest.mark.parametrize(("kernel", "footprint"), [(2, None), (3, None), (3, (3, 3))])
def test_correlated_noise_is_scored_wrong_without_a_large_enough_footprint(kernel, footprint):
    # A k-wide kernel correlates pixels up to k-1 apart: the footprint must span 2k-1.
    clean = shapes()
    noisy = clean + correlated(clean.shape, 25, kernel, np.random.default_rng(12))
    scores, psnrs = _scores_and_psnrs(noisy, clean, footprint)
    wrong = rank_disagreements(scores, psnrs, margin=1.0)
    assert len(wrong) >= 3
    assert min(s.mean for s in scores.values()) < 25**2  # below the noise variance


def test_masked_score_needs_the_footprint_under_correlated_noise():
    clean = shapes()
    noisy = clean + correlated(clean.shape, 25, 2, np.random.default_rng(13))

    def predict(m):
        return gaussian(m, 1.0)

    ok = masked_score(predict, noisy, np.random.default_rng(0), footprint=(3, 3))
    leaky = masked_score(predict, noisy, np.random.default_rng(0))
    assert ok.ci_low > 25**2  # MSE + noise variance
    assert leaky.mean < 0.8 * 25**2


@pytest.mark.parametrize("sigma", [15, 25, 50])
def test_noise_variance_estimate(sigma):
    clean = shapes()
    rng = np.random.default_rng(sigma)
    assert estimate_noise_var(clean + rng.normal(0, sigma, clean.shape)) == pytest.approx(
        sigma**2, rel=0.08
    )
    corr = clean + correlated(clean.shape, sigma, 2, rng)
    assert estimate_noise_var(corr) < 0.5 * sigma**2
    assert estimate_noise_var(corr, footprint=(3, 3)) == pytest.approx(sigma**2, rel=0.08)


def test_db_gap():
    a, b = Score(110.0, 105.0, 115.0, 100), Score(200.0, 195.0, 205.0, 100)
    assert db_gap(a, b, 100.0) == pytest.approx(10.0)  # MSE 10 vs 100
    assert db_gap(b, a, 100.0) == pytest.approx(-10.0)
    assert db_gap(Score(90.0, 85.0, 95.0, 1), b, 100.0) == pytest.approx(20.0)  # MSE floored
    with pytest.raises(N2VError):
        db_gap(a, b, 0.0)


def test_axes_channels_and_masks():
    clean = shapes(128)
    rng = np.random.default_rng(14)
    stack = np.stack([clean, clean[::-1]]) + rng.normal(0, 20, (2, 128, 128))
    pred = blind_gaussian(stack, 1.5, axes="CYX")
    both = self_supervised_score(stack, pred, axes="CYX")
    one = self_supervised_score(stack[0], pred[0])
    assert both.n == 2 * one.n == 2 * 128 * 128
    half = np.zeros(stack.shape, bool)
    half[:, :, :64] = True
    assert self_supervised_score(stack, pred, half, axes="CYX").n == both.n // 2
    yxc = np.moveaxis(stack, 0, -1)
    s2 = self_supervised_score(yxc, np.moveaxis(pred, 0, -1), axes="YXC")
    assert s2.mean == pytest.approx(both.mean)
    assert compare(s2, both) == "tie" and s2.grid == both.grid


def test_errors_say_what_to_change():
    x = np.random.default_rng(0).normal(size=(64, 64))
    with pytest.raises(N2VError, match="shape"):
        self_supervised_score(x, x[:32])
    bad = x.copy()
    bad[3, 3] = np.nan
    with pytest.raises(N2VError, match="NaN"):
        self_supervised_score(bad, x)
    with pytest.raises(N2VError, match="too few pixels"):
        self_supervised_score(x[:20, :20], x[:20, :20])
    with pytest.raises(N2VError, match="footprint"):
        masked_score(lambda m: m, x, np.random.default_rng(0), footprint=(2, 2))
    with pytest.raises(N2VError, match="must return"):
        masked_score(lambda m: m[:10], x, np.random.default_rng(0))
    with pytest.raises(N2VError, match="axes"):
        self_supervised_score(x, x, axes="ZYX")


@pytest.mark.parametrize("footprint", [None, (3, 3), (3, 5)])
def test_masking_hides_whole_footprints_with_values_from_outside_them(footprint):
    h, w = 96, 80
    x = np.arange(h * w, dtype=np.float64).reshape(h, w)  # every value names its position
    seen: list[np.ndarray] = []
    masked_score(lambda m: seen.append(m) or m, x, np.random.default_rng(0), 3, footprint=footprint)
    hy, hx = (np.asarray(footprint or (1, 1)) // 2).tolist()
    for m in seen:
        labels, n = ndimage.label(m != x, structure=np.ones((3, 3)))
        assert n > 0.015 * h * w / 2
        centres, sources = [], []
        for sl in ndimage.find_objects(labels):
            ys, xs = sl
            if ys.start == 0 or xs.start == 0 or ys.stop == h or xs.stop == w:
                continue  # a footprint cut by the image edge
            assert (ys.stop - ys.start, xs.stop - xs.start) == (2 * hy + 1, 2 * hx + 1)
            centres.append(((ys.start + ys.stop) // 2, (xs.start + xs.stop) // 2))
            src = m[sl].astype(int).ravel()
            sources.append(np.stack([src // w, src % w], axis=-1))
        for c, src in zip(centres, sources, strict=True):
            d = np.abs(src - np.asarray(c))
            assert ((d[:, 0] > hy) | (d[:, 1] > hx)).all()  # outside the footprint
            assert ((d[:, 0] <= hy + 2) & (d[:, 1] <= hx + 2)).all()  # from near it
        allsrc = np.concatenate(sources)
        for c in centres:  # no centre's footprint lends values to another's replacements
            d = np.abs(allsrc - np.asarray(c))
            assert not ((d[:, 0] <= hy) & (d[:, 1] <= hx)).any()
