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
import torch
from torch import nn

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
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600: give the file what the umask allows
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _umask() -> int:
    """The process umask (read by setting and restoring it; there is no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _is_safetensors(head: bytes, size: int) -> bool:
    """A safetensors file: an 8-byte little-endian header length N, then N bytes of JSON ('{...')."""
    if len(head) < 9:
        return False
    n = int.from_bytes(head[:8], "little")
    return 2 <= n <= size - 8 and head[8:9] == b"{"


def _sniff(path: Path) -> str | None:
    """Name a foreign format from the first bytes, for a clearer error (None: looks like safetensors,
    or unknown, which the safetensors reader then refuses on its own)."""
    with open(path, "rb") as f:
        head = f.read(16)
    if _is_safetensors(head, path.stat().st_size):
        return None
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
        config=config,
        network=network,
        mean=mean,
        std=std,
        history=history,
        name=meta.get("name", path.stem),
        steps_trained=int(meta.get("steps_trained", 0)),
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
