"""Noise analysis from the noisy image alone, and the blind-spot spec (generated data only)."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_n2v.core.errors import N2VError
from napari_n2v.core.noise import (
    choose_blind_spot,
    footprint_offsets,
    format_blind_spot,
    inspect_noise,
    noise_table,
    parse_blind_spot,
    save_acf_png,
)
from napari_n2v.core.noise.footprint import extent_for_reach, reach_from_acf

SIGMA = 0.1
ISO = np.multiply.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16  # lag-1 autocorrelation 2/3
LINE = np.array([0.5, 1.0, 0.5])  # along one axis: lag-1 autocorrelation 2/3


def structured(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Smooth blobs, boxes with sharp edges and a ramp: structure a noise estimate must not mistake
    for correlated noise. Values about 0.1..2."""
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij")
    img = 0.1 + 0.3 * grids[-1] / shape[-1]
    for _ in range(10):
        centre = [rng.uniform(0, n) for n in shape[-2:]]
        d2 = sum((g - c) ** 2 for g, c in zip(grids[-2:], centre, strict=True))
        img = img + rng.uniform(0.3, 1.0) * np.exp(-d2 / (2 * rng.uniform(4, 12) ** 2))
    for _ in range(3):
        lo = [int(rng.integers(0, n // 2)) for n in shape]
        hi = [a + int(rng.integers(n // 6, n // 2)) for a, n in zip(lo, shape, strict=True)]
        img[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))] += rng.uniform(0.3, 0.5)
    return img


def noise(shape: tuple[int, ...], seed: int, kernel: np.ndarray | None = None) -> np.ndarray:
    """Gaussian noise of std ``SIGMA``, correlated by ``kernel`` if given."""
    n = np.random.default_rng(seed + 100).normal(size=shape)
    if kernel is not None:
        n = ndi.convolve(n, kernel, mode="wrap")
    return SIGMA * n / n.std()


def along(axis: int, ndim: int) -> np.ndarray:
    """``LINE`` laid along ``axis`` of an ``ndim``-D kernel."""
    return LINE.reshape([3 if a == axis else 1 for a in range(ndim)])


CASES = [((256, 256), "YX"), ((16, 96, 96), "ZYX")]


def assert_white(rep) -> None:
    assert rep.verdict == "white"
    assert rep.blind_spot == "pixel"
    assert rep.reach == (0,) * len(rep.spatial_axes)
    for axis, values in rep.acf.items():
        assert len(values) == 4
        assert max(abs(v) for v in values) < 0.05, (axis, values)
    off = np.abs(rep.acf_map)
    off[(4,) * off.ndim] = 0
    assert off.max() < 0.1


@pytest.mark.parametrize(("shape", "axes"), CASES)
def test_white_gaussian_on_structure(shape, axes):
    rep = inspect_noise(structured(shape) + noise(shape, 1), axes)
    assert_white(rep)
    assert rep.spatial_axes == axes and rep.acf_map.shape == (9,) * len(shape)
    assert rep.noise_std[0] == pytest.approx(SIGMA, rel=0.1)
    assert rep.signal_dependent == (False,)
    assert "pixel" in rep.sentences[0]


@pytest.mark.parametrize(("shape", "axes"), CASES)
def test_poisson_gaussian_white_and_gain_recovered(shape, axes):
    gain, read = 0.01, 0.05
    rng = np.random.default_rng(2)
    clean = structured(shape, seed=2)
    x = gain * rng.poisson(clean / gain) + rng.normal(0, read, shape)
    rep = inspect_noise(x, axes)
    assert_white(rep)
    assert rep.signal_dependent == (True,)
    assert rep.gain[0] == pytest.approx(gain, rel=0.2)
    assert rep.offset[0] == pytest.approx(read**2, rel=0.5)
    expected = np.sqrt(np.mean(gain * clean + read**2))
    assert rep.noise_std[0] == pytest.approx(expected, rel=0.1)


def test_unfiltered_residual_would_look_correlated():
    """The compensation matters: without it, the residual of the smoothing is anti-correlated."""
    from napari_n2v.core.noise.analysis import smooth

    n = noise((256, 256), 3)
    r = n - smooth(n)
    lag1 = np.mean(r[:, 1:] * r[:, :-1]) / np.mean(r * r)
    assert lag1 < -0.05
    assert abs(inspect_noise(n).acf["X"][0]) < 0.03


@pytest.mark.parametrize(("shape", "axes"), CASES)
def test_isotropic_correlated_noise_needs_a_box(shape, axes):
    kernel = ISO.reshape((1,) * (len(shape) - 2) + (3, 3))
    rep = inspect_noise(structured(shape) + noise(shape, 4, kernel), axes)
    assert rep.verdict == "correlated"
    for a in "YX":
        assert 0.5 <= rep.acf[a][0] <= 0.75
    assert rep.reach[-2:] in {(1, 1), (2, 2)}
    prefix = "1x" if len(shape) == 3 else ""
    assert rep.blind_spot in {prefix + "3x3", prefix + "5x5"}
    assert choose_blind_spot(rep) == rep.blind_spot
    if len(shape) == 3:
        assert rep.reach[0] == 0 and abs(rep.acf["Z"][0]) < 0.05
    assert f"--blind-spot {rep.blind_spot}" in rep.sentences[0]


@pytest.mark.parametrize(("shape", "axes", "axis"), [(s, a, x) for s, a in CASES for x in a[::-1]])
def test_correlation_along_one_axis_gives_a_line(shape, axes, axis):
    k = axes.index(axis)
    rep = inspect_noise(structured(shape) + noise(shape, 5, along(k, len(shape))), axes)
    assert rep.verdict == "correlated"
    assert 0.5 <= rep.acf[axis][0] <= 0.75
    assert all(abs(rep.acf[a][0]) < 0.05 for a in axes if a != axis)
    assert rep.reach[k] in (1, 2) and sum(rep.reach) == rep.reach[k]
    extents = [("3", "5") if a == axis else ("1",) for a in axes]
    allowed = {"x".join(e) for e in np.array(np.meshgrid(*extents)).reshape(len(axes), -1).T}
    assert rep.blind_spot in allowed


def test_fine_texture_in_part_of_the_image_is_not_noise():
    """Texture finer than the signal estimate follows survives it and looks like correlated noise;
    only the blocks with the least correlation (half of them by default) count."""
    tex = ndi.gaussian_filter(np.random.default_rng(3).normal(size=(256, 256)), 2.0)
    tex[:, 128:] = 0  # the left half is textured, 4x the noise
    x = structured((256, 256)) + 4 * SIGMA * tex / tex.std() + noise((256, 256), 3)
    assert inspect_noise(x).verdict == "white"
    everything = inspect_noise(x, keep_blocks=1.0)
    assert everything.verdict == "correlated" and everything.acf["X"][0] > 0.15


def test_samples_and_channels():
    shape = (2, 2, 128, 128)  # S, C, Y, X; channel 1 twice as noisy
    x = np.stack([np.stack([structured(shape[2:], s) for _ in range(2)]) for s in range(2)])
    x = x + noise(shape, 6) * np.array([1.0, 2.0])[None, :, None, None]
    rep = inspect_noise(x, "SCYX")
    assert rep.verdict == "white" and rep.spatial_axes == "YX"
    assert len(rep.noise_std) == 2
    assert rep.noise_std[0] == pytest.approx(SIGMA, rel=0.15)
    assert rep.noise_std[1] == pytest.approx(2 * SIGMA, rel=0.15)
    # the same data with axes in another order
    rep2 = inspect_noise(np.moveaxis(x, 1, -1), "SYXC")
    assert rep2.noise_std[1] == pytest.approx(2 * SIGMA, rel=0.15)


def test_repeatable_with_default_rng():
    x = structured((600, 600)) + noise((600, 600), 7)
    a, b = inspect_noise(x), inspect_noise(x)
    np.testing.assert_array_equal(a.acf_map, b.acf_map)
    c = inspect_noise(x, rng=np.random.default_rng(9))
    assert not np.array_equal(a.acf_map, c.acf_map)  # a large image is sampled in crops
    assert c.verdict == "white"


@pytest.mark.parametrize(
    ("image", "axes", "match"),
    [
        (np.zeros((16, 16)) + np.arange(16), "YX", "too small.*32 along Y"),
        (np.ones((64, 64)), "YX", "constant"),
        (np.full((64, 64), np.nan), "YX", "NaN"),
        (np.where(np.eye(64) > 0, np.inf, 1.0), "YX", "NaN or infinite"),
        (np.random.default_rng(0).random((64, 64)), "ZYX", "3 dimension"),
        (np.random.default_rng(0).random((64, 64)), "YQ", "unknown letter"),
        (np.random.default_rng(0).random((4, 64, 64)), "ZYX", "8 along Z"),
        (np.ones((64, 64), dtype=complex), "YX", "real numbers"),
    ],
)
def test_errors(image, axes, match):
    with pytest.raises(N2VError, match=match):
        inspect_noise(image, axes)


def test_bad_threshold():
    with pytest.raises(N2VError, match="threshold"):
        inspect_noise(noise((64, 64), 0), threshold=1.5)


@pytest.mark.parametrize(
    ("spec", "n", "expected"),
    [
        ("auto", 2, None),
        ("pixel", 2, (1, 1)),
        ("pixel", 3, (1, 1, 1)),
        ("3x3", 2, (3, 3)),
        (" 5X5 ", 2, (5, 5)),
        ("1x5", 2, (1, 5)),
        ("5x1", 2, (5, 1)),
        ("3x3", 3, (1, 3, 3)),
        ("1x1x5", 3, (1, 1, 5)),
        ("3x3x3", 3, (3, 3, 3)),
    ],
)
def test_parse_blind_spot(spec, n, expected):
    assert parse_blind_spot(spec, n) == expected


@pytest.mark.parametrize(
    ("spec", "n", "match"),
    [
        ("3x3x3", 2, "2D"),
        ("4x4", 2, "odd"),
        ("0x3", 2, "odd"),
        ("17x17", 2, "15"),
        ("3", 2, "not understood"),
        ("3x3x3x3", 3, "not understood"),
        ("big", 2, "not understood"),
    ],
)
def test_parse_blind_spot_errors(spec, n, match):
    with pytest.raises(N2VError, match=match):
        parse_blind_spot(spec, n)


def test_format_and_offsets():
    assert format_blind_spot((1, 1)) == "pixel"
    assert format_blind_spot((1, 1, 1)) == "pixel"
    assert format_blind_spot((1, 3, 3)) == "1x3x3"
    for spec in ["3x3", "1x5", "5x1", "7x7"]:
        assert format_blind_spot(parse_blind_spot(spec, 2)) == spec
    offs = footprint_offsets((3, 3))
    assert offs.shape == (8, 2) and not (offs == 0).all(axis=1).any()
    assert set(map(tuple, offs)) == {(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1)} - {(0, 0)}
    line = footprint_offsets((1, 5))
    assert sorted(map(tuple, line)) == [(0, -2), (0, -1), (0, 1), (0, 2)]
    assert footprint_offsets((1, 1, 1)).shape == (0, 3)
    assert footprint_offsets((3, 3, 3)).shape == (26, 3)


def test_reach_and_cap():
    m = np.zeros((9, 9))
    m[4, 4] = 1.0
    m[4, 5] = m[4, 3] = 0.6  # X lag 1
    m[6, 4] = m[2, 4] = -0.2  # Y lag 2, negative
    m[8, 8] = m[0, 0] = 0.05  # below threshold
    assert reach_from_acf(m, 0.1) == (2, 1)
    assert reach_from_acf(np.pad([[1.0]], 4), 0.1) == (0, 0)  # lag 0 alone: white
    assert extent_for_reach((2, 1)) == ((5, 3), False)
    assert extent_for_reach((0, 5)) == ((1, 7), True)


def test_long_correlation_is_capped_and_said():
    n = ndi.gaussian_filter(np.random.default_rng(8).normal(size=(256, 256)), (0.3, 2.5))
    rep = inspect_noise(structured((256, 256)) + SIGMA * n / n.std())
    assert rep.reach[1] >= 4 and rep.capped
    assert rep.blind_spot.endswith("x7")
    assert any("capped" in s for s in rep.sentences)


def test_table_and_png(tmp_path):
    rep = inspect_noise(structured((128, 128)) + noise((128, 128), 9, ISO))
    text = noise_table(rep)
    assert "verdict: correlated" in text and "lag 4" in text and rep.blind_spot in text
    path = save_acf_png(rep.acf_map, tmp_path / "acf.png", cell=10)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    assert (w, h) == (90, 90)
    idat = data.index(b"IDAT")
    (length,) = struct.unpack(">I", data[idat - 4 : idat])
    rows = np.frombuffer(zlib.decompress(data[idat + 4 : idat + 4 + length]), np.uint8)
    rgb = rows.reshape(h, 1 + 3 * w)[:, 1:].reshape(h, w, 3)
    assert tuple(rgb[45, 45]) == (255, 0, 0)  # lag 0: correlation 1, full red
    assert rgb[45, 55, 1] < 140  # lag 1 along X: strongly red
    assert rgb[5, 5].min() > 200  # the farthest lag: near white
    rep3 = inspect_noise(structured((16, 64, 64)) + noise((16, 64, 64), 9), "ZYX")
    path3 = save_acf_png(rep3.acf_map, tmp_path / "acf3.png", cell=4)
    w3, h3 = struct.unpack(">II", path3.read_bytes()[16:24])
    assert (w3, h3) == (4 * (3 * 9 + 2), 4 * 9)  # three planes and two gaps
