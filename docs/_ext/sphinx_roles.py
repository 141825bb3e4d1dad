"""Griffe extension: Sphinx roles in docstrings (:func:`predict_iter`) become API cross-references.

The engine's numpy-style docstrings name other objects the Sphinx way. mkdocstrings would show the role
verbatim; this turns each into an optional autorefs link: a link when the target is on a page of the
API reference, plain code when it is not (a private helper, a module left out of the reference).
Names are resolved as Python would in the docstring's scope (``N2VModel`` in a module that imports
it), relative to the package (``.model_file``), as a member of a class of the module (``flush``), or
as given (``napari_n2v.core.device.default_batch_size``). In the modules under ``check`` a name of this
package that names nothing (a stale reference) is a warning, so the strict build fails on it.
"""

from __future__ import annotations

import html
import re
from typing import Any

from griffe import Extension, Module, Object, logger

_ROLE = re.compile(
    r":(?:py:)?(?:func|class|meth|attr|mod|data|exc|obj):`~?(?P<target>[\w.]+)(?:\(\))?`"
)


def _relative(obj: Object, target: str) -> str | None:
    """``.name`` from a module is a sibling module; each further dot goes up one package."""
    package: Object | None = obj.module if obj.module.is_init_module else obj.module.parent
    for _ in range(len(target) - len(target.lstrip(".")) - 1):
        package = package.parent if package is not None else None
    return f"{package.path}.{target.lstrip('.')}" if package is not None else None


def _in_classes(module: Module, name: str) -> str | None:
    """``name`` as a member of exactly one class defined in ``module``."""
    found = [
        c.members[name].path
        for c in module.classes.values()
        if not c.is_alias and name in c.members
    ]
    return found[0] if len(found) == 1 else None


def _resolve(obj: Object, target: str) -> str | None:
    """The full path of ``target`` as seen from ``obj``, or None when it cannot be found."""
    if target.startswith("."):
        return _relative(obj, target)
    head, _, tail = target.partition(".")
    try:
        path = obj.resolve(head)
    except Exception:  # griffe's NameResolutionError: not a name in scope
        return target if tail else _in_classes(obj.module, head)
    return f"{path}.{tail}" if tail else path


def _exists(obj: Object, path: str) -> bool:
    """Whether ``path`` names an object, when it is inside this package (outside: not checked)."""
    pkg = obj.package
    if path == pkg.path or not path.startswith(pkg.path + "."):
        return True
    try:
        pkg[path[len(pkg.path) + 1 :]]
    except (KeyError, ValueError, AttributeError):
        return False
    return True


class SphinxRoles(Extension):
    """Rewrite Sphinx roles once the whole package is loaded (so imports can be resolved).

    Parameters
    ----------
    check
        Module paths (and their submodules) where a role naming nothing is a warning.
    """

    def __init__(self, check: list[str] | None = None) -> None:
        super().__init__()
        self.check = tuple(check or ())

    def _checked(self, obj: Object) -> bool:
        return any(obj.path == c or obj.path.startswith(c + ".") for c in self.check)

    def _link(self, obj: Object, match: re.Match[str]) -> str:
        target = match["target"]
        path = _resolve(obj, target)
        if path is None or not _exists(obj, path):
            if self._checked(obj):
                line = obj.docstring.lineno if obj.docstring else "?"
                logger.warning(
                    f"{obj.relative_filepath}:{line}: {match[0]} names nothing (a stale reference?)"
                )
            return f"`{target}`"
        shown = f"<code>{html.escape(target.lstrip('.'))}</code>"
        return f'<autoref identifier="{html.escape(path)}" optional>{shown}</autoref>'

    def _walk(self, obj: Object) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(lambda m: self._link(obj, m), obj.docstring.value)
        for member in obj.members.values():
            if isinstance(member, Object):  # not an Alias: imported objects are rewritten at home
                self._walk(member)

    def on_package(self, *, pkg: Any, **kwargs: Any) -> None:
        self._walk(pkg)
