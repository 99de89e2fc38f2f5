"""``GeometricTensor``: a ``torch.Tensor`` endowed with a :class:`FieldType`, and ``tensor_directsum``."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from structconv.nn.typed._typecheck import check_tensor, spatial_dims
from structconv.nn.typed.field_type import FieldType

__all__ = ["GeometricTensor", "tensor_directsum"]


def _ndim(type: FieldType) -> int:
    """The number of dims of a tensor of ``type``: 4 on the plane, 5 in space."""
    return 2 + spatial_dims(type.gspace)


class GeometricTensor:
    r"""A typed tensor: a ``torch.Tensor`` of shape ``(batch, channels, height, width)`` (or
    ``(batch, channels, depth, height, width)`` on R^3) and its field type.

    The channel dim holds the fields of ``type`` one after the other; the tensor transforms under a
    group element :math:`g` as :math:`(g \cdot f)(x) = \rho(g) f(g^{-1} x)` (see :meth:`transform`).
    The number of dims follows the gspace: exactly 4-D tensors ``(B, C, H, W)`` on the planar gspaces
    (``gspace.dimensionality == 2``), exactly 5-D tensors ``(B, C, D, H, W)`` on the gspaces of space
    (:class:`~structconv.gspaces.r3.GSpace3D`, ``dimensionality == 3``; voxel axes ``(-Z, -Y, X)``).

    Indexing (``t[...]``) works as for ``torch.Tensor`` on the batch and spatial dims, but on the
    channel dim (the 2nd) it selects **fields**, never single channels, so a field is never split:
    ``t[:, 1:4]`` keeps fields 1, 2 and 3. Only ints, slices and ``...`` are accepted (no advanced
    indexing, no ``None``); an int keeps its dim with size 1 so the result is still a 4-D (5-D) geometric
    tensor. A field slice with step 1 is a view; any other step gathers the channels (a copy).
    Assignment through indexing is not supported: write into ``t.tensor`` if you must.

    Arithmetic: ``+``, ``-``, ``+=``, ``-=`` with a tensor of the same type and shape; ``*``, ``*=``
    (and ``scalar * t``) with a number or a one-element ``torch.Tensor``.

    Args:
        tensor: the data, shape ``(B, type.size, H, W)`` (planar) or ``(B, type.size, D, H, W)`` (R^3),
            floating point (or complex).
        type: the field type of the data.

    Raises:
        TypeError: ``tensor`` is not a floating-point ``torch.Tensor`` (an integer or bool tensor is refused:
            the group acts by real matrices) or ``type`` is not a ``FieldType``.
        ValueError: ``tensor`` is not 4-D (planar gspace) / 5-D (gspace on R^3) or its channel count differs
            from ``type.size``.

    Example:
        >>> from structconv.gspaces import Rot2dOnR2
        >>> from structconv.nn import FieldType
        >>> gs = Rot2dOnR2(4)
        >>> ft = FieldType(gs, [gs.regular_repr, gs.irrep(1), gs.trivial_repr])
        >>> t = GeometricTensor(torch.randn(10, ft.size, 9, 9), ft)
        >>> t.shape
        torch.Size([10, 7, 9, 9])
        >>> t[3, 1:].shape, t[3, 1:].type
        (torch.Size([1, 3, 9, 9]), [4-Rotations: {irrep_1, irrep_0}])

        On R^3 the tensors are 5-D:

        >>> from structconv.gspaces.r3 import octaOnR3
        >>> gs3 = octaOnR3()
        >>> ft3 = FieldType(gs3, [gs3.regular_repr, gs3.trivial_repr])
        >>> t3 = GeometricTensor(torch.randn(2, 25, 7, 7, 7), ft3)
        >>> t3[:, 1:, 2:5].shape
        torch.Size([2, 1, 3, 7, 7])
    """

    tensor: torch.Tensor
    type: FieldType

    def __init__(self, tensor: torch.Tensor, type: FieldType) -> None:
        if (  # the common case, checked with as few calls as possible (a forward builds one per module)
            isinstance(type, FieldType)
            and isinstance(tensor, torch.Tensor)
            and tensor.dim() == 2 + spatial_dims(type.gspace)
            and tensor.is_floating_point()
            and not torch.jit.is_tracing()
            and tensor.shape[1] == type.size
        ):
            self.tensor = tensor
            self.type = type
            return
        if not isinstance(type, FieldType):
            raise TypeError(
                f"type must be a structconv.nn.FieldType; received {type.__class__.__name__}: {type!r}"
            )
        ndim = _ndim(type)
        where = f" for the field type on the {ndim - 2}-D gspace {type.gspace.name!r}"
        check_tensor(tensor, type.size, "tensor", min_dims=ndim, max_dims=ndim, spatial=ndim - 2, where=where)
        if not (tensor.is_floating_point() or tensor.is_complex()):
            raise TypeError(
                f"GeometricTensor: tensor has dtype {tensor.dtype}, which is not accepted; expected a "
                "floating-point tensor (torch.float16, torch.bfloat16, torch.float32, torch.float64): the "
                "group acts on feature fields by real matrices and the equivariant modules compute in "
                "floating point (convert it first, e.g. tensor.float())"
            )
        self.tensor = tensor
        self.type = type

    # ------------------------------------------------------------------ tensor-like
    @property
    def shape(self) -> torch.Size:
        """Alias for ``self.tensor.shape``."""
        return self.tensor.shape

    def size(self, dim: int | None = None) -> torch.Size | int:
        """Alias for ``self.tensor.size(dim)``."""
        return self.tensor.size() if dim is None else self.tensor.size(dim)

    def to(self, *args: Any, **kwargs: Any) -> GeometricTensor:
        """Apply ``torch.Tensor.to(*args, **kwargs)`` to the data and keep the type.

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> from structconv.nn import FieldType
            >>> gs = Rot2dOnR2(4)
            >>> t = GeometricTensor(torch.randn(1, 4, 3, 3), FieldType(gs, [gs.regular_repr]))
            >>> t.to(torch.float64).tensor.dtype
            torch.float64
        """
        return GeometricTensor(self.tensor.to(*args, **kwargs), self.type)

    def __repr__(self) -> str:
        return f"g_{self.tensor!r}, {self.type!r}"

    # ------------------------------------------------------------------ symmetry
    def restrict(self, id: Any) -> GeometricTensor:
        """Restrict the type to a subgroup (see :meth:`FieldType.restrict`); shares the data.

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> from structconv.nn import FieldType
            >>> gs = Rot2dOnR2(8)
            >>> t = GeometricTensor(torch.randn(1, 8, 3, 3), FieldType(gs, [gs.regular_repr]))
            >>> r = t.restrict(2)
            >>> r.tensor is t.tensor, r.type.gspace.fibergroup.order()
            (True, 2)
        """
        return GeometricTensor(self.tensor, self.type.restrict(id))

    @property
    def coords(self) -> None:
        """escnn's point-cloud coordinates: always ``None`` (structconv's tensors live on grids)."""
        return None

    def has_same_coords(self, other: GeometricTensor) -> bool:
        """escnn's check that two tensors share their point cloud: on grids, whether both are on grids.

        Raises:
            TypeError: ``other`` is not a GeometricTensor.
        """
        if not isinstance(other, GeometricTensor):
            raise TypeError(f"other: expected a GeometricTensor, got {type(other).__name__}")
        return other.coords is None

    def is_compatible(self, other: GeometricTensor) -> bool:
        """Whether ``other`` can be combined with this tensor (escnn's): the same field type and coordinates.

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> from structconv.nn import FieldType
            >>> gs = Rot2dOnR2(4)
            >>> ft = FieldType(gs, [gs.regular_repr])
            >>> a = GeometricTensor(torch.zeros(1, 4, 3, 3), ft)
            >>> a.is_compatible(GeometricTensor(torch.ones(1, 4, 3, 3), ft))
            True
        """
        return isinstance(other, GeometricTensor) and other.type == self.type and self.has_same_coords(other)

    def transform(
        self, element: Any, *, interpolation: str | None = None, order: int | None = None
    ) -> GeometricTensor:
        r"""Transform by a group element: :math:`(g \cdot f)(x) = \rho(g) f(g^{-1}x)`.

        Exact (a permutation of pixels / voxels) when the element maps the sampling grid onto itself,
        interpolated with ``grid_sample`` otherwise (``interpolation``: ``None`` for the default, bicubic on
        the plane, trilinear in space; or escnn's spline ``order``); see :meth:`FieldType.transform`. The
        result is differentiable (except with a spline ``order`` of 2 or more in space) and stays on the
        tensor's device and dtype.

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> from structconv.nn import FieldType
            >>> gs = Rot2dOnR2(4)
            >>> t = GeometricTensor(torch.randn(2, 4, 5, 5), FieldType(gs, [gs.regular_repr]))
            >>> back = t.transform(1).transform(3)
            >>> torch.equal(back.tensor, t.tensor)
            True
        """
        return GeometricTensor(
            self.type.transform(self.tensor, element, order=order, interpolation=interpolation), self.type
        )

    def transform_fibers(self, element: Any) -> GeometricTensor:
        r"""Transform only the feature vectors: :math:`f'(x) = \rho(g) f(x)` (the plane does not move).

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> from structconv.nn import FieldType
            >>> gs = Rot2dOnR2(4)
            >>> t = GeometricTensor(torch.arange(4.0).reshape(1, 4, 1, 1), FieldType(gs, [gs.regular_repr]))
            >>> t.transform_fibers(1).tensor.flatten().tolist()
            [3.0, 0.0, 1.0, 2.0]
        """
        return GeometricTensor(self.type.transform_fibers(self.tensor, element), self.type)

    # ------------------------------------------------------------------ slicing
    def split(self, breaks: Sequence[int] | None) -> list[GeometricTensor]:
        """Split along the channel dim at the given field indices.

        Output ``j`` holds the fields ``breaks[j-1]:breaks[j]`` (with ``breaks[-1] = 0`` and
        ``breaks[len] = len(self.type)``). Each output is a view of this tensor.

        Args:
            breaks: strictly increasing ints with ``0 < b < len(self.type)``; ``None`` splits at every
                field (same as ``list(range(1, len(self.type)))``).

        Raises:
            TypeError: ``breaks`` is not a list of ints.
            ValueError: ``breaks`` is not strictly increasing or out of range.

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> from structconv.nn import FieldType
            >>> gs = Rot2dOnR2(4)
            >>> ft = FieldType(gs, [gs.regular_repr, gs.irrep(1), gs.trivial_repr])
            >>> [p.shape[1] for p in GeometricTensor(torch.randn(1, 7, 2, 2), ft).split([1])]
            [4, 3]
        """
        n = len(self.type)
        if breaks is None:
            breaks = list(range(1, n))
        if isinstance(breaks, (str, bytes)) or not hasattr(breaks, "__iter__"):
            raise TypeError(f"breaks must be a list of ints or None; received {type(breaks).__name__}")
        breaks = list(breaks)
        for b in breaks:
            if isinstance(b, bool) or not isinstance(b, numbers.Integral):
                raise TypeError(f"breaks must contain only ints; received {b!r} in {breaks}")
        bounds = [0, *(int(b) for b in breaks), n]
        if any(lo >= hi for lo, hi in zip(bounds[:-1], bounds[1:])):
            raise ValueError(
                f"breaks must be strictly increasing ints with 0 < b < len(type) = {n}; received {breaks}"
            )
        starts, ends = self.type.fields_start, self.type.fields_end
        out = []
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            c0, c1 = int(starts[lo]), int(ends[hi - 1])
            sub = FieldType(self.type.gspace, self.type.representations[lo:hi])
            out.append(GeometricTensor(self.tensor[:, c0:c1], sub))
        return out

    def __getitem__(self, slices: Any) -> GeometricTensor:
        """Index the batch and spatial dims as usual and the channel dim by fields; ints keep the dim."""
        items = slices if isinstance(slices, tuple) else (slices,)
        n_ellipsis = sum(item is Ellipsis for item in items)
        if n_ellipsis > 1:
            raise IndexError("an index can only have a single ellipsis ('...')")
        for item in items:
            if item is not Ellipsis and (
                isinstance(item, bool) or not isinstance(item, (slice, numbers.Integral))
            ):
                raise TypeError(
                    "GeometricTensor supports only basic indexing with ints, slices and '...'; received "
                    f"{type(item).__name__}: {item!r} (index the underlying .tensor for advanced indexing)"
                )
        n_explicit = len(items) - n_ellipsis
        ndim = self.tensor.dim()
        if n_explicit > ndim:
            raise IndexError(f"too many indices for a {ndim}-D GeometricTensor: received {slices!r}")
        if n_ellipsis:
            pos = next(i for i, item in enumerate(items) if item is Ellipsis)
            fill = (slice(None),) * (ndim - n_explicit)
            full = items[:pos] + fill + items[pos + 1 :]
        else:
            full = items + (slice(None),) * (ndim - n_explicit)

        index: list[Any] = []
        for dim, item in enumerate(full):
            if dim == 1:
                continue
            index.append(self._int_to_slice(item, self.tensor.shape[dim], dim))
        fields = full[1]
        n = len(self.type)
        if isinstance(fields, numbers.Integral):
            fields = self._int_to_slice(fields, n, 1)
        start, stop, step = fields.indices(n)
        field_ids = list(range(start, stop, step))
        new_type = FieldType(self.type.gspace, [self.type.representations[i] for i in field_ids])
        starts, ends = self.type.fields_start, self.type.fields_end
        data = self.tensor[(index[0], slice(None), *index[1:])]
        if step == 1:
            c0 = int(starts[start]) if field_ids else 0
            c1 = int(ends[field_ids[-1]]) if field_ids else 0
            data = data[:, c0:c1]
        else:
            channels = _field_channels(starts[field_ids], ends[field_ids])
            data = data[:, torch.as_tensor(channels, dtype=torch.long, device=data.device)]
        return GeometricTensor(data, new_type)

    @staticmethod
    def _int_to_slice(item: Any, size: int, dim: int) -> slice:
        if isinstance(item, slice):
            return item
        i = int(item)
        if not -size <= i < size:
            what = "fields" if dim == 1 else "entries"
            raise IndexError(f"index {i} is out of range for dim {dim} with {size} {what}")
        i %= size
        return slice(i, i + 1)

    # ------------------------------------------------------------------ arithmetic
    def _check_compatible(self, other: Any, op: str) -> None:
        if not isinstance(other, GeometricTensor):
            raise TypeError(
                f"unsupported operand for {op}: expected a GeometricTensor, received {type(other).__name__}"
            )
        if other.type != self.type:
            raise ValueError(
                f"cannot apply {op} to geometric tensors of different types: expected {self.type}, "
                f"received {other.type}"
            )
        if other.tensor.shape != self.tensor.shape:
            raise ValueError(
                f"cannot apply {op} to geometric tensors of different shapes: expected "
                f"{tuple(self.tensor.shape)}, received {tuple(other.tensor.shape)}"
            )

    @staticmethod
    def _check_scalar(other: Any, op: str) -> Any:
        if isinstance(other, torch.Tensor):
            if other.numel() != 1:
                raise ValueError(
                    f"{op} accepts only a scalar or a one-element tensor; received a tensor of shape "
                    f"{tuple(other.shape)}"
                )
            return other.reshape(())
        if isinstance(other, numbers.Number) and not isinstance(other, bool):
            return other
        raise TypeError(
            f"{op} accepts only a scalar or a one-element tensor; received {type(other).__name__}"
        )

    def __add__(self, other: GeometricTensor) -> GeometricTensor:
        """Pointwise sum of two tensors with the same type and shape."""
        self._check_compatible(other, "+")
        return GeometricTensor(self.tensor + other.tensor, self.type)

    def __sub__(self, other: GeometricTensor) -> GeometricTensor:
        """Pointwise difference of two tensors with the same type and shape."""
        self._check_compatible(other, "-")
        return GeometricTensor(self.tensor - other.tensor, self.type)

    def __iadd__(self, other: GeometricTensor) -> GeometricTensor:
        """In-place sum (writes into ``self.tensor``)."""
        self._check_compatible(other, "+=")
        self.tensor += other.tensor
        return self

    def __isub__(self, other: GeometricTensor) -> GeometricTensor:
        """In-place difference (writes into ``self.tensor``)."""
        self._check_compatible(other, "-=")
        self.tensor -= other.tensor
        return self

    def __mul__(self, other: float | torch.Tensor) -> GeometricTensor:
        """Product with a scalar or a one-element tensor (returns a new tensor)."""
        return GeometricTensor(self.tensor * self._check_scalar(other, "*"), self.type)

    def __rmul__(self, other: float | torch.Tensor) -> GeometricTensor:
        """Product with a scalar or a one-element tensor on the left."""
        return GeometricTensor(self._check_scalar(other, "*") * self.tensor, self.type)

    def __imul__(self, other: float | torch.Tensor) -> GeometricTensor:
        """In-place product with a scalar or a one-element tensor."""
        self.tensor *= self._check_scalar(other, "*=")
        return self


def _field_channels(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Concatenate the channel ranges ``starts[i]:ends[i]`` without a Python loop."""
    sizes = ends - starts
    if sizes.size == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - (np.cumsum(sizes) - sizes), sizes)
    return offsets + np.arange(int(sizes.sum()))


def tensor_directsum(tensors: Sequence[GeometricTensor]) -> GeometricTensor:
    """Concatenate geometric tensors along the channel dim; the type is the sum of their types.

    Args:
        tensors: a non-empty list of geometric tensors on the same gspace whose shapes agree except in
            the channel dim.

    Raises:
        TypeError: an entry is not a ``GeometricTensor``.
        ValueError: empty list, different gspaces or incompatible shapes.

    Example:
        >>> from structconv.gspaces import Rot2dOnR2
        >>> from structconv.nn import FieldType
        >>> gs = Rot2dOnR2(4)
        >>> a = GeometricTensor(torch.randn(2, 4, 5, 5), FieldType(gs, [gs.regular_repr]))
        >>> b = GeometricTensor(torch.randn(2, 1, 5, 5), FieldType(gs, [gs.trivial_repr]))
        >>> tensor_directsum([a, b]).type
        [4-Rotations: {regular, irrep_0}]
    """
    tensors = list(tensors)
    if not tensors:
        raise ValueError("tensors must be a non-empty list of GeometricTensor; received an empty list")
    for i, t in enumerate(tensors):
        if not isinstance(t, GeometricTensor):
            raise TypeError(f"tensors[{i}] must be a GeometricTensor; received {type(t).__name__}")
    first = tensors[0]
    for i, t in enumerate(tensors[1:], start=1):
        if t.type.gspace != first.type.gspace:
            raise ValueError(
                f"tensors[{i}] lives on gspace {t.type.gspace.name!r}, expected {first.type.gspace.name!r} "
                f"like tensors[0]"
            )
        if t.shape[0] != first.shape[0] or t.shape[2:] != first.shape[2:]:
            raise ValueError(
                f"tensors[{i}] has shape {tuple(t.shape)}, incompatible with tensors[0] of shape "
                f"{tuple(first.shape)}: all dims except the channel dim (1) must agree"
            )
    reprs = [r for t in tensors for r in t.type.representations]
    return GeometricTensor(torch.cat([t.tensor for t in tensors], dim=1), FieldType(first.type.gspace, reprs))
