"""The cyclic groups C_N of rotations by multiples of 2π/N."""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from structconv.group.group import ANGLE_ATOL, GROUP_CACHE_SIZE, TWO_PI, Group, _is_int, _wrap_angle
from structconv.group.irreps import IrreducibleRepresentation

__all__ = ["CyclicGroup", "FlipGroup", "cyclic_group", "flip_group", "trivial_group", "MAX_ROTATIONS"]

#: The largest number of rotations ``N`` of C_N and D_N: a group lists its ``N // 2 + 1`` (C_N) or about
#: ``N / 2 + 2`` (D_N) irreps when it is built, about 0.2 ms and 1.4 kB each.
MAX_ROTATIONS = 4096


def _check_order(N: Any, arg: str = "N") -> int:
    if isinstance(N, bool) or not isinstance(N, numbers.Integral) or int(N) < 1:
        raise ValueError(f"{arg}: expected a positive integer, got {N!r}")
    if int(N) > MAX_ROTATIONS:
        raise ValueError(
            f"{arg}: {int(N)} rotations exceed the limit of {MAX_ROTATIONS} "
            "(structconv.group.cyclic.MAX_ROTATIONS): the group would build about "
            f"{int(N) // 2 + 1} irreps; expected a positive integer <= {MAX_ROTATIONS}"
        )
    return int(N)


def _parse_rotation_index(element: Any, N: int, group_name: str) -> int:
    if not isinstance(element, numbers.Integral):  # bools too: e2cnn takes True for 1
        raise ValueError(
            f"element: {element!r} is not an element of {group_name}; expected an int k (rotation by 2πk/{N})"
        )
    return int(element) % N


