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


@dataclass
class N2VModel:
    """Everything needed to denoise new data the way the model was trained.

    ``mean``/``std`` are per channel (shape (C,)) in the input's intensity units.
    """

    config: TrainConfig
    network: nn.Module
    mean: np.ndarray
    std: np.ndarray
    history: list[dict[str, Any]] = field(default_factory=list)
    name: str = "n2v model"
    steps_trained: int = 0

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
        from napari_n2v.core.model.model_file import encode_meta, write_model_file

        meta = encode_meta(
            self.config.to_json(), self.mean, self.std, self.history, self.name, self.steps_trained
        )
        return write_model_file(path, self.network.state_dict(), meta, overwrite=overwrite)

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
        )
