"""Sample data: the Qt-free loader and napari's File > Open Sample entries."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from napari_n2v._sample_data import load_sample, noisy_nuclei_2d, noisy_nuclei_3d
from napari_n2v.core.errors import N2VError


@pytest.mark.parametrize(("kind", "shape"), [("2d", (256, 256)), ("3d", (32, 256, 256))])
def test_load_sample(kind: str, shape: tuple[int, ...]) -> None:
    noisy, clean = load_sample(kind, seed=0)
    assert noisy.shape == clean.shape == shape
    assert noisy.dtype == clean.dtype == np.float32
    lo, hi = np.percentile(clean, (1, 99))
    noise = float(np.std(noisy - clean))
    assert 0.1 * (hi - lo) < noise < 0.4 * (hi - lo)  # realistic, not overwhelming
    again, _ = load_sample(kind, seed=0)
    np.testing.assert_array_equal(noisy, again)
    other, _ = load_sample(kind, seed=1)
    assert not np.array_equal(noisy, other)


def test_load_sample_bad_kind() -> None:
    with pytest.raises(N2VError, match="2d"):
        load_sample("4d")


def test_load_sample_does_not_import_napari() -> None:
    code = (
        "import sys; from napari_n2v._sample_data import load_sample; load_sample('2d'); "
        "bad = [m for m in ('napari', 'qtpy', 'PyQt6') if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_layer_data_lists() -> None:
    for fn, ndim in ((noisy_nuclei_2d, 2), (noisy_nuclei_3d, 3)):
        layers = fn()
        assert [t for _, _, t in layers] == ["image", "image"]
        names = [kw["name"] for _, kw, _ in layers]
        assert any("noisy" in n for n in names) and any("clean" in n for n in names)
        assert all(d.ndim == ndim and d.dtype == np.float32 for d, _, _ in layers)


@pytest.mark.parametrize(("key", "ndim"), [("nuclei_2d", 2), ("nuclei_3d", 3)])
def test_open_sample_in_napari(make_napari_viewer, key: str, ndim: int) -> None:
    viewer = make_napari_viewer()
    viewer.open_sample("napari-n2v", key)
    names = [ly.name for ly in viewer.layers]
    assert len(names) == 2
    assert any("noisy" in n for n in names) and any("clean" in n for n in names)
    assert all(ly.data.ndim == ndim for ly in viewer.layers)
