"""Private helpers shared by the equivariant modules of :mod:`structconv.nn.modules`.

Nothing here is public API. The helpers validate constructor arguments and inputs, group the fields of a
:class:`~structconv.nn.FieldType` by a key (their representation or their size) so that a ``forward`` is a
few vectorised operations per group instead of a loop over fields, and build small fixed filters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import torch

__all__ = [
    "FieldGrouping",
    "check_field_type",
    "check_input",
    "require_support",
    "pair",
    "ntuple",
    "check_dimensionality",
    "safe_norm",
    "gaussian_filter",
    "pool_output_size",
    "field_of_channel",
    "induced_structure",
    "register_grouping",
    "ignore_extra_kwargs",
]


_INDUCED_TAG = re.compile(r"induced_(norm|gated)_(\d+)")


def check_field_type(value: Any, argname: str = "in_type", owner: str = "") -> None:
    """Raise ``TypeError`` unless ``value`` is a :class:`~structconv.nn.FieldType`."""
    from structconv.nn.typed.field_type import FieldType

    if not isinstance(value, FieldType):
        prefix = f"{owner}: " if owner else ""
        raise TypeError(
            f"{prefix}{argname} must be a FieldType; received {value!r} of type {type(value).__name__}"
        )


def ignore_extra_kwargs(owner: str, kwargs: dict[str, Any], expected: dict[str, Any] | None = None) -> None:
    """Accept the extra keyword arguments e2cnn accepts (and ignores) in a constructor.

    e2cnn's gated and vector-field non-linearities take ``**kwargs`` and ignore them (its model zoo passes
    e.g. ``function='gated'``). The same calls work here. Keywords whose value is the one listed in
    ``expected`` pass silently; any other is ignored with a ``UserWarning`` naming it, so a typo does not
    go unnoticed.
    """
    expected = expected or {}
    unexpected = sorted(k for k, v in kwargs.items() if not (k in expected and v == expected[k]))
    if unexpected:
        import warnings

        warnings.warn(
            f"{owner}: ignored keyword arguments {unexpected} (accepted for compatibility with e2cnn, "
            "which ignores them)",
            UserWarning,
            stacklevel=3,
        )


def check_input(module: torch.nn.Module, input: Any, in_type: Any = None, argname: str = "input") -> None:
    """Check that ``input`` is a GeometricTensor of the module's input type (expected vs received)."""
    from structconv.nn.typed.geometric_tensor import GeometricTensor

    expected = module.in_type if in_type is None else in_type
    name = type(module).__name__
    if not isinstance(input, GeometricTensor):
        raise TypeError(
            f"{name}: {argname} must be a GeometricTensor of type {expected}; received {type(input).__name__}"
        )
    if input.type != expected:
        raise ValueError(f"{name}: {argname} has field type {input.type}; expected {expected}")


def require_support(field_type: Any, operation: str, owner: str, argname: str = "in_type") -> None:
    """Raise ``ValueError`` naming the first field whose representation does not support ``operation``."""
    for i, rep in enumerate(field_type.representations):
        if operation not in rep.supported_nonlinearities:
            raise ValueError(
                f"{owner}: field {i} of {argname} has representation '{rep.name}', which does not support "
                f"'{operation}' operations (it supports {sorted(rep.supported_nonlinearities)}); "
                f"accepted: representations supporting '{operation}'"
            )


