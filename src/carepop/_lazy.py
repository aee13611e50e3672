"""Lazy package exports (PEP 562), so that ``import carepop`` and ``carepop --help`` start quickly.

A package lists where each exported name lives; the module is imported on the first access of one
of its names (``carepop.Survey``, ``from carepop.weighting import rake``), and the value is then
kept in the package, so later accesses cost nothing::

    __getattr__, __dir__ = lazy_exports(__name__, {"Survey": "carepop.core.survey", ...})

with the same names imported under ``if TYPE_CHECKING:`` for type checkers and editors.

Some packages export a function named like the module it lives in (``carepop.weighting.rake``,
``carepop.questionnaires.validate``). Importing such a submodule binds the module to the
package's attribute; an eager ``from .rake import rake`` in the ``__init__`` then rebinds it to the
function. To keep that (the attribute is the function, however the submodule came to be imported),
such a package gets a module class whose ``__setattr__`` binds the function in place of its module.

Nothing here imports anything but the standard library.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module
from types import ModuleType
from typing import Any


def lazy_exports(
    package: str, homes: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for the package ``package`` whose names ``homes`` maps to
    the modules that define them."""
    module = sys.modules[package]

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(home), name)
        setattr(module, name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(module)) | set(homes))

    shadowed = frozenset(name for name, home in homes.items() if home == f"{package}.{name}")
    if shadowed:
        module.__class__ = _shadowing(shadowed)
    return __getattr__, __dir__


def _shadowing(names: frozenset[str]) -> type[ModuleType]:
    class _Package(ModuleType):
        """A package whose functions ``names`` keep their attribute when their module is imported."""

        def __setattr__(self, name: str, value: Any) -> None:
            own_module = isinstance(value, ModuleType) and value.__name__ == f"{self.__name__}.{name}"
            if name in names and own_module:
                value = getattr(value, name, value)
            super().__setattr__(name, value)

    return _Package
