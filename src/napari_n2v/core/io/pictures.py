"""PNG and JPEG files: 8- or 16-bit grey or colour pictures, read whole into memory.

Grey gives axes ``YX``, colour ``YXC`` (the engine's channel axis, last as in the file). An alpha channel
is dropped, and a colour picture whose channels are all equal (grey saved as RGB, or a grey palette) is
read as grey. Read with imageio (Pillow), except 16-bit colour PNGs, which Pillow would cut to 8 bits:
those need imagecodecs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from napari_n2v.core.errors import N2VError

PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_16bit_colour(path: Path) -> bool:
    """A PNG whose IHDR says 16 bits per sample and colour (RGB, grey + alpha, RGBA)."""
    with open(path, "rb") as f:
        head = f.read(26)
    return head[:8] == _PNG_MAGIC and len(head) == 26 and head[24] == 16 and head[25] in (2, 4, 6)


def read_picture(path: Path) -> tuple[np.ndarray, str]:
    """The pixels of a PNG or JPEG file and their axes (``"YX"`` or ``"YXC"``)."""
    try:
        if _png_16bit_colour(path):
            data = _decode_png_16(path)
        else:
            import imageio.v3 as iio

            data = np.asarray(iio.imread(path, index=0))
    except N2VError:
        raise
    except (
        Exception
    ) as err:  # Pillow and imageio raise many kinds (and advise plugins) for a bad file
        kind = path.suffix[1:].upper().replace("JPG", "JPEG")
        raise N2VError(
            f"cannot read {path} as a {kind} image (damaged, or another format under this name): "
            "check that the file opens in an image viewer, or save it as a TIFF."
        ) from err
    return settle_channels(data, path)


def _decode_png_16(path: Path) -> np.ndarray:
    try:
        import imagecodecs
    except ImportError as err:
        raise N2VError(
            f"{path.name} is a 16-bit colour PNG: reading it without cutting it to 8 bits needs "
            "imagecodecs (pip install imagecodecs), or save it as a TIFF."
        ) from err
    return np.asarray(imagecodecs.png_decode(path.read_bytes()))


def settle_channels(data: np.ndarray, path: Path) -> tuple[np.ndarray, str]:
    """Drop alpha; colour with equal channels -> grey; (Y, X) -> ``"YX"``, (Y, X, C) -> ``"YXC"``."""
    if data.ndim == 3 and data.shape[-1] in (2, 4):  # grey + alpha, RGBA
        data = data[..., :-1]
    if data.ndim == 3 and all(
        np.array_equal(data[..., 0], data[..., i]) for i in range(1, data.shape[-1])
    ):
        data = data[..., 0]
    if data.ndim == 2:
        return np.ascontiguousarray(data), "YX"
    if data.ndim == 3:
        return data, "YXC"
    raise N2VError(
        f"{path.name} has shape {data.shape}: a picture should be (Y, X) or (Y, X, colour)."
    )
