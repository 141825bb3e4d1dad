"""``napari-n2v train``: read the image, train, save the best model; Ctrl-C stops like the Stop button."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from napari_n2v.cli.common import check_out
from napari_n2v.cli.judge import say_verdict
from napari_n2v.core.errors import N2VError
from napari_n2v.core.io.image_io import ImageFile, axes_hint, read_image


@contextmanager
def stop_on_sigint(trainer: Any, grace_s: float = 0.0) -> Iterator[dict[str, bool]]:
    """The first Ctrl-C asks the trainer to stop (it finishes the step, validates and returns the best
    model); a second one aborts at once. Yields a dict whose ``"stopped"`` says whether it happened.

    ``grace_s`` > 0 (under torchrun): a second Ctrl-C within that time is the same keypress forwarded
    by torchrun and is ignored, and SIGTERM (torchrun's or SLURM's shutdown) also stops cleanly."""
    state = {"stopped": False}
    first = [0.0]

    def handler(signum: int, frame: Any) -> None:
        if state["stopped"]:
            if time.monotonic() - first[0] < grace_s:
                return
            raise KeyboardInterrupt
        state["stopped"] = True
        first[0] = time.monotonic()
        trainer.stop()
        print(
            "\nCtrl-C: stopping after this step and saving the best model so far "
            "(Ctrl-C again to abort without saving)",
            file=sys.stderr,
            flush=True,
        )

    signals = [signal.SIGINT] + ([signal.SIGTERM] if grace_s > 0 else [])
    try:
        previous = [signal.signal(sig, handler) for sig in signals]
    except ValueError:  # not the main thread: leave Ctrl-C alone
        yield state
        return
    try:
        yield state
    finally:
        for sig, prev in zip(signals, previous, strict=True):
            signal.signal(sig, prev)


def _with_axes_hint(err: N2VError, image: ImageFile) -> N2VError:
    if "axes" in str(err).lower() or "Z" in str(err):
        return N2VError(f"{err} {axes_hint(image)}")
    return err


#: One input up to this size is loaded into memory (fastest; on a GPU it may live there); larger
#: inputs, and several, stay on disk and are read patch by patch.
IN_MEMORY_BYTES = 2 * 2**30


def _read_inputs(args: argparse.Namespace, base: Any) -> tuple[list[ImageFile], Any]:
    """The training images (lazy), all with the same axes; one small one loaded into memory."""
    import numpy as np

    from napari_n2v.core.io.file_list import expand_inputs

    paths = expand_inputs(args.image)
    model_axes, model_3d = (base.axes, base.is_3d) if base else (None, False)
    images = [
        read_image(p, args.axes, lazy=True, model_axes=model_axes, model_3d=model_3d) for p in paths
    ]
    first = images[0]
    for im in images[1:]:
        if im.axes != first.axes:
            raise N2VError(
                f"{im.path.name} has {im.describe_axes()} but {first.path.name} {first.axes!r}: "
                "all inputs need the same axes; give them with --axes."
            )
    if first.axes_from == "guess":
        print(f"note: {axes_hint(first)}", file=sys.stderr)
    if len(images) == 1 and first.data.size * first.data.dtype.itemsize <= IN_MEMORY_BYTES:
        return images, np.asarray(first.data)
    return images, [im.data for im in images]


def run_train(args: argparse.Namespace) -> int:
    from napari_n2v.core.train import distributed

    device = distributed.setup(args.device)  # under torchrun: join the group, this rank's device
    try:
        return _train(args, device)
    finally:
        distributed.teardown()


def _train(args: argparse.Namespace, device: str) -> int:
    from napari_n2v.core.config import MAX_STEPS, TrainConfig
    from napari_n2v.core.model.model_file import model_path
    from napari_n2v.core.model.model_io import load_model
    from napari_n2v.core.progress import drain
    from napari_n2v.core.train.trainer import Trainer

    out = model_path(args.out)  # refuses another suffix (m.pt would claim a pickle)
    if out != Path(args.out) and os.environ.get("RANK", "0") == "0":
        print(f"note: writing {out} (model files end in .n2v.safetensors)", file=sys.stderr)
    check_out(out, args.overwrite)
    base = load_model(args.continue_from, device=device) if args.continue_from else None
    images, data = _read_inputs(args, base)
    image = images[0]
    val = None
    if args.val:  # lazy beside lazy inputs; in memory beside one loaded image
        val = read_image(args.val, image.axes, lazy=isinstance(data, list)).data
    given = {
        "patch_size": args.patch,
        "steps": args.steps,
        "batch_size": args.batch,
        "masked_pixels": args.masked_pixels,
        "learning_rate": args.lr,
        "seed": args.seed,
        "struct_axis": args.struct_axis,
        "blind_spot": args.blind_spot,
        "time_limit_s": args.time,
        "precision": args.precision,
    }
    if args.time is not None and args.steps is None:  # a time budget alone: it ends the run
        given["steps"] = MAX_STEPS
    try:
        cfg = TrainConfig(
            axes=image.axes,
            n2v2=args.n2v2,
            device=device,
            **{k: v for k, v in given.items() if v is not None},
        )
        names = [im.path.name for im in images]
        trainer = Trainer(
            data, cfg, val_image=val, model=base, name=out.name.split(".")[0], image_names=names
        )
    except N2VError as err:
        raise _with_axes_hint(err, image) from err
    ranks = trainer.ranks
    if len(images) > 1 and ranks.is_main:
        print(f"training on {len(images)} images, read patch by patch from disk", file=sys.stderr)
    grace = 3.0 if ranks.active else 0.0
    with stop_on_sigint(trainer, grace) as state, _bar(cfg, ranks.is_main, args.quiet) as bar:
        try:
            model = drain(trainer.run(), bar.update if bar else None)
        except N2VError as err:
            best = trainer.best_model
            if best is not None:  # a failed run keeps its best model, as a stopped one does
                if ranks.is_main:
                    best.save(out, overwrite=args.overwrite)
                raise N2VError(f"{err} Saved the best model so far to {out}.") from err
            if state["stopped"]:
                print("stopped before the first step: no model was trained.", file=sys.stderr)
                return 130
            raise
    if ranks.is_main:  # rank 0 alone writes; the others wait until the file is there
        model.save(out, overwrite=args.overwrite)
    ranks.barrier()
    if not ranks.is_main:
        return 130 if state["stopped"] else 0
    if state["stopped"]:
        print(
            f"stopped by Ctrl-C after {model.steps_trained} steps: saved the best model so far to "
            f"{out} ({model.describe()})",
            file=sys.stderr,
        )
        return 130
    print(f"saved {out} ({model.describe()})")
    if not isinstance(data, list):  # one image in memory: judge the model against a calibrated blur
        say_verdict(model, data, image.axes)
    return 0


@contextmanager
def _bar(cfg: Any, show: bool, quiet: bool) -> Iterator[Any]:
    """The progress display on rank 0 (or in a single process): a bar on a terminal, plain lines in a
    log, none with --quiet (info lines are still shown); nothing on the other ranks."""
    if not show:
        yield None
        return
    from napari_n2v.core.progress import TrainProgress, progress_mode

    with TrainProgress(cfg.steps, cfg.time_limit_s, mode=progress_mode(quiet)) as bar:
        yield bar
