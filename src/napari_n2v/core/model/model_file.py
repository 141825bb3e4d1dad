"""The napari-n2v model file: one safetensors file with the weights, a small crop of the training data
(tensor ``sample``, its axes in the metadata; files from before it have none) and JSON metadata (config,
normalisation, history, name, format version). Reading and writing only; no model class here.

safetensors holds only raw tensors and a JSON header, so reading a model file can never execute code from
it (unlike pickle / plain ``torch.load``). That is why we use it rather than ``torch.save``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from napari_n2v.core.config import TrainConfig
from napari_n2v.core.errors import N2VError
from napari_n2v.core.io.atomic import atomic_write

FORMAT = "napari-n2v"
FORMAT_VERSION = 2  # 2: may hold the training crop (tensor "sample"); 1 is read too
SUFFIX = ".n2v.safetensors"
#: The tensor that holds the training crop (network weights always have a dot in their names).
SAMPLE_KEY = "sample"
#: Suffixes of other model formats: a napari-n2v file (safetensors) is never written under them.
FOREIGN_SUFFIXES = (
    *(".pt", ".pth", ".ckpt", ".h5", ".hdf5", ".keras", ".onnx", ".pb", ".zip"),
    *(".pkl", ".pickle", ".npz", ".npy", ".bin", ".tar", ".joblib"),
)


def model_path(path: str | Path, *, strict: bool = True) -> Path:
    """``path`` as a model file name. A name ending in ``.n2v.safetensors`` is kept and a name without a
    suffix gets it; another suffix is refused, with the name to use instead: any (``strict``: the CLI)
    or only another model format's, such as ``.pt``, which claims a pickle (the Python API)."""
    path = Path(path)
    if path.name.endswith(SUFFIX):
        return path
    suffix = path.suffix
    if not suffix:
        return path.with_name(path.name + SUFFIX)
    if strict or suffix.lower() in FOREIGN_SUFFIXES:
        better = path.with_name(path.name[: -len(suffix)] + SUFFIX)
        raise N2VError(
            f"{path.name}: a napari-n2v model file is a safetensors file and ends in {SUFFIX}, not "
            f"{suffix}: use {better}."
        )
    return path


def encode_meta(
    config_json: str,
    mean: np.ndarray,
    std: np.ndarray,
    history: list[dict[str, Any]],
    name: str,
    steps_trained: int,
    sample_axes: str = "",
    blend: float = 0.0,
) -> dict[str, str]:
    """The file's metadata (all strings, as safetensors wants)."""
    meta = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "config": config_json,
        "mean": json.dumps(np.asarray(mean).tolist()),
        "std": json.dumps(np.asarray(std).tolist()),
        "history": json.dumps(history),
        "name": name,
        "steps_trained": str(steps_trained),
    }
    if sample_axes:
        meta["sample_axes"] = sample_axes
    if blend:
        meta["blend"] = repr(float(blend))
    return meta


@dataclass(frozen=True)
class ModelMeta:
    """The metadata of a model file, decoded (see :func:`encode_meta`)."""

    config: TrainConfig
    mean: np.ndarray
    std: np.ndarray
    history: list[dict[str, Any]]
    name: str
    steps_trained: int
    blend: float = 0.0


def decode_meta(meta: dict[str, str], default_name: str) -> ModelMeta:
    """The inverse of :func:`encode_meta`. Raises KeyError, ValueError or TypeError (or N2VError from
    the config) on a file whose metadata does not decode; the caller names the file."""
    return ModelMeta(
        config=TrainConfig.from_dict(json.loads(meta["config"])),
        mean=np.asarray(json.loads(meta["mean"]), dtype=np.float32),
        std=np.asarray(json.loads(meta["std"]), dtype=np.float32),
        history=list(json.loads(meta.get("history", "[]"))),
        name=meta.get("name", default_name),
        steps_trained=int(meta.get("steps_trained", 0)),
        blend=check_blend(float(meta.get("blend", "0"))),
    )


def check_blend(w: float) -> float:
    """A stored blend weight, checked: a share of the input in [0, 1) (ValueError otherwise)."""
    if not 0.0 <= w < 1.0:
        raise ValueError(f"blend weight {w} is not in [0, 1)")
    return w


def split_sample(
    meta: dict[str, Any], tensors: dict[str, torch.Tensor]
) -> tuple[np.ndarray | None, str]:
    """Take the training crop out of ``tensors`` (leaving the weights): ``(array, axes)``, or
    ``(None, "")`` for a file without one."""
    t = tensors.pop(SAMPLE_KEY, None)
    axes = str(meta.get("sample_axes") or "")
    if t is None or len(axes) != t.ndim:
        return None, ""
    return t.numpy(), axes


def write_model_file(
    path: str | Path,
    state: dict[str, torch.Tensor],
    meta: dict[str, str],
    *,
    overwrite: bool = False,
) -> Path:
    """Write atomically (:func:`napari_n2v.core.io.atomic.atomic_write`: complete or not at all,
    exclusive); refuses to replace an existing file unless ``overwrite``, and a name with another model
    format's suffix (see :func:`model_path`). User-fixable failures (an existing file, a missing or
    read-only folder, a full disk) raise one-line N2VErrors."""
    from safetensors.torch import save_file

    path = model_path(path, strict=False)
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
    not_ours = ", not a napari-n2v model file"
    with open(path, "rb") as f:
        head = f.read(16)
    if _is_safetensors(head, path.stat().st_size):
        return None
    if head[:1] == b"\x80" or head[:2] in (b"(d", b"(l", b"}q"):
        return "a Python pickle" + not_ours
    if head[:4] == b"PK\x03\x04":
        return _zip_kind(path, not_ours)
    if head[:4] == b"\x89HDF":
        return "an HDF5 file (e.g. a Keras/CSBDeep model)" + not_ours
    return None


def _zip_kind(path: Path, not_ours: str) -> str:
    """What a zip that is not a zoo package (those are opened before this) is, in words."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError):
        return "a damaged zip archive" + not_ours
    if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
        return "a torch.save file (a zip around a Python pickle)" + not_ours
    return (
        "a zip archive without rdf.yaml or bioimageio.yaml: neither a BioImage Model Zoo package "
        "nor a napari-n2v model file"
    )


def read_model_file(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The metadata and tensors of a napari-n2v model file, after checking what the file is."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise N2VError(f"no model file at {path}.")
    foreign = _sniff(path)
    if foreign:
        why = (
            "; it was not opened, because such files can run code when loaded"
            if "pickle" in foreign
            else ""
        )
        raise N2VError(
            f"{path.name} is {foreign}{why}. Give a {SUFFIX} file saved by napari-n2v, or a "
            "BioImage Model Zoo package (a .zip with rdf.yaml, e.g. from napari-n2v export or "
            "CAREamics)."
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
    check_format_version(meta, path, "model", FORMAT_VERSION)
    return meta, tensors


def check_format_version(meta: dict[str, Any], path: Path, kind: str, newest: int) -> int:
    """The file's format version (``meta["format_version"]``); an N2VError when it is missing or
    newer than ``newest``, the latest this napari-n2v reads of this ``kind`` of file."""
    try:
        version = int(meta["format_version"])
    except (KeyError, ValueError) as err:
        raise N2VError(f"{path.name} has no valid {kind} format version.") from err
    if version > newest:
        raise N2VError(
            f"{path.name} was written by a newer napari-n2v ({kind} format {version}; this one "
            f"reads up to {newest}): upgrade napari-n2v."
        )
    return version
