r"""Groups acting on space :math:`\mathbb{R}^3`: escnn's ``GSpace3D`` and its ``*OnR3`` factories (numpy).

A :class:`GSpace3D` is a subgroup of O(3), named by its O(3) subgroup id (escnn's ids, see
:mod:`structconv.group.o3`), acting on points of space by the standard representation of O(3) restricted to
it. The factories take escnn's names, arguments and defaults:

=============================  ==============================================  ===========================
factory                        fibre group                                     O(3) subgroup id
=============================  ==============================================  ===========================
``rot3dOnR3()``                SO(3)                                           ``'so3'``
``flipRot3dOnR3()``            O(3)                                            ``'o3'``
``octaOnR3()``                 Octahedral (24 rotations of the cube)           ``(False, 'octa')``
``fullOctaOnR3()``             FullOctahedral (48)                             ``(True, 'octa')``
``icoOnR3()``                  Icosahedral (60)                                ``(False, 'ico')``
``fullIcoOnR3()``              FullIcosahedral (120)                           ``(True, 'ico')``
``rot2dOnR3(n)``               SO(2) / C_n about z                             ``(False, False, n)``
``dihedralOnR3(n, axis)``      O(2) / D_n (rotations by π flip z)              ``(False, 2*axis, n)``
``conicalOnR3(n, axis)``       O(2) / D_n (mirrors through the z axis)         ``('cone', 2*axis, n)``
``cylindricalOnR3(n)``         C2 × SO(2) / C2 × C_n (with the inversion)      ``(True, False, n)``
``fullCylindricalOnR3(n, a)``  C2 × O(2) / C2 × D_n                            ``(True, axis, n)``
``invOnR3()``                  C2 (the inversion)                              ``(True, False, 1)``
``mirOnR3(axis)``              C2 (one mirror)                                 ``('cone', 2*axis, 1)``
``trivialOnR3()``              C1                                              ``(False, False, 1)``
=============================  ==============================================  ===========================

(``fullCylindricalOnR3`` passes ``axis``, not ``2*axis``, as escnn 1.0.11 does; the optional ``adjoint``, an
element of O(3), conjugates the axial subgroups as in escnn.)

**Axes.** A point is ``(x, y, z)``; :attr:`GSpace3D.basespace_action` is the ``3 × 3`` matrix acting on it.
Voxel data ``(..., D1, D2, D3)`` use escnn's ``(-Z, -Y, X)`` convention: the last axis is ``x``, the second
last ``-y`` and the third last ``-z``; voxel ``(i, j, k)`` is the point
``x = k - (D3-1)/2``, ``y = (D2-1)/2 - j``, ``z = (D1-1)/2 - i`` (as pixel ``(i, j)`` of an image is
``x = j - (W-1)/2``, ``y = (H-1)/2 - i``).

**Differences from the planar** :class:`~structconv.gspaces.GSpace`: :class:`GSpace3D` is a separate class
(the planar base class accepts dimensionality 2 only) with the same public attributes; as in escnn,
:attr:`GSpace3D.basespace_action` is a :class:`~structconv.group.Representation` (calling it on an element
gives the matrix, so ``gs.basespace_action(g)`` works as for the planar gspaces), and ``restrict`` is
implemented for the gspaces of SO(3) and O(3) only (escnn 1.0.11 also restricts some axial gspaces, e.g.
``conicalOnR3().restrict((0., 4))``; not here yet);
:attr:`GSpace3D.testing_elements` puts the elements that move a voxel grid exactly first
(:meth:`GSpace3D.grid_elements`). Field types: :meth:`GSpace3D.type` (tensors ``(B, C, D, H, W)``). Not here
yet: kernel bases (``build_kernel_basis``).

Example:
    >>> from structconv.gspaces.r3 import octaOnR3
    >>> gs = octaOnR3()
    >>> gs.name, gs.fibergroup.order(), gs.dimensionality
    ("Octahedral_on_R3[(False, 'octa')]", 24, 3)
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.ndimage

from structconv.group import Group, IrreducibleRepresentation, Representation
from structconv.group.cyclic import MAX_ROTATIONS
from structconv.group.group3d import GroupElement
from structconv.group.o3 import O3, o3_group
from structconv.gspaces.gspace import FiberGroupAccessors

__all__ = [
    "GSpace3D",
    "rot3dOnR3",
    "flipRot3dOnR3",
    "octaOnR3",
    "fullOctaOnR3",
    "icoOnR3",
    "fullIcoOnR3",
    "rot2dOnR3",
    "dihedralOnR3",
    "conicalOnR3",
    "cylindricalOnR3",
    "fullCylindricalOnR3",
    "invOnR3",
    "mirOnR3",
    "trivialOnR3",
    "grid_permutation",
    "VOXEL_AXES",
]

#: ``VOXEL_AXES @ (i, j, k)`` is the point ``(x, y, z)`` (up to the centre): escnn's ``(-Z, -Y, X)`` voxels.
VOXEL_AXES = np.array([[0.0, 0.0, 1.0], [0.0, -1.0, 0.0], [-1.0, 0.0, 0.0]])


def _voxel_matrix(A: np.ndarray) -> np.ndarray:
    """The matrix ``M`` with ``input voxel = centre + M (output voxel - centre)`` for the motion ``A``."""
    return VOXEL_AXES.T @ np.asarray(A, dtype=np.float64).T @ VOXEL_AXES


def grid_permutation(matrix: Any, shape: Sequence[int], atol: float = 1e-9) -> np.ndarray | None:
    r"""The voxel permutation by which the motion ``matrix`` of space moves a voxel grid, if it is one.

    Moving a field ``f`` by ``A`` gives :math:`f'(x) = f(A^{-1} x)`; on a grid of ``shape`` ``(D1, D2, D3)``
    (escnn's ``(-Z, -Y, X)`` axes, see the module docstring) this is ``f'.flat = f.flat[perm]`` when ``A``
    maps every voxel centre onto a voxel centre (the 48 symmetries of the cube on a cubic grid, the mirrors
    and the rotations by 180° about an axis on any box...).

    Args:
        matrix: a ``3 × 3`` orthogonal matrix (e.g. ``gs.basespace_action(g)``).
        shape: the grid shape ``(D1, D2, D3)``.
        atol: tolerance on integrality of the moved voxel coordinates.

    Returns:
        the ``int64`` index array ``perm`` of length ``D1 * D2 * D3``, or ``None`` when ``A`` does not map
        the grid onto itself.

    Example:
        >>> import numpy as np
        >>> A = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # 90° about z
        >>> grid_permutation(A, (1, 2, 2))  # flat (-y, x) image [[a, b], [c, d]] -> [[b, d], [a, c]]
        array([1, 3, 0, 2])
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"shape: expected 3 positive sizes (D1, D2, D3), got {shape!r}")
    A = np.asarray(matrix, dtype=np.float64)
    if A.shape != (3, 3):
        raise ValueError(f"matrix: expected a 3 x 3 matrix, got shape {A.shape}")
    M = _voxel_matrix(A)
    centre = (np.array(shape, dtype=np.float64) - 1.0) / 2.0
    idx = np.indices(shape).reshape(3, -1).astype(np.float64)
    src = centre[:, None] + M @ (idx - centre[:, None])
    r = np.round(src)
    if np.max(np.abs(src - r), initial=0.0) > atol:
        return None
    r = r.astype(np.int64)
    if np.any(r < 0) or np.any(r >= np.array(shape)[:, None]):
        return None
    return np.ravel_multi_index(tuple(r), shape).astype(np.int64)


