"""The abstract gspace: a group acting on the plane, on points and on feature fields (images)."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import scipy.ndimage

from structconv.group import (
    Group,
    IrreducibleRepresentation,
    Representation,
    SubgroupChildMap,
    SubgroupParentMap,
)

__all__ = ["GSpace", "GeneralOnR2"]


def _snap(a: np.ndarray, atol: float = 1e-12) -> np.ndarray:
    r = np.round(a)
    return np.where(np.abs(a - r) < atol, r, a)


def _rotation(theta: float) -> np.ndarray:
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, -s], [s, c]])


def _reflection(axis: float) -> np.ndarray:
    """Reflection across the line through the origin at angle ``axis``."""
    c, s = math.cos(2 * axis), math.sin(2 * axis)
    return np.array([[c, s], [s, -c]])


class FiberGroupAccessors:
    """What a gspace reads off its fibre group (shared by the planar :class:`GSpace` and
    :class:`~structconv.gspaces.r3.GSpace3D`); the class sets ``_fibergroup`` and ``_name``."""

    _fibergroup: Group
    _name: str

    @property
    def fibergroup(self) -> Group:
        """The symmetry group."""
        return self._fibergroup

    @property
    def representations(self) -> dict[str, Representation]:
        """The representations registered in :attr:`fibergroup` (its irreps, ``'regular'``, quotients...).

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> list(Rot2dOnR2(4).representations)[:4]  # then any quotient/induced ones built so far
            ['irrep_0', 'irrep_1', 'irrep_2', 'regular']
        """
        return self._fibergroup.representations

    @property
    def trivial_repr(self) -> IrreducibleRepresentation:
        """The trivial representation of :attr:`fibergroup`."""
        return self._fibergroup.trivial_representation

    @property
    def regular_repr(self) -> Representation:
        """The regular representation of :attr:`fibergroup` (finite groups only)."""
        if self._fibergroup.continuous:
            raise ValueError(
                f"regular_repr: {self._name} has a continuous group {self._fibergroup.name} without a finite "
                "regular representation; use bl_regular_repr(L) or irreps"
            )
        return self._fibergroup.regular_representation

    def bl_regular_repr(self, L: int) -> Representation:
        """Band-limited regular representation of a continuous group (see ``bl_regular_representation``)."""
        return self._fibergroup.bl_regular_representation(L)

    @property
    def irreps(self) -> dict[str, IrreducibleRepresentation]:
        """The irreps of :attr:`fibergroup` by name."""
        return self._fibergroup.irreps

    def irrep(self, *id: int) -> IrreducibleRepresentation:
        """The irrep of :attr:`fibergroup` with this id (see :meth:`Group.irrep`)."""
        return self._fibergroup.irrep(*id)

    def quotient_repr(self, subgroup_id: Any) -> Representation:
        """The quotient representation of :attr:`fibergroup` over the subgroup ``subgroup_id``."""
        return self._fibergroup.quotient_representation(subgroup_id)

    def induced_repr(self, subgroup_id: Any, repr: Representation) -> Representation:
        """The representation induced from ``repr`` of the subgroup ``subgroup_id``."""
        return self._fibergroup.induced_representation(subgroup_id, repr)

    @property
    def testing_elements(self) -> list[Any]:
        """The fibergroup's testing elements (all elements of a finite group)."""
        return list(self._fibergroup.testing_elements())


