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

from collections.abc import Callable, Iterator
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
        # whether a tensor the module owns is on the meta device (checked against the input when called)
        self.__dict__["_on_meta"] = _owns_meta(self)
        return out

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if torch.compiler.is_compiling() or torch.jit.is_tracing():
            return super().__call__(*args, **kwargs)  # type: ignore[misc]
        on_meta = self.__dict__.get("_on_meta")
        if on_meta is None:  # never moved (or unpickled from before the flag): find out once
            on_meta = self.__dict__["_on_meta"] = _owns_meta(self)
        if on_meta:
            _check_not_meta(self, args, kwargs)
        return super().__call__(*args, **kwargs)  # type: ignore[misc]


def _owned_tensors(module: torch.nn.Module) -> Iterator[tuple[str, torch.Tensor]]:
    """``(name, tensor)`` for the parameters, buffers and structure tensors of ``module`` and of all its
    submodules (some are used through their methods, not called)."""
    stack: list[tuple[str, torch.nn.Module]] = [("", module)]
    while stack:
        prefix, m = stack.pop()
        for kind in (m._parameters, m._buffers):
            for name, tensor in kind.items():
                if tensor is not None:
                    yield prefix + name, tensor
        for name in m.__dict__.get("_structure_names", ()):
            tensor = m.__dict__.get(name)
            if isinstance(tensor, torch.Tensor):
                yield prefix + name, tensor
        for name, child in m._modules.items():
            if child is not None:
                stack.append((prefix + name + ".", child))


def _owns_meta(module: torch.nn.Module) -> bool:
    return any(t.device.type == "meta" for _, t in _owned_tensors(module))


def _check_not_meta(module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Raise if an input is a real tensor while a tensor of ``module`` is on the meta device: PyTorch computes
    some operations that mix the two (an index on meta, data elsewhere) without an error, into
    uninitialised memory. A meta module on a meta input (shape inference) passes."""
    device = None
    for value in (*args, *kwargs.values()):
        tensor = getattr(value, "tensor", value)
        if isinstance(tensor, torch.Tensor) and tensor.device.type != "meta":
            device = tensor.device
            break
    if device is None:
        return
    on_meta = [name for name, t in _owned_tensors(module) if t.device.type == "meta"]
    if on_meta:
        shown = ", ".join(on_meta[:4]) + (f" and {len(on_meta) - 4} more" if len(on_meta) > 4 else "")
        raise RuntimeError(
            f"{type(module).__name__}: the input is on {device} but the module's tensors {shown} are on the "
            "meta device (a module moved with .to('meta'), or a meta copy in torch.func.functional_call, "
            "which replaces only the tensors it is given, not the non-persistent buffers and structure "
            "tensors a module builds for itself). Materialise the module first: module.to_empty(device=...) "
            "then module.load_state_dict(state)"
        )