def _cube_symmetries() -> list[np.ndarray]:
    """The 48 signed permutation matrices (the symmetries of the cube): the 24 rotations first, then the 24
    rotations times the inversion, each in a fixed order (permutations in lexicographic order, then signs)."""
    rotations = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            A = np.zeros((3, 3))
            A[range(3), perm] = signs
            if np.linalg.det(A) > 0:
                rotations.append(A)
    return rotations + [-A for A in rotations]


_CUBE = _cube_symmetries()


def _move_volume(x: np.ndarray, A: np.ndarray, order: int) -> np.ndarray:
    """``f'(p) = f(A^{-1} p)`` for a field ``x`` of shape ``(..., D1, D2, D3)``."""
    shape = x.shape[-3:]
    perm = grid_permutation(A, shape)
    flat = x.reshape(x.shape[:-3] + (-1,))
    if perm is not None:
        return flat[..., perm].reshape(x.shape)
    M = _voxel_matrix(A)
    centre = (np.array(shape, dtype=np.float64) - 1.0) / 2.0
    # the sampling points M p + (c - M c); those within rounding of a voxel centre are snapped onto it, so
    # that a voxel on the boundary that the element fixes (e.g. on the rotation axis) is not read as
    # lying outside the volume
    grid = np.indices(shape, dtype=np.float64).reshape(3, -1)
    coords = M @ (grid - centre[:, None]) + centre[:, None]
    nearest = np.round(coords)
    coords = np.where(np.abs(coords - nearest) < 1e-9, nearest, coords)
    out = np.empty_like(flat).reshape(-1, *shape)
    for n, vol in enumerate(x.reshape(-1, *shape)):
        moved = scipy.ndimage.map_coordinates(vol, coords, order=order, mode="constant", cval=0.0)
        out[n] = moved.reshape(shape)
    return out.reshape(x.shape)