class GSpace(FiberGroupAccessors, ABC):
    r"""A group acting on the plane :math:`\mathbb{R}^2` by rotations (and reflections).

    A gspace knows its symmetry group (:attr:`fibergroup`), how an element moves points
    (:meth:`basespace_action`) and how it moves a feature field of a given representation
    (:meth:`featurefield_action`): :math:`(g \cdot f)(x) = \rho(g) f(g^{-1} x)`. Coordinates: pixel
    ``(i, j)`` of an ``H × W`` image is the point ``x = j - (W-1)/2``, ``y = (H-1)/2 - i`` (x to the
    right, y up); a positive angle turns counter-clockwise on screen.

    Gspaces are immutable values: hashable, comparable and picklable.

    Example:
        >>> from structconv.gspaces import Rot2dOnR2
        >>> gs = Rot2dOnR2(4)
        >>> gs.name, gs.fibergroup.name, gs.regular_repr.size
        ('4-Rotations', 'C4', 4)
        >>> gs.basespace_action(1)
        array([[ 0., -1.],
               [ 1.,  0.]])
    """

    def __init__(self, fibergroup: Group, dimensionality: int, name: str, axis: float = math.pi / 2) -> None:
        if dimensionality != 2:
            raise ValueError(f"dimensionality: only the plane is supported (2), got {dimensionality!r}")
        self._fibergroup = fibergroup
        #: Dimension of the base space.
        self.dimensionality = int(dimensionality)
        self._name = name
        self._axis = float(axis)
        self._flip_matrix = _reflection(self._axis)
        self._bases: dict[Any, Any] = {}

    # ------------------------------------------------------------------ value semantics
    @abstractmethod
    def _init_args(self) -> tuple[Any, ...]:
        """Positional arguments that rebuild this gspace."""

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return type(self), self._init_args()

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, GSpace):
            return NotImplemented
        return (
            type(self) is type(other) and self._fibergroup == other._fibergroup and self._axis == other._axis
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._fibergroup, self._axis))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._name!r})"

    # ------------------------------------------------------------------ attributes
    @property
    def name(self) -> str:
        """Name, as the reference library prints it: ``"8-Rotations"``, ``"Flip_4-Rotations(f=1.57080)"``."""
        return self._name

    @property
    def basespace(self) -> str:
        """The base space the group acts on, as a string: ``"R^2"``."""
        return f"R^{self.dimensionality}"

    @abstractmethod
    def build_kernel_basis(self, in_repr: Representation, out_repr: Representation, **kwargs: Any) -> Any:
        """The analytical basis of steerable kernels from ``in_repr`` to ``out_repr`` (a ``KernelBasis``)."""

    @abstractmethod
    def restrict(self, id: Any) -> tuple[GSpace, SubgroupParentMap, SubgroupChildMap]:
        """The gspace of the subgroup ``id`` and the maps ``(parent_map, child_map)`` between elements.

        Args:
            id: a subgroup id of :attr:`fibergroup` (see :meth:`Group.subgroup`).

        Returns:
            ``(subspace, parent_map, child_map)``.
        """

    # ------------------------------------------------------------------ actions
    def basespace_action(self, element: Any) -> np.ndarray:
        r"""The ``2 × 2`` matrix by which ``element`` moves plane coordinates ``(x, y)``.

        Element ``(f, θ)`` acts as :math:`R(\theta) F^f` where :math:`F` is the reflection across the
        line at angle :attr:`axis` (default :math:`\pi/2`: ``x → -x``).

        Args:
            element: an element of :attr:`fibergroup`.
        """
        G = self._fibergroup
        f, theta = G._to_flip_angle(G._parse(element))
        A = _rotation(theta)
        if f:
            A = A @ self._flip_matrix
        return _snap(A)

    def featurefield_action(
        self, input: np.ndarray, repr: Representation, element: Any, order: int = 2
    ) -> np.ndarray:
        r"""Transform a feature field: :math:`(g \cdot f)(x) = \rho(g) f(g^{-1} x)`.

        The base space is moved exactly (index permutation, as ``np.rot90`` / ``np.flip``) when
        ``element`` maps the pixel grid onto itself (rotations by multiples of 90° of a square image,
        flips about the vertical or horizontal axis, ...) and by spline interpolation of order
        ``order`` (``scipy.ndimage``, zero outside) otherwise.

        Args:
            input: array ``(..., C, H, W)`` with ``C == repr.size``.
            repr: the representation of the field, of :attr:`fibergroup`.
            element: a group element.
            order: spline order of the interpolation for other elements.

        Returns:
            a new float64 array of the same shape.

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> gs = Rot2dOnR2(4)
            >>> x = np.arange(4.0).reshape(1, 2, 2)
            >>> gs.featurefield_action(x, gs.trivial_repr, 1)
            array([[[1., 3.],
                    [0., 2.]]])
        """
        if not isinstance(repr, Representation) or repr.group != self._fibergroup:
            raise ValueError(f"repr: expected a representation of {self._fibergroup.name}, got {repr!r}")
        x = np.asarray(input, dtype=np.float64)
        if x.ndim < 3 or x.shape[-3] != repr.size:
            raise ValueError(
                f"input: expected an array (..., C, H, W) with C == repr.size == {repr.size}, "
                f"got shape {x.shape}"
            )
        A = self.basespace_action(element)
        moved = _move_base(x, A.T, order)
        return np.einsum("ij,...jhw->...ihw", repr(element), moved)


