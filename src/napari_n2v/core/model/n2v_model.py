"""A trained Noise2Void model: network + the config that built it + the normalisation it learned with."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from torch import nn

from napari_n2v.core.config import PredictConfig, TrainConfig
from napari_n2v.core.model.unet import halo

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

#: The largest crop of its training data a model keeps (spatial sizes): the test image of a zoo export.
SAMPLE_2D = (256, 256)
SAMPLE_3D = (16, 128, 128)


def training_sample(data: Any, n_spatial: int) -> np.ndarray:
    """A centre crop (C, *spatial) of the middle sample of canonical ``(S, C, *spatial)`` data (an array,
    or a lazy view that reads only the crop), at most :data:`SAMPLE_2D` / :data:`SAMPLE_3D`, in a
    compact dtype (see :func:`compact`)."""
    shape = tuple(data.shape)
    cap = SAMPLE_3D if n_spatial == 3 else SAMPLE_2D
    crop = []
    for n, c in zip(shape[2:], cap, strict=True):
        size = min(n, c)
        crop.append(slice((n - size) // 2, (n - size) // 2 + size))
    index = (shape[0] // 2, slice(None), *crop)
    return compact(np.asarray(data[index]))


def compact(block: np.ndarray) -> np.ndarray:
    """``block`` in the smallest dtype safetensors and torch hold that keeps it (nearly) as it is:
    uint8 / int16 / int32 for integers, float16 when that changes no value by more than 0.1% of the
    block's range, else float32."""
    if block.dtype.kind in "biu":
        lo, hi = (int(block.min()), int(block.max())) if block.size else (0, 0)
        for dt in (np.uint8, np.int16, np.int32):
            info = np.iinfo(dt)
            if info.min <= lo and hi <= info.max:
                return block.astype(dt)
    x = block.astype(np.float32)
    if x.size and np.isfinite(x).all() and np.abs(x).max() < 65000:
        half = x.astype(np.float16)
        if np.abs(half.astype(np.float32) - x).max() <= 1e-3 * float(x.max() - x.min()):
            return half
    return x


@dataclass
class N2VModel:
    """Everything needed to denoise new data the way the model was trained.

    ``mean``/``std`` are per channel (shape (C,)) in the input's intensity units. ``sample`` is a small
    crop of the training data with axes ``sample_axes`` (e.g. ``"CYX"``; see :func:`training_sample`),
    kept in the model file: a zoo export's test image when none is given; None for older files.
    """

    config: TrainConfig
    network: nn.Module
    mean: np.ndarray
    std: np.ndarray
    history: list[dict[str, Any]] = field(default_factory=list)
    name: str = "n2v model"
    steps_trained: int = 0
    sample: np.ndarray | None = field(default=None, repr=False)
    sample_axes: str = ""
    #: The share of the noisy input a prediction keeps (0: the network's output alone); the training
    #: run measures it (:mod:`napari_n2v.core.train.blend`).
    blend: float = 0.0

    def __post_init__(self) -> None:
        if self.config.n_filters is None:  # record the network's real width (a device default)
            convs = [m for m in self.network.modules() if isinstance(m, (nn.Conv2d, nn.Conv3d))]
            if convs:
                self.config = self.config.replace(n_filters=int(convs[0].out_channels))

    @property
    def n_channels(self) -> int:
        return int(self.mean.shape[0])

    @property
    def is_3d(self) -> bool:
        return self.config.is_3d

    @property
    def axes(self) -> str:
        return self.config.axes

    @property
    def halo(self) -> tuple[int, ...]:
        return (halo(self.config),) * self.config.n_spatial

    def predict(
        self, image: ArrayLike, axes: str | None = None, config: PredictConfig | None = None
    ) -> np.ndarray:
        """Denoise ``image`` (see :func:`napari_n2v.core.predict.prediction.predict`)."""
        from napari_n2v.core.predict.prediction import predict

        return predict(self, image, axes, config)

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the model file; refuses to replace an existing file unless ``overwrite``."""
        import torch

        from napari_n2v.core.model.model_file import SAMPLE_KEY, encode_meta, write_model_file

        state, axes = dict(self.network.state_dict()), ""
        if self.sample is not None and len(self.sample_axes) == self.sample.ndim:
            state[SAMPLE_KEY] = torch.from_numpy(np.ascontiguousarray(self.sample))
            axes = self.sample_axes
        meta = encode_meta(
            self.config.to_json(), self.mean, self.std, self.history, self.name, self.steps_trained,
            axes, self.blend,
        )  # fmt: skip
        return write_model_file(path, state, meta, overwrite=overwrite)

    def __repr__(self) -> str:
        """One line (the dataclass default would print the whole U-Net)."""
        return f"N2VModel({self.name!r}: {self.describe()}, axes {self.axes!r})"

    def describe(self) -> str:
        """One line for a UI."""
        c = self.config
        kind = "N2V2" if c.n2v2 else "N2V"
        struct = f", structN2V along {c.struct_axis}" if c.struct_axis else ""
        ch = f"{self.n_channels} channel{'s' if self.n_channels > 1 else ''}"
        return (
            f"{'3D' if self.is_3d else '2D'} {kind}{struct}, {ch}, depth {c.depth}, {c.n_filters} filters, "
            f"trained {self.steps_trained} steps"
            + (f", keeps {self.blend:.0%} of the input" if self.blend > 0 else "")
        )
