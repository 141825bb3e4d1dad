"""`napari-n2v export`, and zoo packages wherever a model file is accepted (issue 11)."""

import numpy as np
import pytest
import tifffile

from napari_n2v.cli.main import main

from .conftest import FAST


def test_export_predict_and_fine_tune_from_the_package(trained, tmp_path, capsys):
    image, model = trained
    pkg = tmp_path / "n2v.zip"
    argv = ["export", str(model), str(pkg), "--name", "blobs denoiser", "--authors", "Ada L; B C"]
    assert main([*argv, "--sample", str(image)]) == 0
    assert pkg.exists() and "validated" in capsys.readouterr().out
    a, b = tmp_path / "a.tif", tmp_path / "b.tif"
    assert main(["predict", str(model), str(image), "--out", str(a), "--device", "cpu"]) == 0
    assert main(["predict", str(pkg), str(image), "--out", str(b), "--device", "cpu"]) == 0
    np.testing.assert_array_equal(tifffile.imread(a), tifffile.imread(b))
    tuned = tmp_path / "tuned.n2v.safetensors"
    assert main(["train", str(image), "--continue-from", str(pkg), "--out", str(tuned), *FAST]) == 0


def test_export_errors_are_one_line(trained, tmp_path, capsys):
    image, model = trained
    pkg = tmp_path / "n2v.zip"
    pkg.write_bytes(b"keep")
    argv = ["export", str(model), str(pkg), "--name", "blobs denoiser", "--authors", "Ada L"]
    assert main([*argv, "--sample", str(image)]) == 2
    err = capsys.readouterr().err.strip()
    assert pkg.read_bytes() == b"keep" and "\n" not in err and "exists" in err
    with pytest.raises(SystemExit):
        main(["export", str(model), str(pkg), "--name", "x"])  # no --authors, no --sample
    assert "required" in capsys.readouterr().err
