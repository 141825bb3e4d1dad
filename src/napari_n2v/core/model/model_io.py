"""Load a trained model: a napari-n2v model file (see :mod:`.model_file`) or a BioImage Model Zoo package,
into an :class:`N2VModel`. Never executes code from the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from napari_n2v.core.device import resolve_device
from napari_n2v.core.errors import N2VError
from napari_n2v.core.model.model_file import decode_meta, read_model_file, split_sample
from napari_n2v.core.model.n2v_model import N2VModel
from napari_n2v.core.model.unet import build_unet


def save_model(model: N2VModel, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``model`` to ``path`` atomically (the same as ``model.save(path)``)."""
    return model.save(path, overwrite=overwrite)


def load_model(path: str | Path, device: str = "auto", *, trust: bool = False) -> N2VModel:
    """Load a model file written by :func:`save_model`, or a BioImage Model Zoo package (a .zip, or a
    folder with rdf.yaml / bioimageio.yaml). Never executes code from the file; ``trust`` allows a zoo
    package's TorchScript weights (TorchScript is code) for prediction only."""
    path = Path(path)
    if path.suffix.lower() == ".zip" or path.is_dir():
        from napari_n2v.core.zoo.api import is_zoo_package, load_package

        if is_zoo_package(path):
            return load_package(path, device=device, trust=trust)
    meta, tensors = read_model_file(path)
    sample, sample_axes = split_sample(meta, tensors)
    try:
        decoded = decode_meta(meta, default_name=path.stem)
        mean, std = decoded.mean, decoded.std
        network = build_unet(decoded.config, channels=int(mean.shape[0]))
    except (KeyError, ValueError, TypeError, N2VError) as err:
        raise N2VError(f"{path.name} has inconsistent contents and cannot be used: {err}") from err
    if mean.shape != std.shape or not (np.all(np.isfinite(std)) and np.all(std > 0)):
        raise N2VError(
            f"{path.name} has an invalid normalisation (std {std.tolist()}): a std must be a positive "
            "number per channel. Retrain the model on an image that is not constant."
        )
    check_weights(network, tensors, path.name)
    network.to(resolve_device(device)).eval()
    return N2VModel(
        config=decoded.config,
        network=network,
        mean=mean,
        std=std,
        history=decoded.history,
        name=decoded.name,
        steps_trained=decoded.steps_trained,
        sample=sample,
        sample_axes=sample_axes,
        blend=decoded.blend,
    )


def check_weights(network: nn.Module, tensors: dict[str, torch.Tensor], name: str) -> None:
    """Load ``tensors`` into ``network``, or raise one readable line on a mismatch (instead of torch's
    list of every missing, unexpected and wrongly shaped tensor)."""
    own = network.state_dict()
    missing = sorted(set(own) - set(tensors))
    unexpected = sorted(set(tensors) - set(own))
    shapes = sorted(k for k in set(own) & set(tensors) if own[k].shape != tensors[k].shape)
    if missing or unexpected or shapes:
        parts = [
            f"{len(v)} {what} (e.g. {v[0]})"
            for what, v in (
                ("missing", missing),
                ("unexpected", unexpected),
                ("of another shape", shapes),
            )
            if v
        ]
        raise N2VError(
            f"{name}: its weights do not fit the network its settings describe ({'; '.join(parts)} "
            "tensors). The file was edited or written by an incompatible program: use the original file."
        )
    network.load_state_dict(tensors, strict=True)
