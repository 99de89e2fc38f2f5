"""``dir()`` of the public modules (private): their ``__all__`` and subpackages, never their imports.

``dir(structconv.compat.selfeeg)`` used to list ``Any``, ``annotations``, ``torch``, ... next to the layers:
what a module imports for its own use is not its API. Every public package and module ends with::

    __dir__ = public_dir(__name__)

(:pep:`562`), so ``dir()`` and tab completion show exactly ``__all__`` plus the public submodules already
imported. Attribute access is unchanged: ``module.torch`` still works, it is only not advertised.

Example:
    >>> import structconv.compat.selfeeg as selfeeg
    >>> "annotations" in dir(selfeeg), "ConstrainedConv2d" in dir(selfeeg)
    (False, True)
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType

__all__ = ["public_dir"]


def public_dir(name: str) -> Callable[[], list[str]]:
    """A module-level ``__dir__`` for the module ``name``: its ``__all__`` and its public submodules.

    ``__all__`` is read at each call, so names appended to it later (``__all__ += [...]``) are listed.

    Example:
        >>> import structconv.constraints as c
        >>> sorted(set(dir(c)) - set(c.__all__))  # the submodules only
        ['factory', 'norm', 'standardization', 'structural']
    """

    def __dir__() -> list[str]:
        module = sys.modules[name]
        names = set(getattr(module, "__all__", ()))
        for attr, value in vars(module).items():
            if (
                isinstance(value, ModuleType)
                and not attr.startswith("_")
                and value.__name__ == f"{name}.{attr}"
            ):
                names.add(attr)
        return sorted(names)

    return __dir__