class GeneralOnR2(GSpace):
    """A group acting on the plane: the common part of :class:`~structconv.gspaces.Rot2dOnR2`,
    :class:`~structconv.gspaces.FlipRot2dOnR2`, :class:`~structconv.gspaces.Flip2dOnR2` and
    :class:`~structconv.gspaces.TrivialOnR2`, which build the kernel and PDO bases.

    Args:
        fibergroup: the group.
        name: the gspace's name.
        axis: angle of the reflection axis (groups with reflections).

    Example:
        >>> from structconv.gspaces import GeneralOnR2, Rot2dOnR2
        >>> gs = Rot2dOnR2(4)
        >>> isinstance(gs, GeneralOnR2), gs.basespace
        (True, 'R^2')
    """

    def __init__(self, fibergroup: Group, name: str, axis: float = math.pi / 2) -> None:
        super().__init__(fibergroup, 2, name, axis)

    # ------------------------------------------------------------------ escnn's GSpace2D accessors
    @property
    def rotations_order(self) -> int:
        """The number of rotations in :attr:`fibergroup` (escnn's ``GSpace2D.rotations_order``): ``N`` for
        C_N and D_N, ``-1`` for SO(2) and O(2), 1 for the flip and the trivial group.

        Example:
            >>> from structconv.gspaces import FlipRot2dOnR2, Rot2dOnR2
            >>> Rot2dOnR2(8).rotations_order, FlipRot2dOnR2(-1).rotations_order
            (8, -1)
        """
        G = self._fibergroup
        if G.continuous:
            return -1
        return G.order() // (2 if self.flips_order else 1)

    @property
    def flips_order(self) -> int:
        """1 if :attr:`fibergroup` contains reflections (D_N, O(2), the flip), else 0 (escnn's
        ``GSpace2D.flips_order``).

        Example:
            >>> from structconv.gspaces import Flip2dOnR2, Rot2dOnR2
            >>> Rot2dOnR2(4).flips_order, Flip2dOnR2().flips_order
            (0, 1)
        """
        from structconv.group import O2, DihedralGroup, FlipGroup

        return int(isinstance(self._fibergroup, (DihedralGroup, O2, FlipGroup)))

    def type(self, *representations: Representation) -> Any:
        """The field type of tensors ``(B, C, H, W)`` on this gspace with these fields (escnn's
        ``gspace.type``): ``FieldType(self, list(representations))``.

        Raises:
            ValueError: a representation is not one of :attr:`fibergroup` (see
                :class:`~structconv.nn.FieldType`).

        Example:
            >>> from structconv.gspaces import rot2dOnR2
            >>> gs = rot2dOnR2(4)
            >>> gs.type(gs.trivial_repr, gs.regular_repr).size
            5
        """
        from structconv.nn import FieldType

        return FieldType(self, list(representations))

    def _check_pair(self, in_repr: Representation, out_repr: Representation) -> None:
        for arg, r in (("in_repr", in_repr), ("out_repr", out_repr)):
            if not isinstance(r, Representation) or r.group != self._fibergroup:
                raise ValueError(f"{arg}: expected a representation of {self._fibergroup.name}, got {r!r}")

    def build_kernel_basis(
        self,
        in_repr: Representation,
        out_repr: Representation,
        sigma: float | list[float],
        rings: list[float],
        **kwargs: Any,
    ) -> Any:
        """The analytical basis of steerable kernels from ``in_repr`` to ``out_repr`` (cached).

        Gaussian rings of radii ``rings`` and widths ``sigma`` times the angular harmonics allowed by the
        group (see :mod:`structconv.kernels`).

        Args:
            in_repr: input representation of :attr:`fibergroup`.
            out_repr: output representation.
            sigma: ring widths (one per ring, or one for all).
            rings: ring radii.
            **kwargs: for finite groups ``maximum_frequency`` and/or ``maximum_offset`` (at least one).

        Returns:
            a :class:`~structconv.kernels.KernelBasis`.

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> gs = Rot2dOnR2(4)
            >>> gs.build_kernel_basis(gs.regular_repr, gs.irrep(1), 0.6, [0.0, 1.0], maximum_frequency=2).dim
            20
        """
        from structconv import kernels

        self._check_pair(in_repr, out_repr)
        sig = tuple(np.broadcast_to(np.asarray(sigma, dtype=np.float64), (len(rings),)).tolist())
        key = (
            "kernel",
            in_repr,
            out_repr,
            sig,
            tuple(float(r) for r in rings),
            tuple(sorted(kwargs.items())),
        )
        basis = self._bases.get(key)
        if basis is None:
            G = self._fibergroup
            bounds = {
                "max_frequency": kwargs.get("maximum_frequency"),
                "max_offset": kwargs.get("maximum_offset"),
            }
            args = (in_repr, out_repr, list(rings), list(sig))
            if type(G).__name__ == "SO2":
                basis = kernels.kernels_SO2_act_R2(*args)
            elif type(G).__name__ == "O2":
                basis = kernels.kernels_O2_act_R2(*args, axis=self._axis)
            elif type(G).__name__ in ("DihedralGroup", "FlipGroup"):
                build = kernels.kernels_Flip_act_R2 if G.order() == 2 else kernels.kernels_DN_act_R2
                basis = build(*args, axis=self._axis, **bounds)
            elif G.order() == 1:
                basis = kernels.kernels_Trivial_act_R2(*args, **bounds)
            else:
                basis = kernels.kernels_CN_act_R2(*args, **bounds)
            self._bases[key] = basis
        return basis

    def build_diffop_basis(
        self,
        in_repr: Representation,
        out_repr: Representation,
        max_power: int,
        discretization: Any = None,
        **kwargs: Any,
    ) -> Any:
        """The discretised basis of steerable partial differential operators (cached).

        Args:
            in_repr: input representation of :attr:`fibergroup`.
            out_repr: output representation.
            max_power: the largest power of the Laplacian.
            discretization: a :class:`~structconv.diffops.DiscretizationArgs` (default finite differences).
            **kwargs: ``kernel_size`` (default 3) and ``maximum_order`` (default: the largest the stencil
                allows), ``maximum_offset``, ``dilation``; ``maximum_frequency`` bounds the order when
                ``maximum_order`` is not given (order = frequency + 2·power).

        Returns:
            the sampled basis (:class:`~structconv.kernels.SteerableBasis` layout, ``array`` of shape
            ``(dim, out_size, in_size, kernel_size**2)``).

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> gs = Rot2dOnR2(4)
            >>> gs.build_diffop_basis(gs.regular_repr, gs.trivial_repr, 1, kernel_size=3).array.shape
            (6, 1, 4, 9)
        """
        from structconv import diffops

        self._check_pair(in_repr, out_repr)
        kernel_size = int(kwargs.get("kernel_size", 3))
        order = kwargs.get("maximum_order")
        if order is None:
            order = diffops.resolve_kernel_size(kernel_size=kernel_size)[2]
            if kwargs.get("maximum_frequency") is not None:
                order = min(order, int(kwargs["maximum_frequency"]) + 2 * int(max_power))
        key = ("diffop", in_repr, out_repr, max_power, discretization, tuple(sorted(kwargs.items())))
        basis = self._bases.get(key)
        if basis is None:
            basis = diffops.diffop_basis(
                in_repr,
                out_repr,
                kernel_size,
                int(order),
                maximum_power=max_power,
                maximum_offset=kwargs.get("maximum_offset"),
                dilation=int(kwargs.get("dilation", 1)),
                discretization=discretization,
                axis=self._axis,
            )
            self._bases[key] = basis
        return basis


