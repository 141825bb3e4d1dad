"""The napari-n2v model file: one safetensors file with the weights and JSON metadata (config,
normalisation, history, name, format version). Reading and writing only; no model class here.

safetensors holds only raw tensors and a JSON header, so reading a model file can never execute code from
it (unlike pickle / plain ``torch.load``). That is why we use it rather than ``torch.save``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from napari_n2v.core.errors import N2VError
from napari_n2v.core.io.atomic import atomic_write

FORMAT = "napari-n2v"
FORMAT_VERSION = 1
SUFFIX = ".n2v.safetensors"


def encode_meta(
    config_json: str,
    mean: np.ndarray,
    std: np.ndarray,
    history: list[dict[str, Any]],
    name: str,
    steps_trained: int,
) -> dict[str, str]:
    """The file's metadata (all strings, as safetensors wants)."""
    return {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "config": config_json,
        "mean": json.dumps(np.asarray(mean).tolist()),
        "std": json.dumps(np.asarray(std).tolist()),
        "history": json.dumps(history),
        "name": name,
        "steps_trained": str(steps_trained),
    }


def write_model_file(
    path: str | Path,
    state: dict[str, torch.Tensor],
    meta: dict[str, str],
    *,
    overwrite: bool = False,
) -> Path:
    """Write atomically (:func:`napari_n2v.core.io.atomic.atomic_write`: complete or not at all,
    exclusive); refuses to replace an existing file unless ``overwrite``. User-fixable failures
    (an existing file, a missing or read-only folder, a full disk) raise one-line N2VErrors."""
    from safetensors.torch import save_file

    path = Path(path)
    if os.path.lexists(path) and not overwrite:
        raise N2VError(f"{path} already exists: choose another name, or allow overwriting.")
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    size = sum(t.numel() * t.element_size() for t in tensors.values())
    with atomic_write(path, overwrite=overwrite, size_hint=size) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
        os.chmod(tmp, 0o666 & ~_umask())  # safetensors makes 0600: give what the umask allows
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


def read_model_file(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The metadata and tensors of a napari-n2v model file, after checking what the file is."""
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
    return meta, tensors
