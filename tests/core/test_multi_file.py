"""Many files: expanding inputs, lazy TIFFs, streamed statistics, training across files."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import tifffile
import zarr

from napari_n2v.core.config import TrainConfig
from napari_n2v.core.errors import N2VError
from napari_n2v.core.io import tiff_map
from napari_n2v.core.io.file_list import expand_inputs, output_name
from napari_n2v.core.io.image_io import read_image, write_image
from napari_n2v.core.progress import drain
from napari_n2v.core.train.sources import CanonicalView, stream_stats
from napari_n2v.core.train.trainer import Trainer

from ..conftest import blobs, psnr


def test_expand_inputs_files_folders_globs(tmp_path):
    for name in ("b.tif", "a.TIFF", "c.txt", ".hidden.tif"):
        (tmp_path / name).write_bytes(b"")
    write_image(tmp_path / "z.zarr", np.zeros((4, 4), np.float32), "YX")
    got = expand_inputs([tmp_path])
    assert [p.name for p in got] == ["a.TIFF", "b.tif", "z.zarr"]  # sorted; the zarr is one image
    assert [p.name for p in expand_inputs([tmp_path / "*.tif", tmp_path / "b.tif"])] == ["b.tif"]
    assert expand_inputs([tmp_path / "z.zarr"]) == [tmp_path / "z.zarr"]
    with pytest.raises(N2VError, match="matches no image"):
        expand_inputs([tmp_path / "*.png"])
    with pytest.raises(N2VError, match="no such file"):
        expand_inputs([tmp_path / "nope.tif"])


@pytest.mark.parametrize(
    ("name", "want"),
    [("a.tif", "a_n2v.tif"), ("a.ome.tiff", "a_n2v.ome.tiff"), ("b.zarr", "b_n2v.zarr")],
)
def test_output_names(tmp_path, name, want):
    assert output_name(tmp_path / name) == want


def test_lazy_tiff_memmap_and_zarr_view(tmp_path, monkeypatch):
    a = np.arange(6 * 40 * 30, dtype=np.uint16).reshape(6, 40, 30)
    tifffile.imwrite(tmp_path / "u.tif", a, metadata={"axes": "ZYX"})
    tifffile.imwrite(tmp_path / "c.tif", a, compression="zlib", metadata={"axes": "ZYX"})
    u = read_image(tmp_path / "u.tif", lazy=True)
    c = read_image(tmp_path / "c.tif", lazy=True)
    assert isinstance(u.data, tiff_map.MappedTiff) and u.axes == "ZYX"
    assert isinstance(c.data, zarr.Array)  # compressed: read page by page, not mapped
    np.testing.assert_array_equal(u.data[2:4, 5:9, 1:3], a[2:4, 5:9, 1:3])
    np.testing.assert_array_equal(c.data[2:4, 5:9, 1:3], a[2:4, 5:9, 1:3])
    # the map is re-opened after REMAP_BYTES read, so touched pages leave the RSS
    monkeypatch.setattr(tiff_map, "REMAP_BYTES", 1000)
    first = u.data._open()
    u.data[0]
    assert u.data._open() is not first
    back = pickle.loads(pickle.dumps(u.data))
    np.testing.assert_array_equal(back[5], a[5])


def test_streamed_stats_match_numpy(monkeypatch):
    rng = np.random.default_rng(0)
    imgs = [rng.normal(100, 10, (3, 2, 20, 24)).astype(np.float32) for _ in range(3)]
    views = [CanonicalView(x, "TCYX") for x in imgs]
    mean, std = stream_stats(views)
    allpx = np.concatenate([x.transpose(1, 0, 2, 3).reshape(2, -1) for x in imgs], axis=1)
    np.testing.assert_allclose(mean, allpx.mean(1), rtol=1e-5)
    np.testing.assert_allclose(std, allpx.std(1), rtol=1e-4)
    # a budget smaller than the data: an even subsample, still close
    monkeypatch.setattr("napari_n2v.core.train.sources.SLAB_BYTES", 2000)
    mean2, std2 = stream_stats(views, max_pixels=500)
    np.testing.assert_allclose(mean2, mean, rtol=0.02)
    np.testing.assert_allclose(std2, std, rtol=0.1)


def _noisy_set(tmp_path, k=3):
    rng = np.random.default_rng(0)
    cleans, paths = [], []
    for i in range(k):
        clean = np.stack([blobs((48 + 8 * i, 56), seed=10 * i + j) for j in range(2)])
        tifffile.imwrite(
            tmp_path / f"f{i}.tif",
            (clean + rng.normal(0, 0.2, clean.shape)).astype(np.float32),
            metadata={"axes": "TYX"},
        )
        cleans.append(clean)
        paths.append(tmp_path / f"f{i}.tif")
    return cleans, paths


def test_training_across_files_left_on_disk_denoises(tmp_path):
    cleans, paths = _noisy_set(tmp_path)
    images = [read_image(p, lazy=True).data for p in paths]
    images[2] = zarr.array(np.asarray(images[2]))  # mixed kinds: memmap, memmap, zarr
    cfg = TrainConfig(axes="TYX", steps=50, batch_size=8, patch_size=(32, 32), seed=0, n_filters=32)
    cfg = cfg.replace(device="cpu", val_patches=16)
    trainer = Trainer(images, cfg, image_names=[p.name for p in paths])
    parts = trainer.data.sources.train + trainer.data.sources.val
    assert all(not isinstance(v.array, np.ndarray) for v, _ in parts)  # nothing loaded
    assert not any("held-out image" in m for m in trainer.data.messages)  # 3 files: regions
    events = []
    model = drain(trainer.run(), events.append)
    assert model.history[-1]["val_loss"] < model.history[0]["val_loss"] * 1.05
    noisy = tifffile.imread(paths[1])
    assert psnr(model.predict(noisy, "TYX"), cleans[1]) > psnr(noisy, cleans[1]) + 3


def test_held_out_files_and_bad_files(tmp_path):
    rng = np.random.default_rng(1)
    imgs = [rng.random((32, 40)).astype(np.float32) for _ in range(10)]
    cfg = TrainConfig(axes="YX", steps=1, batch_size=2, patch_size=(16, 16), device="cpu")
    t = Trainer(imgs, cfg)
    assert "validation on 1 held-out image(s) of 10." in t.data.messages
    assert len(t.data.sources.val) == 1 and t.data.sources.val[0][0].array is imgs[-1]
    imgs[4] = imgs[4].copy()
    imgs[4][3:30, 3:30] = np.nan
    with pytest.raises(N2VError, match=r"bad\.tif contains NaN"):
        names = [f"{i}.tif" for i in range(10)]
        names[4] = "bad.tif"
        drain(Trainer(imgs, cfg.replace(steps=20), image_names=names).run())
    with pytest.raises(N2VError, match="different numbers of channels"):
        Trainer([np.zeros((2, 32, 32)), np.zeros((3, 32, 32))], cfg.replace(axes="CYX"))


@pytest.mark.parametrize("many", [False, True])
def test_masked_pixel_limit_holds_for_one_image_and_for_many(many):
    """The patch shrinks to the smallest image, and the masked-pixel limit follows it on both paths
    (it used to be checked for one image only)."""
    from napari_n2v.core.train.prepare import prepare_data

    cfg = TrainConfig(axes="YX", patch_size=(64, 64), masked_pixels=300)  # 300 <= 64*64/4
    small = blobs((32, 32))  # the patch shrinks to 32x32: at most 256 masked pixels
    images = [blobs((64, 64)), small] if many else small
    with pytest.raises(N2VError, match=r"too many .* use at most 256"):
        prepare_data(images, cfg)
    ok = prepare_data(images, cfg.replace(masked_pixels=256))
    assert ok.patch == (32, 32) and ok.n_masked == 256
