"""Open a BioImage Model Zoo package as a model napari-n2v can predict with (and fine-tune).

- napari-n2v's own exports: the attached model JSON + the state dict (weights-only) -> a lossless
  :class:`N2VModel`.
- CAREamics 0.3.x N2V/N2V2 U-Nets: their state dict mapped onto our U-Net (:mod:`.careamics`).
- Any other model with TorchScript weights, only with ``trust=True`` (TorchScript is code): a
  predict-only :class:`TorchScriptModel`.
- Anything else: one N2VError saying what the package is and why it cannot be used.

No Python file from a package is ever imported; no pickle is ever loaded except through
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from napari_n2v.core.config import TrainConfig
from napari_n2v.core.device import resolve_device
from napari_n2v.core.errors import N2VError, TrustRequired
from napari_n2v.core.model.model_file import check_blend
from napari_n2v.core.model.n2v_model import N2VModel
from napari_n2v.core.model.unet import build_unet
from napari_n2v.core.zoo.package import Package
from napari_n2v.core.zoo.rdf import JSON_FORMAT, MODEL_JSON
from napari_n2v.core.zoo.sample import package_sample

#: Fallback tile overlap for a TorchScript model whose rdf declares no halo.
DEFAULT_FOREIGN_HALO = 32


@dataclass(repr=False)  # keep N2VModel's one-line repr
class TorchScriptModel(N2VModel):
    """A foreign zoo model's TorchScript network with its fixed normalisation: predict only.

    It has what :func:`napari_n2v.core.predict.prediction.predict_iter` reads (``network``, ``mean``,
    ``std``, ``axes``, ``config.depth``, ``halo``), so it runs through the same tiled prediction.
    ``config`` is a stand-in (axes, and a depth whose ``2**depth`` is the model's size step).
    """

    overlap: int = DEFAULT_FOREIGN_HALO
    source: str = ""

    @property
    def halo(self) -> tuple[int, ...]:
        return (self.overlap,) * self.config.n_spatial

    @property
    def trainable(self) -> bool:
        return False

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        raise N2VError(
            f"'{self.name}' is a TorchScript model from a zoo package: it can predict but not be "
            "saved as a napari-n2v model or trained further."
        )

    def describe(self) -> str:
        dim = "3D" if self.is_3d else "2D"
        return f"{dim} TorchScript zoo model ({self.source}), {self.n_channels} channel(s): predict only"


def load_package(path: str | Path, device: str = "auto", trust: bool = False) -> N2VModel:
    """Open the zoo package at ``path`` (a .zip or a folder); see the module doc.

    Returns an :class:`N2VModel` (our exports, CAREamics N2V) or, only with ``trust=True``, a
    :class:`TorchScriptModel` (a subclass, predict only)."""
    with Package(path) as pkg:
        rdf = pkg.rdf
        kind = rdf.get("type", "model")
        if kind != "model":
            raise N2VError(
                f"{pkg.label} is a BioImage Model Zoo {kind} ('{pkg.name}'), not a model: "
                "there is nothing to denoise with."
            )
        weights = pkg.weights()
        if pkg.attachment(MODEL_JSON) is not None:
            model = _load_ours(pkg)
        elif _is_careamics(weights):
            from napari_n2v.core.zoo.careamics import load_careamics

            model = load_careamics(pkg)
        elif "torchscript" in weights:
            if not trust:
                raise TrustRequired(
                    f"{pkg.label} ('{pkg.name}') is not a napari-n2v or CAREamics N2V model; it "
                    "can run only through its TorchScript weights, which are code from the "
                    "package. Run it only if you trust its source: pass --trust (CLI), "
                    "trust=True (Python) or confirm in the widget."
                )
            model = _load_torchscript(pkg)
        else:
            raise N2VError(_unusable(pkg, weights))
        if not isinstance(model, TorchScriptModel):  # its test input: export again without a sample
            model.sample, model.sample_axes = package_sample(pkg, model)
    model.network.to(resolve_device(device)).eval()
    return model


def _is_careamics(weights: dict[str, Any]) -> bool:
    arch = (weights.get("pytorch_state_dict") or {}).get("architecture") or {}
    return isinstance(arch, dict) and str(arch.get("import_from", "")).startswith("careamics.")


def _unusable(pkg: Package, weights: dict[str, Any]) -> str:
    formats = ", ".join(sorted(weights)) or "none"
    arch = (weights.get("pytorch_state_dict") or {}).get("architecture") or {}
    what = ""
    if isinstance(arch, dict) and arch:
        where = arch.get("import_from") or arch.get("source") or "?"
        what = f", architecture {arch.get('callable', '?')} from {where}"
    return (
        f"{pkg.label} ('{pkg.name}') is a BioImage Model Zoo model with weights: {formats}{what}. "
        "napari-n2v can use napari-n2v and CAREamics N2V/N2V2 packages, or (with trust) any "
        "model with TorchScript weights; this one is neither, and napari-n2v never imports a "
        "package's Python code. Run it in bioimageio.core, or export it with TorchScript weights."
    )


def _load_ours(pkg: Package) -> N2VModel:
    try:
        meta = json.loads(pkg.read(pkg.attachment(MODEL_JSON), "napari-n2v model JSON"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise N2VError(f"{pkg.label}: its {MODEL_JSON} is not valid JSON ({err}).") from err
    if not isinstance(meta, dict) or meta.get("format") != JSON_FORMAT:
        raise N2VError(f"{pkg.label}: its {MODEL_JSON} is not a napari-n2v model description.")
    if int(meta.get("format_version", 0)) > 1:
        raise N2VError(f"{pkg.label} was exported by a newer napari-n2v: upgrade napari-n2v.")
    entry = pkg.weights().get("pytorch_state_dict") or {}
    if not entry:
        raise N2VError(f"{pkg.label}: the pytorch_state_dict weights are missing from its rdf.")
    state = pkg.load_state_dict(entry)
    try:
        config = TrainConfig.from_dict(meta["config"])
        mean = np.asarray(meta["mean"], dtype=np.float32)
        std = np.asarray(meta["std"], dtype=np.float32)
        edge = config.extra.get("pool_edge", "replicate")
        if edge != "replicate":
            from napari_n2v.core.zoo.arch import UNet

            network: torch.nn.Module = UNet(**meta["network_kwargs"])
        else:
            network = build_unet(config, channels=int(mean.shape[0]))
        network.load_state_dict(state, strict=True)
        blend = check_blend(float(meta.get("blend") or 0.0))
    except (KeyError, ValueError, RuntimeError, TypeError) as err:
        msg = " ".join(str(err).split())[:300]
        raise N2VError(f"{pkg.label} has inconsistent contents and cannot be used: {msg}") from err
    return N2VModel(
        config=config,
        network=network.eval(),
        mean=mean,
        std=std,
        history=list(meta.get("history") or []),
        name=str(meta.get("name") or pkg.name),
        steps_trained=int(meta.get("steps_trained") or 0),
        blend=blend,
    )


# --- foreign TorchScript ---------------------------------------------------------------------------
def _axis_ids(tensor: dict[str, Any]) -> list[str]:
    ids = []
    for a in tensor.get("axes") or []:
        if isinstance(a, dict):
            ids.append(str(a.get("id") or a.get("type")))
        else:  # spec 0.4: a string such as "bcyx"
            return list(str(tensor.get("axes")))
    return ids


def fixed_affine(pkg: Package, steps: list[Any] | None, n_ch: int, where: str) -> tuple[Any, Any]:
    """``(a, b)`` per channel such that the processing ``steps`` compute ``(x - a) / b``; only
    fixed (data-independent) steps are accepted."""
    a, b = np.zeros(n_ch, np.float64), np.ones(n_ch, np.float64)
    for step in steps or []:
        op, kw = step.get("id") or step.get("name"), step.get("kwargs") or {}
        if op in ("ensure_dtype",):
            continue
        if op == "fixed_zero_mean_unit_variance" or (
            op == "zero_mean_unit_variance" and kw.get("mode") == "fixed"  # spec 0.4
        ):
            m = np.broadcast_to(np.asarray(kw["mean"], np.float64), n_ch)
            s = np.broadcast_to(np.asarray(kw["std"], np.float64), n_ch) + 1e-6
            a, b = a + m * b, b * s  # ((x - a)/b - m)/s
        elif op == "scale_linear":
            g = np.broadcast_to(np.asarray(kw.get("gain", 1.0), np.float64), n_ch)
            o = np.broadcast_to(np.asarray(kw.get("offset", 0.0), np.float64), n_ch)
            a, b = a - o * b / g, b / g  # (x - a)/b * g + o
        else:
            raise N2VError(
                f"{pkg.label} ('{pkg.name}') uses the {where} '{op}', which depends on each image "
                "or is not a fixed linear step; napari-n2v runs foreign TorchScript models only "
                "with fixed normalisation. Run it in bioimageio.core instead."
            )
    return a, b


class _Affine(torch.nn.Module):
    """``net`` followed by an affine change per channel: ``net(x) * gain + bias``."""

    def __init__(
        self, net: torch.nn.Module, gain: np.ndarray, bias: np.ndarray, n_dim: int
    ) -> None:
        super().__init__()
        self.net = net
        shape = (1, -1, *[1] * n_dim)
        self.register_buffer("gain", torch.as_tensor(gain, dtype=torch.float32).reshape(shape))
        self.register_buffer("bias", torch.as_tensor(bias, dtype=torch.float32).reshape(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x) * self.gain + self.bias


def _load_torchscript(pkg: Package) -> TorchScriptModel:
    inp, out = pkg.only_input_output()
    in_ax, out_ax = _axis_ids(inp), _axis_ids(out)
    spatial = "".join(a for a in in_ax if a in ("z", "y", "x"))
    ok = in_ax in (["batch", "channel", *spatial], ["b", "c", *spatial]) and spatial in (
        "yx",
        "zyx",
    )
    if not ok or out_ax != in_ax:
        raise N2VError(
            f"{pkg.label} ('{pkg.name}') has axes {in_ax} -> {out_ax}; napari-n2v runs models "
            "with (batch, channel, [z,] y, x) in and the same out."
        )
    n_ch = _n_channels(inp)
    if _n_channels(out) != n_ch:
        raise N2VError(f"{pkg.label} ('{pkg.name}') changes the channel count: not a denoiser.")
    a_in, b_in = fixed_affine(pkg, inp.get("preprocessing"), n_ch, "preprocessing")
    # postprocessing (y - a_out) / b_out, i.e. y_final = y * (1/b_out) + (-a_out/b_out) ...
    a_out, b_out = fixed_affine(pkg, out.get("postprocessing"), n_ch, "postprocessing")
    # ... so y_final = net(z) / b_out - a_out / b_out; predict_iter returns f(z) * b_in + a_in:
    # f(z) = (y_final - a_in) / b_in.
    gain = 1.0 / (b_out * b_in)
    bias = (-a_out / b_out - a_in) / b_in
    step = _size_step(pkg, inp)
    depth = max(1, round(math.log2(step))) if step > 1 else 1
    try:
        net = torch.jit.load(
            io.BytesIO(pkg.read(pkg.weights()["torchscript"], "TorchScript weights")),
            map_location="cpu",
        )
    except RuntimeError as err:
        raise N2VError(f"{pkg.label}: its TorchScript weights could not be loaded: {err}") from err
    halos = [int(a.get("halo", 0)) for a in out.get("axes") or [] if isinstance(a, dict)]
    overlap = max([*halos, DEFAULT_FOREIGN_HALO])
    overlap = -(-overlap // 2**depth) * 2**depth
    axes = ("C" if n_ch > 1 else "") + spatial.upper()
    return TorchScriptModel(
        config=TrainConfig(axes=axes, depth=depth),
        network=_Affine(net, gain, bias, len(spatial)),
        mean=a_in.astype(np.float32),
        std=b_in.astype(np.float32),
        name=pkg.name,
        overlap=overlap,
        source=pkg.label,
    )


def _n_channels(tensor: dict[str, Any]) -> int:
    for a in tensor.get("axes") or []:
        if isinstance(a, dict) and a.get("type") == "channel":
            names = a.get("channel_names")
            return len(names) if names else int(a.get("size", 1))
    return 1


def _size_step(pkg: Package, tensor: dict[str, Any]) -> int:
    step = 1
    for a in tensor.get("axes") or []:
        if not isinstance(a, dict) or a.get("type") != "space":
            continue
        size = a.get("size")
        if isinstance(size, dict) and "step" in size:
            step = max(step, int(size["step"]))
        elif isinstance(size, int):
            raise N2VError(
                f"{pkg.label} ('{pkg.name}') takes a fixed input size ({a.get('id')}={size}); "
                "napari-n2v tiles images of any size and cannot run it."
            )
    if step & (step - 1) or step > 32:
        raise N2VError(
            f"{pkg.label} ('{pkg.name}') needs input sizes in steps of {step}; napari-n2v's tiling "
            "supports powers of two up to 32."
        )
    return step
