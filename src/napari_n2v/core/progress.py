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

    def __init__(self, total: int) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, unit="step", dynamic_ncols=True)

    def update(self, ev: Any) -> None:
        from .training import InfoEvent, TrainEvent

        if isinstance(ev, TrainEvent):
            self.bar.update(1)
            post = {"loss": f"{ev.train_loss:.4f}", "patch/s": f"{ev.patches_per_s:.0f}"}
            if ev.best_val_loss is not None:
                post["val"] = f"{ev.best_val_loss:.4f}"
            self.bar.set_postfix(post, refresh=False)
        elif isinstance(ev, InfoEvent):
            self.bar.write(ev.message)

    def __enter__(self) -> TrainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()
