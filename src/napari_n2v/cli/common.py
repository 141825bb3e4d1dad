"""What the subcommands share: the output check before any work starts."""

from __future__ import annotations

from pathlib import Path

from napari_n2v.core.errors import N2VError


def check_out(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise N2VError(f"{path} already exists: choose another --out, or add --overwrite.")
    if not path.parent.exists():
        raise N2VError(f"the folder {path.parent} does not exist.")
