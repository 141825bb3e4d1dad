"""Prediction progress for ``napari-n2v predict``: tiles of one file, and files (with their tiles) of many.

A bar on a terminal, plain lines in a log, nothing with ``--quiet`` (see :mod:`napari_n2v.core.progress`);
``failed:`` and ``skipped:`` lines always start at the beginning of a line, so ``grep ^failed:`` finds them.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from napari_n2v.core.progress import Display, clock


class TileProgress:
    """Tiles of one image."""

    def __init__(self, mode: str, stream: TextIO | None = None) -> None:
        self.display = Display(mode, self._make_bar, stream)
        self.total: int | None = None

    def _make_bar(self, stream: TextIO) -> Any:
        from tqdm.auto import tqdm

        return tqdm(total=self.total, unit="tile", file=stream, dynamic_ncols=True)

    def update(self, ev: Any) -> None:
        self.total = ev.total

        def bar(b: Any) -> None:
            if b.total != ev.total:
                b.reset(total=ev.total)
            b.update(ev.done - b.n)

        line = f"tile {ev.done}/{ev.total} eta={clock(ev.eta_s)}"
        self.display.show(bar, lambda: line)

    def close(self) -> None:
        self.display.close()


class BatchProgress:
    """Files, and the tiles (blocks on a cluster) of the file in progress; one line per failed or
    skipped file, above the bars."""

    def __init__(self, n_files: int, mode: str, stream: TextIO | None = None) -> None:
        self.n_files, self.mode = n_files, mode
        self.stream = stream if stream is not None else sys.stderr
        self.display = Display(mode, self._make_bar, self.stream)
        self.tiles: Any = None
        self.ended = {"ok": 0, "failed": 0, "skipped": 0, "cancelled": 0}
        self.current = ""
        self.tile_text = ""

    def _make_bar(self, stream: TextIO) -> Any:
        from tqdm.auto import tqdm

        return tqdm(total=self.n_files, unit="file", file=stream, dynamic_ncols=True, position=0)

    def _tile_bar(self, files_bar: Any, ev: Any) -> None:
        from tqdm.auto import tqdm

        if self.tiles is None:
            self.tiles = tqdm(
                total=ev.total,
                unit="tile",
                file=self.stream,
                dynamic_ncols=True,
                position=1,
                leave=False,
            )
        if self.tiles.total != ev.total:
            self.tiles.reset(total=ev.total)
        self.tiles.update(ev.done - self.tiles.n)

    def _line(self) -> str:
        e = self.ended
        done = sum(e.values())
        tiles = f" ({self.current}: {self.tile_text})" if self.current and self.tile_text else ""
        return (
            f"files {done}/{self.n_files}: {e['ok']} denoised, {e['failed']} failed, "
            f"{e['skipped']} skipped{tiles}"
        )

    def update(self, ev: Any) -> None:
        from napari_n2v.batch.jobs import FileEvent

        if not isinstance(ev, FileEvent):
            self.tile_text = f"tile {ev.done}/{ev.total}"
            self.display.show(lambda b: self._tile_bar(b, ev), self._line)
            return
        if ev.status == "started":
            if ev.message:  # e.g. an incomplete output from an interrupted run, redone
                self.display.say(f"redo: {ev.job.out}: {ev.message}")
            self.current, self.tile_text = ev.job.src.name, ""
            if self.tiles is not None:  # a new file: its own count and elapsed time
                self.tiles.reset()

            def started(b: Any) -> None:
                b.set_postfix_str(ev.job.src.name, refresh=True)

            self.display.show(started, self._line)
            return
        self.ended[ev.status] = self.ended.get(ev.status, 0) + 1
        self.current, self.tile_text = "", ""
        if ev.status == "failed":
            self.display.say(f"failed: {ev.job.src}: {ev.message}")
        elif ev.status == "skipped":
            self.display.say(f"skipped: {ev.job.out} exists (--overwrite replaces it)")
        self.display.show(lambda b: b.update(1), self._line)

    def close(self) -> None:
        if self.tiles is not None:
            self.tiles.close()
            self.tiles = None
        self.display.close()
