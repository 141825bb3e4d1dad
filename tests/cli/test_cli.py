import subprocess
import sys

import numpy as np
import pytest
import tifffile

from napari_n2v.cli.main import main

from ..conftest import blobs

FAST = ["--steps", "3", "--patch", "16,16", "--batch", "2", "--seed", "0"]


@pytest.fixture
def image_tif(tmp_path):
    path = tmp_path / "img.tif"
    img = (blobs((3, 40, 36)) * 1000 + np.random.default_rng(0).normal(0, 50, (3, 40, 36))).astype(
        np.uint16
    )
    tifffile.imwrite(path, img, metadata={"axes": "TYX"})
    return path


def test_train_then_predict(image_tif, tmp_path, capsys):
    model = tmp_path / "m.n2v.safetensors"
    assert main(["train", str(image_tif), "--out", str(model), *FAST]) == 0  # axes from the TIFF
    assert model.exists()
    out = tmp_path / "den.tif"
    assert main(["predict", str(model), str(image_tif), "--out", str(out), "--tile", "32,32"]) == 0
    with tifffile.TiffFile(out) as tif:
        res = tif.series[0].asarray()
        assert tif.series[0].axes[-2:] == "YX"
    assert res.shape == (3, 40, 36) and res.dtype == np.float32
    # zarr output streams tile by tile and holds the same values
    zout = tmp_path / "den.zarr"
    assert main(["predict", str(model), str(image_tif), "--out", str(zout), "--tile", "32,32"]) == 0
    import zarr

    np.testing.assert_allclose(zarr.open_array(str(zout), mode="r")[:], res, atol=1e-5)


def test_never_overwrites_without_flag(image_tif, tmp_path, capsys):
    model = tmp_path / "m.n2v.safetensors"
    model.write_bytes(b"keep me")
    assert main(["train", str(image_tif), "--out", str(model), *FAST]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--overwrite" in err and "Traceback" not in err
    assert model.read_bytes() == b"keep me"
    assert main(["train", str(image_tif), "--out", str(model), "--overwrite", *FAST]) == 0


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--axes", "ZYXQ"], "unknown letter"),
        (["--axes", "YX"], "name 2 dimension"),
        (["--patch", "30,30"], "multiple of 4"),
        (["--patch", "64,64", "--masked-pixels", "5000"], "too many"),
    ],
)
def test_bad_input_one_line_exit_2(image_tif, tmp_path, capsys, args, match):
    rc = main(
        [
            "train",
            str(image_tif),
            "--out",
            str(tmp_path / "m.n2v.safetensors"),
            "--steps",
            "2",
            *args,
        ]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert err.startswith("error:") and match in err and len(err.splitlines()) == 1


def test_bad_model_file_and_missing_image(image_tif, tmp_path, capsys):
    evil = tmp_path / "evil.n2v.safetensors"
    evil.write_bytes(b"\x80\x04\x95garbage")
    assert main(["predict", str(evil), str(image_tif), "--out", str(tmp_path / "o.tif")]) == 2
    assert "pickle" in capsys.readouterr().err
    assert main(["train", str(tmp_path / "nope.tif"), "--out", str(tmp_path / "m")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_console_script_help():
    res = subprocess.run(
        [sys.executable, "-m", "napari_n2v.cli.main", "--help"], capture_output=True, text=True
    )
    assert res.returncode == 0 and "train" in res.stdout and "demo" in res.stdout


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_precision_flag_on_train_and_predict(image_tif, tmp_path, capsys, precision):
    """--precision runs either path on any CPU, and the start line names the instruction set too."""
    from napari_n2v.core.plan.machine import cpu_isa

    model = tmp_path / "m.n2v.safetensors"
    args = ["--device", "cpu", "--precision", precision]
    assert main(["train", str(image_tif), "--out", str(model), *FAST, *args]) == 0
    said = capsys.readouterr()
    said_all = said.out + said.err
    assert f"training on CPU {cpu_isa()}, {precision}, 16 filters" in said_all  # CPU default width
    assert ", batch 2, " in said_all
    out = tmp_path / "den.tif"
    assert main(["predict", str(model), str(image_tif), "--out", str(out), *args]) == 0
    assert tifffile.imread(out).shape == (3, 40, 36)
    with pytest.raises(SystemExit) as err:
        main(["train", str(image_tif), "--out", str(model), "--precision", "fp8"])
    assert err.value.code == 2


def test_baseline_command_tunes_filters_and_writes_the_best(tmp_path, capsys):
    clean = blobs((128, 128)) * 200
    noisy = clean + np.random.default_rng(1).normal(0, 25, clean.shape)
    src = tmp_path / "noisy.tif"
    tifffile.imwrite(src, noisy.astype(np.float32))
    out = tmp_path / "blur.tif"
    assert main(["baseline", str(src), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "a Gaussian blur (sigma =" in said and "a median filter" in said and "<- best" in said
    res = tifffile.imread(out)
    assert res.shape == noisy.shape
    assert np.mean((res - clean) ** 2) < 0.5 * np.mean((noisy - clean) ** 2)  # it denoises
    assert main(["baseline", str(src), "--out", str(out)]) == 2  # exists: one line, status 2
    assert "--overwrite" in capsys.readouterr().err


def _correlated_tif(tmp_path):
    from scipy import ndimage as ndi

    noise = (
        ndi.uniform_filter(np.random.default_rng(2).normal(0, 1, (128, 128)), 2, mode="wrap") * 2
    )
    path = tmp_path / "camera.tif"
    tifffile.imwrite(path, (blobs((128, 128)) * 10 + noise).astype(np.float32))
    return path


def test_inspect_says_white_or_correlated_and_draws_the_picture(image_tif, tmp_path, capsys):
    assert main(["inspect", str(image_tif)]) == 0
    assert "verdict: white" in capsys.readouterr().out
    png = tmp_path / "acf.png"
    assert main(["inspect", str(_correlated_tif(tmp_path)), "--plot", str(png)]) == 0
    said = capsys.readouterr().out
    assert "verdict: correlated" in said and "blind spot: 3x3" in said
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["inspect", str(image_tif), "--plot", str(tmp_path / "acf.jpg")]) == 2


def test_train_with_a_blind_spot_then_predict_with_qc(tmp_path, capsys):
    src = _correlated_tif(tmp_path)
    model = tmp_path / "m.n2v.safetensors"
    assert main(["train", str(src), "--out", str(model), *FAST, "--blind-spot", "3x3"]) == 0
    said = capsys.readouterr()
    assert "blind spot 3x3" in said.out + said.err
    assert "compared with classical filters:" in said.err  # the run is judged when it ends
    out = tmp_path / "den.tif"
    assert main(["predict", str(model), str(src), "--out", str(out), "--qc"]) == 0
    said = capsys.readouterr().out
    assert "Quality check" in said and "residual autocorrelation" in said
    assert "classical baseline" in said or "Too close to call" in said or "train longer" in said
    assert main(["train", str(src), "--out", str(tmp_path / "x.n2v.safetensors"), *FAST,
                 "--blind-spot", "3x3x3"]) == 2  # fmt: skip
    assert "2D" in capsys.readouterr().err
