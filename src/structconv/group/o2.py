"""The group O(2) of all rotations and reflections of the plane (band-limited)."""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from structconv.group.cyclic import cyclic_group, flip_group
from structconv.group.dihedral import _parse_flip, _split_pair, dihedral_group
from structconv.group.group import GROUP_CACHE_SIZE, Group, _is_angle, _is_int, _wrap_angle
from structconv.group.irreps import IrreducibleRepresentation
from structconv.group.so2 import (
    DEFAULT_MAXIMUM_FREQUENCY,
    _check_max_frequency,
    _parse_angle,
    _testing_angles,
    so2_group,
)

__all__ = ["O2", "o2_group"]


class O2(Group):
    """The orthogonal group O(2): all rotations and reflections of the plane.

    Elements are pairs ``(f, θ)``: "first reflect if ``f == 1``, then rotate by ``θ``"; as in the
    reference library the angles are not reduced modulo 2π (``combine((1, 1.0), (0, 2.0)) == (1, -1.0)``),
    :meth:`equal` compares them modulo 2π. Irreps
    ``irrep_0,0`` (trivial), ``irrep_1,0`` (sign of the flip) and 2-dimensional ``irrep_1,k`` for every
    ``k ≥ 1`` (:attr:`irreps` lists them up to ``maximum_frequency``). Build it with :func:`o2_group`.

    Subgroups: ``(None, -1)`` is SO(2); ``(None, M)`` is C_M; ``(θ, M)`` is D_M whose reflections are
    ``(1, θ + 2πk/M)``; ``(θ, 1)`` is the single reflection ``(1, θ)``, the C2 of
    :func:`~structconv.group.flip_group` (as in the reference library); ``(θ, -1)`` is O(2) with
    reflections ``(1, θ + φ)``.

    Example:
        >>> from structconv.group import o2_group
        >>> G = o2_group(2)
        >>> list(G.irreps)
        ['irrep_0,0', 'irrep_1,0', 'irrep_1,1', 'irrep_1,2']
        >>> G.inverse((1, 1.0))
        (1, 1.0)
    """

    def __init__(self, maximum_frequency: int) -> None:
        self._max_freq = _check_max_frequency(maximum_frequency)
        super().__init__("O(2)", continuous=True, abelian=False)

    @property
    def maximum_frequency(self) -> int:
        """Largest frequency listed in :attr:`irreps`."""
        return self._max_freq

    def _factory_args(self) -> tuple[Callable[..., Group], tuple[Any, ...]]:
        return o2_group, (self._max_freq,)

    def __repr__(self) -> str:
        return f"O2(maximum_frequency={self._max_freq})"

    @property
    def rotation_order(self) -> int:
        """``-1``: the rotation subgroup SO(2) is continuous."""
        return -1

    @property
    def reflection(self) -> tuple[int, float]:
        """The reflection ``(1, 0.0)`` along the group's axis."""
        return (1, 0.0)

    def order(self) -> int:
        """``-1`` (continuous)."""
        return -1

    @property
    def identity(self) -> tuple[int, float]:
        """``(0, 0.0)``."""
        return (0, 0.0)

    def testing_elements(self) -> list[tuple[int, float]]:
        """The 52 rotations ``(0, 2πi/52)``, then the 52 reflections ``(1, 2πi/52)``: the reference library's
        104 elements (a list, not an iterator)."""
        return [(f, a) for f in (0, 1) for a in _testing_angles()]

    def grid_so2(self, N: int, type: str = "regular", seed: Any = None) -> list[tuple[int, float]]:
        """The rotations ``(0, θ)`` of O(2) on an SO(2) grid of ``N`` angles (escnn's ``O2.grid_so2``); see
        :func:`structconv.group.grids.grid_so2`.

        Example:
            >>> o2_group().grid_so2(4)[1]
            (0, 1.5707963267948966)
        """
        from structconv.group.grids import grid_so2

        return grid_so2(self, N, type, seed)

    def _parse(self, element: Any) -> tuple[int, float]:
        expected = "a pair (flip, angle) with flip in {0, 1} and a finite angle"
        f, theta = _split_pair(element, self.name, expected)
        return _parse_flip(f, self.name, element), _parse_angle(theta, self.name, element)

    def _is_canonical(self, element: Any) -> bool:
        return (
            isinstance(element, tuple)
            and len(element) == 2
            and _is_int(element[0])
            and int(element[0]) in (0, 1)
            and _is_angle(element[1])
        )

    def _to_flip_angle(self, element: tuple[int, float]) -> tuple[int, float]:
        return element

    def _from_flip_angle(self, flip: int, angle: float) -> tuple[int, float]:
        return int(flip), float(angle)

    def _combine(self, a: tuple[int, float], b: tuple[int, float]) -> tuple[int, float]:
        return a[0] ^ b[0], a[1] + (b[1] if a[0] == 0 else -b[1])

    def _inverse(self, a: tuple[int, float]) -> tuple[int, float]:
        return a if a[0] else (0, -a[1])

    def _generators(self) -> list[tuple[int, float]]:
        return [(0, 0.3), (0, 1.0), (0, 2.5), (1, 0.0)]

    def _build_irreps(self) -> None:
        self.irrep(0, 0)
        for k in range(self._max_freq + 1):
            self.irrep(1, k)

    def irrep(self, j: int, k: int | None = None, *more: int) -> IrreducibleRepresentation:  # type: ignore[override]
        """The irrep of flip frequency ``j`` and rotation frequency ``k`` (``irrep_j,k``); any other id
        raises ``ValueError``."""
        return super().irrep(*((j,) if k is None else (j, k)), *more)

    def _check_irrep_id(self, id: tuple[Any, ...]) -> tuple[int, ...]:
        msg = f"id: {id!r} is not an irrep of O(2); expected irrep(0, 0) or irrep(1, k) with an int k >= 0"
        if len(id) != 2 or any(isinstance(i, bool) or not isinstance(i, numbers.Integral) for i in id):
            raise ValueError(msg)
        j, k = int(id[0]), int(id[1])
        if not ((j == 0 and k == 0) or (j == 1 and k >= 0)):
            raise ValueError(msg)
        return (j, k)

    def _new_irrep(self, id: tuple[int, ...]) -> IrreducibleRepresentation:
        return IrreducibleRepresentation._closed_form(self, id, 1 if id[1] == 0 else 2, -1)

    def _candidate_irreps(self, max_frequency: int) -> list[IrreducibleRepresentation]:
        return [self.irrep(0, 0)] + [self.irrep(1, k) for k in range(max_frequency + 1)]

    def _subgroup(self, subgroup_id: Any) -> tuple[Any, Group, float]:
        msg = (
            f"subgroup_id: {subgroup_id!r} is not a subgroup of O(2); expected (None, -1) (SO(2)), (None, M) "
            "(C_M, M >= 1), (theta, M) (D_M with reflection axis rotated by theta) or (theta, -1)"
        )
        if not isinstance(subgroup_id, (tuple, list)) or len(subgroup_id) != 2:
            raise ValueError(msg)
        axis, M = subgroup_id
        if isinstance(M, bool) or not isinstance(M, numbers.Integral) or not (int(M) >= 1 or int(M) == -1):
            raise ValueError(msg)
        M = int(M)
        if axis is None:
            return (None, M), (so2_group(self._max_freq) if M == -1 else cyclic_group(M)), 0.0
        if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, numbers.Real) or not np.isfinite(axis):
            raise ValueError(msg)
        axis = _wrap_angle(float(axis))
        H = self if M == -1 else (flip_group() if M == 1 else dihedral_group(M))
        return (axis, M), H, axis


@functools.lru_cache(maxsize=GROUP_CACHE_SIZE)
def _o2_group(maximum_frequency: int) -> O2:
    return O2(maximum_frequency)


def o2_group(maximum_frequency: int = DEFAULT_MAXIMUM_FREQUENCY) -> O2:
    """The group O(2) with irreps listed up to ``maximum_frequency`` (a cached singleton).

    The factory keeps the :data:`~structconv.group.group.GROUP_CACHE_SIZE` (128) most recently used
    band limits; a group that left the cache stays valid and equal (``==``) to a new one.

    Args:
        maximum_frequency: the band limit of :attr:`O2.irreps` (default 10, as the reference library),
            at most :data:`~structconv.group.so2.MAX_MAXIMUM_FREQUENCY` (1024).

    Raises:
        ValueError: ``maximum_frequency`` is not a non-negative integer, or above the limit (checked
            before anything is built).

    Example:
        >>> from structconv.group import o2_group
        >>> o2_group(4).subgroup((None, -1))[0]
        SO2(maximum_frequency=4)
    """
    return _o2_group(_check_max_frequency(maximum_frequency))
