"""``python -m napari_n2v``: the command line (what ``torchrun ... -m napari_n2v train`` launches)."""

import sys

from napari_n2v.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
