"""Export without finding an image again (issue 22): the model file keeps a crop of its training data; an
older file exports with a synthetic sample; any name becomes a valid zoo name."""

import re

import numpy as np
import pytest

from napari_n2v.core.config import TrainConfig
from napari_n2v.core.errors import N2VError
from napari_n2v.core.model.model_io import load_model
from napari_n2v.core.model.n2v_model import compact, training_sample
from napari_n2v.core.train.trainer import train
from napari_n2v.core.zoo.api import export_bioimageio, load_package
from napari_n2v.core.zoo.rdf import zoo_name
from napari_n2v.core.zoo.sample import SYNTHETIC_NOTE

from ..conftest import TINY, blobs
from .bioimageio_helpers import member, npy, offline, rdf


@pytest.fixture(scope="module")
def trained():
    """A 2D model trained on a uint16 time series (T, Y, X) and that series."""
    rng = np.random.default_rng(0)
    img = blobs((3, 300, 280)) * 2000 + rng.normal(500, 40, (3, 300, 280))
    img = np.clip(img, 0, 65535).astype(np.uint16)
    return train(img, TrainConfig(axes="TYX", patch_size=(16, 16), **TINY), name="kept"), img


def test_the_model_file_keeps_a_small_crop_of_its_training_data(trained, tmp_path):
    model, img = trained
    assert model.sample_axes == "CYX" and model.sample.shape == (1, 256, 256)
    np.testing.assert_array_equal(model.sample[0], img[1, 22:278, 12:268])  # middle frame, centre
    assert model.sample.dtype == np.int16  # uint16 values below 32768: kept exactly, in 2 bytes
    path = model.save(tmp_path / "m.n2v.safetensors")
    back = load_model(path)
    np.testing.assert_array_equal(back.sample, model.sample)
    assert back.sample_axes == "CYX"
    assert path.stat().st_size < 2_000_000


def test_compact_and_3d_crop():
    assert compact(np.array([0, 255], np.int64)).dtype == np.uint8
    assert compact(np.array([-3, 3000], np.int64)).dtype == np.int16
    smooth = np.linspace(0, 1000, 64, dtype=np.float32)
    assert compact(smooth).dtype == np.float16
    assert compact(np.array([0, 1e6], np.float32)).dtype == np.float32  # beyond float16
    tiny_range = 1e4 + np.linspace(0, 1e-3, 8, dtype=np.float32)  # float16 would erase it
    assert compact(tiny_range).dtype == np.float32
    stack = np.zeros((2, 1, 40, 300, 100), np.float32)  # (S, C, Z, Y, X)
    assert training_sample(stack, 3).shape == (1, 16, 128, 100)


def test_export_without_a_sample_uses_the_kept_crop(trained, tmp_path):
    model = trained[0]
    with offline():
        path = export_bioimageio(
            model, tmp_path / "a.zip", name="Confocal_FISH_1 (2D, 28 steps)", description="",
            authors="A B",
        )  # fmt: skip
        again = load_package(path, device="cpu")
    test_in = npy(path, "test_input.npy")
    assert test_in.shape == (1, 1, 256, 256)
    np.testing.assert_array_equal(test_in[0], model.sample.astype(np.float32))
    assert rdf(path)["name"] == "Confocal_FISH_1 (2D 28 steps)"
    assert "crop of the training data" in member(path, "README.md").decode()
    # a model opened from its package exports again without a sample: its test input is kept
    span = float(np.ptp(model.sample))
    np.testing.assert_allclose(again.sample, model.sample, atol=1e-3 * span, rtol=0)  # float16
    with offline():
        export_bioimageio(again, tmp_path / "b.zip", name="again", description="", authors="A B")


def test_an_older_model_file_exports_with_a_synthetic_sample_and_says_so(trained, tmp_path):
    model = trained[0]
    older = model.__class__(**{**model.__dict__, "sample": None, "sample_axes": ""})
    path = older.save(tmp_path / "old.n2v.safetensors")
    loaded = load_model(path)
    assert loaded.sample is None
    with offline():
        pkg = export_bioimageio(
            loaded, tmp_path / "o.zip", name="older", description="", authors="A"
        )
    readme = member(pkg, "README.md").decode()
    assert SYNTHETIC_NOTE in readme and "synthetic" in readme
    test_in = npy(pkg, "test_input.npy")
    assert test_in.shape[:2] == (1, 1) and abs(test_in.mean() - model.mean[0]) < model.std[0]


@pytest.mark.parametrize(
    ("typed", "valid"),
    [
        ("Confocal_FISH_1 (2D, 28 steps)", "Confocal_FISH_1 (2D 28 steps)"),
        ("Zellkerne: Müller [v2]", "Zellkerne Muller (v2)"),
        ("N2V", "N2V N2V"),
        ("a/b", "a b N2V"),
        ("x" * 200, "x" * 128),
    ],
)
def test_any_typed_name_becomes_a_valid_zoo_name(typed, valid):
    assert zoo_name(typed) == valid
    assert re.fullmatch(r"[A-Za-z0-9_+\- ()]{5,128}", valid)  # bioimageio.spec 0.5's rule
    with pytest.raises(N2VError, match="name"):
        zoo_name(" ,;: ")
