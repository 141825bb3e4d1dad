"""``train``'s flags for not losing a run: ``--checkpoint-every``, ``--resume`` and
``--continue-from CHECKPOINT``; the checks and the clean-up around them."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from napari_n2v.core.errors import N2VError
from napari_n2v.core.io.atomic import check_writable
from napari_n2v.core.train.checkpoint import Checkpoint, checkpoint_path, load_checkpoint
from napari_n2v.core.train.checkpointing import DEFAULT_EVERY_S, Checkpointing, is_checkpoint

_UNITS = {"": 60.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def every(text: str) -> float | None:
    """``--checkpoint-every``: minutes (``5``, ``0.5``), or with a unit (``90s``, ``10m``, ``1h``);
    ``off`` or ``0``: never. Returns seconds, or None."""
    t = text.strip().lower()
    if t in ("off", "no", "never", "none"):
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|m|min|h)?", t)
    if m is None:
        raise argparse.ArgumentTypeError(
            f"expected minutes like 5 or 0.5, a time like 90s or 1h, or off; got {text!r}"
        )
    seconds = float(m.group(1)) * _UNITS[m.group(2) or ""]
    return seconds if seconds > 0 else None


def add_args(t: argparse.ArgumentParser) -> None:
    """The flags, on ``train``'s parser."""
    t.add_argument(
        "--checkpoint-every",
        type=every,
        default=DEFAULT_EVERY_S,
        metavar="MINUTES",
        help="save the run beside --out (MODEL.ckpt.safetensors) this often and when it stops, "
        "so a crash, kill -9 or a cluster's time limit costs at most these minutes; 90s or 1h "
        f"also work; off (or 0): no checkpoints (default: {DEFAULT_EVERY_S / 60:g})",
    )
    t.add_argument(
        "--resume",
        action="store_true",
        help="go on from the checkpoint beside --out: weights, optimiser, step count, validation "
        "history and seed; settings not given again are the checkpoint's; --out is replaced",
    )


def checkpointing(args: argparse.Namespace, out: Path) -> Checkpointing | None:
    """The run's checkpoints: where and how often, and the one it resumes from (``--resume``, or
    ``--continue-from`` a checkpoint file). A checkpoint of an earlier run beside ``out`` is never
    replaced silently: resume from it, or start afresh with ``--overwrite``."""
    src, path = args.continue_from, checkpoint_path(out)
    if args.resume and src:
        raise N2VError(
            "give --resume (the checkpoint beside --out) or --continue-from FILE, not both."
        )
    resume: Checkpoint | None = None
    if args.resume:
        resume = load_checkpoint(path)
    elif src and is_checkpoint(src):
        resume = load_checkpoint(src)
    elif path.exists() and not args.overwrite:  # most likely a --resume forgotten
        raise N2VError(
            f"{path} holds an earlier run's checkpoint: add --resume to go on from it, or "
            "--overwrite to start afresh."
        )
    if args.checkpoint_every is None and resume is None:
        return None
    return Checkpointing(path, args.checkpoint_every, resume)


def resume_config(ckpt: Checkpoint, axes: str, device: str, given: dict[str, Any]) -> Any:
    """The resumed run's settings: the checkpoint's, with the axes, device and flags given now."""
    from napari_n2v.core.config import TrainConfig

    try:
        cfg = TrainConfig.from_dict(json.loads(ckpt.config_json))
    except (ValueError, TypeError, KeyError) as err:
        raise N2VError(f"the checkpoint's settings cannot be read ({err})") from err
    return cfg.replace(
        axes=axes, device=device, **{k: v for k, v in given.items() if v is not None}
    )


def check_space(out: Path, trainer: Any, policy: Checkpointing | None, overwrite: bool) -> None:
    """Before training: room beside ``out`` for the model file and the checkpoints (about four
    times the weights: last and best weights, two Adam moments)."""
    from napari_n2v.core.model.unet import build_unet

    net = build_unet(trainer.config, trainer.data.channels)
    weights = 4 * sum(p.numel() for p in net.parameters())
    need = weights * (1 + (4 if policy is not None and policy.every_s is not None else 0))
    check_writable(out, overwrite=overwrite, size_hint=need)


def after_save(policy: Checkpointing | None, stopped_by: str | None, say: Any) -> None:
    """A finished run's checkpoint is removed once its model is saved; a stopped run keeps it."""
    if policy is None or not policy.path.exists():
        return
    if stopped_by is None:
        policy.path.unlink(missing_ok=True)
    else:
        say(f"kept the checkpoint {policy.path}: add --resume to the same command to go on")
