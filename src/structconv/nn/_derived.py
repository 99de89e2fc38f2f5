"""The one cache policy of the structured layers: derived kernels are recomputed on every forward.

A structured layer's kernel (a constrained kernel, a standardized kernel, an expanded steerable filter) is a
function of its parameters. Deciding whether a parameter "has changed" (from ``_version`` counters, data
pointers or hooks) is unreliable: ``.data`` writes, ``torch.func.functional_call``, ``AveragedModel`` and
in-place updates under ``no_grad`` slip past every such test. So every forward recomputes the kernel from
the current parameters, in train and eval mode, with or without autograd.

The fast inference paths are explicit and visible:

* ``export()`` bakes the kernels into plain ``torch.nn`` layers;
* inside :func:`torch.nn.utils.parametrize.cached` (PyTorch's own context for parametrized tensors) each
  kernel is computed once per layer and reused until the context exits. Changing a parameter inside the
  context is not seen by the forwards in that context; the cache is discarded when the context exits.
  As with PyTorch's own parametrizations, a kernel first computed under ``torch.no_grad()`` inside the
  context has no autograd graph for later forwards in the same context, and an ``export()`` inside the
  context bakes in the cached kernel: use the context for inference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch.nn.utils import parametrize

__all__ = ["derived"]

T = TypeVar("T")


def derived(module: Any, name: str, compute: Callable[[], T]) -> T:
    """``compute()``, or its value cached for ``module`` inside :func:`torch.nn.utils.parametrize.cached`.

    Args:
        module: the layer that owns the derived tensor (the cache key is ``(id(module), name)``).
        name: what is derived (e.g. ``"weight"``, ``"filter"``).
        compute: builds the derived value from the module's current parameters.

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
    if not parametrize._cache_enabled or torch.compiler.is_compiling():
        return compute()
    key = (id(module), "structconv." + name)
    value = parametrize._cache.get(key)
    if value is None:
        value = compute()
        parametrize._cache[key] = value  # type: ignore[assignment]
    return value  # type: ignore[return-value]
