"""The irreps of the planar groups as the steerable kernel bases key them: a thin adapter on
:mod:`structconv.group`, with no formula of its own.

The kernel bases of :mod:`structconv.kernels` only need four numbers to know an irrep of a subgroup of
O(2): the group kind, its number of rotations ``N`` (``None`` for SO(2)/O(2)), the flip frequency ``j``
and the rotation frequency ``k``. :class:`IrrepSpec` holds them as a small hashable key (for the caches
of sampled bases), but every fact about the irrep comes from the group's own irrep,
:attr:`IrrepSpec.irrep`: the four numbers are its
:attr:`~structconv.group.IrreducibleRepresentation.planar_data` (:func:`irrep_spec_from`), and its
dimension, its reflections and its matrices (:func:`irrep_matrix`) are the group irrep's. The kind is
the type of the group as a subgroup of O(2), fixed by whether it is finite and has reflections; a spec
written by hand is checked against the group's irrep of that kind.

Example:
    >>> spec = IrrepSpec("cyclic", 8, 0, 2)
    >>> spec.dim, spec.irrep.name, spec.irrep.group.name
    (2, 'irrep_2', 'C8')
    >>> np.round(irrep_matrix(spec, 1), 3)
    array([[ 0., -1.],
           [ 1.,  0.]])
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from structconv.group import cyclic_group, dihedral_group, o2_group, so2_group
from structconv.group._matrices import psi, psichi

__all__ = ["GROUP_KINDS", "IrrepSpec", "irrep_matrix", "element_action", "irrep_spec_from"]

#: The group kinds understood by the kernel bases: the types of the closed subgroups of O(2).
GROUP_KINDS = ("cyclic", "dihedral", "so2", "o2")

#: kind -> (whether the group is finite, whether it has reflections, the group of that kind).
_KINDS: dict[str, tuple[bool, bool, Callable[[Any], Any]]] = {
    "cyclic": (True, False, cyclic_group),
    "dihedral": (True, True, dihedral_group),
    "so2": (False, False, lambda N: so2_group()),
    "o2": (False, True, lambda N: o2_group()),
}


def _kind(finite: bool, reflections: bool) -> str:
    return next(k for k, (fin, refl, _) in _KINDS.items() if (fin, refl) == (finite, reflections))


@dataclass(frozen=True)
class IrrepSpec:
    """An irrep of C_N, D_N, SO(2) or O(2), keyed by its frequencies; the group's irrep is :attr:`irrep`.

    Args:
        kind: one of ``"cyclic"``, ``"dihedral"``, ``"so2"``, ``"o2"``.
        N: the number of rotations of a finite group, ``None`` for SO(2) and O(2).
        j: the flip frequency (0 or 1; always 0 for groups without reflections).
        k: the rotation frequency (``0 <= k <= N/2`` for finite groups).

    Raises:
        ValueError: the group of this kind and ``N`` has no irrep of frequencies ``(j, k)``.

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
        if not isinstance(self.kind, str) or self.kind not in _KINDS:
            raise ValueError(f"kind={self.kind!r} is not known; expected one of {GROUP_KINDS}")
        for name in ("N", "j", "k"):
            value = getattr(self, name)
            if type(value) is not int and value is not None:
                if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                    raise ValueError(f"{name}={value!r} is not valid for an IrrepSpec; expected an int")
                object.__setattr__(self, name, int(value))
        object.__setattr__(self, "_irrep", _group_irrep(self.kind, self.N, self.j, self.k))

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return IrrepSpec, (self.kind, self.N, self.j, self.k)  # the irrep is looked up again

    def __getattr__(self, name: str) -> Any:
        if name == "_irrep":  # a spec unpickled from a version that did not hold the irrep
            irrep = _group_irrep(self.kind, self.N, self.j, self.k)
            object.__setattr__(self, "_irrep", irrep)
            return irrep
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def irrep(self) -> Any:
        """The group's irrep this spec stands for (of ``cyclic_group(N)``, ``dihedral_group(N)``,
        ``so2_group()`` or ``o2_group()``): the source of every fact about it."""
        return self._irrep  # type: ignore[attr-defined]

    @property
    def group(self) -> Any:
        """The group of :attr:`irrep`."""
        return self._irrep.group  # type: ignore[attr-defined]

    @property
    def dim(self) -> int:
        """Dimension of the irrep (1 or 2): the group irrep's ``size``."""
        return self._irrep.size  # type: ignore[attr-defined]

    @property
    def flips(self) -> bool:
        """Whether the group contains reflections."""
        return self._irrep.planar_data.reflections  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=4096)
