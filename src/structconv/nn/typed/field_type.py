"""``FieldType``: the data type of a feature space of an equivariant network.

A field type is a gspace (the plane or space, and the group acting on it) plus an ordered list of
representations of the gspace's fiber group, one per feature field. The channels of a tensor of this
type are the concatenation of the fields; the whole feature vector transforms with the direct sum of the
representations. Field types are immutable, hashable, picklable values.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse
import torch
import torch.nn.functional as F

from structconv.nn.typed._typecheck import (
    check_tensor,
    element_key,
    exact_grid_action,
    resolve_interpolation,
    spatial_dims,
)

if TYPE_CHECKING:  # pragma: no cover
    from structconv.group import Group, Representation
    from structconv.gspaces import GSpace

__all__ = ["FieldType"]

_GRID_SAMPLE_MODE = {
    "bicubic": "bicubic",
    "bilinear": "bilinear",
    "nearest": "nearest",
    "trilinear": "bilinear",
}
_CACHE_LIMIT = 256


class FieldType:
    r"""The data type of a feature space: a gspace and one representation per feature field.

    A feature space of this type holds ``len(representations)`` feature fields; field ``i`` occupies the
    channels ``fields_start[i]:fields_end[i]`` and transforms with ``representations[i]``. Under a group
    element :math:`g` a feature map :math:`f` of this type transforms as

    .. math::
        (g \cdot f)(x) = \rho(g) \, f(g^{-1} x), \qquad \rho = \bigoplus_i \rho_i .

    Field types are immutable, hashable and picklable; two field types are equal when they have the same
    gspace and the same representations in the same order. ``representations`` is stored as a tuple.

    Tensors of a field type on a planar gspace are ``(B, C, H, W)``; on a gspace of space
    (:class:`structconv.gspaces.r3.GSpace3D`) they are ``(B, C, D, H, W)`` (voxel axes ``(-Z, -Y, X)``).

    Args:
        gspace: the gspace the fields live on (e.g. :class:`structconv.gspaces.Rot2dOnR2`,
            :func:`structconv.gspaces.r3.octaOnR3`).
        representations: a list (any sequence) of representations of ``gspace.fibergroup``, one per
            field. An empty list gives an empty (size 0) field type.

    Raises:
        TypeError: ``gspace`` is not a gspace or ``representations`` is not a sequence of
            representations.
        ValueError: a representation belongs to another group than ``gspace.fibergroup``.

    Example:
        >>> from structconv.gspaces import Rot2dOnR2
        >>> gs = Rot2dOnR2(8)
        >>> ft = FieldType(gs, [gs.regular_repr] * 2 + [gs.trivial_repr])
        >>> ft
        [8-Rotations: {regular, regular, irrep_0}]
        >>> len(ft), ft.size
        (3, 17)
        >>> ft.fields_start.tolist(), ft.fields_end.tolist()
        ([0, 8, 16], [8, 16, 17])

        On :math:`\mathbb{R}^3`:

        >>> from structconv.gspaces.r3 import octaOnR3
        >>> gs3 = octaOnR3()
        >>> FieldType(gs3, [gs3.regular_repr, gs3.irrep(1)]).size
        27
    """

    gspace: GSpace
    representations: tuple[Representation, ...]
    size: int

    def __init__(self, gspace: GSpace, representations: Sequence[Representation]) -> None:
        if not hasattr(gspace, "fibergroup") or not hasattr(gspace, "basespace_action"):
            raise TypeError(
                "gspace must be a structconv.gspaces.GSpace (e.g. Rot2dOnR2(8)) or GSpace3D (e.g. "
                f"octaOnR3()); received {type(gspace).__name__}: {gspace!r}"
            )
        if isinstance(representations, (str, bytes, bytearray)):
            raise TypeError(
                f"FieldType: representations={representations!r} is a string, not a list of representations; "
                "expected a list of representations of the gspace's fiber group, e.g. "
                "[gspace.trivial_repr] or [gspace.regular_repr] * 4 (a name is not looked up)"
            )
        if not isinstance(representations, Sequence):
            if isinstance(representations, Iterator) or hasattr(representations, "__iter__"):
                representations = list(representations)
            else:
                raise TypeError(
                    "representations must be a list of representations of the gspace's fiber group; "
                    f"received {type(representations).__name__}"
                )
        reprs = tuple(representations)
        group = gspace.fibergroup
        seen: set[int] = set()  # each distinct representation object is checked once
        for i, r in enumerate(reprs):
            if id(r) in seen:
                continue
            seen.add(id(r))
            if not (hasattr(r, "group") and hasattr(r, "size") and hasattr(r, "name")):
                raise TypeError(
                    f"representations[{i}] must be a structconv.group.Representation; "
                    f"received {type(r).__name__}: {r!r}"
                )
            if r.group != group:
                raise ValueError(
                    f"representations[{i}] ({r.name!r}) is a representation of group {r.group.name!r}, "
                    f"but the gspace {gspace.name!r} has fiber group {group.name!r}; every representation "
                    f"must belong to gspace.fibergroup"
                )
        sizes = np.array([int(r.size) for r in reprs], dtype=np.int64)
        ends = np.cumsum(sizes)
        starts = ends - sizes
        starts.setflags(write=False)
        ends.setflags(write=False)
        positions: dict[Representation, list[int]] = {}
        for i, r in enumerate(reprs):
            positions.setdefault(r, []).append(i)
        _set = object.__setattr__
        _set(self, "gspace", gspace)
        _set(self, "representations", reprs)
        _set(self, "size", int(sizes.sum()))
        _set(self, "_fields_start", starts)
        _set(self, "_fields_end", ends)
        _set(self, "_unique", tuple(positions))
        _set(self, "_starts_by_repr", {r: starts[ids] for r, ids in positions.items()})
        _set(self, "_hash", hash((gspace, reprs)))
        _set(self, "_cache", {})

    # ------------------------------------------------------------------ value semantics
    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"FieldType is immutable: cannot set attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"FieldType is immutable: cannot delete attribute {name!r}")

    def __reduce__(self) -> tuple:
        return (FieldType, (self.gspace, list(self.representations)))

    def __copy__(self) -> FieldType:
        return self

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, FieldType):
            return NotImplemented
        return (
            self._hash == other._hash
            and self.gspace == other.gspace
            and self.representations == other.representations
        )

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"[{self.gspace.name}: {{{', '.join(self.fields_names())}}}]"

    # ------------------------------------------------------------------ basic properties
    @property
    def fibergroup(self) -> Group:
        """The fiber group of :attr:`gspace`."""
        return self.gspace.fibergroup

    @property
    def testing_elements(self) -> list:
        """Alias for ``self.gspace.testing_elements``."""
        return self.gspace.testing_elements

    @property
    def fields_start(self) -> np.ndarray:
        """Read-only int array: the index of the first channel of each field."""
        return self._fields_start

    @property
    def fields_end(self) -> np.ndarray:
        """Read-only int array: one past the index of the last channel of each field."""
        return self._fields_end

    @property
    def uniform(self) -> bool:
        """``True`` when all fields have the same representation (an empty type is uniform)."""
        return len(self._unique) <= 1

    @property
    def unique_representations(self) -> tuple[Representation, ...]:
        """The distinct representations of the fields, in order of first appearance."""
        return self._unique

    @property
    def irreps(self) -> list[str]:
        """Names of the irreps of all fields, concatenated field by field (a fresh list)."""
        return [name for r in self.representations for name in r.irreps]

    @property
    def fiber_representation(self) -> Representation:
        """escnn's name for :attr:`representation` (the direct sum of the fields' representations)."""
        return self.representation

    @property
    def representation(self) -> Representation:
        """The direct sum of the representations of all fields (built on first use, then cached).

        Raises:
            ValueError: the field type is empty.
        """
        if "representation" not in self._cache:
            if not self.representations:
                raise ValueError("an empty FieldType has no representation")
            from structconv.group import directsum

            if len(self.representations) == 1:
                self._cache["representation"] = self.representations[0]
            else:
                self._cache["representation"] = directsum(list(self.representations))
        return self._cache["representation"]

    @property
    def change_of_basis(self) -> scipy.sparse.coo_matrix:
        """Sparse block-diagonal matrix ``Q`` with ``ρ(g) = Q (⊕ irreps(g)) Q^{-1}``.

        It is the direct sum of the ``change_of_basis`` of the fields' representations, as a
        ``scipy.sparse.coo_matrix`` of shape ``(size, size)`` in float64.
        """
        if "cob" not in self._cache:
            self._cache["cob"] = self._block_diag([r.change_of_basis for r in self.representations])
        return self._cache["cob"]

    @property
    def change_of_basis_inv(self) -> scipy.sparse.coo_matrix:
        """Inverse of :attr:`change_of_basis` (sparse, block diagonal, float64)."""
        if "cob_inv" not in self._cache:
            self._cache["cob_inv"] = self._block_diag([r.change_of_basis_inv for r in self.representations])
        return self._cache["cob_inv"]

    def _block_diag(self, blocks: list[np.ndarray]) -> scipy.sparse.coo_matrix:
        if not blocks:
            return scipy.sparse.coo_matrix((0, 0), dtype=np.float64)
        return scipy.sparse.block_diag([np.asarray(b, dtype=np.float64) for b in blocks], format="coo")

    def get_dense_change_of_basis(self, dtype: torch.dtype | None = None) -> torch.Tensor:
        """Return a dense copy of :attr:`change_of_basis` as a ``torch.Tensor``.

        Args:
            dtype: floating dtype of the result; ``None`` (default) uses ``torch.get_default_dtype()``.

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> gs = Rot2dOnR2(4)
            >>> FieldType(gs, [gs.regular_repr]).get_dense_change_of_basis().shape
            torch.Size([4, 4])
        """
        return torch.as_tensor(self.change_of_basis.toarray(), dtype=dtype or torch.get_default_dtype())

    def get_dense_change_of_basis_inv(self, dtype: torch.dtype | None = None) -> torch.Tensor:
        """Return a dense copy of :attr:`change_of_basis_inv` as a ``torch.Tensor``.

        Args:
            dtype: floating dtype of the result; ``None`` (default) uses ``torch.get_default_dtype()``.

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> gs = Rot2dOnR2(4)
            >>> ft = FieldType(gs, [gs.regular_repr])
            >>> q, q_inv = ft.get_dense_change_of_basis(), ft.get_dense_change_of_basis_inv()
            >>> torch.allclose(q @ q_inv, torch.eye(4), atol=1e-6)
            True
        """
        return torch.as_tensor(self.change_of_basis_inv.toarray(), dtype=dtype or torch.get_default_dtype())

    # ------------------------------------------------------------------ list-like API
    def __len__(self) -> int:
        """Number of fields (in general different from :attr:`size`)."""
        return len(self.representations)

    def __iter__(self) -> Iterator[Representation]:
        """Iterate over the fields' representations."""
        return iter(self.representations)

    def fields_names(self) -> list[str]:
        """Return the names of the fields' representations, in order.

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> gs = Rot2dOnR2(4)
            >>> FieldType(gs, [gs.irrep(1), gs.trivial_repr]).fields_names()
            ['irrep_1', 'irrep_0']
        """
        return [r.name for r in self.representations]

    def __add__(self, other: FieldType) -> FieldType:
        """Direct sum of two field types: the concatenation of their fields.

        Raises:
            TypeError: ``other`` is not a ``FieldType``.
            ValueError: the two field types live on different gspaces.

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> gs = Rot2dOnR2(4)
            >>> FieldType(gs, [gs.regular_repr]) + FieldType(gs, [gs.irrep(1)])
            [4-Rotations: {regular, irrep_1}]
        """
        if not isinstance(other, FieldType):
            return NotImplemented
        if other.gspace != self.gspace:
            raise ValueError(
                f"cannot add field types on different gspaces: {self.gspace.name!r} and "
                f"{other.gspace.name!r}; both addends must have the same gspace"
            )
        return FieldType(self.gspace, self.representations + other.representations)

    def index_select(self, index: Sequence[int]) -> FieldType:
        """Build a new field type from the fields at positions ``index`` (repetitions allowed).

        Args:
            index: a list of ints in ``{0, ..., len(self) - 1}`` (negative ints count from the end).

        Raises:
            TypeError: an entry of ``index`` is not an int.
            IndexError: an entry is out of range.

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> gs = Rot2dOnR2(4)
            >>> FieldType(gs, [gs.regular_repr, gs.irrep(1), gs.trivial_repr]).index_select([2, 0, 0])
            [4-Rotations: {irrep_0, regular, regular}]
        """
        reprs = [self.representations[i] for i in self._check_indices(index, "index")]
        return FieldType(self.gspace, reprs)

    def _check_indices(self, index: Any, name: str) -> list[int]:
        if isinstance(index, torch.Tensor) or isinstance(index, np.ndarray):
            index = index.tolist()
        if isinstance(index, (int, np.integer)) or not hasattr(index, "__iter__"):
            raise TypeError(f"{name} must be a list of ints; received {type(index).__name__}: {index!r}")
        out = []
        n = len(self)
        for i in index:
            if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
                raise TypeError(f"{name} must contain only ints; received {type(i).__name__}: {i!r}")
            if not -n <= int(i) < n:
                raise IndexError(f"{name} entry {int(i)} is out of range for a field type with {n} fields")
            out.append(int(i) % n)
        return out

    def sorted(self) -> FieldType:
        """Return a new field type with the fields sorted by size (stable for equal sizes).

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> gs = Rot2dOnR2(4)
            >>> FieldType(gs, [gs.regular_repr, gs.irrep(1), gs.trivial_repr]).sorted()
            [4-Rotations: {irrep_0, irrep_1, regular}]
        """
        order = sorted(range(len(self)), key=lambda i: self.representations[i].size)
        return FieldType(self.gspace, [self.representations[i] for i in order])

    def group_by_labels(self, labels: Sequence[str]) -> dict[str, FieldType]:
        """Group the fields by a label per field into new field types.

        Args:
            labels: one label (string) per field.

        Returns:
            a dict mapping each distinct label (in order of first appearance) to the field type of the
            fields carrying it, in their original order.

        Raises:
            ValueError: ``len(labels) != len(self)``.

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> gs = Rot2dOnR2(4)
            >>> ft = FieldType(gs, [gs.regular_repr, gs.irrep(1), gs.trivial_repr])
            >>> ft.group_by_labels(["a", "b", "a"])
            {'a': [4-Rotations: {regular, irrep_0}], 'b': [4-Rotations: {irrep_1}]}
        """
        labels = list(labels)
        if len(labels) != len(self):
            raise ValueError(
                f"labels must have one entry per field: expected {len(self)} labels, received {len(labels)}"
            )
        groups: dict[str, list[Representation]] = {}
        for label, r in zip(labels, self.representations):
            groups.setdefault(label, []).append(r)
        return {label: FieldType(self.gspace, reprs) for label, reprs in groups.items()}

    def restrict(self, id: Any) -> FieldType:
        """Restrict the symmetry to the subgroup of the fiber group identified by ``id``.

        Every representation is restricted to the subgroup and the new field type lives on the
        restricted gspace (see :meth:`structconv.gspaces.GSpace.restrict` for the ids). Channels are not
        reordered: a tensor of this type is also a tensor of the restricted type.

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> gs = Rot2dOnR2(8)
            >>> FieldType(gs, [gs.regular_repr]).restrict(4).size
            8
            >>> from structconv.gspaces.r3 import rot3dOnR3
            >>> gs3 = rot3dOnR3()
            >>> FieldType(gs3, [gs3.irrep(1)]).restrict("octa")
            [Octahedral_on_R3[(False, 'octa')]: {SO(3):irrep_1}]
        """
        key = ("restrict", element_key(id))
        if key not in self._cache:
            subspace = self.gspace.restrict(id)[0]
            restricted = {r: r.restrict(id) for r in self._unique}
            self._cache[key] = FieldType(subspace, [restricted[r] for r in self.representations])
        return self._cache[key]

    # ------------------------------------------------------------------ group action
    def _check_element(self, element: Any) -> None:
        group = self.fibergroup
        ok = False
        try:
            ok = bool(group.is_element(element))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(
                f"element {element!r} is not an element of the fiber group {group.name!r} of {self}; "
                f"accepted: {_element_help(group)}"
            )

    def fiber_matrix(self, element: Any) -> torch.Tensor:
        """The block-diagonal matrix ``ρ(g)`` acting on all channels, as a float64 CPU tensor.

        Built once per element from one evaluation of each distinct representation and cached.

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> gs = Rot2dOnR2(4)
            >>> FieldType(gs, [gs.trivial_repr, gs.irrep(1)]).fiber_matrix(1)
            tensor([[ 1.,  0.,  0.],
                    [ 0.,  0., -1.],
                    [ 0.,  1.,  0.]], dtype=torch.float64)
        """
        self._check_element(element)
        key = ("rho", element_key(element))
        cached = self._cache.get(key)
        if cached is None:
            matrix = np.zeros((self.size, self.size), dtype=np.float64)
            for r in self._unique:
                block = np.asarray(r(element), dtype=np.float64)
                d = block.shape[0]
                starts = self._starts_by_repr[r]
                offsets = np.arange(d)
                rows = starts[:, None, None] + offsets[None, :, None]
                cols = starts[:, None, None] + offsets[None, None, :]
                matrix[rows, cols] = block[None]
            cached = torch.from_numpy(matrix)
            if len(self._cache) > _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = cached
        return cached

    def transform_fibers(self, input: torch.Tensor, element: Any) -> torch.Tensor:
        """Apply ``ρ(g)`` to the channels of ``input`` (no motion of the base space).

        Args:
            input: tensor of shape ``(..., size, H, W)`` (planar gspaces, at least 3 dims) or
                ``(..., size, D, H, W)`` (gspaces on R^3, at least 4 dims), any float dtype and device.
            element: an element of :attr:`fibergroup`.

        Returns:
            ``f'(x) = ρ(g) f(x)``, same shape, dtype and device as ``input``; differentiable.

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> gs = Rot2dOnR2(4)
            >>> ft = FieldType(gs, [gs.regular_repr])
            >>> x = torch.arange(4.0).reshape(1, 4, 1, 1)
            >>> ft.transform_fibers(x, 1).flatten().tolist()
            [3.0, 0.0, 1.0, 2.0]
        """
        d = self._check_input(input)
        matrix = self.fiber_matrix(element).to(device=input.device, dtype=input.dtype)
        if d == 2:
            return torch.einsum("ij,...jhw->...ihw", matrix, input)
        # volumes: one batched matmul over the flattened voxels (much faster than einsum's path here)
        voxels = int(np.prod(input.shape[-3:]))  # explicit: a batch of 0 has no size to infer -1 from
        flat = input.reshape(*input.shape[:-4], self.size, voxels)
        return torch.matmul(matrix, flat).reshape(input.shape)

    def _check_input(self, input: torch.Tensor) -> int:
        """Check a tensor to transform (channels, dims, dtype); return the number of spatial dims."""
        d = spatial_dims(self.gspace)
        where = f" on the {d}-D gspace {self.gspace.name!r}"
        check_tensor(input, self.size, "input", min_dims=d + 1, max_dims=None, spatial=d, where=where)
        _check_floating(input)
        return d

    def transform(
        self,
        input: torch.Tensor,
        element: Any,
        coords: None = None,
        order: int | None = None,
        *,
        interpolation: str | None = None,
    ) -> torch.Tensor:
        r"""Transform a tensor of this type by a group element: :math:`(g \cdot f)(x) = \rho(g) f(g^{-1}x)`.

        Done entirely in torch, on the input's device and in its dtype, and differentiable (unlike the
        reference library, which went through numpy and detached the tensor). The action on the base space
        follows ``docs/internals.md``: on the plane rotations turn counter-clockwise about the image centre,
        the default reflection mirrors the image left-right; in space the element's matrix
        (``gspace.basespace_action(g)``) acts on the voxel centres in the ``(-Z, -Y, X)`` axes of
        :mod:`structconv.gspaces.r3`.

        * When ``g`` maps the sampling grid onto itself the data are moved exactly, by a permutation of
          pixels or voxels (no interpolation, no loss): on the plane (rotations by multiples of 90°,
          reflections whose axis is a multiple of 45°) with ``torch.flip`` / ``torch.rot90`` (for odd
          multiples of 90° the two spatial dims are swapped); in space (the 48 symmetries of the cube on a
          cubic volume; on a box, those that keep its shape) by the voxel permutation of
          :func:`~structconv.gspaces.r3.grid_permutation` (an index gather).
        * Otherwise the data are resampled with ``torch.nn.functional.grid_sample`` (zero padding outside,
          same output size as the input); points rotated in from outside are zero, so only the inscribed
          disc (ball) is meaningful.

        The channels are then mixed by one matmul with the block-diagonal matrix ``ρ(g)``
        (:meth:`fiber_matrix`, cached per element).

        Args:
            input: tensor of shape ``(..., size, H, W)`` (planar gspaces, at least 3 dims) or
                ``(..., size, D, H, W)`` (gspaces on R^3, at least 4 dims), floating point.
            element: an element of :attr:`fibergroup` (``int`` for C_N, ``(flip, k)`` for D_N, an angle
                for SO(2), ``(flip, angle)`` for O(2); a group element, or a plain value in the group's
                parametrization, for the groups of space).
            interpolation: used only when the action is not exact on the grid. Planar gspaces:
                ``"bicubic"`` (the default, ``None``), ``"bilinear"`` or ``"nearest"``. Gspaces on R^3:
                ``"trilinear"`` (the default, ``None``) or ``"nearest"`` (``grid_sample`` has no tricubic
                mode); a planar name is refused in 3-D and ``"trilinear"`` on the plane.
            coords: escnn's point-cloud coordinates; only ``None`` (tensors on grids) is accepted.
            order: escnn's spline order, instead of ``interpolation``: ``0`` nearest, ``1`` bilinear /
                trilinear; ``3`` bicubic on the plane; ``2`` to ``5`` in space resample with
                ``scipy.ndimage`` splines of that order (escnn's default is 2: more accurate than trilinear
                for smooth fields, but computed on the CPU in float64 and not differentiable).

        Raises:
            TypeError: ``input`` is not a floating point tensor.
            ValueError: bad shape or channel count, ``element`` not in the group, unknown
                ``interpolation`` or ``order``, both given, ``coords`` given, or a spline ``order`` in
                space on an input that requires grad (with grad enabled).

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> gs = Rot2dOnR2(4)
            >>> ft = FieldType(gs, [gs.trivial_repr])
            >>> x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
            >>> ft.transform(x, 1)  # 90 degrees counter-clockwise
            tensor([[[[2., 4.],
                      [1., 3.]]]])

            In space, a rotation of the cube permutes the voxels and the regular fields' channels:

            >>> from structconv.gspaces.r3 import octaOnR3
            >>> gs3 = octaOnR3()
            >>> ft3 = FieldType(gs3, [gs3.regular_repr])
            >>> x3 = torch.randn(2, 24, 5, 5, 5, dtype=torch.float64)
            >>> g, h = gs3.fibergroup.elements[5], gs3.fibergroup.elements[7]
            >>> torch.equal(ft3.transform(ft3.transform(x3, h), g), ft3.transform(x3, g @ h))
            True
        """
        d = self._check_input(input)
        if coords is not None:
            raise ValueError(
                f"coords: expected None (structconv's tensors live on grids; escnn's point clouds are not "
                f"supported), got a {type(coords).__name__}"
            )
        if order is not None:
            if interpolation is not None:
                raise ValueError(
                    f"order={order!r} and interpolation={interpolation!r}: expected at most one of them"
                )
            interpolation = _order_to_interpolation(order, d, input)
            if interpolation.startswith("spline"):
                self._check_element(element)
                moved = self.gspace.featurefield_action(
                    input.detach().cpu().double().numpy(), self.representation, element, order=int(order)
                )
                return torch.as_tensor(moved, dtype=input.dtype, device=input.device)
        interpolation = resolve_interpolation(self.gspace, interpolation)
        self._check_element(element)
        matrix = np.asarray(self.gspace.basespace_action(element), dtype=np.float64)
        if d == 2:
            moved = _move_plane(input, matrix, interpolation)
        else:
            moved = _move_volume(input, matrix, interpolation)
        return self.transform_fibers(moved, element)


