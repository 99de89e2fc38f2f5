"""The one cache policy of the structured layers: a derived kernel always follows the current parameters.

A structured layer's kernel (a constrained kernel, a standardized kernel, an expanded steerable filter) is a
function of its parameters. Deciding whether a parameter "has changed" from ``_version`` counters, data
pointers or hooks is unreliable: ``.data`` writes, ``torch.func.functional_call``, ``AveragedModel`` and
in-place updates under ``no_grad`` slip past every such test. So a forward recomputes the kernel from the
current parameters, in train and eval mode, with or without autograd, with one exception that compares
values, not counters:

* **inference reuse** (the steerable convolutions, whose filter costs far more than its few coefficients):
  with autograd off (``torch.no_grad()``, ``torch.inference_mode()``) a layer reuses the kernel of its
  previous no-grad forward when every parameter it derives from is *equal in value* (``torch.equal``, same
  dtype, device and shape) to a snapshot taken just before that kernel was computed, and its fixed buffers
  (the sampled basis) are the same tensor objects at the same version. Any change of a parameter, by any
  route, is a different value and recomputes the kernel; a parameter holding NaN never compares equal and
  always recomputes. Meta, fake and traced tensors are never reused, and under ``torch.compile`` and
  ``torch.jit.trace`` the kernel is always computed, so the graph holds the computation and follows the
  parameters. Not seen: a ``.data`` write into a
  basis buffer (which nothing in the library or in PyTorch's training utilities does). The comparison
  costs a few microseconds (the coefficients number in the thousands); the snapshot is kept beside the
  layer (a weak reference: neither pickled nor in the state dict). With autograd on the kernel is always
  recomputed, so gradients reach the parameters.

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
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch
from torch.nn.utils import parametrize

__all__ = ["derived", "stored"]

T = TypeVar("T")

#: module -> name -> (snapshot of the inputs, key of the fixed tensors, value): the inference reuse
_INFERENCE: weakref.WeakKeyDictionary[Any, dict[str, tuple[tuple[Any, ...], tuple[Any, ...], Any]]] = (
    weakref.WeakKeyDictionary()
)


def _same_value(snapshot: torch.Tensor | None, current: torch.Tensor | None) -> bool:
    if snapshot is None or current is None:
        return snapshot is None and current is None
    return (
        snapshot.dtype == current.dtype
        and snapshot.device == current.device
        and snapshot.shape == current.shape
        and bool(torch.equal(snapshot, current))
    )


def _fixed_key(fixed: Sequence[torch.Tensor]) -> tuple[Any, ...]:
    # the tensors themselves are held in the key (compared with ``is``), so a freed tensor's id or memory
    # reused by another (``functional_call`` with substituted buffers) never matches
    return tuple((t, t._version, t.data_ptr(), t.dtype, t.device) for t in fixed)


def _same_fixed(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return len(a) == len(b) and all(x[0] is y[0] and x[1:] == y[1:] for x, y in zip(a, b))


def derived(
    module: Any,
    name: str,
    compute: Callable[[], T],
    inputs: Sequence[torch.Tensor | None] | None = None,
    fixed: Sequence[torch.Tensor] | Callable[[], Sequence[torch.Tensor]] = (),
) -> T:
    """``compute()``, or a value computed before from the same parameters (see the module docstring).

    Inside :func:`torch.nn.utils.parametrize.cached` the value is computed once per context. With ``inputs``
    and autograd off, the value of the previous no-grad call is reused when every tensor of ``inputs`` is
    equal in value to its snapshot and the tensors of ``fixed`` are unchanged.

    Args:
        module: the layer that owns the derived tensor (the cache key is ``(id(module), name)``).
        name: what is derived (e.g. ``"weight"``, ``"filter"``).
        compute: builds the derived value from the module's current parameters; it must not read any
            tensor outside ``inputs`` and ``fixed`` that may change, and its result must not be modified.
        inputs: the parameters ``compute`` reads (``None`` entries allowed), for the inference reuse;
            ``None`` disables it.
        fixed: buffers ``compute`` reads that are replaced rather than written (``module.to()``), or a
            function that lists them (called only when the inference reuse is considered).

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
    """
    if torch.compiler.is_compiling() or torch.jit.is_tracing():
        # a compiled or traced graph must contain the computation, so that it follows the parameters
        return compute()
    if not parametrize._cache_enabled:
        if inputs is None or torch.is_grad_enabled():
            return compute()
        entries = _INFERENCE.setdefault(module, {})
        try:
            if any(t is not None and t.device.type == "meta" for t in inputs):
                raise RuntimeError("meta tensors hold no values to compare")
            fixed_key = _fixed_key(fixed() if callable(fixed) else fixed)
            entry = entries.get(name)
            if entry is not None:
                snapshot, key, value = entry
                if _same_fixed(key, fixed_key) and len(snapshot) == len(inputs):
                    if all(_same_value(a, b) for a, b in zip(snapshot, inputs)):
                        return value  # type: ignore[no-any-return]
            entries.pop(name, None)  # drop the old value before computing the new one (peak memory)
            # the snapshot is taken before compute(): a write that lands while the kernel is computed (a
            # hook, another thread) makes the next comparison fail rather than hide behind a stale kernel
            snapshot = tuple(None if t is None else t.detach().clone() for t in inputs)
        except Exception:  # noqa: BLE001 - no comparable values (meta, fake or traced tensors): no reuse
            entries.pop(name, None)
            return compute()
        value = compute()
        entries[name] = (snapshot, fixed_key, value)
        return value
    key = (id(module), "structconv." + name)
    value = parametrize._cache.get(key)
    if value is None:
        value = compute()
        parametrize._cache[key] = value  # type: ignore[assignment]
    return value  # type: ignore[return-value]


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
