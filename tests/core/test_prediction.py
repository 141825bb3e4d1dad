import numpy as np
import pytest
import torch
import zarr

from napari_n2v.core.config import PredictConfig, TrainConfig
from napari_n2v.core.errors import N2VError
from napari_n2v.core.model.n2v_model import N2VModel
from napari_n2v.core.model.unet import build_unet
from napari_n2v.core.predict.prediction import predict, predict_iter
from napari_n2v.core.predict.tiling import tile_grid
from napari_n2v.core.progress import drain

# Most tests here use deliberately tiny tiles to exercise stitching; the warning has its own test.
pytestmark = pytest.mark.filterwarnings("ignore:tiles of")


def _model(axes="YX", channels=1, n2v2=False, seed=0):
    torch.manual_seed(seed)
    cfg = TrainConfig(axes=axes, n_filters=8, n2v2=n2v2)
    net = build_unet(cfg, channels).eval()
    # non-trivial BN statistics so eval mode is not an identity
    for mod in net.modules():
        if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 1.5)
    return N2VModel(
        cfg, net, np.full(channels, 10.0, np.float32), np.full(channels, 3.0, np.float32)
    )


def test_tile_grid_covers_every_pixel_once():
    for n, t, h in [(100, 32, 8), (64, 64, 16), (257, 96, 32), (36, 32, 8)]:
        cover = np.zeros(n, int)
        for tile in tile_grid((n,), (t,), (h,)):
            assert tile.read[0].stop - tile.read[0].start == min(t, n)
            cover[tile.write[0]] += 1
            lo, hi = tile.write[0].start, tile.write[0].stop
            r0, r1 = tile.read[0].start, tile.read[0].stop
            assert lo - r0 >= h or r0 == 0
            assert r1 - hi >= h or r1 == n
        assert (cover == 1).all()


@pytest.mark.parametrize("n2v2", [False, True])
@pytest.mark.parametrize(
    ("axes", "shape", "tile"),
    [
        ("YX", (83, 121), (48, 64)),
        ("ZYX", (13, 45, 39), (12, 32, 32)),
        ("TYX", (2, 70, 51), (48, 48)),
    ],
)
def test_tiled_equals_untiled(axes, shape, tile, n2v2, rng):
    model = _model(axes if "Z" in axes else "YX", n2v2=n2v2)
    img = rng.normal(10, 3, shape).astype(np.float32)
    cfg = PredictConfig(precision="fp32", device="cpu")
    whole = predict(
        model,
        img,
        axes,
        cfg.replace(tile_shape=tuple(s + 8 for s in shape[-model.config.n_spatial :])),
    )
    tiled = predict(model, img, axes, cfg.replace(tile_shape=tile))
    assert whole.shape == img.shape and whole.dtype == np.float32
    np.testing.assert_allclose(tiled, whole, atol=1e-4, rtol=0)


def test_progress_events_and_zarr_out(rng, tmp_path):
    model = _model()
    img = rng.normal(10, 3, (3, 40, 40)).astype(np.float32)
    out = zarr.open_array(
        str(tmp_path / "o.zarr"), mode="w", shape=img.shape, chunks=(1, 40, 40), dtype="f4"
    )
    gen = predict_iter(model, img, "SYX", PredictConfig(tile_shape=(32, 32), device="cpu"), out=out)
    events = []
    result = drain(gen, events.append)
    assert result is out
    assert events[-1].done == events[-1].total == len(events) * 1
    ref = predict(model, img, "SYX", PredictConfig(tile_shape=(32, 32), device="cpu"))
    np.testing.assert_allclose(out[:], ref, atol=1e-6)


def test_2d_model_on_a_z_stack_goes_plane_by_plane(rng):
    model = _model()
    stack = rng.normal(10, 3, (3, 32, 32)).astype(np.float32)
    res = predict(model, stack, "ZYX", PredictConfig(device="cpu", precision="fp32"))
    for z in range(3):
        plane = predict(model, stack[z], "YX", PredictConfig(device="cpu", precision="fp32"))
        np.testing.assert_allclose(res[z], plane, atol=1e-5)


def test_channels_last_axis_and_dtype_kept_in_scale(rng):
    model = _model(channels=3)
    img = rng.integers(0, 255, (40, 36, 3)).astype(np.uint8)
    res = predict(model, img, "YXC", PredictConfig(device="cpu"))
    assert res.shape == img.shape and res.dtype == np.float32


@pytest.mark.parametrize(
    ("axes", "shape", "match", "channels", "three_d"),
    [
        ("YX", (32, 32), "3D model", 1, True),
        ("YXC", (32, 32, 2), "channel", 3, False),
        ("YX", (32, 32, 3), "name 2 dimension", 1, False),
    ],
)
def test_mismatch_errors(axes, shape, match, channels, three_d):
    model = _model("ZYX" if three_d else "YX", channels=channels)
    with pytest.raises(N2VError, match=match):
        predict(model, np.zeros(shape, np.float32), axes)


def test_nan_and_bad_dtypes_refused():
    model = _model()
    img = np.ones((32, 32), np.float32)
    img[3, 3] = np.nan
    with pytest.raises(N2VError, match="NaN"):
        predict(model, img, "YX")
    with pytest.raises(N2VError, match="boolean"):
        predict(model, np.zeros((32, 32), bool), "YX")
    with pytest.raises(N2VError, match="complex"):
        predict(model, np.zeros((32, 32), complex), "YX")


def test_tta_runs_and_stays_close(rng):
    model = _model()
    img = rng.normal(10, 3, (48, 40)).astype(np.float32)
    plain = predict(model, img, "YX", PredictConfig(device="cpu", precision="fp32"))
    tta = predict(model, img, "YX", PredictConfig(device="cpu", precision="fp32", tta=True))
    assert tta.shape == plain.shape
    assert np.abs(tta - plain).mean() < np.abs(plain - plain.mean()).mean()


def test_default_tiles_are_few_and_even():
    from napari_n2v.core.predict.tiling import balanced_tile, tile_grid

    assert balanced_tile((1024, 1024), (1024, 1024), (32, 32), 4) == (1024, 1024)
    t = balanced_tile((2048, 600), (1024, 1024), (32, 32), 4)
    assert t[1] == 600 and t[0] <= 1024
    assert len(list(tile_grid((2048, 600), t, (32, 32)))) == 3  # not 4 overlapping 1024s or 5 512s
    t3 = balanced_tile((40, 300, 300), (32, 256, 256), (32, 32, 32), 4)
    assert all(a <= b for a, b in zip(t3, (max(32, 2 * 32 + 4), 256, 256), strict=True))


def test_tiny_tiles_warn_and_one_number_means_every_axis():
    model = _model()
    img = np.random.default_rng(0).normal(10, 3, (200, 200)).astype(np.float32)
    with pytest.warns(UserWarning, match="compute each pixel"):
        tiny = predict(model, img, "YX", PredictConfig(tile_shape=(40, 40), device="cpu"))
    one = predict(model, img, "YX", PredictConfig(tile_shape=96, device="cpu"))
    both = predict(model, img, "YX", PredictConfig(tile_shape=(96, 96), device="cpu"))
    np.testing.assert_array_equal(one, both)
    np.testing.assert_allclose(tiny, both, atol=1e-4)
