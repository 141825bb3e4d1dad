"""Config fields that carry their own rules and words (label, tooltip, range, step, unit, choices):
validation, CLI help and the widgets' forms all read them from here."""

from __future__ import annotations

import dataclasses
from dataclasses import field
from typing import Any

from napari_n2v.core.errors import N2VError

#: What a network may compute in: 'auto' is bf16 where the hardware does it natively, else fp32.
PRECISIONS = ("auto", "fp32", "bf16", "fp16")

__all__ = ["_f", "check_ranges", "field_info"]


def _f(
    default: Any,
    label: str,
    tooltip: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    step: float | None = None,
    unit: str | None = None,
    choices: Any = None,
) -> Any:
    """A config field with its rules and words: forms, CLI help and validation all read these."""
    meta: dict[str, Any] = {"label": label, "tooltip": tooltip, "min": lo, "max": hi}
    meta.update(step=step, unit=unit)
    meta["choices"] = tuple(choices) if choices is not None else None
    return field(default=default, metadata=meta)


def field_info(cls: type, name: str) -> dict[str, Any]:
    """The label, tooltip, range, step, unit and choices of a config field (see :func:`_f`)."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            return dict(f.metadata)
    raise KeyError(name)


def check_ranges(config: Any, skip: tuple[str, ...] = ()) -> None:
    """Check every set number against its field's range and every choice against its choices."""
    for f in dataclasses.fields(config):
        v, meta = getattr(config, f.name), f.metadata
        if v is None or f.name in skip or not meta:
            continue
        lo, hi, choices = meta.get("min"), meta.get("max"), meta.get("choices")
        if choices is not None and isinstance(v, str) and v not in choices:
            raise N2VError(f"{f.name} must be one of {', '.join(choices)} (got {v!r}).")
        if isinstance(v, bool) or not isinstance(v, int | float):
            continue
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            if hi is None:
                raise N2VError(f"{f.name} must be at least {lo} (got {v}).")
            raise N2VError(f"{f.name} must be between {lo} and {hi} (got {v}).")


def _tuple(v: Any) -> tuple[int, ...] | None:
    if v is None:
        return None
    if isinstance(v, int):
        return (v,)
    return tuple(int(x) for x in v)