def ntuple(value: Any, n: int, argname: str, owner: str, allow_zero: bool = False) -> tuple[int, ...]:
    """Turn an int or a sequence of ``n`` ints into an ``n``-tuple of ints, validating it."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        out = (int(value),) * n
    elif (
        isinstance(value, (tuple, list))
        and len(value) == n
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)
    ):
        out = tuple(int(v) for v in value)
    else:
        what = "a pair" if n == 2 else ("a triple" if n == 3 else f"a tuple of {n}")
        raise TypeError(f"{owner}: {argname}={value!r} is not accepted; expected an int or {what} of ints")
    low = 0 if allow_zero else 1
    if min(out) < low:
        raise ValueError(f"{owner}: {argname}={value!r} is not accepted; expected integers >= {low}")
    return out


def pair(value: Any, argname: str, owner: str, allow_zero: bool = False) -> tuple[int, int]:
    """Turn an int or a pair of ints into a pair of ints, validating it."""
    return ntuple(value, 2, argname, owner, allow_zero)  # type: ignore[return-value]


def check_dimensionality(
    field_type: Any, dim: int, owner: str, counterpart: str | None = None, argname: str = "in_type"
) -> None:
    """Raise ``ValueError`` unless ``field_type`` lives on a gspace of ``dim`` spatial dimensions.

    ``counterpart`` names the class to use on the other kind of gspace, if there is one.
    """
    got = int(getattr(field_type.gspace, "dimensionality", 2))
    if got != dim:
        where = {2: "a planar gspace (on R^2)", 3: "a gspace of space (on R^3)"}.get(dim, f"a {dim}-D gspace")
        hint = f"; for {got}-D gspaces use {counterpart}" if counterpart else ""
        space = field_type.gspace.name
        raise ValueError(f"{owner}: {argname} lives on the {got}-D gspace {space!r}; expected {where}{hint}")


def safe_norm(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Euclidean norm along ``dim`` (kept) whose gradient is finite at zero (0 there, never NaN).

    Computed from ``x`` divided by its largest entry (:func:`structconv._numerics.scaled_norm`): the squares
    never overflow (a float16 field of norm 300, a float32 one of 1e20), half precision is reduced in float32.
    """
    from ..._numerics import scaled_norm

    return scaled_norm(x, dim)


def gaussian_filter(sigma: float, truncate: float, dim: int = 2) -> torch.Tensor:
    """A normalised ``dim``-D Gaussian of std ``sigma`` and odd size ``2 round(truncate sigma) + 1`` per axis
    (float64): the outer product of ``dim`` copies of the sampled 1-D Gaussian, divided by its sum."""
    size = 2 * int(round(truncate * sigma)) + 1
    coords = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    # one tap is the identity (sigma**2 can underflow to 0 there, and 0 / 0 is nan)
    g = np.ones(1) if size == 1 else np.exp(-(coords**2) / (2.0 * sigma**2))
    kernel = g
    for _ in range(dim - 1):
        kernel = np.multiply.outer(kernel, g)
    kernel = kernel / kernel.sum()
    return torch.from_numpy(kernel)


def pool_output_size(
    size: int, kernel: int, stride: int, padding: int, dilation: int = 1, ceil_mode: bool = False
) -> int:
    """Output length of a pooling window along one axis (same formula as ``torch.nn.MaxPool2d``)."""
    num = size + 2 * padding - dilation * (kernel - 1) - 1
    if ceil_mode:
        out = math.ceil(num / stride) + 1
        # the last window must start inside the input or the left padding
        if (out - 1) * stride >= size + padding:
            out -= 1
        return out
    return num // stride + 1


def field_of_channel(field_type: Any) -> np.ndarray:
    """For every channel of ``field_type``, the index of the field it belongs to."""
    sizes = [rep.size for rep in field_type.representations]
    return np.repeat(np.arange(len(sizes)), sizes)


def induced_structure(rep: Any) -> tuple[int, int] | None:
    """``(n_subfields, subfield_size)`` of an induced representation, ``None`` if ``rep`` is not induced.

    An induced representation :math:`\\mathrm{Ind}_H^G \\psi` is stored as ``|G/H|`` contiguous blocks
    (sub-fields) of size ``dim(psi)``, one per coset, which the group action permutes (and transforms by
    ``psi``). ``structconv.group`` records ``dim(psi)`` as the supported non-linearity ``induced_norm_<d>``.
    """
    for tag in rep.supported_nonlinearities:
        match = _INDUCED_TAG.fullmatch(tag)
        if match is not None:
            d = int(match.group(2))
            if d > 0 and rep.size % d == 0:
                return rep.size // d, d
    return None


