"""Files and messages of the first hour (issue 22): PNG/JPEG inputs, ImageJ hyperstacks written back as
such, model suffixes, and the messages that misled."""

import io
import zipfile

import numpy as np
import pytest
import tifffile
import torch

from napari_n2v.core.config import TrainConfig
from napari_n2v.core.errors import N2VError
from napari_n2v.core.io.file_list import expand_inputs, output_name
from napari_n2v.core.io.image_io import read_image, write_image
from napari_n2v.core.model.model_file import model_path
from napari_n2v.core.model.model_io import load_model
from napari_n2v.core.model.n2v_model import N2VModel
from napari_n2v.core.model.unet import build_unet
from napari_n2v.core.zoo.package import Package


def _write(path, data):
    import imageio.v3 as iio

    iio.imwrite(path, data)
    return path


@pytest.mark.parametrize(
    ("shape", "dtype", "suffix", "axes"),
    [
        ((40, 48), np.uint8, ".png", "YX"),
        ((40, 48), np.uint16, ".png", "YX"),
        ((40, 48, 3), np.uint8, ".png", "YXC"),
        ((40, 48, 4), np.uint8, ".png", "YXC"),  # RGBA: alpha dropped
        ((40, 48), np.uint8, ".jpg", "YX"),
        ((40, 48, 3), np.uint8, ".jpeg", "YXC"),
    ],
)
def test_png_and_jpeg_are_read_as_2d_or_rgb(tmp_path, shape, dtype, suffix, axes, rng):
    data = rng.integers(0, np.iinfo(dtype).max, shape).astype(dtype)
    if len(shape) == 3 and shape[2] == 4:
        data[..., 3] = 255
    path = _write(tmp_path / f"a{suffix}", data)
    image = read_image(path)
    assert image.axes == axes and image.axes_from == "file"
    want = shape[:2] + ((3,) if len(shape) == 3 else ())
    assert image.data.shape == want and image.data.dtype == dtype
    if suffix == ".png":
        np.testing.assert_array_equal(image.data, data[..., :3] if len(shape) == 3 else data)


def test_grey_saved_as_rgb_is_grey_and_16_bit_colour_keeps_16_bits(tmp_path, rng):
    grey = rng.integers(0, 255, (32, 40)).astype(np.uint8)
    path = _write(tmp_path / "g.png", np.stack([grey] * 3, axis=-1))
    image = read_image(path)
    assert image.axes == "YX"
    np.testing.assert_array_equal(image.data, grey)
    imagecodecs = pytest.importorskip("imagecodecs")
    rgb16 = rng.integers(0, 65535, (32, 40, 3)).astype(np.uint16)
    (tmp_path / "c.png").write_bytes(imagecodecs.png_encode(rgb16))
    np.testing.assert_array_equal(read_image(tmp_path / "c.png").data, rgb16)


def test_folders_take_pictures_and_their_results_are_tiffs(tmp_path, rng):
    _write(tmp_path / "a.png", rng.integers(0, 255, (16, 16)).astype(np.uint8))
    _write(tmp_path / "b.jpg", rng.integers(0, 255, (16, 16)).astype(np.uint8))
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in expand_inputs([tmp_path])] == ["a.png", "b.jpg"]
    assert output_name(tmp_path / "a.png") == "a_n2v.tif"
    assert output_name(tmp_path / "b.JPEG") == "b_n2v.tif"
    assert output_name(tmp_path / "c.tiff") == "c_n2v.tiff"