class GSpace3D(FiberGroupAccessors):
    r"""A subgroup of O(3) acting on :math:`\mathbb{R}^3` (escnn's ``GSpace3D``): on points by rotations
    (and reflections), on feature fields by :math:`(g \cdot f)(x) = \rho(g) f(g^{-1} x)`.

    Usually built by a factory (:func:`rot3dOnR3`, :func:`octaOnR3`, ...). Immutable, hashable, comparable
    (two gspaces are equal when their normalised subgroup ids are) and picklable.

    Args:
        sg_id: the O(3) subgroup id of the fibre group (escnn's ids: ``'so3'``, ``'o3'``,
            ``(False, 'octa')``, ``('cone', -1)``, ...).
        maximum_frequency: largest degree of the irreps listed for the continuous groups.

    Example:
        >>> gs = GSpace3D("so3")
        >>> gs.name, gs.fibergroup.name, gs.basespace
        ('SO(3)_on_R3[so3]', 'SO(3)', 'R^3')
    """

    def __init__(self, sg_id: Any, maximum_frequency: int = 2) -> None:
        o3 = o3_group(maximum_frequency)
        key, _ = o3._subgroup3d(sg_id)
        fibergroup, inclusion, restriction = o3.subgroup(key)
        self._o3: O3 = o3
        self._input_id = sg_id
        self._sg_id = key
        self._maximum_frequency = int(maximum_frequency)
        self._fibergroup: Group = fibergroup
        self._inclusion = inclusion
        self._restriction = restriction
        #: Dimension of the base space.
        self.dimensionality = 3
        # as escnn, the name shows the id as given (without the adjoint when none was passed)
        self._name = f"{fibergroup.name}_on_R3[{sg_id}]"
        self._base_action = o3.restrict_representation(key, o3.standard_representation())
        self._elements: dict[Any, list[Any]] = {}
        #: ``(parent gspace, subgroup id)`` for a gspace made by :meth:`restrict` of an axial or finite one
        self._parent: tuple[GSpace3D, Any] | None = None

    # ------------------------------------------------------------------ value semantics
    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        if self._parent is not None:
            return _restricted_gspace, self._parent
        return type(self), (self._input_id, self._maximum_frequency)

    @classmethod
    def _restricted(cls, parent: GSpace3D, id: Any) -> tuple[GSpace3D, Any, Any]:
        """The gspace of the subgroup ``id`` of ``parent.fibergroup`` (any fibre group), built from the
        subgroup and its maps: its O(3) elements are ``parent.inclusion(parent_map(h))``."""
        H, parent_map, child_map = parent._fibergroup.subgroup(id)
        key = parent._fibergroup._normalize_subgroup_id(id)
        sub = cls.__new__(cls)
        sub._o3 = parent._o3
        sub._input_id = None
        sub._parent = (parent, id)
        sub._sg_id = (parent._sg_id, "restrict", key)
        sub._maximum_frequency = parent._maximum_frequency
        sub._fibergroup = H
        p_incl, p_res = parent._inclusion, parent._restriction

        def inclusion(h: Any) -> Any:
            return p_incl(parent_map(h))

        def restriction(g: Any) -> Any:
            x = p_res(g)
            return None if x is None else child_map(x)

        sub._inclusion, sub._restriction = inclusion, restriction
        sub.dimensionality = 3
        sub._name = f"{H.name}_on_R3[{parent._sg_id}, restricted to {id!r}]"
        sub._base_action = parent._fibergroup.restrict_representation(id, parent._base_action)
        sub._elements = {}
        return sub, parent_map, child_map

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, GSpace3D):
            return NotImplemented
        return self._sg_id == other._sg_id and self._fibergroup == other._fibergroup

    def __hash__(self) -> int:
        return hash(("GSpace3D", self._sg_id))

    def __repr__(self) -> str:
        return f"GSpace3D({self._name!r})"

    # ------------------------------------------------------------------ attributes
    @property
    def name(self) -> str:
        """Name, as escnn prints it: ``"SO(3)_on_R3[so3]"``, ``"Octahedral_on_R3[(False, 'octa')]"``.

        Example:
            >>> rot2dOnR3(4).name
            'C4_on_R3[(False, False, 4)]'
        """
        return self._name

    @property
    def basespace(self) -> str:
        """The base space: ``"R^3"``.

        Example:
            >>> invOnR3().basespace
            'R^3'
        """
        return "R^3"

    @property
    def sg_id(self) -> Any:
        """The normalised O(3) subgroup id of :attr:`fibergroup` (as escnn's ``_sg_id``, without an identity
        adjoint).

        Example:
            >>> rot3dOnR3().sg_id, fullOctaOnR3().sg_id
            ((False, 'so3'), (True, 'octa'))
        """
        return self._sg_id

    @property
    def inclusion(self) -> Any:
        """The map from an element of :attr:`fibergroup` to the O(3) element it is.

        Example:
            >>> gs = invOnR3()
            >>> gs.inclusion(1)  # the inversion
            O(3)[-, [0., 0., 0., 1.]]
        """
        return self._inclusion

    @property
    def restriction(self) -> Any:
        """The map from an O(3) element to the element of :attr:`fibergroup` it is (``None`` if none).

        Example:
            >>> gs = invOnR3()
            >>> gs.restriction(gs.inclusion(1)), gs.restriction(gs.inclusion(1) @ gs.inclusion(1))
            (1, 0)
        """
        return self._restriction

    @property
    def basespace_action(self) -> Representation:
        """How :attr:`fibergroup` moves points ``(x, y, z)``: the standard representation of O(3) restricted
        to it (a :class:`~structconv.group.Representation`; ``gs.basespace_action(g)`` is the ``3 × 3``
        matrix).

        Example:
            >>> gs = rot2dOnR3(4)
            >>> gs.basespace_action(1).round(12) + 0.0  # 90° about z
            array([[ 0., -1.,  0.],
                   [ 1.,  0.,  0.],
                   [ 0.,  0.,  1.]])
        """
        return self._base_action

    # ------------------------------------------------------------------ elements
    def grid_elements(self, shape: Sequence[int] | None = None) -> list[Any]:
        """The elements of :attr:`fibergroup` that map a voxel grid onto itself (their action is exact).

        These are the elements whose :attr:`basespace_action` is one of the 48 symmetries of the cube (the
        24 rotations of the cube, and those times the inversion) and, for a non-cubic ``shape``, keeps the
        box's shape (:func:`grid_permutation` is not ``None``). A voxel convolution with a steerable kernel
        is exactly equivariant for them only; other elements need interpolation.

        Args:
            shape: the grid ``(D1, D2, D3)``; ``None`` (default): a cube.

        Returns:
            a new list: for a finite group in the order of ``fibergroup.elements``; otherwise the cube's
            rotations first (a fixed order), then the others.

        Example:
            >>> len(rot3dOnR3().grid_elements()), len(flipRot3dOnR3().grid_elements())
            (24, 48)
            >>> len(icoOnR3().grid_elements()), len(rot2dOnR3().grid_elements())
            (12, 4)
            >>> len(octaOnR3().grid_elements((3, 3, 5)))  # a box: 180° turns about x, y, z; 90° about z
            8
        """
        key = None if shape is None else tuple(int(v) for v in shape)
        if key is not None and (len(key) != 3 or min(key) < 1):
            raise ValueError(f"grid_elements: shape={shape!r} is not accepted; expected 3 positive sizes")
        cached = self._elements.get(("grid", key))
        if cached is None:
            G = self._fibergroup
            box = (3, 3, 3) if key is None else key
            if not G.continuous:
                cached = [g for g in G.elements if grid_permutation(self._base_action(g), box) is not None]
            else:
                cached = []
                for A in _CUBE:
                    if grid_permutation(A, box) is None:
                        continue
                    j = int(np.linalg.det(A) < 0)
                    g = self._restriction(self._o3.element((j, (-1) ** j * A), "MAT"))
                    if g is not None:
                        cached.append(g)
            self._elements[("grid", key)] = cached
        return list(cached)

    @property
    def testing_elements(self) -> list[Any]:
        """The elements to test equivariance on: the grid elements (exact on a cubic voxel grid) first.

        * finite groups: every element (the cube's groups are all grid elements; of the icosahedral groups
          only 12 / 24 are);
        * continuous groups (SO(3), O(3), the axial SO(2) / O(2) and their products): the grid elements
          (:meth:`grid_elements`: the 24 rotations of the cube for SO(3), 48 for O(3), the 4 turns by
          multiples of 90° about the axis of :func:`rot2dOnR3`, ...), then the fibre group's own testing
          elements (escnn's fixed list) that are not grid elements.

        Deterministic: the same list in the same order on every call.

        Example:
            >>> gs = rot3dOnR3()
            >>> len(gs.testing_elements), len(gs.grid_elements())
            (72, 24)
            >>> len(octaOnR3().testing_elements)
            24
        """
        cached = self._elements.get("testing")
        if cached is None:
            G = self._fibergroup
            if not G.continuous:
                cached = list(G.testing_elements())
            else:
                grid = self.grid_elements()
                cached = grid + [
                    g
                    for g in G.testing_elements()
                    if grid_permutation(self._base_action(g), (3, 3, 3)) is None
                ]
            self._elements["testing"] = cached
        return list(cached)

    @property
    def irreps(self) -> list[IrreducibleRepresentation]:  # type: ignore[override]
        """The irreps of :attr:`fibergroup` built so far, as a list (escnn's ``gspace.irreps``; for SO(3) and
        O(3), those up to ``maximum_frequency``). By name: ``gs.fibergroup.irreps[name]``.

        Example:
            >>> [irr.name for irr in octaOnR3().irreps]
            ['irrep_0', 'irrep_1', 'irrep_-1', 'irrep_2', 'irrep_3']
        """
        return list(self._fibergroup.irreps.values())

    def type(self, *representations: Representation) -> Any:
        """The field type of tensors ``(B, C, D, H, W)`` on this gspace with these fields (escnn's
        ``gspace.type``): ``FieldType(self, list(representations))``.

        Example:
            >>> gs = octaOnR3()
            >>> gs.type(gs.regular_repr, gs.trivial_repr)
            [Octahedral_on_R3[(False, 'octa')]: {regular, irrep_0}]
        """
        from structconv.nn import FieldType

        return FieldType(self, list(representations))

    # ------------------------------------------------------------------ subgroups
    def _combine(self, id: Any) -> Any:
        head = self._sg_id
        if head == (True, "so3"):
            return id
        if head == (False, "so3"):
            if isinstance(id, str):
                return (False, id)
            if isinstance(id, tuple):
                return (False,) + id
            raise ValueError(f"id: {id!r} is not a subgroup id of SO(3)")
        raise AssertionError(f"_combine: {self._name} is not the gspace of SO(3) or O(3)")  # pragma: no cover

    def restrict(self, id: Any) -> tuple[GSpace3D, Any, Any]:
        """The gspace of the subgroup ``id`` of :attr:`fibergroup` and the maps between their elements.

        Every gspace restricts, along every subgroup id its fibre group accepts: an SO(3) id for
        :func:`rot3dOnR3`, an O(3) id for :func:`flipRot3dOnR3` (the subspace is then the gspace of that
        O(3) subgroup, named as escnn names it), and the fibre group's own ids for the others (e.g.
        ``(axis, M)`` of O(2) for :func:`conicalOnR3`, ``M`` of C_N for :func:`rot2dOnR3`, ``(id1, id2)``
        of a direct product for :func:`cylindricalOnR3`). The subspace's fibre group is always
        ``fibergroup.subgroup(id)[0]`` and its elements act on space as their images in this gspace do.
        (escnn 1.0.11 restricts the conical gspaces alone among the axial ones, and returns the whole group
        for ``invOnR3().restrict(1)`` and ``cylindricalOnR3().restrict((1, -1))``, whose fibre-group
        subgroups are C1 and SO(2).)

        Args:
            id: a subgroup id of :attr:`fibergroup`.

        Returns:
            ``(subspace, parent_map, child_map)``: ``parent_map(h)`` is the element of :attr:`fibergroup`
            that ``h`` is, ``child_map(g)`` the subgroup's element equal to ``g`` (``None`` if ``g`` is not
            in the subgroup).

        Raises:
            ValueError: ``id`` is not a subgroup id of :attr:`fibergroup`.
            NotImplementedError: a subgroup escnn does not implement either (e.g. dihedral subgroups of the
                octahedral group).

        Example:
            >>> sub, parent, child = rot3dOnR3().restrict((False, 4))
            >>> sub.name, sub.fibergroup.name
            ('C4_on_R3[(False, False, 4)]', 'C4')
            >>> sub, parent, child = conicalOnR3().restrict((0.0, 4))
            >>> sub.fibergroup.name, len(sub.grid_elements())
            ('D4', 8)
        """
        if self._sg_id not in ((True, "so3"), (False, "so3")):
            return GSpace3D._restricted(self, id)
        combined = self._combine(id)
        _, parent_map, child_map = self._fibergroup.subgroup(id)
        sub = GSpace3D(combined, maximum_frequency=self._maximum_frequency)
        return sub, parent_map, child_map

    # ------------------------------------------------------------------ actions
    def featurefield_action(
        self, input: np.ndarray, repr: Representation, element: Any, order: int = 2
    ) -> np.ndarray:
        r"""Transform a feature field on a voxel grid: :math:`(g \cdot f)(x) = \rho(g) f(g^{-1} x)`.

        Exact (a voxel permutation, :func:`grid_permutation`) when ``element`` maps the grid onto itself
        (e.g. every element of :func:`fullOctaOnR3` on a cubic grid), spline interpolation of order ``order``
        (``scipy.ndimage``, zero outside) otherwise.

        Args:
            input: array ``(..., C, D1, D2, D3)`` with ``C == repr.size`` (axes ``(-Z, -Y, X)``).
            repr: a representation of :attr:`fibergroup`.
            element: an element of :attr:`fibergroup`.
            order: spline order for the other elements.

        Returns:
            a new float64 array of the same shape.

        Example:
            >>> gs = rot2dOnR3(4)
            >>> x = np.arange(4.0).reshape(1, 1, 2, 2)  # one field, one z slice, rows -y, columns x
            >>> gs.featurefield_action(x, gs.trivial_repr, 1)[0, 0]  # 90° about z, as np.rot90
            array([[1., 3.],
                   [0., 2.]])
        """
        if not isinstance(repr, Representation) or repr.group != self._fibergroup:
            raise ValueError(f"repr: expected a representation of {self._fibergroup.name}, got {repr!r}")
        x = np.asarray(input, dtype=np.float64)
        if x.ndim < 4 or x.shape[-4] != repr.size:
            raise ValueError(
                f"input: expected an array (..., C, D1, D2, D3) with C == repr.size == {repr.size}, "
                f"got shape {x.shape}"
            )
        A = self._base_action(element)
        moved = _move_volume(x, A, order)
        return np.einsum("ij,...jdhw->...idhw", repr(element), moved)