class FieldGrouping:
    """Fields of a field type grouped by a key, in the order in which each key first appears.

    The fields of each group are gathered together (a view when they already are contiguous and the groups
    come in order, one ``index_select`` otherwise), processed as a tensor ``[B, n_fields, size, ...]`` and
    scattered back to the original field order. ``out_sizes`` gives, per field, the number of channels the
    module produces for it (default: the field's size).

    Args:
        field_type: the field type whose fields are grouped.
        keys: one hashable key per field (default: the field's representation).
        out_sizes: number of output channels of every field (default: its size).
    """

    def __init__(
        self,
        field_type: Any,
        keys: Sequence[Hashable] | None = None,
        out_sizes: Sequence[int] | None = None,
    ) -> None:
        reps = list(field_type.representations)
        keys = list(reps) if keys is None else list(keys)
        sizes = [r.size for r in reps]
        out_sizes = list(sizes) if out_sizes is None else [int(s) for s in out_sizes]
        groups: dict[Hashable, list[int]] = {}
        for i, k in enumerate(keys):
            groups.setdefault(k, []).append(i)
        self.keys: list[Hashable] = list(groups)
        self.field_ids: list[np.ndarray] = [np.asarray(v, dtype=np.int64) for v in groups.values()]
        self.reps = [reps[int(ids[0])] for ids in self.field_ids]
        self.counts = [len(ids) for ids in self.field_ids]
        self.sizes = []
        self.out_sizes = []
        for ids in self.field_ids:
            s = {sizes[i] for i in ids}
            o = {out_sizes[i] for i in ids}
            if len(s) != 1 or len(o) != 1:
                raise ValueError("FieldGrouping: fields sharing a key must share their size")
            self.sizes.append(s.pop())
            self.out_sizes.append(o.pop())
        order = np.concatenate(self.field_ids) if self.field_ids else np.zeros(0, dtype=np.int64)
        self.order = order
        in_start = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64) if sizes else np.zeros(0)
        out_start = (
            np.concatenate([[0], np.cumsum(out_sizes)[:-1]]).astype(np.int64) if sizes else np.zeros(0)
        )
        in_perm = self._channels(order, in_start, sizes)
        out_perm = self._channels(order, out_start, out_sizes)
        self.in_perm: torch.Tensor | None = (
            None if np.array_equal(in_perm, np.arange(len(in_perm))) else torch.from_numpy(in_perm)
        )
        inv = np.empty_like(out_perm)
        inv[out_perm] = np.arange(len(out_perm))
        self.out_perm: torch.Tensor | None = (
            None if np.array_equal(inv, np.arange(len(inv))) else torch.from_numpy(inv)
        )
        self.in_splits = [c * s for c, s in zip(self.counts, self.sizes)]
        self.out_splits = [c * s for c, s in zip(self.counts, self.out_sizes)]

    @staticmethod
    def _channels(order: np.ndarray, start: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
        if len(order) == 0:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([np.arange(start[i], start[i] + sizes[i]) for i in order]).astype(np.int64)

    def split(self, x: torch.Tensor, in_perm: torch.Tensor | None) -> list[torch.Tensor]:
        """Gather ``x`` ``[B, C, ...]`` into one ``[B, n_fields, size, ...]`` tensor per group."""
        if in_perm is not None:
            x = x.index_select(1, in_perm)
        chunks = torch.split(x, self.in_splits, dim=1)
        b, spatial = x.shape[0], x.shape[2:]
        return [c.reshape(b, n, s, *spatial) for c, n, s in zip(chunks, self.counts, self.sizes)]

    def merge(self, chunks: Sequence[torch.Tensor], out_perm: torch.Tensor | None) -> torch.Tensor:
        """Inverse of :meth:`split` for the outputs ``[B, n_fields, out_size, ...]`` of every group."""
        b = chunks[0].shape[0]
        flat = [c.reshape(b, -1, *c.shape[3:]) for c in chunks]
        y = flat[0] if len(flat) == 1 else torch.cat(flat, dim=1)
        if out_perm is not None:
            y = y.index_select(1, out_perm)
        return y

    def apply(
        self,
        x: torch.Tensor,
        in_perm: torch.Tensor | None,
        out_perm: torch.Tensor | None,
        fn: Callable[[int, torch.Tensor], torch.Tensor],
    ) -> torch.Tensor:
        """``merge([fn(group_index, chunk) for every group])``."""
        return self.merge([fn(g, c) for g, c in enumerate(self.split(x, in_perm))], out_perm)


def register_grouping(module: torch.nn.Module, grouping: FieldGrouping, prefix: str = "") -> None:
    """Register the permutations of ``grouping`` as non-persistent buffers of ``module``."""
    module.register_buffer(f"{prefix}_in_perm", grouping.in_perm, persistent=False)
    module.register_buffer(f"{prefix}_out_perm", grouping.out_perm, persistent=False)
