"""The blind spot: given, structN2V's line, or chosen from the noise (auto); recorded in the model; every
shape (and N2V2) trains in 2D and 3D."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_n2v.core.config import TrainConfig
from napari_n2v.core.errors import N2VError
from napari_n2v.core.model.model_io import load_model
from napari_n2v.core.plan.train_plan import plan_training
from napari_n2v.core.progress import drain
from napari_n2v.core.train.trainer import Trainer

from ..conftest import blobs


def _noisy(shape, correlated, seed=0):
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, shape)
    if correlated == "box":  # camera-like: neighbours share noise (lag-1 ~0.6)
        noise = ndi.uniform_filter(noise, 2, mode="wrap") * 2
    elif correlated == "x":  # along X only (line scanning)
        noise = ndi.convolve1d(noise, [0.5, 1.0, 0.5], axis=-1, mode="wrap")
    return (blobs(shape, seed=seed) * 10 + noise).astype(np.float32)


@pytest.mark.parametrize(
    ("spec", "n", "want"),
    [
        ("pixel", 2, "pixel"),
        ("3X3", 2, "3x3"),
        ("1x5", 2, "1x5"),
        ("3x3", 3, "1x3x3"),
        ("auto", 3, "auto"),
    ],
)
def test_config_normalises_the_spec(spec, n, want):
    axes = "ZYX" if n == 3 else "YX"
    assert TrainConfig(axes=axes, blind_spot=spec).blind_spot == want


@pytest.mark.parametrize(
    ("spec", "match"), [("3x3x3", "2D"), ("4x4", "odd|not understood"), ("big", "not understood")]
)
def test_bad_specs_say_what_to_change(spec, match):
    with pytest.raises(N2VError, match=match):
        TrainConfig(axes="YX", blind_spot=spec)


def test_auto_keeps_one_pixel_for_white_noise_and_takes_a_box_for_camera_noise():
    white = plan_training(_noisy((256, 256), None), TrainConfig(axes="YX", device="cpu"))
    assert white.blind_spot.spec == "pixel" and white.config.blind_spot == "pixel"
    assert "white" in white.blind_spot.why
    box = plan_training(_noisy((256, 256), "box"), TrainConfig(axes="YX", device="cpu"))
    assert box.blind_spot.spec in ("3x3", "5x5") and "correlated" in box.blind_spot.why
    line = plan_training(_noisy((256, 256), "x"), TrainConfig(axes="YX", device="cpu"))
    assert line.blind_spot.extent[0] == 1 and line.blind_spot.extent[1] in (3, 5)
    assert "blind spot " + box.blind_spot.spec in box.start_line()


def test_given_struct_and_too_large_blind_spots():
    img = _noisy((64, 64), "box")
    given = plan_training(img, TrainConfig(axes="YX", device="cpu", blind_spot="pixel"))
    assert given.blind_spot.spec == "pixel"  # the user's choice wins over the analysis
    struct = plan_training(img, TrainConfig(axes="YX", device="cpu", struct_axis="X"))
    assert struct.blind_spot.spec == "1x5" and struct.blind_spot.half == (0, 2)
    with pytest.raises(N2VError, match=r"does not fit the .* patch"):
        plan_training(img, TrainConfig(axes="YX", device="cpu", blind_spot="9x9", patch_size=8))


@pytest.mark.parametrize(
    ("spec", "n2v2"), [("pixel", True), ("3x3x3", False), ("3x3x3", True), ("1x1x5", False)]
)
def test_every_blind_spot_and_n2v2_train_in_3d(tmp_path, spec, n2v2):
    img = _noisy((16, 48, 48), "box")
    cfg = TrainConfig(
        axes="ZYX", blind_spot=spec, n2v2=n2v2, patch_size=(8, 16, 16), batch_size=2, steps=3,
        val_patches=2, steps_per_epoch=3, n_filters=4, device="cpu", precision="fp32", seed=0,
    )  # fmt: skip
    model = drain(Trainer(img, cfg).run())
    assert model.config.blind_spot == spec and np.isfinite(model.history[-1]["val_loss"])
    again = load_model(model.save(tmp_path / "m.n2v.safetensors"))
    assert again.config.blind_spot == spec  # recorded in the model file
    cont = Trainer(img, cfg.replace(blind_spot="auto"), model=again)
    assert cont.plan.blind_spot.spec == spec  # Continue keeps it
