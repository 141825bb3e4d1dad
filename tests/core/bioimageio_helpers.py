"""Shared pieces of the BioImage Model Zoo tests: tiny models, offline guard, zip surgery."""

from __future__ import annotations

import atexit
import contextlib
import functools
import io
import shutil
import socket
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import yaml

from napari_n2v.core.config import PredictConfig, TrainConfig
from napari_n2v.core.model.n2v_model import N2VModel
from napari_n2v.core.train.trainer import train

from ..conftest import blobs

FP32 = PredictConfig(device="cpu", precision="fp32")
#: The network alone, as a zoo consumer runs it (without our blend with the input).
NET = PredictConfig(device="cpu", precision="fp32", blend=False)
TINY = dict(
    steps=2,
    batch_size=2,
    n_filters=4,
    depth=2,
    val_patches=2,
    steps_per_epoch=2,
    seed=0,
    device="cpu",
)
DATA = Path(__file__).parent.parent / "data"


def noisy(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    clean = blobs(shape[-3:] if len(shape) > 2 else shape, seed=seed) * 150 + 20
    clean = np.broadcast_to(clean, shape)
    return (clean + np.random.default_rng(seed).normal(0, 10, shape)).astype(np.float32)


def tiny_model(kind: str) -> tuple[N2VModel, np.ndarray, str]:
    """(model, training image, its axes) for kind '2d', '3d' or '2ch' (2 channels, N2V2)."""
    if kind == "2d":
        img, axes, patch, extra = noisy((72, 72)), "YX", (16, 16), {}
    elif kind == "3d":
        img, axes, patch, extra = noisy((12, 40, 40)), "ZYX", (8, 16, 16), {}
    else:
        img = np.stack([noisy((40, 44)), noisy((40, 44), seed=1) * 0.5 + 30])
        axes, patch, extra = "CYX", (16, 16), {"n2v2": True, "struct_axis": "X"}
    cfg = TrainConfig(axes=axes, patch_size=patch, **TINY, **extra)
    return train(img, cfg, name=f"tiny {kind}"), img, axes


@functools.cache
def exported(kind: str) -> tuple[N2VModel, np.ndarray, str, Path]:
    """(model, image, axes, package): trained and exported (offline) once per test session."""
    from napari_n2v.core.zoo.api import export_bioimageio

    model, img, axes = tiny_model(kind)
    folder = Path(tempfile.mkdtemp(prefix="n2v-bmz-test-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / f"{kind}.zip"
    with offline():
        export_bioimageio(
            model,
            path,
            name=f"tiny {kind}",
            description="A test model.",
            authors="Ada Lovelace; Alan Turing",
            sample=img,
        )
    return model, img, axes, path


def _refuse(*_a: object, **_k: object) -> None:
    raise OSError("network access during a BioImage Model Zoo test")


@contextlib.contextmanager
def offline() -> Iterator[None]:
    """Any socket connection fails inside (proves export/import/validation stay offline)."""
    saved = socket.socket.connect, socket.socket.connect_ex, socket.create_connection
    socket.socket.connect = _refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = _refuse  # type: ignore[method-assign]
    socket.create_connection = _refuse  # type: ignore[assignment]
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex, socket.create_connection = saved


def member(zip_path: Path, name: str) -> bytes:
    with zipfile.ZipFile(zip_path) as z:
        return z.read(name)


def npy(zip_path: Path, name: str) -> np.ndarray:
    return np.load(io.BytesIO(member(zip_path, name)))


def rdf(zip_path: Path) -> dict:
    return yaml.safe_load(member(zip_path, "rdf.yaml"))


def rewrite(
    src: Path,
    dst: Path,
    *,
    edit_rdf: Callable[[dict], None] | None = None,
    files: dict[str, bytes | None] | None = None,
) -> Path:
    """Copy the package ``src`` to ``dst`` with its rdf edited and files replaced (None: removed)."""
    files = files or {}
    with zipfile.ZipFile(src) as z:
        content = {n: z.read(n) for n in z.namelist()}
    desc = yaml.safe_load(content["rdf.yaml"])
    if edit_rdf:
        edit_rdf(desc)
    content["rdf.yaml"] = yaml.safe_dump(desc).encode()
    for name, data in files.items():
        if data is None:
            content.pop(name, None)
        else:
            content[name] = data
    with zipfile.ZipFile(dst, "w") as z:
        for n, data in content.items():
            z.writestr(n, data)
    return dst