def _restricted_gspace(parent: GSpace3D, id: Any) -> GSpace3D:
    """Unpickling of a restricted gspace: restrict the parent again."""
    return parent.restrict(id)[0]


# ---------------------------------------------------------------------- factories (escnn's names)
def _with_adjoint(owner: str, sg_id: tuple[Any, ...], adjoint: Any) -> tuple[Any, ...]:
    """``sg_id`` followed by ``adjoint`` (an element of SO(3) or O(3)), else a ValueError naming it."""
    if adjoint is None:
        return sg_id
    if not isinstance(adjoint, GroupElement) or adjoint.group.name not in ("SO(3)", "O(3)"):
        raise ValueError(
            f"{owner}: adjoint={adjoint!r} is not accepted; expected None or an element of SO(3) or O(3) "
            "(e.g. so3_group().element(q, 'Q')), the rotation that moves the z axis"
        )
    return sg_id + (adjoint,)


def _check_n(owner: str, n: Any) -> int:
    """``n``: -1 (continuous rotations) or a number of rotations in ``[1, MAX_ROTATIONS]``, else a ValueError
    naming it."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or not (int(n) == -1 or int(n) >= 1):
        raise ValueError(f"{owner}: n={n!r} is not accepted; expected -1 (all rotations) or an int >= 1")
    if int(n) > MAX_ROTATIONS:
        raise ValueError(
            f"{owner}: n={n!r} is not accepted; expected -1 (all rotations) or at most {MAX_ROTATIONS} "
            "rotations (structconv.group.cyclic.MAX_ROTATIONS)"
        )
    return int(n)


def _check_axis(owner: str, axis: Any) -> float:
    """``axis``: a finite angle in radians, else a ValueError naming it."""
    if isinstance(axis, bool) or not isinstance(axis, numbers.Real) or not math.isfinite(float(axis)):
        raise ValueError(f"{owner}: axis={axis!r} is not accepted; expected a finite angle in radians")
    return float(axis)


def rot3dOnR3(maximum_frequency: int = 2) -> GSpace3D:
    """All rotations of space: SO(3).

    Example:
        >>> gs = rot3dOnR3()
        >>> gs.fibergroup.name, gs.irrep(1).size
        ('SO(3)', 3)
    """
    return GSpace3D("so3", maximum_frequency=maximum_frequency)


def flipRot3dOnR3(maximum_frequency: int = 2) -> GSpace3D:
    """All rotations and reflections of space: O(3).

    Example:
        >>> gs = flipRot3dOnR3()
        >>> gs.fibergroup.name, gs.irrep(1, 1).size  # irrep (j, l): parity j, degree l
        ('O(3)', 3)
    """
    return GSpace3D("o3", maximum_frequency=maximum_frequency)


def octaOnR3() -> GSpace3D:
    """The 24 rotations of the cube.

    Example:
        >>> gs = octaOnR3()
        >>> gs.fibergroup.order(), gs.regular_repr.size
        (24, 24)
    """
    return GSpace3D((False, "octa"), maximum_frequency=3)


def fullOctaOnR3() -> GSpace3D:
    """The 48 symmetries of the cube (rotations and the inversion).

    Example:
        >>> fullOctaOnR3().fibergroup.order()
        48
    """
    return GSpace3D((True, "octa"), maximum_frequency=3)


def icoOnR3() -> GSpace3D:
    """The 60 rotations of the icosahedron.

    Example:
        >>> icoOnR3().fibergroup.order()
        60
    """
    return GSpace3D((False, "ico"), maximum_frequency=4)


def fullIcoOnR3() -> GSpace3D:
    """The 120 symmetries of the icosahedron (rotations and the inversion).

    Example:
        >>> fullIcoOnR3().fibergroup.order()
        120
    """
    return GSpace3D((True, "ico"), maximum_frequency=4)


def rot2dOnR3(n: int = -1, adjoint: Any = None, maximum_frequency: int = 2) -> GSpace3D:
    """Rotations about the z axis: SO(2) (``n = -1``) or C_n; ``adjoint`` (an O(3) element) moves the axis.

    Example:
        >>> rot2dOnR3().fibergroup.name, rot2dOnR3(8).fibergroup.name
        ('SO(2)', 'C8')
    """
    n = _check_n("rot2dOnR3", n)
    return GSpace3D(
        _with_adjoint("rot2dOnR3", (False, False, n), adjoint), maximum_frequency=maximum_frequency
    )


def dihedralOnR3(
    n: int = -1, axis: float = math.pi / 2, adjoint: Any = None, maximum_frequency: int = 2
) -> GSpace3D:
    """Rotations about z and the rotations by π about the horizontal axis at angle ``axis``: O(2) or D_n.

    Example:
        >>> dihedralOnR3(4).fibergroup.name, dihedralOnR3(4).fibergroup.order()
        ('D4', 8)
    """
    n = _check_n("dihedralOnR3", n)
    axis = _check_axis("dihedralOnR3", axis)
    return GSpace3D(
        _with_adjoint("dihedralOnR3", (False, 2 * axis, n), adjoint), maximum_frequency=maximum_frequency
    )


def conicalOnR3(
    n: int = -1, axis: float = math.pi / 2, adjoint: Any = None, maximum_frequency: int = 2
) -> GSpace3D:
    """Rotations about z and the mirrors through the z axis (the cone's symmetries): O(2) or D_n.

    Example:
        >>> conicalOnR3(4).fibergroup.name, conicalOnR3().fibergroup.name
        ('D4', 'O(2)')
    """
    n = _check_n("conicalOnR3", n)
    axis = _check_axis("conicalOnR3", axis)
    return GSpace3D(
        _with_adjoint("conicalOnR3", ("cone", 2 * axis, n), adjoint), maximum_frequency=maximum_frequency
    )


def mirOnR3(axis: float = math.pi / 2, adjoint: Any = None) -> GSpace3D:
    """One mirror (through the z axis): C2.

    Example:
        >>> gs = mirOnR3()
        >>> gs.fibergroup.order(), bool(np.linalg.det(gs.basespace_action(1)) < 0)
        (2, True)
    """
    axis = _check_axis("mirOnR3", axis)
    return GSpace3D(_with_adjoint("mirOnR3", ("cone", 2 * axis, 1), adjoint), maximum_frequency=1)


def cylindricalOnR3(n: int = -1, adjoint: Any = None, maximum_frequency: int = 2) -> GSpace3D:
    """Rotations about z and the inversion: C2 × SO(2) or C2 × C_n.

    Example:
        >>> cylindricalOnR3(4).fibergroup.order()
        8
    """
    n = _check_n("cylindricalOnR3", n)
    return GSpace3D(
        _with_adjoint("cylindricalOnR3", (True, False, n), adjoint), maximum_frequency=maximum_frequency
    )


def fullCylindricalOnR3(
    n: int = -1, axis: float = math.pi / 2, adjoint: Any = None, maximum_frequency: int = 2
) -> GSpace3D:
    """The cylinder's symmetries: C2 × O(2) or C2 × D_n (``axis`` passed as is, as escnn 1.0.11).

    Example:
        >>> fullCylindricalOnR3(4).fibergroup.order()
        16
    """
    n = _check_n("fullCylindricalOnR3", n)
    axis = _check_axis("fullCylindricalOnR3", axis)
    return GSpace3D(
        _with_adjoint("fullCylindricalOnR3", (True, axis, n), adjoint), maximum_frequency=maximum_frequency
    )


def invOnR3() -> GSpace3D:
    """The inversion ``x -> -x``: C2.

    Example:
        >>> invOnR3().basespace_action(1)
        array([[-1.,  0.,  0.],
               [ 0., -1.,  0.],
               [ 0.,  0., -1.]])
    """
    return GSpace3D((True, False, 1), maximum_frequency=1)


def trivialOnR3() -> GSpace3D:
    """No symmetry: C1.

    Example:
        >>> trivialOnR3().fibergroup.order()
        1
    """
    return GSpace3D((False, False, 1), maximum_frequency=1)
