"""The one cache policy of the structured layers: a derived kernel always follows the current parameters.

A structured layer's kernel (a constrained kernel, a standardized kernel, an expanded steerable filter) is a
function of its parameters. Deciding whether a parameter "has changed" from ``_version`` counters, data
pointers or hooks is unreliable: ``.data`` writes, ``torch.func.functional_call``, ``AveragedModel`` and
in-place updates under ``no_grad`` slip past every such test. So a forward recomputes the kernel from the
current parameters, in train and eval mode, with or without autograd, with one exception that compares
values, not counters:

* **inference reuse** (the steerable convolutions, whose filter costs far more than its few coefficients):
  with autograd off (``torch.no_grad()``, ``torch.inference_mode()``) a layer reuses the kernel of its
  previous no-grad forward while a snapshot, taken just before that kernel was computed, still describes
  the layer. The snapshot holds: the layer's input parameters (``weights``, ``bias``) by name, with their
  data pointer, shape, strides, dtype and values (bitwise: the bytes of their memory on the CPU, a clone
  compared with ``torch.equal`` elsewhere); every module of the layer's subtree with its
  ``_parameters``, ``_buffers`` and ``_modules`` dicts and the objects they held (compared with ``is``);
  every buffer's version counter and data pointer. Values, not counters, for the inputs: a change of
  value by any route (``.data`` writes, ``set_``, ``load_state_dict``, an optimizer step,
  ``swap_tensors``, a new ``Parameter``, a conjugate or negative view) recomputes the kernel. Never
  reused: inputs that are not registered parameters (under a parametrization such as ``weight_norm`` or a
  random one, or plain tensor attributes: their value is recomputed at every access), a snapshot holding
  NaN, meta, fake and wrapped tensors, a storage smaller than its tensor, anything while a
  ``TorchDispatchMode`` or ``TorchFunctionMode`` is active or inside a forward-mode AD ``dual_level``
  (tangents), anything while a CUDA graph is captured, and a kernel computed on another CUDA stream;
  under ``torch.compile`` and ``torch.jit.trace`` the kernel is always computed, so the graph holds the
  computation and follows the parameters. **Not seen:** writes into a *buffer* that bypass its version
  counter (``.data``, NumPy or storage writes; nothing in the library or in PyTorch's training utilities
  does that), state that is not an input, parameter or buffer of the subtree, and a write that another
  thread makes and reverts while the kernel is computed (a data race in PyTorch's terms). The check costs
  a few µs warm for thousands of coefficients (a comparison of their bytes: it grows with them, about
  70 µs for 1 MiB) and about 100 µs right after a large convolution has evicted the caches. The snapshot
  is kept in the layer's ``__dict__`` (it lives and dies with the layer), in an object that pickles and
  copies as empty, so no checkpoint carries it and a copy recomputes. With autograd on the kernel is
  always recomputed, so gradients reach the parameters.

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

import ctypes
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch.autograd import forward_ad
from torch.nn.utils import parametrize

__all__ = ["derived", "stored"]

T = TypeVar("T")


class _Snapshot:
    """What a reused value was computed from, checked by :meth:`unchanged` against the module.

    ``attrs``: per input name, what the module's instance ``__dict__`` held under it (nothing: a registered
    parameter; ``None``: a bias switched off), so that an attribute set around ``Module.__setattr__`` is
    seen; ``root``: the module's own ``_parameters``, ``_buffers`` and ``_modules`` dicts (the module itself
    is not held: the snapshot is kept in the module's ``__dict__``); ``modules``: every submodule with its
    three dicts; ``dicts``: each of those dicts, its length and the objects it held (compared with
    ``is``); ``params``: for each input parameter on the CPU, its data pointer, shape, strides, dtype, the
    storage size its layout needs, a :mod:`ctypes` array over its memory and its bytes (the array's
    ``raw``: a copy, with no foreign-function call), read only once the pointer, layout, view bits and
    storage size are found unchanged (nothing is pinned: a NumPy view would make the storage
    unresizable); ``copies``: ``(parameter, clone)`` for the others (other devices,
    non-contiguous layouts), compared with ``torch.equal``; ``buffers``: ``(buffer, version, data
    pointer)`` for every buffer of the subtree; ``stream``: the current CUDA stream when an input is on a
    CUDA device. The check runs at every no-grad forward, often right after a convolution has evicted the
    caches: plain loops, no generators.
    """

    __slots__ = ("attrs", "buffers", "copies", "dicts", "modules", "params", "root", "stream", "value")

    def __init__(self, module: torch.nn.Module, inputs: tuple[str, ...]) -> None:
        own, instance = module._parameters, module.__dict__
        self.attrs: list[tuple[str, Any]] = []
        values = []
        for name in inputs:
            held = instance.get(name, _MISSING)
            if name in own and held is _MISSING:
                if own[name] is not None:
                    values.append(own[name])
            elif name not in own and held is None:  # e.g. bias=False: a plain None attribute
                pass
            else:
                # a parametrization (recomputed at every access, possibly at random) or a plain tensor
                # attribute: not covered by the snapshot, so never reused
                raise RuntimeError(f"{name!r} is not a registered parameter")
            self.attrs.append((name, held))
        self.root = (module._parameters, module._buffers, module._modules)
        self.modules: list[tuple[torch.nn.Module, Any, Any, Any]] = []
        self.dicts: list[tuple[dict[str, Any], int, tuple[tuple[str, Any], ...]]] = []
        self.params: list[tuple[torch.Tensor, int, Any, tuple[int, ...], torch.dtype, int, Any, bytes]] = []
        self.copies: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.buffers: list[tuple[torch.Tensor, int, int]] = []
        self.stream: tuple[torch.device, Any] | None = None
        self.value: Any = None
        stack = [module]
        while stack:
            m = stack.pop()
            if m is not module:
                self.modules.append((m, m._parameters, m._buffers, m._modules))
            for d in (m._parameters, m._buffers, m._modules):
                self.dicts.append((d, len(d), tuple(d.items())))
            for t in m._buffers.values():
                if t is not None:
                    if not _plain(t):
                        raise RuntimeError("meta, fake or wrapped tensors hold no values to compare")
                    self.buffers.append((t, t._version, t.data_ptr()))
            stack.extend(c for c in m._modules.values() if c is not None)
        for p in values:
            self._record(p)

    def _record(self, p: torch.Tensor) -> None:
        """Keep ``p``'s values; a RuntimeError where they cannot be compared or hold NaN (never reused)."""
        if not _plain(p):
            raise RuntimeError("meta, fake or wrapped tensors hold no values to compare")
        if p.device.type == "cpu" and p.is_contiguous() and not p.is_conj() and not p.is_neg():
            size = p.numel() * p.element_size()
            need = p.storage_offset() * p.element_size() + size
            ptr = p.data_ptr()
            if size and (ptr == 0 or p.untyped_storage().nbytes() < need):
                raise RuntimeError("a storage smaller than its tensor (released, or resized)")
            if (p.is_floating_point() or p.is_complex()) and bool(torch.isnan(p.detach()).any()):
                raise RuntimeError("a NaN never compares equal")
            # a ctypes array over the parameter's memory (it pins nothing: it is read only once the pointer,
            # layout and storage size are found unchanged); ``.raw`` copies its bytes without a foreign call
            view = (ctypes.c_char * size).from_address(ptr) if size else None
            data = view.raw if view is not None else b""
            self.params.append((p, ptr, p.shape, p.stride(), p.dtype, need, view, data))
            return
        if p.device.type == "cuda":
            if torch.cuda.is_current_stream_capturing():
                raise RuntimeError("no comparison (a synchronisation) while a CUDA graph is captured")
            self.stream = (p.device, torch.cuda.current_stream(p.device))
        copy = p.detach().clone()
        if (copy.is_floating_point() or copy.is_complex()) and bool(torch.isnan(copy).any()):
            raise RuntimeError("a NaN never compares equal")
        self.copies.append((p, copy))

    def unchanged(self, module: torch.nn.Module) -> bool:
        """Whether ``module`` still holds the same objects, the same input values and unwritten buffers."""
        instance = module.__dict__
        for name, held in self.attrs:
            if instance.get(name, _MISSING) is not held:
                return False
        root_params, root_buffers, root_modules = self.root
        if module._parameters is not root_params or module._buffers is not root_buffers:
            return False
        if module._modules is not root_modules:
            return False
        for m, params, buffers, modules in self.modules:
            if m._parameters is not params or m._buffers is not buffers or m._modules is not modules:
                return False
        for d, n, items in self.dicts:
            if len(d) != n:
                return False
            for k, o in items:
                if d.get(k) is not o:
                    return False
        for t, version, ptr in self.buffers:
            if t._version != version or t.data_ptr() != ptr:
                return False
        for p, ptr, shape, stride, dtype, need, view, data in self.params:
            if p.data_ptr() != ptr or p.dtype is not dtype or p.shape != shape or p.stride() != stride:
                return False
            if p.is_conj() or p.is_neg():
                return False
            # the recorded layout, in a storage at least as large as it needs: the read stays in bounds
            if view is not None and (p.untyped_storage().nbytes() < need or view.raw != data):
                return False
        if self.copies:
            if self.stream is not None:
                device, stream = self.stream
                if torch.cuda.is_current_stream_capturing() or torch.cuda.current_stream(device) != stream:
                    return False  # no synchronisation while captured; a value made on another stream
            for p, copy in self.copies:
                if not (p.dtype == copy.dtype and p.device == copy.device and p.shape == copy.shape):
                    return False
                if not torch.equal(p, copy):
                    return False
        return True