def _order_to_interpolation(order: Any, d: int, input: torch.Tensor) -> str:
    if d == 2:
        accepted = "0 (nearest), 1 (bilinear) or 3 (bicubic)"
    else:
        accepted = "0 (nearest), 1 (trilinear) or 2 to 5 (scipy splines)"
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)):
        raise ValueError(f"order={order!r} is not accepted; expected an int: {accepted}")
    order = int(order)
    if order == 0:
        return "nearest"
    if order == 1:
        return "bilinear" if d == 2 else "trilinear"
    if d == 2 and order == 3:
        return "bicubic"
    if d == 3 and 2 <= order <= 5:
        if input.requires_grad and torch.is_grad_enabled():
            raise ValueError(
                f"order={order}: the spline resampling (scipy.ndimage) is not differentiable; detach the "
                "input, run under torch.no_grad(), or use order=1 (trilinear, differentiable)"
            )
        return f"spline{order}"
    raise ValueError(f"order={order!r} is not accepted on a {d}-D gspace; expected {accepted}")


def _check_floating(input: torch.Tensor) -> None:
    if not input.is_floating_point():
        raise TypeError(f"input must be a floating point tensor; received dtype {input.dtype}")


def _element_help(group: Group) -> str:
    param = getattr(group, "PARAM", None)
    if param is not None:  # the groups of space (structconv.group.Group3D): escnn's element values
        return (
            f"a GroupElement of {group.name} (group.element(value, param)) or a value in its default "
            f"parametrization {param!r} (e.g. group.identity.value)"
        )
    name = str(getattr(group, "name", ""))
    if name.startswith("C"):
        return "an int k (rotation by 2*pi*k/N)"
    if name.startswith("D"):
        return "a pair (flip, k) with flip in {0, 1} and int k (rotation by 2*pi*k/N)"
    if name.startswith("SO"):
        return "an angle in radians"
    if name.startswith("O"):
        return "a pair (flip, angle) with flip in {0, 1} and an angle in radians"
    return "an element of the group"


