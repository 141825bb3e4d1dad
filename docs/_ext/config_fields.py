"""Griffe extension: a config field's own words (tooltip, range, unit, choices) become its docstring.

The configs' fields are declared with ``_f(default, label, tooltip, lo=, hi=, ...)``
(``napari_n2v.core.config_fields``); the widgets' forms and the CLI help read those words, and so do
these docs: for each class with such fields, the module is imported (it needs NumPy only, not torch)
and every field's metadata is written into its docstring, its value shown as the plain default.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
from pathlib import Path
from typing import Any

from griffe import Attribute, Class, Docstring, Extension, Module, Object


def _num(v: float) -> str:
    return f"{v:,}" if isinstance(v, int) else f"{v:g}"


def _describe(meta: dict[str, Any]) -> str:
    tip = str(meta.get("tooltip") or "").strip()
    parts = [tip[:1].upper() + tip[1:] + ("" if tip.endswith(".") else ".")] if tip else []
    lo, hi, unit = meta.get("min"), meta.get("max"), meta.get("unit")
    unit_s = f" {unit}" if unit else ""
    if lo is not None and hi is not None:
        parts.append(f"Range {_num(lo)} to {_num(hi)}{unit_s}.")
    elif lo is not None:
        parts.append(f"At least {_num(lo)}{unit_s}.")
    elif unit:
        parts.append(f"In {unit}.")
    if meta.get("choices"):
        parts.append("One of " + ", ".join(f"`{c}`" for c in meta["choices"]) + ".")
    if meta.get("label"):
        parts.append(f"Form label: *{meta['label']}*.")
    return " ".join(parts)


def _document(cls: Class, runtime: type) -> None:
    for f in dataclasses.fields(runtime):
        attr = cls.members.get(f.name)
        if not isinstance(attr, Attribute) or "tooltip" not in f.metadata:
            continue
        attr.docstring = Docstring(_describe(dict(f.metadata)), parent=attr)
        if f.default is not dataclasses.MISSING:
            attr.value = repr(f.default)


def _walk(obj: Object, src_root: str) -> None:
    for member in list(obj.members.values()):
        if member.is_alias:
            continue
        if isinstance(member, Class) and any(
            str(getattr(a, "value", "")).startswith("_f(") for a in member.attributes.values()
        ):
            if src_root not in sys.path:
                sys.path.insert(0, src_root)
            module = importlib.import_module(member.module.path)
            _document(member, getattr(module, member.name))
        elif isinstance(member, Module):
            _walk(member, src_root)


class ConfigFields(Extension):
    """Document ``_f`` config fields from their runtime metadata, once the package is loaded."""

    def on_package(self, *, pkg: Any, **kwargs: Any) -> None:
        if pkg.filepath is None or isinstance(pkg.filepath, list):
            return
        _walk(pkg, str(Path(pkg.filepath).parent.parent))
