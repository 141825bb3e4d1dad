"""Drain the engine's generators: the one loop that scripts, the CLI and the demo share."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, TypeVar

R = TypeVar("R")


def drain(gen: Generator[Any, None, R], on_event: Callable[[Any], None] | None = None) -> R:
    """Run ``gen`` to the end, passing each yielded event to ``on_event``; return its return value."""
    while True:
        try:
            ev = next(gen)
        except StopIteration as stop:
            return stop.value
        if on_event is not None:
            on_event(ev)


class TrainProgress:
    """A tqdm bar over training steps (loss, patches/s, best validation loss); info lines above it."""

    def __init__(self, total: int, time_limit_s: float | None = None) -> None:
        from tqdm.auto import tqdm

        from napari_n2v.core.config import MAX_STEPS

        # a run on a time budget alone counts seconds, not its nominal MAX_STEPS steps
        self.by_time = time_limit_s is not None and total >= MAX_STEPS
        if self.by_time:
            fmt = "{l_bar}{bar}| {n:.0f}/{total:.0f} s [{postfix}]"
            self.bar = tqdm(total=time_limit_s, dynamic_ncols=True, bar_format=fmt)
        else:
            self.bar = tqdm(total=total, unit="step", dynamic_ncols=True)

    def update(self, ev: Any) -> None:
        from napari_n2v.core.events import InfoEvent, TrainEvent

        if isinstance(ev, TrainEvent):
            if self.by_time:
                self.bar.update(min(ev.elapsed_s, self.bar.total) - self.bar.n)
            else:  # by the step number: a resumed run starts where it was
                self.bar.update(ev.step - self.bar.n)
            post = {"step": str(ev.step), "loss": f"{ev.train_loss:.4f}"}
            post["patch/s"] = f"{ev.patches_per_s:.0f}"
            if ev.best_val_loss is not None:
                post["val"] = f"{ev.best_val_loss:.4f}"
            self.bar.set_postfix(post, refresh=False)
        elif isinstance(ev, InfoEvent):
            self.bar.write(ev.message)

    def __enter__(self) -> TrainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()
