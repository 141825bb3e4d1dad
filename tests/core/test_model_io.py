import pickle

import numpy as np
import pytest

from napari_n2v.core.config import PredictConfig, TrainConfig
from napari_n2v.core.errors import N2VError
from napari_n2v.core.model.model_io import load_model, save_model
from napari_n2v.core.train.trainer import train

from ..conftest import blobs

FAST = dict(
    steps=4,
    batch_size=2,
    patch_size=(16, 16),
    n_filters=8,
    val_patches=2,
    steps_per_epoch=2,
    seed=0,
)


@pytest.fixture(scope="module")
def model():
    img = blobs((48, 48)) * 100 + np.random.default_rng(0).normal(0, 5, (48, 48))
    return train(img.astype(np.float32), TrainConfig(axes="YX", **FAST), name="blobs")


def test_round_trip_gives_identical_predictions(model, tmp_path):
    img = blobs((40, 44), seed=3) * 100
    path = save_model(model, tmp_path / "m.n2v.safetensors")
    loaded = load_model(path, device="cpu")
    cfg = PredictConfig(device="cpu", precision="fp32")
    np.testing.assert_array_equal(model.predict(img, "YX", cfg), loaded.predict(img, "YX", cfg))
    assert loaded.config == model.config
    assert loaded.name == "blobs" and loaded.steps_trained == model.steps_trained
    np.testing.assert_array_equal(loaded.mean, model.mean)
    assert loaded.history == model.history


def test_never_overwrites_without_permission(model, tmp_path):
    path = tmp_path / "m.n2v.safetensors"
    path.write_bytes(b"precious")
    with pytest.raises(N2VError, match="already exists"):
        model.save(path)
    assert path.read_bytes() == b"precious"
    model.save(path, overwrite=True)
    assert load_model(path).n_channels == 1


class _Payload:
    def __reduce__(self):
        import os

        return (os.system, (f"touch {_Payload.marker}",))


@pytest.mark.parametrize("protocol", [2, 4])
def test_pickle_payload_is_refused_and_not_run(tmp_path, protocol):
    marker = tmp_path / "pwned"
    _Payload.marker = marker
    path = tmp_path / "evil.n2v.safetensors"
    path.write_bytes(pickle.dumps({"state": _Payload()}, protocol=protocol))
    with pytest.raises(N2VError, match="pickle"):
        load_model(path)
    assert not marker.exists()


def test_torch_save_file_is_refused(tmp_path, model):
    import torch

    path = tmp_path / "model.pt"
    torch.save(model.network.state_dict(), path)
    with pytest.raises(N2VError, match="zip"):
        load_model(path)


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00\x01garbage" * 10, np.random.default_rng(0).bytes(4096), b"\xff" * 8 + b"{}"],
)
def test_corrupt_files_give_clear_errors(tmp_path, content):
    path = tmp_path / "bad.n2v.safetensors"
    path.write_bytes(content)
    with pytest.raises(N2VError):
        load_model(path)


def test_truncated_file(model, tmp_path):
    path = save_model(model, tmp_path / "m.n2v.safetensors")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(N2VError, match="corrupt or truncated"):
        load_model(path)


def test_future_and_foreign_files(model, tmp_path):
    import torch
    from safetensors.torch import save_file

    t = {"w": torch.zeros(2)}
    save_file(t, tmp_path / "foreign.safetensors", metadata={"format": "other"})
    with pytest.raises(N2VError, match="not a napari-n2v model"):
        load_model(tmp_path / "foreign.safetensors")
    save_file(
        t,
        tmp_path / "future.safetensors",
        metadata={"format": "napari-n2v", "format_version": "99"},
    )
    with pytest.raises(N2VError, match="newer napari-n2v"):
        load_model(tmp_path / "future.safetensors")
    with pytest.raises(N2VError, match="no model file"):
        load_model(tmp_path / "missing.n2v.safetensors")


def test_every_saved_model_loads_whatever_its_name(model, tmp_path):
    """The header length is the first 8 bytes: a first byte of 0x80 must not read as a pickle."""
    firsts = set()
    for i in range(256):  # the header grows by 1 per character: every low byte comes up
        path = save_model(
            model.__class__(**{**model.__dict__, "name": "n" * i}), tmp_path / f"{i}.st"
        )
        firsts.add(path.read_bytes()[0])
        assert load_model(path).name == "n" * i
    assert 0x80 in firsts  # the case that used to be refused was exercised


def test_model_files_follow_the_umask(model, tmp_path):
    import os

    old = os.umask(0o022)
    try:
        path = save_model(model, tmp_path / "shared.n2v.safetensors")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def _edited(model, tmp_path, **meta_changes):
    import json

    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    path = save_model(model, tmp_path / "orig.n2v.safetensors")
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    meta.update(
        {k: json.dumps(v) if not isinstance(v, str) else v for k, v in meta_changes.items()}
    )
    out = tmp_path / "edited.n2v.safetensors"
    save_file(load_file(str(path)), str(out), metadata=meta)
    return out


def test_weights_that_disagree_with_the_settings_give_one_line(model, tmp_path):
    cfg = {**model.config.to_dict(), "n_filters": 16}
    path = _edited(model, tmp_path, config=cfg)
    with pytest.raises(N2VError) as info:
        load_model(path)
    msg = str(info.value)
    assert "\n" not in msg and "do not fit" in msg and "of another shape" in msg


def test_zero_std_is_refused_at_load(model, tmp_path):
    path = _edited(model, tmp_path, std=[0.0])
    with pytest.raises(N2VError, match="std"):
        load_model(path)


def test_model_prints_as_one_line(model):
    text = repr(model)
    assert "\n" not in text and "N2V" in text and len(text) < 200
