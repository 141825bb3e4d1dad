"""``napari-n2v train``: read the image, train, save the best model; Ctrl-C, SIGTERM and SIGHUP stop
like the Stop button (the best model so far is saved); the run checkpoints beside its output."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from napari_n2v.cli.common import check_out
from napari_n2v.cli.judge import say_verdict
from napari_n2v.core.errors import N2VError
from napari_n2v.core.io.image_io import ImageFile, axes_hint, read_image


def _with_axes_hint(err: N2VError, image: ImageFile) -> N2VError:
    if "axes" in str(err).lower() or "Z" in str(err):
        return N2VError(f"{err} {axes_hint(image)}")
    return err


#: How the stop signals are named to the user.
_NAMES = {"SIGINT": "Ctrl-C"}
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
    from contextlib import nullcontext

    from napari_n2v.cli.resume import checkpointing
    from napari_n2v.core.io.outputs import hold_for_run
    from napari_n2v.core.model.model_file import model_path
    from napari_n2v.core.train.distributed import Ranks

    out = model_path(args.out)  # refuses another suffix (m.pt would claim a pickle)
    if out != Path(args.out) and os.environ.get("RANK", "0") == "0":
        print(f"note: writing {out} (model files end in .n2v.safetensors)", file=sys.stderr)
    ckpt = checkpointing(args, out)  # loads the checkpoint a resumed run goes on from
    resuming = ckpt is not None and ckpt.resume is not None
    check_out(out, args.overwrite or resuming)  # a resumed run replaces its own earlier output
    with hold_for_run(out) if Ranks().is_main else nullcontext():  # one run per output
        return _train_into(args, device, out, ckpt)


def _train_into(args: argparse.Namespace, device: str, out: Path, ckpt: Any) -> int:
    from napari_n2v.cli.resume import after_save, check_space, resume_config
    from napari_n2v.core.config import MAX_STEPS, TrainConfig
    from napari_n2v.core.model.model_io import load_model
    from napari_n2v.core.progress import drain
    from napari_n2v.core.signals import stop_on_signals
    from napari_n2v.core.train.trainer import Trainer

    resume = ckpt.resume if ckpt is not None else None
    replace = args.overwrite or resume is not None
    base = None
    if args.continue_from and resume is None:
        base = load_model(args.continue_from, device=device)
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
        if resume is not None:
            cfg = resume_config(resume, image.axes, device, {**given, "n2v2": args.n2v2 or None})
        else:
            cfg = TrainConfig(
                axes=image.axes,
                n2v2=args.n2v2,
                device=device,
                **{k: v for k, v in given.items() if v is not None},
            )
        names = [im.path.name for im in images]
        trainer = Trainer(
            data,
            cfg,
            val_image=val,
            model=base,
            name=out.name.split(".")[0],
            image_names=names,
            checkpoint=ckpt,
        )
    except N2VError as err:
        raise _with_axes_hint(err, image) from err
    ranks = trainer.ranks
    if ranks.is_main:
        check_space(out, trainer, ckpt, replace)
    if len(images) > 1 and ranks.is_main:
        print(f"training on {len(images)} images, read patch by patch from disk", file=sys.stderr)
    grace = 3.0 if ranks.active else 0.0

    def say(signal: str) -> None:
        if ranks.is_main:
            name = _NAMES.get(signal, signal)
            print(
                f"\n{name}: stopping after this step and saving the best model so far "
                f"({name} again aborts without saving)",
                file=sys.stderr,
                flush=True,
            )

    with (
        stop_on_signals(trainer.stop, grace_s=grace, announce=say) as state,
        _bar(cfg, ranks.is_main, args.quiet) as bar,
    ):
        try:
            model = drain(trainer.run(), bar.update if bar else None)
        except N2VError as err:
            best = trainer.best_model
            if best is not None:  # a failed run keeps its best model, as a stopped one does
                if ranks.is_main:
                    best.save(out, overwrite=replace)
                raise N2VError(f"{err} Saved the best model so far to {out}.") from err
            if state.signal:
                print("stopped before the first step: no model was trained.", file=sys.stderr)
                return state.exit_code
            raise
        try:
            if ranks.is_main:  # rank 0 alone writes
                _save(model, out, replace, ckpt)
        finally:
            ranks.barrier()  # the others wait until the file is there (or its save failed)
    if ranks.is_main:
        after_save(ckpt, state.signal, lambda s: print(s, file=sys.stderr))
    if not ranks.is_main:
        return state.exit_code
    if state.signal:
        print(
            f"stopped by {_NAMES.get(state.signal, state.signal)} after {model.steps_trained} "
            f"steps: saved the best model so far to {out} ({model.describe()})",
            file=sys.stderr,
        )
        return state.exit_code
    print(f"saved {out} ({model.describe()})")
    if not isinstance(data, list):  # one image in memory: judge the model against a calibrated blur
        say_verdict(model, data, image.axes)
    return 0


def _save(model: Any, out: Path, overwrite: bool, ckpt: Any) -> None:
    """Write the model; when that fails (e.g. a full disk), say that the checkpoint keeps the run."""
    try:
        model.save(out, overwrite=overwrite)
    except N2VError as err:
        if ckpt is not None and ckpt.path.exists():
            raise N2VError(
                f"{err} (the last checkpoint is {ckpt.path}: once fixed, add --resume to the "
                "same command to go on from it)"
            ) from err
        raise


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
