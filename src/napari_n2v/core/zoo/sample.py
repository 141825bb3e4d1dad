"""A zoo package's test image: the user's sample, else the crop of the training data the model file keeps,
else (an older model file) a synthetic image, with a README note saying which; and, on import, a
package's test input kept as the model's crop, so the model can be exported again without a sample."""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_n2v.core.errors import N2VError
from napari_n2v.core.layout import Layout
from napari_n2v.core.model.n2v_model import N2VModel, training_sample
from napari_n2v.core.zoo.package import Package

#: Largest test tensor (spatial) written into a package: big enough to show the model, small enough
#: to keep the package light and bioimageio.core's test quick.
MAX_SAMPLE_2D = (256, 256)
MAX_SAMPLE_3D = (32, 128, 128)
#: The synthetic stand-in's spatial shape, when a model keeps no crop of its training data.
SYNTHETIC_2D = (128, 128)
SYNTHETIC_3D = (16, 64, 64)

KEPT_NOTE = (
    "The test input is a crop of the training data, kept in the model file when it was saved."
)
SYNTHETIC_NOTE = (
    "**Note:** the test input is a synthetic image (smooth blobs with noise at the training data's "
    "mean and standard deviation), because the model file kept no crop of its training data (it was "
    "saved by an older napari-n2v) and no sample was given. It shows that the package runs, not how "
    "well the model denoises real data: export again with a sample of your data for a telling cover "
    "and test."
)


def choose_sample(model: N2VModel, sample: Any, sample_axes: str | None) -> tuple[np.ndarray, str]:
    """The float32 (C, [Z,] Y, X) test block and the README note on where it comes from."""
    if sample is not None:
        return sample_block(model, sample, sample_axes), ""
    if model.sample is not None:
        return sample_block(model, model.sample, model.sample_axes), KEPT_NOTE
    axes = "C" + ("ZYX" if model.is_3d else "YX")
    return sample_block(model, synthetic_sample(model), axes), SYNTHETIC_NOTE


def synthetic_sample(model: N2VModel, seed: int = 0) -> np.ndarray:
    """Smooth Gaussian blobs plus noise, (C, *spatial), at each channel's training mean and std."""
    rng = np.random.default_rng(seed)
    shape = SYNTHETIC_3D if model.is_3d else SYNTHETIC_2D
    grids = np.meshgrid(*[np.arange(n, dtype=np.float32) for n in shape], indexing="ij")
    blobs = np.zeros(shape, np.float32)
    for _ in range(12):
        centre = [rng.uniform(0, n) for n in shape]
        r2 = rng.uniform(4, min(shape[-2:]) / 6) ** 2
        blobs += np.exp(-sum((g - c) ** 2 for g, c in zip(grids, centre, strict=True)) / (2 * r2))
    z = (blobs - blobs.mean()) / max(float(blobs.std()), 1e-6)
    z = (z + rng.normal(0, 1, shape).astype(np.float32)) / np.sqrt(2)
    mean = np.asarray(model.mean, np.float32).reshape(-1, *[1] * len(shape))
    std = np.asarray(model.std, np.float32).reshape(-1, *[1] * len(shape))
    return (mean + std * z[None]).astype(np.float32)  # (C, *spatial)


def sample_block(model: N2VModel, sample: Any, sample_axes: str | None) -> np.ndarray:
    """The sample as a float32 (C, *spatial) block: first S/T sample, centre crop to at most
    ``MAX_SAMPLE_*``, each spatial size a multiple of ``2**depth``."""
    # Index before converting: a dask / zarr layer is read only where the crop lies.
    arr = sample if hasattr(sample, "shape") and hasattr(sample, "dtype") else np.asarray(sample)
    axes = sample_axes or _guess_sample_axes(model, len(arr.shape))
    layout = Layout.create(axes, arr.shape, model.is_3d)
    if layout.n_channels != model.n_channels:
        raise N2VError(
            f"the sample has {layout.n_channels} channel(s) (axes {layout.axes!r}, shape "
            f"{tuple(arr.shape)}) but the model was trained on {model.n_channels}: give a sample "
            "like the training data."
        )
    m = 2**model.config.depth
    limit = MAX_SAMPLE_3D if model.is_3d else MAX_SAMPLE_2D
    crops = []
    for n, cap in zip(layout.spatial_shape, limit, strict=True):
        size = min(n, cap) // m * m
        if size < m:
            raise N2VError(
                f"the sample (spatial shape {layout.spatial_shape}) is too small: each of "
                f"{', '.join(layout.spatial_letters)} needs at least {m} pixels (2**depth)."
            )
        start = (n - size) // 2
        crops.append(slice(start, start + size))
    block = layout.to_block(np.asarray(arr[layout.index(0, crops)]))
    block = np.ascontiguousarray(block, dtype=np.float32)  # (C, [Z,] Y, X)
    if not np.isfinite(block).all():
        raise N2VError("the sample contains NaN or infinite values: pick another crop.")
    return block


def _guess_sample_axes(model: N2VModel, ndim: int) -> str:
    if ndim == len(model.axes):
        return model.axes
    bare = "".join(a for a in model.axes if a not in "ST")
    if ndim == len(bare):
        return bare
    raise N2VError(
        f"cannot tell the axes of a {ndim}-dimensional sample for a model with axes "
        f"{model.axes!r}: give sample_axes."
    )


def package_sample(pkg: Package, model: N2VModel) -> tuple[np.ndarray | None, str]:
    """The package's test input as a kept crop ``(C, *spatial)`` with its axes, or ``(None, "")`` when
    it has none this model could take (axes other than batch, channel, [z,] y, x; other channels)."""
    spatial = "zyx" if model.is_3d else "yx"
    try:
        inp, _ = pkg.only_input_output()
        ids = [
            str(a.get("id") or a.get("type")) if isinstance(a, dict) else "" for a in inp["axes"]
        ]
        if isinstance(inp["axes"], str):  # spec 0.4: "bcyx"
            ids = list(inp["axes"])
        if ids not in (["batch", "channel", *spatial], ["b", "c", *spatial]):
            return None, ""
        arr = pkg.load_npy(inp.get("test_tensor"), "test input")  # (B, C, *spatial)
    except (N2VError, KeyError, TypeError):
        return None, ""
    if arr.ndim != 2 + len(spatial) or arr.shape[1] != model.n_channels or arr.shape[0] < 1:
        return None, ""
    return training_sample(arr, len(spatial)), "C" + spatial.upper()