def _move_plane(input: torch.Tensor, matrix: np.ndarray, interpolation: str) -> torch.Tensor:
    """Return ``f(A^{-1} x)`` for the image ``f`` (last two dims) and the 2x2 plane map ``A``."""
    exact = exact_grid_action(matrix)
    if exact is not None:
        flip, k = exact
        out = torch.flip(input, dims=(-1,)) if flip else input
        return torch.rot90(out, k, dims=(-2, -1)) if k else out
    height, width = input.shape[-2:]
    device = input.device
    inv = torch.as_tensor(np.linalg.inv(matrix), dtype=torch.float64, device=device)
    rows = torch.arange(height, dtype=torch.float64, device=device)
    cols = torch.arange(width, dtype=torch.float64, device=device)
    cy, cx = (height - 1) / 2.0, (width - 1) / 2.0
    y = (cy - rows)[:, None].expand(height, width)
    x = (cols - cx)[None, :].expand(height, width)
    src_x = inv[0, 0] * x + inv[0, 1] * y
    src_y = inv[1, 0] * x + inv[1, 1] * y
    src_col, src_row = src_x + cx, cy - src_y
    # grid_sample with align_corners=False: pixel p sits at normalised coordinate (2p + 1) / size - 1
    grid = torch.stack([(2 * src_col + 1) / width - 1, (2 * src_row + 1) / height - 1], dim=-1)
    batch_shape = input.shape[:-3]
    flat = input.reshape((math.prod(batch_shape), *input.shape[-3:]))
    grid = grid.to(input.dtype)[None].expand(flat.shape[0], height, width, 2)
    out = F.grid_sample(
        flat, grid, mode=_GRID_SAMPLE_MODE[interpolation], padding_mode="zeros", align_corners=False
    )
    return out.reshape(input.shape)


