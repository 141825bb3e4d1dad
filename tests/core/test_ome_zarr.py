"""Reading OME-Zarr images (NGFF 0.4 in zarr format 2, 0.5 in format 3): axes, pixel size, unit, level 0."""

import numpy as np
import pytest
import zarr

from napari_n2v.core.errors import N2VError
from napari_n2v.core.io.image_io import read_image


def _ome(path, version, data, axes=("z", "y", "x"), scale=(2.0, 0.5, 0.5)):
    fmt = 2 if version == "0.4" else 3
    group = zarr.open_group(str(path), mode="w", zarr_format=fmt)
    group.create_array("0", data=data)
    group.create_array("1", data=data[:, ::2, ::2])  # a second, coarser level
    axes_meta = [
        {"name": a, "type": "space", "unit": "micrometer"} if a in "zyx" else {"name": a, "type": a}
        for a in axes
    ]
    ms = [{
        "axes": axes_meta,
        "datasets": [
            {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": list(scale)}]},
            {"path": "1", "coordinateTransformations": [{"type": "scale", "scale": [scale[0], *(2 * s for s in scale[1:])]}]},
        ],
    }]  # fmt: skip
    if version == "0.4":
        group.attrs["multiscales"] = [{**ms[0], "version": "0.4"}]
    else:
        group.attrs["ome"] = {"version": "0.5", "multiscales": ms}
    return path


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ome_zarr_gives_level_0_with_axes_scale_and_unit(tmp_path, version):
    data = np.arange(4 * 16 * 12, dtype=np.uint16).reshape(4, 16, 12)
    img = read_image(_ome(tmp_path / "img.ome.zarr", version, data))
    assert img.axes == "ZYX"
    assert img.data.shape == (4, 16, 12)  # level 0, not a coarser one
    np.testing.assert_array_equal(np.asarray(img.data[:]), data)
    assert img.scale == {"Z": 2.0, "Y": 0.5, "X": 0.5} and img.unit == "micrometer"


def test_ome_zarr_with_a_channel_axis(tmp_path):
    data = np.zeros((2, 8, 8), np.float32)
    path = _ome(tmp_path / "c.ome.zarr", "0.5", data, axes=("c", "y", "x"), scale=(1.0, 0.3, 0.3))
    img = read_image(path)
    assert img.axes == "CYX" and img.scale == {"Y": 0.3, "X": 0.3}


def test_a_plain_zarr_group_is_refused_with_what_to_give(tmp_path):
    group = zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    group.create_array("a", data=np.zeros((4, 4)))
    with pytest.raises(N2VError, match="not an image: give the path of an array inside it"):
        read_image(tmp_path / "g.zarr")
