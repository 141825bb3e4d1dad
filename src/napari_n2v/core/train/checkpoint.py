"""Training checkpoints: what a run killed mid-way (even with SIGKILL) needs to go on where it was.

One safetensors file, written atomically (:func:`napari_n2v.core.io.atomic.atomic_write`), holds the
last and the best weights, the Adam state (per parameter index ``optim/<i>/exp_avg``,
``optim/<i>/exp_avg_sq``, ``optim/<i>/step``), the random generators' states, and JSON metadata: the
TrainConfig, step count, elapsed time, validation history, the optimiser's param_groups, the
learning-rate scheduler's and grad scaler's states, the seed, and a SHA-256 checksum of all of it.
No pickle: reading a checkpoint never runs code from it, and a damaged or edited one is refused.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import N2VError
from ..io.atomic import atomic_write
from ..model.model_file import FORMAT as MODEL_FORMAT
from ..model.model_file import _sniff, check_format_version

FORMAT = "napari-n2v-checkpoint"
FORMAT_VERSION = 1
SUFFIX = ".ckpt.safetensors"
#: What the metadata's "state" JSON must hold.
STATE_KEYS = (
    "step", "elapsed_s", "val_history", "param_names", "has_best", "optimizer", "scheduler",
    "scaler", "seed", "numpy_rng", "extra",
)  # fmt: skip


@dataclass
class Checkpoint:
    """A loaded checkpoint (tensors on the CPU); :func:`restore` puts it back into a run."""

    step: int
    elapsed_s: float
    val_history: list[dict[str, Any]]
    config_json: str
    model_state: dict[str, torch.Tensor]
    best_state: dict[str, torch.Tensor] | None
    optimizer_state: dict[str, Any]  # torch's form: {"state": {i: {...}}, "param_groups": [...]}
    scheduler_state: dict[str, Any] | None
    scaler_state: dict[str, Any] | None = None
    seed: int | None = None
    torch_rng: dict[str, torch.Tensor] = field(default_factory=dict)
    numpy_rng: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    param_names: list[str] = field(default_factory=list)

    @property
    def best_val(self) -> float | None:
        """The best finite validation loss in the history (None: none yet)."""
        vals = [float(h["val_loss"]) for h in self.val_history if h.get("val_loss") is not None]
        finite = [v for v in vals if math.isfinite(v)]
        return min(finite) if finite else None


def checkpoint_path(out: str | Path) -> Path:
    """The checkpoint beside a model file: ``model.n2v.safetensors`` -> ``model.ckpt.safetensors``."""
    out = Path(out)
    base = out.name.removesuffix(".safetensors").removesuffix(".n2v")
    return out.with_name((base or out.name) + SUFFIX)


def _digest(tensors: Mapping[str, torch.Tensor], meta: Mapping[str, str]) -> str:
    """SHA-256 over the metadata and every tensor's name, dtype, shape and bytes."""
    h = hashlib.sha256()
    for k in sorted(meta):
        if k != "digest":
            h.update(f"{k}\0{meta[k]}\0".encode())
    for k in sorted(tensors):
        t = tensors[k]
        h.update(f"{k}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        h.update(t.contiguous().reshape(-1).view(torch.uint8).numpy().data)
    return h.hexdigest()


def _cpu(state: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {prefix + k: v.detach().to("cpu", copy=True).contiguous() for k, v in state.items()}


def save_checkpoint(
    path: str | Path,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    step: int,
    elapsed_s: float,
    val_history: list[dict[str, Any]],
    best_state: Mapping[str, torch.Tensor] | None,
    config_json: str,
    extra: dict[str, Any] | None = None,
    scaler: Any = None,
    seed: int | None = None,
    torch_generators: Mapping[str, torch.Generator] | None = None,
    numpy_generators: Mapping[str, np.random.Generator] | None = None,
    overwrite: bool = True,
) -> Path:
    """Write a checkpoint of a run atomically (the previous checkpoint stays intact until the new
    one is complete); returns its path.

    ``scheduler`` (e.g. ReduceLROnPlateau) and ``scaler`` (a GradScaler) may be None. The generators
    are saved by name (``torch_generators={"mask": gen}``, ``numpy_generators={"patches": rng}``);
    torch's global generator is always saved. ``extra`` must be JSON-serialisable.
    """
    from safetensors.torch import save_file

    tensors = _cpu(model.state_dict(), "model/")
    if best_state is not None:
        tensors.update(_cpu(best_state, "best/"))
    opt = optimizer.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for idx, st in opt["state"].items():
        for name, v in st.items():
            if isinstance(v, torch.Tensor):
                tensors[f"optim/{idx}/{name}"] = v.detach().to("cpu", copy=True).contiguous()
            else:
                scalars.setdefault(str(idx), {})[name] = v
    gens = {"torch_global": torch.get_rng_state(), **{
        name: g.get_state() for name, g in (torch_generators or {}).items()
    }}  # fmt: skip
    tensors.update({f"rng/{name}": s.to("cpu").contiguous() for name, s in gens.items()})
    state = {
        "step": int(step),
        "elapsed_s": float(elapsed_s),
        "val_history": list(val_history),
        "param_names": [n for n, _ in model.named_parameters()],
        "has_best": best_state is not None,
        "optimizer": {"param_groups": opt["param_groups"], "scalars": scalars},
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "scaler": scaler.state_dict() if scaler is not None else None,
        "seed": seed,
        "numpy_rng": {n: g.bit_generator.state for n, g in (numpy_generators or {}).items()},
        "extra": extra or {},
    }
    meta = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "config": config_json,
        "state": json.dumps(state),
    }
    meta["digest"] = _digest(tensors, meta)
    path = Path(path)
    with atomic_write(path, overwrite=overwrite) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return path


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


def _read(path: Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """The metadata and tensors of a napari-n2v checkpoint file, after checking what the file is."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    if not path.is_file():
        raise N2VError(f"no checkpoint at {path}: check the path, or train without --resume")
    foreign = _sniff(path)
    if foreign:
        raise N2VError(f"{path.name} is {foreign}, not a napari-n2v checkpoint; it was not opened")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta: dict[str, str] = f.metadata() or {}
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise N2VError(
            f"{path.name} is not a readable checkpoint (corrupt or truncated?): {_one_line(err)}"
        ) from err
    kind = meta.get("format")
    if kind == MODEL_FORMAT:
        raise N2VError(
            f"{path.name} is a model file, not a checkpoint: continue from it with "
            "--continue-from, or resume from its .ckpt.safetensors file"
        )
    if kind != FORMAT:
        raise N2VError(f"{path.name} is a safetensors file but not a napari-n2v checkpoint")
    check_format_version(meta, path, "checkpoint", FORMAT_VERSION)
    if meta.get("digest") != _digest(tensors, meta):
        raise N2VError(
            f"{path.name} was changed or damaged after it was written (its checksum does not "
            "match): use another checkpoint, or train without --resume"
        )
    return meta, tensors


def _part(tensors: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read and check a checkpoint: a missing, foreign, truncated, edited or inconsistent file is
    refused with a one-line N2VError."""
    path = Path(path)
    meta, tensors = _read(path)
    damaged = f"{path.name} is damaged"
    try:
        state = json.loads(meta["state"])
        missing = [k for k in STATE_KEYS if k not in state]
        if missing or "config" not in meta:
            raise N2VError(f"{damaged}: it lacks {', '.join(missing or ['config'])}")
        model_state = _part(tensors, "model/")
        names = list(state["param_names"])
        opt_state: dict[int, dict[str, Any]] = {}
        for key, t in _part(tensors, "optim/").items():
            idx, name = key.split("/", 1)
            opt_state.setdefault(int(idx), {})[name] = t
        for idx, values in state["optimizer"]["scalars"].items():
            opt_state.setdefault(int(idx), {}).update(values)
        groups = [
            {k: tuple(v) if isinstance(v, list) and k != "params" else v for k, v in g.items()}
            for g in state["optimizer"]["param_groups"]
        ]
    except (KeyError, ValueError, TypeError, AttributeError) as err:
        raise N2VError(f"{damaged}: {_one_line(err)}") from err
    for i, st in opt_state.items():
        if not 0 <= i < len(names) or names[i] not in model_state:
            raise N2VError(f"{damaged}: optimiser state for an unknown parameter {i}")
        for name in ("exp_avg", "exp_avg_sq"):
            moment = st.get(name)
            if isinstance(moment, torch.Tensor) and moment.shape != model_state[names[i]].shape:
                raise N2VError(
                    f"{damaged}: optimiser state {name} of {names[i]} has the wrong shape"
                )
    return Checkpoint(
        step=int(state["step"]),
        elapsed_s=float(state["elapsed_s"]),
        val_history=list(state["val_history"]),
        config_json=meta["config"],
        model_state=model_state,
        best_state=_part(tensors, "best/") if state["has_best"] else None,
        optimizer_state={"state": opt_state, "param_groups": groups},
        scheduler_state=state["scheduler"],
        scaler_state=state["scaler"],
        seed=state["seed"],
        torch_rng=_part(tensors, "rng/"),
        numpy_rng=dict(state["numpy_rng"]),
        extra=dict(state["extra"]),
        param_names=names,
    )


def _saved(states: Mapping[str, Any], name: str, hint: str) -> Any:
    if name not in states:
        raise N2VError(f"the checkpoint has no state for the generator {name!r}: {hint}")
    return states[name]


def restore(
    checkpoint: Checkpoint,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any = None,
    *,
    scaler: Any = None,
    torch_generators: Mapping[str, torch.Generator] | None = None,
    numpy_generators: Mapping[str, np.random.Generator] | None = None,
) -> None:
    """Put a checkpoint back: the last weights into ``model`` (on its device), the optimiser, the
    scheduler's and scaler's states, and the generators' states (by the names they were saved
    with); torch's global generator too. A model of another architecture: one-line N2VError."""
    hint = "resume with the settings the checkpoint was written with, or train without --resume"
    names = [n for n, _ in model.named_parameters()]
    if names != checkpoint.param_names:
        raise N2VError(f"the checkpoint is of another network (its layers differ): {hint}")
    try:
        model.load_state_dict(checkpoint.model_state)
        optimizer.load_state_dict(checkpoint.optimizer_state)
    except (RuntimeError, ValueError, KeyError) as err:
        why = _one_line(err)[:300] or type(err).__name__
        raise N2VError(f"the checkpoint does not fit this run ({why}): {hint}") from err
    if scheduler is not None and checkpoint.scheduler_state is not None:
        scheduler.load_state_dict(checkpoint.scheduler_state)
    if scaler is not None and checkpoint.scaler_state is not None:
        scaler.load_state_dict(checkpoint.scaler_state)
    torch.set_rng_state(_saved(checkpoint.torch_rng, "torch_global", hint))
    for name, g in (torch_generators or {}).items():
        g.set_state(_saved(checkpoint.torch_rng, name, hint))
    for name, rng in (numpy_generators or {}).items():
        rng.bit_generator.state = _saved(checkpoint.numpy_rng, name, hint)
