"""Integer tensors that describe a module's structure, kept out of ``buffers()``.

Equivariant modules carry index tensors derived from their field types (which channels form a field,
the gather order of a basis expansion, ...). They must move with the module (``.to(device)``), pickle and
deep-copy with it, but they are not state: nothing should average, broadcast or load them. As buffers they
would be reached by every tool that walks ``module.buffers()``: ``torch.optim.swa_utils.AveragedModel(...,
use_buffers=True)`` averages them (an EMA of an index tensor is a wrong index), DDP broadcasts them.

:class:`StructureMixin` makes ``register_buffer(name, tensor, persistent=False)`` of an **integer or boolean**
tensor (or ``None``) store a plain attribute instead, and moves those attributes in ``_apply`` (``fn`` leaves
integer tensors' dtype unchanged, as it does for buffers). Floating non-persistent buffers (sampled bases,
filters) stay buffers: averaging equal values leaves them unchanged, and ``.double()`` must convert them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

__all__ = ["StructureMixin"]


class StructureMixin:
    """Mixin for ``torch.nn.Module`` subclasses: integer non-persistent buffers become structure attributes.

    Example:
        >>> class M(StructureMixin, torch.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.register_buffer("index", torch.arange(3), persistent=False)
        >>> m = M()
        >>> list(m.buffers()), m.index.tolist()
        ([], [0, 1, 2])
    """

    def register_buffer(self, name: str, tensor: torch.Tensor | None, persistent: bool = True) -> None:
        """As :meth:`torch.nn.Module.register_buffer`, except for non-persistent integer/boolean tensors (and
        ``None`` re-registrations of such names), which are kept as structure attributes."""
        names: set[str] = self.__dict__.setdefault("_structure_names", set())
        integer = isinstance(tensor, torch.Tensor) and not (tensor.is_floating_point() or tensor.is_complex())
        structural = not persistent and (integer or (tensor is None and name in names))
        if structural:
            self._buffers.pop(name, None)  # type: ignore[attr-defined]
            names.add(name)
            object.__setattr__(self, name, tensor)
            return
        if name in names:
            names.discard(name)
            self.__dict__.pop(name, None)
        super().register_buffer(name, tensor, persistent)  # type: ignore[misc]

    def _apply(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        out = super()._apply(fn, *args, **kwargs)  # type: ignore[misc]
        for name in self.__dict__.get("_structure_names", ()):
            value = self.__dict__.get(name)
            if isinstance(value, torch.Tensor):
                object.__setattr__(self, name, fn(value))
        return out
