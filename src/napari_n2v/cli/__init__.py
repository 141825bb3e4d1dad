"""The command line: ``napari-n2v train | predict | export | demo`` (one module per subcommand)."""

from napari_n2v.cli.main import main

__all__ = ["main"]
