"""The events a training run yields: one per step, a preview when asked, and info lines."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TrainEvent:
    step: int
    total_steps: int
    epoch: int
    train_loss: float
    val_loss: float | None
    best_val_loss: float | None
    lr: float
    patches_per_s: float
    eta_s: float | None
    elapsed_s: float


@dataclass(frozen=True)
class PreviewEvent:
    step: int
    image: np.ndarray


@dataclass(frozen=True)
class InfoEvent:
    message: str


Event = TrainEvent | PreviewEvent | InfoEvent