def _move_volume(input: torch.Tensor, matrix: np.ndarray, interpolation: str) -> torch.Tensor:
    """Return ``f(A^{-1} x)`` for the volume ``f`` (last three dims, axes ``(-Z, -Y, X)``), ``A`` 3x3.

    Exact (an index gather by :func:`~structconv.gspaces.r3.grid_permutation`, the same permutation as
    :meth:`GSpace3D.featurefield_action <structconv.gspaces.r3.GSpace3D.featurefield_action>`) when ``A``
    maps the voxel grid onto itself; ``grid_sample`` on 5-D (zeros outside) otherwise.
    """
    from structconv.gspaces.r3 import VOXEL_AXES, grid_permutation

    shape = tuple(int(s) for s in input.shape[-3:])
    device = input.device
    perm = grid_permutation(matrix, shape)
    if perm is not None:
        flat = input.reshape(*input.shape[:-3], int(np.prod(shape)))
        index = torch.as_tensor(perm, dtype=torch.long, device=device)
        return flat.index_select(-1, index).reshape(input.shape)
    # input voxel = centre + M (output voxel - centre), M = V^T A^{-1} V in voxel index coordinates
    M = VOXEL_AXES.T @ np.linalg.inv(matrix) @ VOXEL_AXES
    size = torch.tensor(shape, dtype=torch.float64, device=device)
    centre = (size - 1) / 2
    axes = [torch.arange(n, dtype=torch.float64, device=device) for n in shape]
    idx = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)  # (D, H, W, 3) as (i, j, k)
    src = centre + (idx - centre) @ torch.as_tensor(M, dtype=torch.float64, device=device).T
    # grid_sample with align_corners=False: voxel p sits at normalised coordinate (2p + 1) / size - 1; the
    # grid's last dim lists (x, y, z) = (W, H, D) index coordinates
    grid = ((2 * src + 1) / size - 1).flip(-1)
    batch_shape = input.shape[:-4]
    flat = input.reshape((math.prod(batch_shape), *input.shape[-4:]))
    grid = grid.to(input.dtype)[None].expand(flat.shape[0], *shape, 3)
    out = F.grid_sample(
        flat, grid, mode=_GRID_SAMPLE_MODE[interpolation], padding_mode="zeros", align_corners=False
    )
    return out.reshape(input.shape)
