"""Drain the engine's generators and show their progress: the one loop and the one display that scripts,
the CLI and the demo share.

On a terminal progress is a tqdm bar; anywhere else (a log file, a pipe, a cluster job's output) it is a
plain line at the first update and then every :data:`LINE_EVERY_S` seconds, so a log holds no carriage
returns or cursor codes and every line can be grepped; ``quiet`` shows none. Other lines (the start
line, notes, failures) are printed above the bar, never inside it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Generator
from typing import Any, TextIO, TypeVar

R = TypeVar("R")

#: Seconds between two plain progress lines when the output is not a terminal.
LINE_EVERY_S = 10.0
MODES = ("bar", "lines", "quiet")


def drain(gen: Generator[Any, None, R], on_event: Callable[[Any], None] | None = None) -> R:
    """Run ``gen`` to the end, passing each yielded event to ``on_event``; return its return value."""
    while True:
        try:
            ev = next(gen)
        except StopIteration as stop:
            return stop.value
        if on_event is not None:
            on_event(ev)


def progress_mode(quiet: bool = False, stream: TextIO | None = None) -> str:
    """``"quiet"`` when asked, ``"bar"`` when ``stream`` (default stderr) is a terminal, else ``"lines"``."""
    if quiet:
        return "quiet"
    stream = stream if stream is not None else sys.stderr
    try:
        return "bar" if stream.isatty() else "lines"
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return "lines"


def clock(seconds: float | None) -> str:
    """``75`` -> ``1m15s``; ``3700`` -> ``1h01m``; None -> ``?``."""
    if seconds is None:
        return "?"
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class Display:
    """One progress display in one of :data:`MODES`.

    ``show(update_bar, line)`` reports progress: in ``"bar"`` mode the bar (made by ``make_bar`` at the
    first report, so an error before it prints no empty bar) is passed to ``update_bar``; in
    ``"lines"`` mode ``line()`` is printed at the first report, then at most every
    :data:`LINE_EVERY_S` seconds, and the last state once more at :meth:`close` when it was not
    printed. :meth:`say` prints a line of its own, above the bar.
    """

    def __init__(
        self, mode: str, make_bar: Callable[[TextIO], Any], stream: TextIO | None = None
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode, self._make_bar = mode, make_bar
        self.stream = stream if stream is not None else sys.stderr
        self.bar: Any = None
        self._last: float | None = None
        self._pending: Callable[[], str] | None = None

    def say(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def show(self, update_bar: Callable[[Any], None], line: Callable[[], str]) -> None:
        if self.mode == "bar":
            if self.bar is None:
                self.bar = self._make_bar(self.stream)
            update_bar(self.bar)
        elif self.mode == "lines":
            now = time.monotonic()
            if self._last is None or now - self._last >= LINE_EVERY_S:
                self._last, self._pending = now, None
                print(line(), file=self.stream, flush=True)
            else:
                self._pending = line

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self._pending is not None:
            print(self._pending(), file=self.stream, flush=True)
            self._pending = None


class TrainProgress:
    """Training progress (steps or seconds, loss, patches/s, best validation loss) and info lines.

    ``mode`` is one of :data:`MODES` (default: a bar on a terminal, plain lines elsewhere)."""

    def __init__(
        self,
        total: int,
        time_limit_s: float | None = None,
        *,
        mode: str | None = None,
        stream: TextIO | None = None,
    ) -> None:
        from napari_n2v.core.config import MAX_STEPS

        self.total, self.time_limit_s = total, time_limit_s
        # a run on a time budget alone counts seconds, not its nominal MAX_STEPS steps
        self.by_time = time_limit_s is not None and total >= MAX_STEPS
        mode = mode or progress_mode(False, stream)
        self.display = Display(mode, self._make_bar, stream)

    def _make_bar(self, stream: TextIO) -> Any:
        from tqdm.auto import tqdm

        if self.by_time:
            fmt = "{l_bar}{bar}| {n:.0f}/{total:.0f} s{postfix}"  # postfix: ", step=24, loss=..."
            return tqdm(total=self.time_limit_s, file=stream, dynamic_ncols=True, bar_format=fmt)
        return tqdm(total=self.total, unit="step", file=stream, dynamic_ncols=True)

    def update(self, ev: Any) -> None:
        from napari_n2v.core.events import InfoEvent, TrainEvent

        if isinstance(ev, TrainEvent):
            self.display.show(lambda bar: self._step_bar(bar, ev), lambda: self._line(ev))
        elif isinstance(ev, InfoEvent):
            self.display.say(ev.message)

    def _step_bar(self, bar: Any, ev: Any) -> None:
        if self.by_time:
            bar.update(min(ev.elapsed_s, bar.total) - bar.n)
        else:
            bar.update(ev.step - bar.n)
        post = {"step": str(ev.step), "loss": f"{ev.train_loss:.4f}"}
        post["patch/s"] = f"{ev.patches_per_s:.0f}"
        if ev.best_val_loss is not None:
            post["val"] = f"{ev.best_val_loss:.4f}"
        bar.set_postfix(post, refresh=False)

    def _line(self, ev: Any) -> str:
        """``step 120/2000 loss=0.4121 val=0.4002 patch/s=140 elapsed=1m05s eta=9m40s``."""
        if self.by_time:
            head = f"step {ev.step} ({ev.elapsed_s:.0f}/{self.time_limit_s:.0f} s)"
        else:
            head = f"step {ev.step}/{self.total}"
        val = f" val={ev.best_val_loss:.4f}" if ev.best_val_loss is not None else ""
        return (
            f"{head} loss={ev.train_loss:.4f}{val} patch/s={ev.patches_per_s:.0f} "
            f"elapsed={clock(ev.elapsed_s)} eta={clock(ev.eta_s)}"
        )

    def close(self) -> None:
        self.display.close()

    def __enter__(self) -> TrainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
