"""Read a BioImage Model Zoo package (a .zip, or a folder with rdf.yaml / bioimageio.yaml) safely.

Files are read by name into memory, never extracted; every file the rdf gives a sha256 for is
checked; YAML is read with ``safe_load``; tensors only through weights-only loading. Nothing from a
package is imported or executed here.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from napari_n2v.core.errors import N2VError

RDF_NAMES = ("rdf.yaml", "bioimageio.yaml")
_PICKLE_HEADS = (b"\x80", b"(d", b"(l", b"}q", b"cos", b"cposix", b"cbuiltins")


def is_zoo_package(path: str | Path) -> bool:
    """True for a .zip holding rdf.yaml / bioimageio.yaml (at its root, or the ``*.bioimageio.yaml``
    form), or a folder holding one of them."""
    p = Path(path)
    if p.is_dir():
        return any((p / n).is_file() for n in RDF_NAMES) or any(p.glob("*.bioimageio.yaml"))
    if not p.is_file() or not zipfile.is_zipfile(p):
        return False
    try:
        with zipfile.ZipFile(p) as z:
            return _find_rdf(z.namelist()) is not None
    except (zipfile.BadZipFile, OSError):
        return False


def _find_rdf(names: list[str]) -> str | None:
    for n in RDF_NAMES:
        if n in names:
            return n
    tops = [n for n in names if "/" not in n and n.endswith(".bioimageio.yaml")]
    return tops[0] if len(tops) == 1 else None


def _refusal(err: BaseException) -> str:
    """Why weights-only loading refused a file, in our words (torch's own message advises loading it
    with ``weights_only=False``, which could run the package's code)."""
    import re

    found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(err))
    if found:
        return (
            f"the weights hold a Python object ({found.group(1)}), not only tensors; loading it "
            "could run code, so napari-n2v does not. Export the weights as a plain state dict "
            "(torch.save(model.state_dict(), ...))."
        )
    return (
        "the weights could not be read as a plain state dict of tensors (a corrupt file, or one "
        f"that is not a torch state dict: {type(err).__name__}); get a fresh copy of the package."
    )


class Package:
    """A zoo package's rdf (as a dict) and its files by relative name."""

    def __init__(self, path: str | Path) -> None:
        import yaml

        self.path = Path(path)
        self.label = self.path.name
        self._zip: zipfile.ZipFile | None = None
        if self.path.is_dir():
            names = [str(p.relative_to(self.path).as_posix()) for p in self.path.rglob("*")]
        elif self.path.is_file() and zipfile.is_zipfile(self.path):
            try:
                self._zip = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, OSError) as err:
                raise N2VError(f"{self.label} is not a readable zip archive: {err}") from err
            names = self._zip.namelist()
        else:
            raise N2VError(f"{self.label} is neither a .zip nor a folder: not a zoo package.")
        self.names = set(names)
        rdf_name = _find_rdf(names)
        if rdf_name is None:
            raise N2VError(
                f"{self.label} has no rdf.yaml or bioimageio.yaml: not a BioImage Model Zoo package."
            )
        try:
            rdf = yaml.safe_load(self._read_raw(rdf_name).decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as err:
            raise N2VError(f"{self.label}: its {rdf_name} is not valid YAML ({err}).") from err
        if not isinstance(rdf, dict):
            raise N2VError(f"{self.label}: its {rdf_name} is not a description (not a mapping).")
        self.rdf: dict[str, Any] = rdf
        self.name = str(rdf.get("name") or self.path.stem)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_raw(self, name: str) -> bytes:
        if self._zip is not None:
            return self._zip.read(name)
        return (self.path / name).read_bytes()

    def read(self, entry: Any, what: str) -> bytes:
        """The bytes of a file entry (``{"source": ..., "sha256": ...}`` or a bare name), with its
        sha256 checked when the rdf gives one."""
        if isinstance(entry, dict):
            source, sha = entry.get("source"), entry.get("sha256")
        else:
            source, sha = entry, None
        if not isinstance(source, str) or not source:
            raise N2VError(f"{self.label}: the rdf names no file for the {what}.")
        if "://" in source:
            raise N2VError(
                f"{self.label}: the {what} is a remote file ({source}); napari-n2v reads packages "
                "offline: download the complete package (a .zip) instead."
            )
        rel = PurePosixPath(source)
        if rel.is_absolute() or ".." in rel.parts:
            raise N2VError(f"{self.label}: the {what} path {source!r} points outside the package.")
        name = rel.as_posix().removeprefix("./")
        if name not in self.names:
            raise N2VError(f"{self.label}: the {what} ({name}) is missing from the package.")
        data = self._read_raw(name)
        if sha:
            digest = hashlib.sha256(data).hexdigest()
            if digest != str(sha).lower():
                raise N2VError(
                    f"{self.label}: the {what} ({name}) does not match its sha256 in the rdf: the "
                    "package is corrupt or was modified; get a fresh copy."
                )
        return data

    # --- typed readers -------------------------------------------------------------------------------
    def load_state_dict(self, entry: Any) -> dict[str, Any]:
        """A state dict read with ``torch.load(weights_only=True)``: tensors only, no code."""
        import pickle

        import torch

        data = self.read(entry, "weights")
        if data[:2] != b"PK" and data.startswith(_PICKLE_HEADS):
            raise N2VError(
                f"{self.label}: the weights are a plain Python pickle, which can run code when "
                "loaded; napari-n2v refuses it. Export the weights as a torch state dict."
            )
        try:
            state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as err:
            raise N2VError(f"{self.label}: {_refusal(err)}") from err
        if (
            isinstance(state, dict)
            and "state_dict" in state
            and isinstance(state["state_dict"], dict)
        ):
            state = state["state_dict"]
        if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
        ):
            raise N2VError(f"{self.label}: the weights file is not a state dict of tensors.")
        return state

    def load_npy(self, entry: Any, what: str) -> np.ndarray:
        try:
            return np.load(io.BytesIO(self.read(entry, what)), allow_pickle=False)
        except ValueError as err:
            raise N2VError(f"{self.label}: the {what} is not a plain .npy array: {err}") from err

    def attachment(self, name: str) -> dict[str, Any] | None:
        """The attachment entry whose file is called ``name``, if any."""
        for a in self.rdf.get("attachments") or []:
            src = a.get("source") if isinstance(a, dict) else a
            if isinstance(src, str) and PurePosixPath(src).name == name:
                return a if isinstance(a, dict) else {"source": a}
        return None

    def weights(self) -> dict[str, Any]:
        w = self.rdf.get("weights")
        return w if isinstance(w, dict) else {}

    def only_input_output(self) -> tuple[dict[str, Any], dict[str, Any]]:
        ins, outs = self.rdf.get("inputs") or [], self.rdf.get("outputs") or []
        if len(ins) != 1 or len(outs) != 1:
            raise N2VError(
                f"{self.label} ('{self.name}') has {len(ins)} input(s) and {len(outs)} output(s); "
                "napari-n2v runs image-to-image models with one input and one output."
            )
        return ins[0], outs[0]
