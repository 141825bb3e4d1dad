"""What the subcommands share: the output check before any work starts."""

from __future__ import annotations

from pathlib import Path

from napari_n2v.core.io.outputs import check_output


def check_out(path: Path, overwrite: bool, *, size_hint: int | None = None) -> None:
    """Before any work (:func:`napari_n2v.core.io.outputs.check_output`): an existing output only
    with ``overwrite``; a writable folder with room for ``size_hint`` bytes; no run writing it."""
    check_output(path, overwrite, size_hint=size_hint)