def _group_irrep(kind: str, N: int | None, j: int, k: int) -> Any:
    """The group's irrep with these frequencies (cached), or ``ValueError`` naming what is wrong."""
    if kind not in _KINDS:
        raise ValueError(f"kind={kind!r} is not known; expected one of {GROUP_KINDS}")
    finite, reflections, factory = _KINDS[kind]
    if finite and N is None:
        raise ValueError(f"N=None is not valid for a {kind} group; expected an int >= 1")
    if not finite and N is not None:
        raise ValueError(f"N={N!r} is not valid for {kind}; expected None")
    try:
        group = factory(N)
    except ValueError as err:
        raise ValueError(f"N={N!r} is not valid for a {kind} group: {err}") from None
    if not reflections and j != 0:
        raise ValueError(f"j={j!r} is not a valid flip frequency for {group.name}: it has no reflections")
    try:
        irrep = group.irrep(j, k) if reflections else group.irrep(k)
    except ValueError as err:
        hint = ""
        if reflections:
            try:
                group.irrep(1 - j, k)
                hint = f" (its irrep of frequency k={k} has j={1 - j})"
            except ValueError:
                pass
        raise ValueError(f"j={j}, k={k} is not an irrep of {group.name}{hint}: {err}") from None
    data = irrep.planar_data
    if (data.rotations, data.reflections, data.flip_frequency, data.frequency) != (N, reflections, j, k):
        raise ValueError(  # pragma: no cover - the groups' own irreps always agree with their ids
            f"IrrepSpec(kind={kind!r}, N={N}, j={j}, k={k}) does not describe {irrep.name} of {group.name}: "
            f"{data}"
        )
    return irrep


def _group_element(spec: IrrepSpec, element: Any) -> Any:
    """The element of ``spec.group``: for D_1 an int ``f`` stands for ``(f, 0)``, the element of the flip
    group C2 (``flip_group()``) with the same action."""
    if spec.flips and spec.N == 1 and isinstance(element, (int, np.integer)):
        return (int(element), 0)
    return element


def irrep_matrix(spec: IrrepSpec, element: Any) -> np.ndarray:
    """Evaluate an irrep on a plain group element: the matrix of the group's irrep :attr:`IrrepSpec.irrep`.

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
    return spec.irrep(_group_element(spec, element))


def element_action(spec: IrrepSpec, element: Any, axis: float = math.pi / 2) -> np.ndarray:
    """The 2x2 matrix by which a plain group element moves points of the plane.

    Element ``(f, θ)`` (the group's own reading of its element) acts as ``R(θ) F_axis^f``, where
    ``F_axis = R(2·axis) diag(1, -1)`` is the reflection across the line through the origin at angle
    ``axis``.

    Example:
        >>> np.round(element_action(IrrepSpec("dihedral", 4, 0, 0), (1, 0)), 6)
        array([[-1.,  0.],
               [ 0.,  1.]])
    """
    G = spec.group
    f, theta = G._to_flip_angle(G._parse(_group_element(spec, element)))
    mat = psi(theta)
    if f:
        mat = mat @ psichi(axis, 1, k=2)
    return mat


def irrep_spec_from(irrep: Any) -> IrrepSpec:
    """The :class:`IrrepSpec` of a :mod:`structconv.group` irrep, from its
    :attr:`~structconv.group.IrreducibleRepresentation.planar_data`.

    The kind is the group's type as a subgroup of O(2) (finite or not, with reflections or not): the
    irreps of the flip group (:func:`~structconv.group.flip_group`) are D1's.

    Raises:
        ValueError: if the irrep is not one a planar group builds itself (C_N, D_N, SO(2), O(2)).

    Example:
        >>> from structconv.group import flip_group
        >>> irrep_spec_from(flip_group().irrep(1))
        IrrepSpec(kind='dihedral', N=1, j=1, k=0)
    """
    try:
        data = irrep.planar_data
    except (AttributeError, ValueError) as err:
        group = getattr(getattr(irrep, "group", None), "name", None)
        raise ValueError(
            f"irrep={irrep!r} belongs to group {group!r}; expected an irrep of C_N, D_N, SO(2) or O(2): {err}"
        ) from None
    kind = _kind(data.rotations is not None, data.reflections)
    return IrrepSpec(kind, data.rotations, data.flip_frequency, data.frequency)