def test_imagej_hyperstacks_are_written_back_as_hyperstacks(tmp_path, rng):
    data = rng.normal(0, 1, (2, 3, 2, 16, 20)).astype(np.float32)  # T, Z, C, Y, X
    src = tmp_path / "hyper.tif"
    meta = {"axes": "TZCYX", "spacing": 0.5, "unit": "um"}
    tifffile.imwrite(src, data, imagej=True, metadata=meta, resolution=(10.0, 10.0))
    image = read_image(src)
    assert image.axes == "TZCYX" and image.scale["Z"] == 0.5
    out = write_image(tmp_path / "out.tif", image.data, image.axes, scale=image.scale, unit="um")
    with tifffile.TiffFile(out) as tif:
        assert tif.is_imagej and tif.series[0].axes == "TZCYX"
        assert tif.imagej_metadata["spacing"] == 0.5 and tif.imagej_metadata["unit"] == "um"
    back = read_image(out)
    assert back.scale == pytest.approx({"X": 0.1, "Y": 0.1, "Z": 0.5})
    np.testing.assert_array_equal(back.data, data)
    # axes ImageJ cannot hold (samples, colour last) stay plain TIFFs with their axes
    plain = write_image(tmp_path / "p.tif", data[0, 0], "SYX")
    assert not tifffile.TiffFile(plain).is_imagej and read_image(plain).axes == "SYX"


def test_a_model_file_is_never_written_under_another_formats_suffix(tmp_path):
    assert model_path("m").name == "m.n2v.safetensors"
    assert model_path("a/m.n2v.safetensors").name == "m.n2v.safetensors"
    with pytest.raises(N2VError, match=r"ends in \.n2v\.safetensors.*m\.n2v\.safetensors"):
        model_path("m.pt")
    with pytest.raises(N2VError, match=r"m\.n2v\.safetensors"):
        model_path("m.st")  # strict: the CLI's rule
    assert model_path("m.st", strict=False).name == "m.st"  # the API's: only foreign formats
    cfg = TrainConfig(axes="YX", n_filters=4)
    model = N2VModel(cfg, build_unet(cfg, 1), np.zeros(1, np.float32), np.ones(1, np.float32))
    with pytest.raises(N2VError, match=r"\.pt"):
        model.save(tmp_path / "m.pt")
    assert not (tmp_path / "m.pt").exists()


def test_a_zip_that_is_not_a_zoo_package_is_called_what_it_is(tmp_path):
    plain = tmp_path / "data.zip"
    with zipfile.ZipFile(plain, "w") as z:
        z.writestr("image.tif", b"x")
    with pytest.raises(N2VError) as info:
        load_model(plain)
    msg = str(info.value)
    assert "neither a BioImage Model Zoo package nor a napari-n2v model file" in msg
    assert "torch.save" not in msg and "Zoo package" in msg.split("Give")[1]
    saved = tmp_path / "weights.zip"
    torch.save({"w": torch.zeros(2)}, saved)
    with pytest.raises(N2VError, match=r"torch\.save file.*can run code"):
        load_model(saved)


def test_pickled_zoo_weights_are_refused_in_one_sentence_of_our_own(tmp_path):
    buf = io.BytesIO()
    torch.save({"head.weight": np.zeros(3)}, buf)  # a numpy array: a pickled object, not a tensor
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "rdf.yaml").write_text("type: model\nname: p\n")
    (folder / "w.pt").write_bytes(buf.getvalue())
    with Package(folder) as pkg, pytest.raises(N2VError) as info:
        pkg.load_state_dict({"source": "w.pt"})
    msg = str(info.value)
    assert "weights_only" not in msg and "\n" not in msg and msg.endswith(".")
    assert "Python object" in msg and "could run code" in msg


def test_a_channel_mismatch_does_not_ask_for_the_c_axis_it_has(rng):
    cfg = TrainConfig(axes="YX", n_filters=4)
    model = N2VModel(cfg, build_unet(cfg, 1), np.zeros(1, np.float32), np.ones(1, np.float32))
    rgb = rng.normal(0, 1, (32, 32, 3)).astype(np.float32)
    with pytest.raises(N2VError) as info:
        model.predict(rgb, "YXC")
    assert "as 'C'" not in str(info.value) and "3-channel" in str(info.value)
    five = rng.normal(0, 1, (2, 3, 2, 32, 32)).astype(np.float32)
    with pytest.raises(N2VError) as info:
        model.predict(five, "TZCYX")
    assert "as 'C'" not in str(info.value) and "2-channel" in str(info.value)
    two = N2VModel(cfg, build_unet(cfg, 2), np.zeros(2, np.float32), np.ones(2, np.float32))
    with pytest.raises(N2VError, match="as 'C'"):  # no C axis: naming one is the fix
        two.predict(rgb[..., 0], "YX")
