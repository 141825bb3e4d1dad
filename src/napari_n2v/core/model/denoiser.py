"""What anything that denoises must offer to prediction, tiling plans and batch jobs: the ``Denoiser`` protocol.

:class:`~napari_n2v.core.model.n2v_model.N2VModel` is the one implementation; prediction and the memory
plan depend on this protocol instead, so they never import the model class (which itself predicts).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
from torch import nn

from napari_n2v.core.config import TrainConfig


@runtime_checkable
class Denoiser(Protocol):
    """A trained network with the config that built it and the normalisation it learned with."""

    config: TrainConfig
    network: nn.Module
    mean: np.ndarray  # (C,)
    std: np.ndarray  # (C,)

    @property
    def n_channels(self) -> int: ...

    @property
    def is_3d(self) -> bool: ...

    @property
    def axes(self) -> str: ...

    @property
    def halo(self) -> tuple[int, ...]: ...