def _move_base(x: np.ndarray, Ainv: np.ndarray, order: int) -> np.ndarray:
    """``out[..., i, j] = x[..., i_s, j_s]`` where ``(i_s, j_s)`` is ``Ainv`` applied to pixel ``(i, j)``."""
    H, W = x.shape[-2:]
    cy, cx = (H - 1) / 2.0, (W - 1) / 2.0
    (a00, a01), (a10, a11) = Ainv
    M = np.array([[a11, -a10], [-a01, a00]])
    off = np.array([cy + a10 * cx - a11 * cy, cx - a00 * cx + a01 * cy])
    exact = np.all(np.abs(M - np.round(M)) < 1e-9) and np.all(np.abs(off - np.round(off)) < 1e-9)
    if exact:
        ii, jj = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
        I = np.rint(M[0, 0] * ii + M[0, 1] * jj + off[0]).astype(np.int64)
        J = np.rint(M[1, 0] * ii + M[1, 1] * jj + off[1]).astype(np.int64)
        if I.min() >= 0 and I.max() < H and J.min() >= 0 and J.max() < W:
            return x[..., I, J]
    flat = x.reshape(-1, H, W)
    out = np.stack(
        [
            scipy.ndimage.affine_transform(
                s, M, offset=off, output_shape=(H, W), order=order, mode="constant"
            )
            for s in flat
        ]
    )
    return out.reshape(x.shape)
