"""The one cache policy of the structured layers: a derived kernel always follows the current parameters.

A structured layer's kernel (a constrained kernel, a standardized kernel, an expanded steerable filter) is a
function of its parameters. Deciding whether a parameter "has changed" from ``_version`` counters, data
pointers or hooks is unreliable: ``.data`` writes, ``torch.func.functional_call``, ``AveragedModel`` and
in-place updates under ``no_grad`` slip past every such test. So a forward recomputes the kernel from the
current parameters, in train and eval mode, with or without autograd, with one exception that compares
values, not counters:

* **inference reuse** (the steerable convolutions, whose filter costs far more than its few coefficients):
  with autograd off (``torch.no_grad()``, ``torch.inference_mode()``) a layer reuses the kernel of its
  previous no-grad forward while everything it was computed from is unchanged. At that forward the layer's
  subtree is recorded: which parameters, buffers and submodules it holds (the objects themselves), a copy
  of every parameter's values taken just before the kernel was computed, and every buffer's version and
  data pointer. The next no-grad forward reuses the kernel only if the same objects are in place, every
  parameter is *equal in value* to its copy (bitwise, through a NumPy view of its memory on the CPU;
  ``torch.equal`` elsewhere) and no buffer was written or replaced. Values, not counters: a change of a
  parameter by any route, ``.data`` writes included, is a different value and recomputes the kernel; a
  snapshot holding NaN is never reused. Meta, fake and traced tensors are never reused, nor is anything
  while a ``TorchDispatchMode`` or ``TorchFunctionMode`` is active; under ``torch.compile`` and
  ``torch.jit.trace`` the kernel is always computed, so the graph holds the computation and follows the
  parameters. Not seen: a ``.data`` write into a buffer (which nothing in the library or in PyTorch's
  training utilities does). The check costs a few microseconds (the coefficients number in the
  thousands); the snapshot is kept beside the layer (a weak reference: neither pickled nor in the state
  dict). With autograd on the kernel is always recomputed, so gradients reach the parameters.

The other fast inference paths are explicit and visible:

* ``export()`` bakes the kernels into plain ``torch.nn`` layers;
* inside :func:`torch.nn.utils.parametrize.cached` (PyTorch's own context for parametrized tensors) each
  kernel is computed once per layer and reused until the context exits. Changing a parameter inside the
  context is not seen by the forwards in that context; the cache is discarded when the context exits.
  As with PyTorch's own parametrizations, a kernel first computed under ``torch.no_grad()`` inside the
  context has no autograd graph for later forwards in the same context, and an ``export()`` inside the
  context bakes in the cached kernel: use the context for inference.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import torch
from torch.nn.utils import parametrize

__all__ = ["derived", "stored"]

T = TypeVar("T")


class _Snapshot:
    """What a reused value was computed from: the module subtree's objects, parameter values and buffers.

    ``dicts``: ``(dict, length, items)`` for every ``_parameters``, ``_buffers`` and ``_modules`` of the
    subtree (the objects held, compared with ``is``); ``params``: ``(parameter, data pointer, NumPy view of
    its CPU memory, its bytes)``, compared bitwise, or ``(parameter, None, None, clone)``, compared with
    ``torch.equal`` (other devices, dtypes NumPy lacks); ``buffers``: ``(buffer, version, data pointer)``.
    The check runs at every no-grad forward, often right after a convolution has evicted the caches: plain
    loops, no generators.
    """

    __slots__ = ("buffers", "dicts", "params", "value")

    def __init__(self, module: torch.nn.Module) -> None:
        self.dicts: list[tuple[dict[str, Any], int, tuple[tuple[str, Any], ...]]] = []
        self.params: list[tuple[torch.Tensor, int | None, Any, Any]] = []
        self.buffers: list[tuple[torch.Tensor, int, int]] = []
        self.value: Any = None
        stack = [module]
        while stack:
            m = stack.pop()
            for d in (m._parameters, m._buffers, m._modules):
                self.dicts.append((d, len(d), tuple(d.items())))
            for p in m._parameters.values():
                if p is not None:
                    self.params.append(_value_record(p))
            for t in m._buffers.values():
                if t is not None:
                    if not _plain(t):
                        raise RuntimeError("meta, fake or wrapped tensors hold no values to compare")
                    self.buffers.append((t, t._version, t.data_ptr()))
            stack.extend(c for c in m._modules.values() if c is not None)

    def unchanged(self) -> bool:
        """Whether the subtree holds the same objects, the same parameter values and unwritten buffers."""
        for d, n, items in self.dicts:
            if len(d) != n:
                return False
            for k, o in items:
                if d.get(k) is not o:
                    return False
        for t, version, ptr in self.buffers:
            if t._version != version or t.data_ptr() != ptr:
                return False
        for p, ptr, view, copy in self.params:
            if view is not None:
                if p.data_ptr() != ptr or view.tobytes() != copy:
                    return False
            elif not (p.dtype == copy.dtype and p.device == copy.device and p.shape == copy.shape):
                return False
            elif not torch.equal(p, copy):
                return False
        return True


def _plain(t: torch.Tensor) -> bool:
    """A tensor with values to compare: a plain tensor or parameter, strided, off the meta device."""
    return type(t) in (torch.Tensor, torch.nn.Parameter) and t.layout == torch.strided and not t.is_meta


def _value_record(p: torch.Tensor) -> tuple[torch.Tensor, int | None, Any, Any]:
    """``(p, data pointer, NumPy view of p's memory, its bytes)`` on the CPU, else ``(p, None, None, clone)``;
    a RuntimeError for a tensor without comparable values or holding NaN (never reused)."""
    if not _plain(p):
        raise RuntimeError("meta, fake or wrapped tensors hold no values to compare")
    if p.device.type == "cpu" and not p.is_conj() and not p.is_neg():
        try:
            view = p.detach().numpy()
        except (TypeError, RuntimeError):  # a dtype NumPy lacks (bfloat16): compare with torch.equal
            view = None
        if view is not None:
            if view.dtype.kind in "fc" and np.isnan(view).any():
                raise RuntimeError("a NaN never compares equal")
            return (p, p.data_ptr(), view, view.tobytes())
    copy = p.detach().clone()
    if copy.is_floating_point() and bool(torch.isnan(copy).any()):
        raise RuntimeError("a NaN never compares equal")
    return (p, None, None, copy)


#: module -> name -> the snapshot of its inference reuse (a weak reference: neither pickled nor copied)
_INFERENCE: weakref.WeakKeyDictionary[Any, dict[str, _Snapshot]] = weakref.WeakKeyDictionary()


def derived(module: Any, name: str, compute: Callable[[], T], reuse: bool = False) -> T:
    """``compute()``, or a value computed before from the same parameters (see the module docstring).

    Inside :func:`torch.nn.utils.parametrize.cached` the value is computed once per context. With ``reuse``
    and autograd off, the value of the previous no-grad call is reused while the module's subtree holds the
    same parameters, buffers and submodules, every parameter equal in value to its snapshot and every buffer
    unwritten.

    Args:
        module: the layer that owns the derived tensor (the cache key is ``(id(module), name)``).
        name: what is derived (e.g. ``"weight"``, ``"filter"``).
        compute: builds the derived value from the parameters and buffers of ``module``'s subtree (with
            ``reuse``, it must read no other tensor that may change); its result must not be modified.
        reuse: allow the inference reuse.

    Returns:
        the derived value for this forward.

    Example:
        >>> conv = torch.nn.Conv1d(1, 1, 3)
        >>> calls = []
        >>> def kernel():
        ...     calls.append(1)
        ...     return conv.weight.abs()
        >>> _ = derived(conv, "weight", kernel), derived(conv, "weight", kernel)
        >>> len(calls)
        2
        >>> with parametrize.cached():
        ...     _ = derived(conv, "weight", kernel), derived(conv, "weight", kernel)
        >>> len(calls)
        3
        >>> with torch.no_grad():
        ...     _ = derived(conv, "weight", kernel, reuse=True), derived(conv, "weight", kernel, reuse=True)
        ...     conv.weight.data[0, 0, 0] += 1.0  # any change of value is seen, .data writes included
        ...     _ = derived(conv, "weight", kernel, reuse=True)
        >>> len(calls)
        5
    """
    if torch.is_grad_enabled() and not parametrize._cache_enabled:  # training: always computed
        return compute()
    if torch.compiler.is_compiling() or torch._C._is_tracing():
        # a compiled or traced graph must contain the computation, so that it follows the parameters
        return compute()
    if parametrize._cache_enabled:
        key = (id(module), "structconv." + name)
        value = parametrize._cache.get(key)
        if value is None:
            value = compute()
            parametrize._cache[key] = value  # type: ignore[assignment]
        return value  # type: ignore[return-value]
    if not reuse:
        return compute()
    entries = _INFERENCE.get(module)
    if entries is None:
        entries = _INFERENCE[module] = {}
    if torch._C._len_torch_dispatch_stack() or torch._C._len_torch_function_stack():
        entries.pop(name, None)  # fake, proxy or functional tensors may stand in for the values: no reuse
        return compute()
    snapshot = entries.get(name)
    if snapshot is not None and snapshot.unchanged():
        return snapshot.value  # type: ignore[no-any-return]
    entries.pop(name, None)  # drop the old value before computing the new one (peak memory)
    try:
        # taken before compute(): a write that lands while the value is computed (a hook, another thread)
        # makes the next comparison fail rather than hide behind a stale value
        snapshot = _Snapshot(module)
    except RuntimeError:  # no comparable values (meta, fake or wrapped tensors, NaN): no reuse
        return compute()
    value = compute()
    snapshot.value = value
    entries[name] = snapshot
    return value


def stored(tensor: torch.Tensor) -> torch.Tensor:
    """The tensor to write a projection of a stored parameter into, in place and without autograd.

    Eagerly ``tensor.data``: the write is not recorded by autograd's version counter, so a projection
    between a forward and its backward does not invalidate the saved tensors (the projections are
    idempotent). Under :func:`torch.jit.trace` ``tensor.detach()`` (the same memory): the tracer records the
    write, so the traced graph projects the parameter at every run as the eager forward does (a ``.data``
    write is invisible to it), and the graph runs with autograd on too (it does not record ``no_grad``, and
    an in-place write into a leaf that requires grad would be refused).

    Example:
        >>> w = torch.nn.Parameter(torch.tensor([-1.0, 2.0]))
        >>> with torch.no_grad():
        ...     _ = stored(w).clamp_(min=0.0)
        >>> w.tolist(), w._version
        ([0.0, 2.0], 0)
    """
    return tensor.detach() if torch.jit.is_tracing() else tensor.data
