"""``napari-n2v train``: read the image, train, save the best model; Ctrl-C stops like the Stop button."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from napari_n2v.cli import check_out
from napari_n2v.core.errors import N2VError
from napari_n2v.core.image_io import ImageFile, axes_hint, read_image


@contextmanager
def stop_on_sigint(trainer: Any) -> Iterator[dict[str, bool]]:
    """The first Ctrl-C asks the trainer to stop (it finishes the step, validates and returns the best
    model); a second one aborts at once. Yields a dict whose ``"stopped"`` says whether it happened."""
    state = {"stopped": False}

    def handler(signum: int, frame: Any) -> None:
        if state["stopped"]:
            raise KeyboardInterrupt
        state["stopped"] = True
        trainer.stop()
        print(
            "\nCtrl-C: stopping after this step and saving the best model so far "
            "(Ctrl-C again to abort without saving)",
            file=sys.stderr,
            flush=True,
        )

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: leave Ctrl-C alone
        yield state
        return
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)


def _with_axes_hint(err: N2VError, image: ImageFile) -> N2VError:
    if "axes" in str(err).lower() or "Z" in str(err):
        return N2VError(f"{err} {axes_hint(image)}")
    return err


def run_train(args: argparse.Namespace) -> int:
    from napari_n2v.core.config import TrainConfig
    from napari_n2v.core.model_io import load_model
    from napari_n2v.core.progress import TrainProgress, drain
    from napari_n2v.core.training import Trainer

    out = Path(args.out)
    check_out(out, args.overwrite)
    base = load_model(args.continue_from, device=args.device) if args.continue_from else None
    image = read_image(
        args.image,
        args.axes,
        model_axes=base.axes if base else None,
        model_3d=base.is_3d if base else False,
    )
    if image.axes_from == "guess":
        print(f"note: {axes_hint(image)}", file=sys.stderr)
    val = None
    if args.val:
        val = read_image(args.val, image.axes).data
    given = {
        "patch_size": args.patch,
        "steps": args.steps,
        "batch_size": args.batch,
        "masked_pixels": args.masked_pixels,
        "learning_rate": args.lr,
        "seed": args.seed,
        "struct_axis": args.struct_axis,
    }
    try:
        cfg = TrainConfig(
            axes=image.axes,
            n2v2=args.n2v2,
            device=args.device,
            **{k: v for k, v in given.items() if v is not None},
        )
        trainer = Trainer(image.data, cfg, val_image=val, model=base, name=out.name.split(".")[0])
    except N2VError as err:
        raise _with_axes_hint(err, image) from err
    with stop_on_sigint(trainer) as state, TrainProgress(cfg.steps) as bar:
        try:
            model = drain(trainer.run(), bar.update)
        except N2VError as err:
            best = trainer.best_model
            if best is not None:  # a failed run keeps its best model, as a stopped one does
                best.save(out, overwrite=args.overwrite)
                raise N2VError(f"{err} Saved the best model so far to {out}.") from err
            if state["stopped"]:
                print("stopped before the first step: no model was trained.", file=sys.stderr)
                return 130
            raise
    model.save(out, overwrite=args.overwrite)
    if state["stopped"]:
        print(
            f"stopped by Ctrl-C after {model.steps_trained} steps: saved the best model so far to "
            f"{out} ({model.describe()})",
            file=sys.stderr,
        )
        return 130
    print(f"saved {out} ({model.describe()})")
    return 0