class _Reuse:
    """The snapshots of a module's inference reuse, by name, kept in the module's ``__dict__`` (so they live
    and die with it, and a reference cycle through them is collected with it). Pickling, ``copy.copy`` and
    ``copy.deepcopy`` give an empty one: a copy recomputes its values, and no checkpoint carries them."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: dict[str, _Snapshot] = {}

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (_Reuse, ())

    def __copy__(self) -> _Reuse:
        return _Reuse()

    def __deepcopy__(self, memo: dict[int, Any]) -> _Reuse:
        return _Reuse()


_MISSING = object()
_REUSE = "_structconv_inference_reuse"


def _plain(t: torch.Tensor) -> bool:
    """A tensor with values to compare: a plain tensor or parameter, strided, off the meta device."""
    return type(t) in (torch.Tensor, torch.nn.Parameter) and t.layout == torch.strided and not t.is_meta


def derived(module: Any, name: str, compute: Callable[[], T], reuse: tuple[str, ...] = ()) -> T:
    """``compute()``, or a value computed before from the same parameters (see the module docstring).

    Inside :func:`torch.nn.utils.parametrize.cached` the value is computed once per context, keyed by
    ``(id(module), name)``. With ``reuse`` and autograd off, the value of the previous no-grad call (kept in
    ``module.__dict__``, by ``name``) is reused while the module's subtree holds the same parameters,
    buffers and submodules, every input parameter is equal in value to its snapshot and every buffer is
    unwritten.

    Args:
        module: the layer that owns the derived tensor.
        name: what is derived (e.g. ``"weight"``, ``"filter"``).
        compute: builds the derived value from the parameters and buffers of ``module``'s subtree (with
            ``reuse``, it must read no parameters but those named and no other state that may change); its
            result must not be modified.
        reuse: the names of the parameters of ``module`` that ``compute`` reads, to allow the inference
            reuse (empty: never reused); where one of them is not a registered parameter of ``module`` (a
            parametrization, a plain tensor attribute) nothing is reused.

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
        ...     _ = derived(conv, "weight", kernel, reuse=("weight",))
        ...     _ = derived(conv, "weight", kernel, reuse=("weight",))  # reused
        ...     conv.weight.data[0, 0, 0] += 1.0  # any change of value is seen, .data writes included
        ...     _ = derived(conv, "weight", kernel, reuse=("weight",))
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
    holder = module.__dict__.get(_REUSE)
    if holder is None:
        holder = module.__dict__[_REUSE] = _Reuse()
    entries = holder.entries
    if (
        torch._C._len_torch_dispatch_stack()
        or torch._C._len_torch_function_stack()
        or forward_ad._current_level >= 0
    ):
        # fake, proxy or functional tensors may stand in for the values, and dual tensors carry tangents
        # that no snapshot holds: no reuse
        entries.pop(name, None)
        return compute()
    snapshot = entries.get(name)
    if snapshot is not None and snapshot.unchanged(module):
        return snapshot.value  # type: ignore[no-any-return]
    entries.pop(name, None)  # drop the old value before computing the new one (peak memory)
    try:
        # taken before compute(): a write that lands while the value is computed (a hook, another thread)
        # makes the next comparison fail rather than hide behind a stale value
        snapshot = _Snapshot(module, reuse)
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