class CyclicGroup(Group):
    """The cyclic group C_N: rotations of the plane by multiples of 2π/N.

    Elements are ints ``k`` (``0 ≤ k < N``; other ints are taken modulo ``N``) meaning the rotation by
    ``2πk/N``. Irreps ``irrep_k`` for ``0 ≤ k ≤ N/2``. Build it with :func:`cyclic_group`.

    Subgroups: ``subgroup(M)`` for every ``M`` dividing ``N`` is C_M, with ``k ↦ k·N/M``.

    Example:
        >>> from structconv.group import cyclic_group
        >>> G = cyclic_group(8)
        >>> G.name, G.order(), list(G.irreps)
        ('C8', 8, ['irrep_0', 'irrep_1', 'irrep_2', 'irrep_3', 'irrep_4'])
        >>> G.combine(5, 6), G.inverse(3)
        (3, 5)
    """

    def __init__(self, N: int) -> None:
        self._N = _check_order(N)
        super().__init__(f"C{self._N}", continuous=False, abelian=True)

    @property
    def N(self) -> int:
        """Number of rotations."""
        return self._N

    def _factory_args(self) -> tuple[Callable[..., Group], tuple[Any, ...]]:
        return cyclic_group, (self._N,)

    def order(self) -> int:
        """``N``."""
        return self._N

    @property
    def identity(self) -> int:
        """``0``."""
        return 0

    @property
    def elements(self) -> list[int]:
        """``[0, 1, ..., N-1]``."""
        return list(range(self._N))

    @property
    def elements_names(self) -> list[str]:
        """``['e', 'r1', ..., 'r{N-1}']``: the identity, then the rotations by ``2πk/N``."""
        return ["e"] + [f"r{k}" for k in range(1, self._N)]

    def testing_elements(self) -> list[int]:
        """All elements, as the reference library (a list; the reference library returns an iterator)."""
        return list(range(self._N))

    def _parse(self, element: Any) -> int:
        return _parse_rotation_index(element, self._N, self.name)

    def _is_canonical(self, element: Any) -> bool:
        return _is_int(element) and 0 <= int(element) < self._N

    def _element_from_flip_rot(self, flip: int, rot: float | int) -> int:
        return int(rot)

    def _to_flip_angle(self, element: int) -> tuple[int, float]:
        return 0, TWO_PI * element / self._N

    def _flip_rot(self, element: int) -> tuple[int, int]:
        return 0, element

    def _from_flip_angle(self, flip: int, angle: float) -> int | None:
        if flip:
            return None
        x = _wrap_angle(angle) * self._N / TWO_PI
        k = int(round(x))
        if abs(x - k) > ANGLE_ATOL:
            return None
        return k % self._N

    def _all_element_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(self._N, dtype=np.int64), np.arange(self._N, dtype=np.int64)

    def _index(self, element: int) -> int:
        return element

    def _combine(self, a: int, b: int) -> int:
        return (a + b) % self._N

    def _inverse(self, a: int) -> int:
        return (-a) % self._N

    def _generators(self) -> list[int]:
        return [1 % self._N]

    def _build_irreps(self) -> None:
        for k in range(self._N // 2 + 1):
            self.irrep(k)

    def irrep(self, k: int, *more: int) -> IrreducibleRepresentation:  # type: ignore[override]
        """The irrep of frequency ``k`` (``irrep_k``); any other id raises ``ValueError``."""
        return super().irrep(k, *more)

    def _check_irrep_id(self, id: tuple[Any, ...]) -> tuple[int, ...]:
        if len(id) != 1 or isinstance(id[0], bool) or not isinstance(id[0], numbers.Integral):
            raise ValueError(
                f"id: {id!r} is not an irrep of {self.name}; expected irrep(k) with 0 <= k <= {self._N // 2}"
            )
        k = int(id[0])
        if not 0 <= k <= self._N // 2:
            raise ValueError(
                f"id: irrep({k}) is not an irrep of {self.name}; expected 0 <= k <= {self._N // 2}"
            )
        return (k,)

    def _new_irrep(self, id: tuple[int, ...]) -> IrreducibleRepresentation:
        k = id[0]
        size = 1 if (k == 0 or 2 * k == self._N) else 2
        return IrreducibleRepresentation._closed_form(self, id, size, self._N)

    def _subgroup(self, subgroup_id: Any) -> tuple[Any, Group, float]:
        if (
            isinstance(subgroup_id, bool)
            or not isinstance(subgroup_id, numbers.Integral)
            or int(subgroup_id) < 1
            or self._N % int(subgroup_id) != 0
        ):
            divisors = [m for m in range(1, self._N + 1) if self._N % m == 0]
            raise ValueError(
                f"subgroup_id: {subgroup_id!r} is not a subgroup of {self.name}; expected an int M "
                f"dividing {self._N}, one of {divisors}"
            )
        M = int(subgroup_id)
        return M, cyclic_group(M), 0.0


class FlipGroup(CyclicGroup):
    """The group of one reflection, modelled as the reference library's ``Flip2dOnR2`` models it: C2.

    Its elements, irreps, matrices and subgroups are those of C2 (elements ``0`` and ``1``; irreps
    ``irrep_0`` and ``irrep_1``, the sign; subgroups ``1``, the trivial group, and ``2``, itself), but the
    element ``1`` is a *reflection* of the plane, not the rotation by π: the flip of
    :class:`~structconv.gspaces.Flip2dOnR2`, and the subgroup ``(axis, 1)`` of D_N and O(2). Its kernel
    bases are those of D_1. Because the action on the plane differs, it is a group of its own, not equal
    to :func:`cyclic_group` ``(2)`` (whose ``1`` is the rotation by π). Build it with :func:`flip_group`.

    Example:
        >>> from structconv.group import dihedral_group, flip_group
        >>> G = flip_group()
        >>> G.name, G.order(), list(G.irreps), G.irrep(1)(1)
        ('C2', 2, ['irrep_0', 'irrep_1'], array([[-1.]]))
        >>> H, parent_map, child_map = dihedral_group(4).subgroup((1, 1))
        >>> H is G, parent_map(1), child_map((1, 1)), child_map((0, 2))
        (True, (1, 1), 1, None)
    """

    def __init__(self) -> None:
        super().__init__(2)

    def _factory_args(self) -> tuple[Callable[..., Group], tuple[Any, ...]]:
        return flip_group, ()

    def __repr__(self) -> str:
        return "FlipGroup(C2)"

    def _to_flip_angle(self, element: int) -> tuple[int, float]:
        return element, 0.0

    def _from_flip_angle(self, flip: int, angle: float) -> int | None:
        x = _wrap_angle(angle) / TWO_PI
        if min(x, 1.0 - x) * TWO_PI > ANGLE_ATOL:
            return None
        return int(flip)

    def _subgroup(self, subgroup_id: Any) -> tuple[Any, Group, float]:
        M, H, shift = super()._subgroup(subgroup_id)
        return M, (self if M == 2 else H), shift


@functools.lru_cache(maxsize=GROUP_CACHE_SIZE)
def _cyclic_group(N: int) -> CyclicGroup:
    return CyclicGroup(N)


def cyclic_group(N: int) -> CyclicGroup:
    """The cyclic group C_N (a cached singleton).

    The factory keeps the :data:`~structconv.group.group.GROUP_CACHE_SIZE` (128) most recently used
    cyclic groups; a group that left the cache stays valid and equal (``==``) to a new one.

    Args:
        N: number of rotations, a positive integer ``<=`` :data:`MAX_ROTATIONS` (4096).

    Raises:
        ValueError: ``N`` is not a positive integer, or above the limit (checked before anything is built).

    Example:
        >>> from structconv.group import cyclic_group
        >>> cyclic_group(4) is cyclic_group(4)
        True
    """
    return _cyclic_group(_check_order(N))


@functools.cache
def flip_group() -> FlipGroup:
    """The group of one reflection, as C2 (a singleton): the fiber group of
    :class:`~structconv.gspaces.Flip2dOnR2`, as in the reference library (see :class:`FlipGroup`).

    Example:
        >>> from structconv.group import cyclic_group, flip_group
        >>> flip_group() is flip_group(), flip_group() == cyclic_group(2)
        (True, False)
    """
    return FlipGroup()


def trivial_group() -> CyclicGroup:
    """The trivial group, C_1.

    Example:
        >>> from structconv.group import trivial_group
        >>> trivial_group().elements
        [0]
    """
    return cyclic_group(1)
