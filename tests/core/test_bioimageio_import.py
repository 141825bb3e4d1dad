"""BioImage Model Zoo import: CAREamics packages predict like CAREamics, foreign TorchScript runs
only when trusted, and broken or hostile packages are refused with one clear message."""

from __future__ import annotations

import hashlib
import io
import pickle

import numpy as np
import pytest
import torch

from napari_n2v.core.config import TrainConfig
from napari_n2v.core.errors import N2VError
from napari_n2v.core.train.trainer import train
from napari_n2v.core.zoo.api import (
    TorchScriptModel,
    is_zoo_package,
    load_package,
)

from .bioimageio_helpers import DATA, FP32, NET, TINY, exported, member, npy, offline, rewrite

CAREAMICS = ["careamics_n2v_2d", "careamics_n2v2_2d", "careamics_n2v_2ch"]


@pytest.fixture(scope="module")
def ours():
    """(model, image, package) for a tiny 2D model exported by napari-n2v (shared, read-only)."""
    model, img, _, path = exported("2d")
    return model, img, path


@pytest.mark.parametrize("name", CAREAMICS)
def test_careamics_package_predicts_like_careamics(name):
    path = DATA / f"{name}.zip"
    assert is_zoo_package(path)
    with offline():
        model = load_package(path, device="cpu")
    x, expected = npy(path, "inputs.npy"), npy(path, "outputs.npy")  # CAREamics's own (S, C, Y, X)
    got = model.predict(x, "SCYX", FP32)
    scale = np.abs(expected).max()
    assert np.abs(got - expected).max() < 1e-6 * scale + 1e-4
    assert model.config.n2v2 == ("n2v2" in name)
    assert model.n_channels == (2 if "2ch" in name else 1)


def test_careamics_model_fine_tunes():
    model = load_package(DATA / "careamics_n2v2_2d.zip", device="cpu")
    img = npy(DATA / "careamics_n2v2_2d.zip", "inputs.npy")[0, 0]
    cfg = TrainConfig(axes="YX", patch_size=(16, 16), **TINY)
    tuned = train(img, cfg, model=model)
    assert tuned.config.n2v2 and tuned.config.n_filters == model.config.n_filters
    assert np.isfinite(tuned.predict(img, "YX", FP32)).all()


def _pickle_payload(marker) -> bytes:
    class Payload:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    return pickle.dumps({"head.weight": Payload()}, protocol=2)


def _weights_key(d: dict) -> dict:
    return d["weights"]["pytorch_state_dict"]


def test_pickle_payload_is_refused_and_never_run(ours, tmp_path):
    marker = tmp_path / "ran"
    for data in (_pickle_payload(marker), _torch_zip_with_object()):
        sha = hashlib.sha256(data).hexdigest()
        bad = rewrite(
            ours[2],
            tmp_path / "pickle.zip",
            edit_rdf=lambda d, sha=sha: _weights_key(d).update(sha256=sha),
            files={"weights.pt": data},
        )
        with pytest.raises(N2VError, match=r"pickle|not a plain state dict"):
            load_package(bad)
    assert not marker.exists()


class _NotATensor:
    pass


def _torch_zip_with_object() -> bytes:
    buf = io.BytesIO()
    torch.save({"head.weight": _NotATensor()}, buf)
    return buf.getvalue()


def test_missing_weights_file_is_named(ours, tmp_path):
    bad = rewrite(ours[2], tmp_path / "missing.zip", files={"weights.pt": None})
    with pytest.raises(N2VError, match=r"weights \(weights.pt\) is missing"):
        load_package(bad)


def test_wrong_sha256_is_refused(ours, tmp_path):
    data = bytearray(member(ours[2], "weights.pt"))
    data[-100] ^= 0xFF
    bad = rewrite(ours[2], tmp_path / "sha.zip", files={"weights.pt": bytes(data)})
    with pytest.raises(N2VError, match="sha256"):
        load_package(bad)


def _foreign(d: dict, *, torchscript: bool) -> None:
    """Make our package look like someone else's: no model JSON, an unknown architecture."""
    d["attachments"] = []
    _weights_key(d)["architecture"] = {
        "callable": "ResNet",
        "import_from": "somelab.nets",
        "kwargs": {"blocks": 4},
    }
    if not torchscript:
        del d["weights"]["torchscript"]


def test_unknown_architecture_says_what_the_package_is(ours, tmp_path):
    bad = rewrite(ours[2], tmp_path / "arch.zip", edit_rdf=lambda d: _foreign(d, torchscript=False))
    with pytest.raises(N2VError, match=r"ResNet from somelab.nets.*never imports"):
        load_package(bad, trust=True)


def test_foreign_torchscript_runs_only_when_trusted(ours, tmp_path):
    model, img, path = ours
    other = rewrite(path, tmp_path / "ts.zip", edit_rdf=lambda d: _foreign(d, torchscript=True))
    with pytest.raises(N2VError, match="trust"):
        load_package(other)
    with offline():
        ts = load_package(other, device="cpu", trust=True)
    assert isinstance(ts, TorchScriptModel) and not ts.trainable
    np.testing.assert_allclose(
        ts.predict(img, "YX", FP32), model.predict(img, "YX", NET), rtol=1e-4, atol=1e-3
    )
    with pytest.raises(N2VError, match="predict"):
        ts.save(tmp_path / "x.n2v.safetensors")


def test_not_a_model_and_not_a_package(ours, tmp_path):
    ds = rewrite(ours[2], tmp_path / "ds.zip", edit_rdf=lambda d: d.update(type="dataset"))
    with pytest.raises(N2VError, match="dataset"):
        load_package(ds)
    other = tmp_path / "plain.zip"
    rewrite(ours[2], other, files={})
    assert is_zoo_package(other)
    assert not is_zoo_package(tmp_path)  # a folder without rdf.yaml
    (tmp_path / "x.n2v.safetensors").write_bytes(b"not a zip")
    assert not is_zoo_package(tmp_path / "x.n2v.safetensors")


def test_a_package_folder_loads_too(ours, tmp_path):
    import zipfile

    model, img, path = ours
    with zipfile.ZipFile(path) as z:
        z.extractall(tmp_path / "pkg")
    assert is_zoo_package(tmp_path / "pkg")
    loaded = load_package(tmp_path / "pkg", device="cpu")
    np.testing.assert_array_equal(loaded.predict(img, "YX", FP32), model.predict(img, "YX", FP32))
