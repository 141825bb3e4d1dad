import numpy as np
import pytest

from napari_n2v.core.axes import to_canonical, validate_axes
from napari_n2v.core.config import DEFAULT_MASKED_FRACTION, PredictConfig, TrainConfig
from napari_n2v.core.errors import N2VError


@pytest.mark.parametrize(
    ("axes", "shape", "match"),
    [
        ("YQ", None, "unknown letter"),
        ("YYX", None, "repeat"),
        ("ZY", None, "both Y and X"),
        ("ZYX", (4, 5), "name 3 dimension"),
        ("", None, "non-empty"),
    ],
)
def test_bad_axes(axes, shape, match):
    with pytest.raises(N2VError, match=match):
        validate_axes(axes, shape)


@pytest.mark.parametrize(
    ("axes", "shape", "canon"),
    [
        ("YX", (5, 6), (1, 1, 5, 6)),
        ("ZYX", (3, 5, 6), (1, 1, 3, 5, 6)),
        ("TYX", (4, 5, 6), (4, 1, 5, 6)),
        ("YXC", (5, 6, 3), (1, 3, 5, 6)),
        ("TCZYX", (2, 3, 4, 5, 6), (2, 3, 4, 5, 6)),
        ("STYX", (2, 3, 5, 6), (6, 1, 5, 6)),
        ("XYS", (6, 5, 2), (2, 1, 5, 6)),
    ],
)
def test_canonical_round_trip(axes, shape, canon):
    data = np.arange(np.prod(shape)).reshape(shape)
    c = to_canonical(data, axes)
    assert c.shape == canon
    # undo it (S,T folded into S, then each letter back to its place): the original comes back
    present = [a for a in "STCZYX" if a in axes]
    dims = dict(zip(axes, shape, strict=True))
    back = c.reshape([dims[a] for a in present]).transpose([present.index(a) for a in axes])
    np.testing.assert_array_equal(back, data)


def test_canonical_keeps_pixels_in_place():
    data = np.arange(2 * 5 * 6).reshape(5, 6, 2)  # YXC
    c = to_canonical(data, "YXC")
    assert c[0, 1, 3, 4] == data[3, 4, 1]


def test_config_defaults_and_json_round_trip():
    cfg = TrainConfig(axes="zyx", struct_axis="x")
    assert cfg.axes == "ZYX" and cfg.is_3d and cfg.struct_axis == "X"
    assert cfg.resolved_patch_size == (16, 64, 64)
    assert cfg.resolved_masked_pixels() == round(16 * 64 * 64 * DEFAULT_MASKED_FRACTION)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert TrainConfig(axes="YX").resolved_masked_pixels() == 41
    assert TrainConfig(n2v2=True).resolved_strategy == "median"


def test_one_number_is_a_square_or_a_cube():
    assert TrainConfig(axes="YX", patch_size=64).patch_size == (64, 64)
    assert TrainConfig(axes="YX", patch_size=(32,)).patch_size == (32, 32)
    assert TrainConfig(axes="ZYX", patch_size=32).patch_size == (32, 32, 32)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"patch_size": (30, 64)}, "multiple of 4"),
        ({"patch_size": (16, 64, 64)}, "need 2"),
        ({"masked_pixels": 2000}, "too many"),
        ({"masked_pixels": 0}, "at least 1"),
        ({"steps": 0}, "steps"),
        ({"learning_rate": -1}, "learning_rate"),
        ({"strategy": "mean"}, "strategy"),
        ({"struct_axis": "Z"}, "struct_axis"),
        ({"kernel_size": 4}, "odd"),
        ({"val_fraction": 0.9}, "val_fraction"),
    ],
)
def test_config_errors_say_what_to_change(kwargs, match):
    with pytest.raises(N2VError, match=match):
        TrainConfig(**kwargs)


def test_unknown_config_field():
    with pytest.raises(N2VError, match="unknown"):
        TrainConfig.from_dict({"axes": "YX", "bogus": 1})


def test_predict_config_errors():
    with pytest.raises(N2VError):
        PredictConfig(tile_shape=(0, 10))
    with pytest.raises(N2VError):
        PredictConfig(overlap=(-1, 2))
