"""Form controls made from the config fields' metadata (label, tooltip, range, step, unit, choices:
:func:`napari_n2v.core.config.field_info`), so each rule is written once, on the field.

- :func:`field_widget`: a magicgui widget for a field (spin boxes, check boxes, choices).
- :func:`field_spin`: the one spin-box factory, for the fields whose lowest value reads "auto" (or
  "random"): engine default. magicgui's integer box (superqt's QLargeIntSpinBox) cannot show such a
  text, so these are QSpinBoxes, with the same metadata.
"""

from __future__ import annotations

from typing import Any

from magicgui.widgets import create_widget
from magicgui.widgets.bases import ValueWidget
from qtpy.QtWidgets import QSpinBox

from napari_n2v.core.config import field_info

_INT_MAX = 2**31 - 1


def field_label(cls: type, name: str, suffix: str = "") -> str:
    """The field's label, e.g. ``'Patch (XY)'``, with its unit: ``'Validate every (steps)'``."""
    info = field_info(cls, name)
    text = info["label"] + (f" {suffix}" if suffix else "")
    unit = info.get("unit")
    return f"{text} ({unit})" if unit and unit != "px" else text


def field_tooltip(cls: type, name: str) -> str:
    """The field's tooltip, capitalised, as a sentence."""
    tip = str(field_info(cls, name)["tooltip"])
    return tip[:1].upper() + tip[1:] + ("" if tip.endswith(".") else ".")


def field_widget(cls: type, name: str, value: Any, **overrides: Any) -> ValueWidget:
    """A magicgui widget for field ``name`` of config ``cls`` holding ``value``.

    ``overrides`` are magicgui options that are presentation only (e.g. ``label`` for a check box).
    """
    info = field_info(cls, name)
    options: dict[str, Any] = {"tooltip": field_tooltip(cls, name)}
    if info.get("choices") is not None:
        options["choices"] = list(info["choices"])
    elif not isinstance(value, bool) and isinstance(value, int | float):
        lo, hi, step = info.get("min"), info.get("max"), info.get("step")
        options["min"] = lo if lo is not None else 0
        options["max"] = hi if hi is not None else _INT_MAX
        if step is not None:
            options["step"] = step
    options.update(overrides)
    label = options.pop("label", info["label"])
    widget = create_widget(value=value, annotation=type(value), label=label, options=options)
    assert isinstance(widget, ValueWidget)
    return widget


def field_spin(
    cls: type, name: str, value: int | None, *, auto: str = "auto", suffix: str = ""
) -> QSpinBox:
    """A spin box for an optional integer field: its lowest value (one below the field's minimum, or 0)
    shows ``auto`` and means None (the engine's default)."""
    info = field_info(cls, name)
    lo = 1 if info.get("min") is None else int(info["min"])
    low = lo - 1  # the "auto" value
    box = QSpinBox()
    box.setRange(low, int(info.get("max") or _INT_MAX))
    box.setSingleStep(int(info.get("step") or 1))
    box.setValue(low if value is None else int(value))
    box.setSpecialValueText(auto)
    box.setToolTip(field_tooltip(cls, name) + (f" {suffix}" if suffix else ""))
    return box


def spin_value(box: QSpinBox) -> int | None:
    """A :func:`field_spin`'s value; None at "auto"."""
    return None if box.value() == box.minimum() else box.value()
