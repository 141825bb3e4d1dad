"""napari-n2v: Noise2Void denoising for napari, with a Qt-free engine.

The public Python API is importable from here without pulling in Qt, napari or torch until it is used::

    import napari_n2v as n2v

    model = n2v.train(image, n2v.TrainConfig(axes="ZYX", steps=500))
    denoised = n2v.predict(model, image, axes="ZYX")
    model.save("nuclei.n2v.safetensors")
    model = n2v.load_model("nuclei.n2v.safetensors")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

# Lazy attributes: importing the package stays cheap (no torch import until the API is used).
_LAZY = {
    "TrainConfig": "napari_n2v.core.config",
    "PredictConfig": "napari_n2v.core.config",
    "N2VError": "napari_n2v.core.errors",
    "N2VModel": "napari_n2v.core.model.n2v_model",
    "Trainer": "napari_n2v.core.train.trainer",
    "TrainEvent": "napari_n2v.core.events",
    "PreviewEvent": "napari_n2v.core.events",
    "InfoEvent": "napari_n2v.core.events",
    "PredictEvent": "napari_n2v.core.predict.prediction",
    "train": "napari_n2v.core.train.trainer",
    "predict": "napari_n2v.core.predict.prediction",
    "predict_iter": "napari_n2v.core.predict.prediction",
    "load_model": "napari_n2v.core.model.model_io",
    "load_sample": "napari_n2v._sample_data",
    "psnr": "napari_n2v.core.metrics",
    "export_bioimageio": "napari_n2v.core.zoo.api",
    "baseline": "napari_n2v.core.baseline.calibrate",
    "compare_with_baselines": "napari_n2v.core.baseline.versus",
    "inspect_noise": "napari_n2v.core.noise.analysis",
    "qc": "napari_n2v.core.noise.qc",
}

__all__ = ["__version__", *sorted(_LAZY)]

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v._sample_data import load_sample
    from napari_n2v.core.baseline.calibrate import baseline
    from napari_n2v.core.baseline.versus import compare_with_baselines
    from napari_n2v.core.config import PredictConfig, TrainConfig
    from napari_n2v.core.errors import N2VError
    from napari_n2v.core.events import InfoEvent, PreviewEvent, TrainEvent
    from napari_n2v.core.metrics import psnr
    from napari_n2v.core.model.model_io import load_model
    from napari_n2v.core.model.n2v_model import N2VModel
    from napari_n2v.core.noise.analysis import inspect_noise
    from napari_n2v.core.noise.qc import qc
    from napari_n2v.core.predict.prediction import PredictEvent, predict, predict_iter
    from napari_n2v.core.train.trainer import Trainer, train
    from napari_n2v.core.zoo.api import export_bioimageio


def __dir__() -> list[str]:
    """List the lazy API too, so tab completion and ``dir()`` show ``train``, ``predict``, ..."""
    return sorted({*globals(), *_LAZY})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'napari_n2v' has no attribute {name!r}")
