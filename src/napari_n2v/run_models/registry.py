"""The models trained (or loaded) in this napari session, shared by the Train and Predict widgets.

Usage::

    from napari_n2v.run_models.registry import get_registry

    reg = get_registry()
    name = reg.add(model, "nuclei (2D, 1000 steps)")  # returns the unique name actually used
    reg.names()          # ['nuclei (2D, 1000 steps)']
    reg.get(name)        # the N2VModel
    reg.changed.connect(callback)  # emitted (no arguments) after every add/remove/clear

The registry holds no Qt objects (only psygnal), so it is cheap to import and easy to test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from psygnal import Signal

if TYPE_CHECKING:  # pragma: no cover
    from napari_n2v.core.model.n2v_model import N2VModel


class ModelRegistry:
    """An ordered name → model mapping with a ``changed`` signal.

    Names are unique: adding under a name already used appends `` (2)``, `` (3)``, ...
    """

    changed = Signal()

    def __init__(self) -> None:
        self._models: dict[str, N2VModel] = {}

    def add(self, model: N2VModel, name: str | None = None) -> str:
        """Store ``model`` and return the unique name it was stored under.

        Parameters
        ----------
        model
            The trained model.
        name
            The wished name; defaults to ``model.name`` (or ``"model"``).

        Returns
        -------
        str
            The name used (made unique by a `` (n)`` suffix when needed).
        """
        base = (name or getattr(model, "name", None) or "model").strip() or "model"
        unique, n = base, 2
        while unique in self._models:
            unique, n = f"{base} ({n})", n + 1
        self._models[unique] = model
        self.changed.emit()
        return unique

    def names(self) -> list[str]:
        """Names of the stored models, oldest first."""
        return list(self._models)

    def get(self, name: str) -> N2VModel:
        """The model stored under ``name`` (KeyError if there is none)."""
        return self._models[name]

    def latest(self) -> N2VModel | None:
        """The most recently added model, or None."""
        return next(reversed(self._models.values()), None) if self._models else None

    def remove(self, name: str) -> None:
        """Forget the model stored under ``name`` (no error if absent)."""
        if self._models.pop(name, None) is not None:
            self.changed.emit()

    def clear(self) -> None:
        """Forget all models (used by tests)."""
        if self._models:
            self._models.clear()
            self.changed.emit()

    def __len__(self) -> int:
        return len(self._models)

    def __contains__(self, name: object) -> bool:
        return name in self._models


_REGISTRY: ModelRegistry | None = None


def get_registry() -> ModelRegistry:
    """The one registry of this Python session (created on first use)."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = ModelRegistry()
    return _REGISTRY
