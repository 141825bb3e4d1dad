"""Which axes a layer has for a given model: inferred from the layer (ndim, rgb) and the model.

Qt-free so it is cheap to test. The guess is the engine's (:func:`napari_n2v.core.layout.guess_axes`): a
3D model takes the last three dims as ``ZYX``; a 2D model takes the last two as ``YX`` and the leading dims
as samples predicted one by one. Channels: the trailing dim of an RGB
layer, or (for a multi-channel model) a leading dim whose size is the model's channel count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from napari_n2v.core.axes import validate_axes
from napari_n2v.core.errors import N2VError
from napari_n2v.core.layout import guess_axes

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.core.model.denoiser import Denoiser


def infer_axes(shape: Sequence[int], rgb: bool, is_3d: bool, n_channels: int = 1) -> str:
    """Guess the axes string of a layer's data for a model: the engine's rule
    (:func:`napari_n2v.core.layout.guess_axes`), with a channel axis found first.

    A 2D model on a 3D array reads ``SYX`` (planes predicted one by one, whether they are a Z-stack or
    samples: the result is the same); a 3D model reads ``ZYX``.

    Parameters
    ----------
    shape
        The layer data's shape.
    rgb
        True when the layer is RGB(A): its last dim is channels.
    is_3d
        The model is 3D (needs ``ZYX``).
    n_channels
        The model's channel count.

    Returns
    -------
    str
        One letter per dim, e.g. ``'YX'``, ``'ZYX'``, ``'SYX'``, ``'TZYX'``, ``'YXC'``, ``'CZYX'``.

    Raises
    ------
    N2VError
        When the data has too few or too many dims for the model (the message says what to change).
    """
    shape = tuple(int(s) for s in shape)
    dims = list(range(len(shape)))
    chan: int | None = None
    n_sp = 3 if is_3d else 2
    if rgb:
        chan = dims.pop()
    elif n_channels > 1:
        # The channel dim is the nearest leading dim (before the spatial ones) of the right size.
        matches = [d for d in dims[: max(0, len(dims) - n_sp)] if shape[d] == n_channels]
        if matches:
            chan = matches[-1]
            dims.remove(chan)
    if len(dims) < n_sp:
        kind = "3D (Z, Y, X)" if is_3d else "2D (Y, X)"
        raise N2VError(
            f"the model is {kind} but the image has only {len(dims)} spatial dim(s) (shape {shape}); "
            + ("choose a 2D model for a 2D image." if is_3d else "choose another image.")
        )
    try:
        letters = dict(zip(dims, guess_axes(len(dims), is_3d), strict=True))
    except N2VError as err:
        raise N2VError(
            f"the image has {len(shape)} dims (shape {shape}), more than the axes can be guessed "
            f"for with a {'3D' if is_3d else '2D'} model: {err}"
        ) from err
    if chan is not None:
        letters[chan] = "C"
    return "".join(letters[d] for d in range(len(shape)))


def check_axes(axes: str, shape: Sequence[int], is_3d: bool, n_channels: int = 1) -> str:
    """Validate ``axes`` against the data shape and the model; return them upper-cased.

    Raises
    ------
    N2VError
        Bad letters, wrong length, a 3D model without ``Z``, or a channel count the model does not have.
    """
    ax = validate_axes(axes, shape)
    dims = dict(zip(ax, (int(s) for s in shape), strict=True))
    if is_3d and "Z" not in ax:
        raise N2VError(
            f"the model is 3D but axes {ax!r} have no Z: give a Z axis (e.g. 'ZYX') or choose a 2D model."
        )
    n_data = dims.get("C", 1)
    if n_data != n_channels:
        where = f"axis C has {n_data}" if "C" in ax else "the image has no C axis (1 channel)"
        raise N2VError(
            f"the model expects {n_channels} channel(s) but {where}; choose a model trained on "
            f"{n_data}-channel data{' or set the C axis' if 'C' not in ax else ''}."
        )
    return ax


def describe_plan(axes: str, shape: Sequence[int], is_3d: bool) -> str:
    """One line for the UI, e.g. ``'32 planes, 2D model frame by frame'`` or ``'1 volume (3D)'``."""
    dims = dict(zip(axes, (int(s) for s in shape), strict=True))
    spatial = "ZYX" if is_3d else "YX"
    n = 1
    for a, s in dims.items():
        if a not in spatial and a != "C":
            n *= s
    unit = "volume" if is_3d else "plane"
    how = "" if n == 1 else (", one by one" if is_3d else ", 2D model frame by frame")
    return f"{n} {unit}{'s' if n != 1 else ''}{how}"


def plan_axes(
    text: str, shape: Sequence[int], rgb: bool, model: Denoiser
) -> tuple[str, str | None]:
    """The axes to predict with: ``text`` (the Axes box) or, when empty, the guess for ``model``.

    Returns the checked axes and the guess (None when nothing fits). Errors name the Axes box and
    show what was guessed, so the user knows where to correct what.

    Raises
    ------
    N2VError
        The axes do not fit the data or the model.
    """
    typed = text.strip().upper()
    try:
        guess: str | None = infer_axes(shape, rgb, model.is_3d, model.n_channels)
    except N2VError as err:
        if not typed:
            raise N2VError(f"{err} (no axes fit; type them in the Axes box).") from err
        guess = None
    axes = typed or str(guess)
    try:
        return check_axes(axes, shape, model.is_3d, model.n_channels), guess
    except N2VError as err:
        if axes == guess:
            where = f"Axes box: {axes!r}, guessed from the layer's shape {tuple(shape)}"
        else:
            hint = f"; the guess was {guess!r}" if guess else ""
            where = f"Axes box: {axes!r} as typed{hint}"
        raise N2VError(f"{err} ({where}.)") from err
