"""Shared by the CLI tests: the fastest training flags and a model trained through the CLI."""

import numpy as np
import pytest
import tifffile

from napari_n2v.cli.main import main

from ..conftest import blobs

#: Training flags that make a run take a second or two.
FAST = ["--steps", "3", "--patch", "16", "--batch", "2", "--seed", "0"]


@pytest.fixture
def trained(tmp_path):
    """A noisy 48×48 TIFF (axes in its metadata) and a model that ``napari-n2v train`` made from it."""
    rng = np.random.default_rng(0)
    img = (blobs((48, 48)) * 1000 + rng.normal(0, 50, (48, 48))).astype(np.float32)
    image = tmp_path / "img.tif"
    tifffile.imwrite(image, img, metadata={"axes": "YX"})
    model = tmp_path / "m.n2v.safetensors"
    assert main(["train", str(image), "--out", str(model), *FAST]) == 0
    return image, model
