"""Model files: one safetensors file with the weights plus JSON metadata (config, normalisation,
history, format version).

safetensors holds only raw tensors and a JSON header, so loading a model can never execute code from the
file (unlike pickle / plain ``torch.load``). That is why we use it rather than ``torch.save``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .config import TrainConfig
from .device import resolve_device
from .errors import N2VError
from .model import build_unet
from .n2v_model import N2VModel

FORMAT = "napari-n2v"
FORMAT_VERSION = 1
SUFFIX = ".n2v.safetensors"


def save_model(model: N2VModel, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``model`` to ``path`` atomically; refuses to replace an existing file unless ``overwrite``."""
    from safetensors.torch import save_file

    path = Path(path)
    if path.exists() and not overwrite:
        raise N2VError(f"{path} already exists: choose another name, or allow overwriting.")
    if not path.parent.exists():
        raise N2VError(f"the folder {path.parent} does not exist.")
    meta = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "config": model.config.to_json(),
        "mean": json.dumps(np.asarray(model.mean).tolist()),
        "std": json.dumps(np.asarray(model.std).tolist()),
        "history": json.dumps(model.history),
        "name": model.name,
        "steps_trained": str(model.steps_trained),
    }
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.network.state_dict().items()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".n2v-", suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=meta)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _sniff(path: Path) -> str | None:
    """Name a foreign format from the first bytes, for a clearer error."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head[:1] == b"\x80" or head[:2] in (b"(d", b"(l", b"}q"):
        return "a Python pickle"
    if head[:4] == b"PK\x03\x04":
        return "a zip archive (e.g. a torch.save / BioImage.IO file)"
    if head[:4] == b"\x89HDF":
        return "an HDF5 file (e.g. a Keras/CSBDeep model)"
    return None


def load_model(path: str | Path, device: str = "auto") -> N2VModel:
    """Load a model file written by :func:`save_model`. Never executes code from the file."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise N2VError(f"no model file at {path}.")
    foreign = _sniff(path)
    if foreign:
        raise N2VError(
            f"{path.name} is {foreign}, not a napari-n2v model file; it was not opened, because such "
            "files can run code when loaded. Use a .n2v.safetensors file saved by napari-n2v."
        )
    try:
        with safe_open(str(path), framework="pt") as f:
            meta: dict[str, Any] = f.metadata() or {}
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, json.JSONDecodeError) as err:
        raise N2VError(
            f"{path.name} is not a readable model file (corrupt or truncated?): {err}"
        ) from err
    if meta.get("format") != FORMAT:
        raise N2VError(f"{path.name} is a safetensors file but not a napari-n2v model.")
    try:
        version = int(meta["format_version"])
    except (KeyError, ValueError) as err:
        raise N2VError(f"{path.name} has no valid format version.") from err
    if version > FORMAT_VERSION:
        raise N2VError(
            f"{path.name} was written by a newer napari-n2v (model format {version}; this one reads "
            f"up to {FORMAT_VERSION}): upgrade napari-n2v."
        )
    try:
        config = TrainConfig.from_dict(json.loads(meta["config"]))
        mean = np.asarray(json.loads(meta["mean"]), dtype=np.float32)
        std = np.asarray(json.loads(meta["std"]), dtype=np.float32)
        history = json.loads(meta.get("history", "[]"))
        network = build_unet(config, channels=int(mean.shape[0]))
        network.load_state_dict(tensors, strict=True)
    except (KeyError, ValueError, RuntimeError, TypeError) as err:
        raise N2VError(f"{path.name} has inconsistent contents and cannot be used: {err}") from err
    network.to(resolve_device(device)).eval()
    return N2VModel(
        config=config,
        network=network,
        mean=mean,
        std=std,
        history=history,
        name=meta.get("name", path.stem),
        steps_trained=int(meta.get("steps_trained", 0)),
    )
