"""Torch-free descriptions of the irreducible representations of the planar groups.

The steerable kernel bases of :mod:`structconv.kernels` only need four numbers to know an irrep of a
subgroup of O(2): the group kind, its order ``N`` (``None`` for SO(2)/O(2)), the flip frequency ``j``
and the rotation frequency ``k``.  :class:`IrrepSpec` stores them; :func:`irrep_matrix` evaluates the
irrep on a group element with the formulas of ``docs/internals.md`` (used by the tests to check the
steerability constraint analytically).

Example:
    >>> spec = IrrepSpec("cyclic", 8, 0, 2)
    >>> spec.dim
    2
    >>> np.round(irrep_matrix(spec, 1), 3)
    array([[ 0., -1.],
           [ 1.,  0.]])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from structconv.group import FlipGroup

__all__ = ["GROUP_KINDS", "IrrepSpec", "irrep_matrix", "element_action", "irrep_spec_from"]

#: The group kinds understood by the kernel bases.
GROUP_KINDS = ("cyclic", "dihedral", "so2", "o2")


@dataclass(frozen=True)
class IrrepSpec:
    """An irrep of C_N, D_N, SO(2) or O(2), described by its frequencies.

    Args:
        kind: one of ``"cyclic"``, ``"dihedral"``, ``"so2"``, ``"o2"``.
        N: the number of rotations of a finite group, ``None`` for SO(2) and O(2).
        j: the flip frequency (0 or 1; always 0 for groups without reflections).
        k: the rotation frequency (``0 <= k <= N/2`` for finite groups).

    Example:
        >>> IrrepSpec("dihedral", 4, 1, 2).dim
        1
        >>> IrrepSpec("so2", None, 0, 3).dim
        2
    """

    kind: str
    N: int | None
    j: int
    k: int

    def __post_init__(self) -> None:
        if self.kind not in GROUP_KINDS:
            raise ValueError(f"kind={self.kind!r} is not known; expected one of {GROUP_KINDS}")
        finite = self.kind in ("cyclic", "dihedral")
        if finite and (not isinstance(self.N, int) or self.N < 1):
            raise ValueError(f"N={self.N!r} is not valid for a {self.kind} group; expected an int >= 1")
        if not finite and self.N is not None:
            raise ValueError(f"N={self.N!r} is not valid for {self.kind}; expected None")
        if self.j not in (0, 1) or (self.kind in ("cyclic", "so2") and self.j != 0):
            raise ValueError(f"j={self.j!r} is not a valid flip frequency for {self.kind}")
        if self.k < 0 or (finite and 2 * self.k > self.N):
            raise ValueError(f"k={self.k!r} is not a valid rotation frequency for {self.kind} N={self.N}")
        if self.kind in ("dihedral", "o2") and self.j == 0 and self.dim == 2:
            raise ValueError(f"the 2-dimensional irreps of {self.kind} have j=1, got j={self.j}")

    @property
    def dim(self) -> int:
        """Dimension of the irrep (1 or 2)."""
        if self.k == 0:
            return 1
        if self.N is not None and 2 * self.k == self.N:
            return 1
        return 2

    @property
    def flips(self) -> bool:
        """Whether the group contains reflections."""
        return self.kind in ("dihedral", "o2")


def _element_parts(spec: IrrepSpec, element: Any) -> tuple[int, float, int | None]:
    """Return ``(flip, angle, rotation index or None)`` of a plain group element.

    For D_1 an int ``f`` stands for ``(f, 0)``: the element of the flip group C2 (``flip_group()``).
    """
    if spec.flips and spec.N == 1 and isinstance(element, (int, np.integer)):
        f, r = int(element), 0
    elif spec.flips:
        f, r = element
        f = int(f)
    else:
        f, r = 0, element
    if spec.N is not None:
        r = int(r) % spec.N
        return f, 2.0 * math.pi * r / spec.N, r
    return f, float(r), None


def irrep_matrix(spec: IrrepSpec, element: Any) -> np.ndarray:
    """Evaluate an irrep on a plain group element (``docs/internals.md`` formulas).

    Args:
        spec: the irrep.
        element: ``int`` rotation index (C_N), ``(flip, index)`` (D_N), angle (SO(2)) or
            ``(flip, angle)`` (O(2)).

    Returns:
        A float64 array of shape ``(spec.dim, spec.dim)``.

    Example:
        >>> irrep_matrix(IrrepSpec("dihedral", 4, 1, 0), (1, 0))
        array([[-1.]])
    """
    f, theta, _ = _element_parts(spec, element)
    if spec.dim == 1:
        sign = (-1.0) ** (spec.j * f)
        if spec.k != 0:  # the frequency-N/2 irreps
            sign *= math.cos(spec.k * theta)
        return np.array([[round(sign)]], dtype=np.float64)
    c, s = math.cos(spec.k * theta), math.sin(spec.k * theta)
    rot = np.array([[c, -s], [s, c]])
    if f:
        rot = rot @ np.diag([1.0, -1.0])
    return rot


def element_action(spec: IrrepSpec, element: Any, axis: float = math.pi / 2) -> np.ndarray:
    """The 2x2 matrix by which a plain group element moves points of the plane.

    Element ``(f, θ)`` acts as ``R(θ) F_axis^f``, where ``F_axis`` is the reflection across the line
    through the origin at angle ``axis``.

    Example:
        >>> np.round(element_action(IrrepSpec("dihedral", 4, 0, 0), (1, 0)), 6)
        array([[-1.,  0.],
               [ 0.,  1.]])
    """
    f, theta, _ = _element_parts(spec, element)
    c, s = math.cos(theta), math.sin(theta)
    mat = np.array([[c, -s], [s, c]])
    if f:
        c2, s2 = math.cos(2 * axis), math.sin(2 * axis)
        mat = mat @ np.array([[c2, s2], [s2, -c2]])
    return mat


def irrep_spec_from(irrep: Any) -> IrrepSpec:
    """Build an :class:`IrrepSpec` from a :mod:`structconv.group` irrep object.

    Reads ``irrep.group`` (its class name or ``name``: ``"C8"``, ``"D4"``, ``"SO(2)"``, ``"O(2)"``)
    and ``irrep.attributes`` (``"frequency"`` and, with reflections, ``"flip_frequency"``). The irreps of
    the flip group (:func:`~structconv.group.flip_group`) are D1's.

    Raises:
        ValueError: if the irrep's group is not a planar group known to the kernel bases.
    """
    group = irrep.group
    name = str(getattr(group, "name", ""))
    attrs = getattr(irrep, "attributes", {}) or {}
    if isinstance(group, FlipGroup):  # the flip group C2 acts as D1: its irrep_j is D1's irrep_j,0
        return IrrepSpec("dihedral", 1, int(attrs.get("frequency", irrep.id[-1])), 0)
    k = int(attrs.get("frequency", irrep.id[-1]))
    j = int(attrs.get("flip_frequency", irrep.id[0] if len(irrep.id) == 2 else 0))
    if name.startswith("SO(2)"):
        return IrrepSpec("so2", None, 0, k)
    if name.startswith("O(2)"):
        return IrrepSpec("o2", None, j, k)
    order = int(group.order())
    if name.startswith("D"):
        return IrrepSpec("dihedral", order // 2, j, k)
    if name.startswith("C"):
        return IrrepSpec("cyclic", order, 0, k)
    raise ValueError(f"irrep={irrep!r} belongs to group {name!r}; expected C_N, D_N, SO(2) or O(2)")
