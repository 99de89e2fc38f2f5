"""The cyclic groups C_N of rotations by multiples of 2π/N."""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from structconv.group.group import ANGLE_ATOL, TWO_PI, Group, _wrap_angle
from structconv.group.irreps import IrreducibleRepresentation

__all__ = ["CyclicGroup", "cyclic_group", "trivial_group"]


def _check_order(N: Any, arg: str = "N") -> int:
    if isinstance(N, bool) or not isinstance(N, numbers.Integral) or int(N) < 1:
        raise ValueError(f"{arg}: expected a positive integer, got {N!r}")
    return int(N)


def _parse_rotation_index(element: Any, N: int, group_name: str) -> int:
    if isinstance(element, bool) or not isinstance(element, numbers.Integral):
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
        """All elements."""
        return list(range(self._N))

    def _parse(self, element: Any) -> int:
        return _parse_rotation_index(element, self._N, self.name)

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
        return IrreducibleRepresentation(self, id, size, self._N)

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


@functools.cache
def _cyclic_group(N: int) -> CyclicGroup:
    return CyclicGroup(N)


def cyclic_group(N: int) -> CyclicGroup:
    """The cyclic group C_N (a cached singleton).

    Args:
        N: number of rotations, a positive integer.

    Example:
        >>> from structconv.group import cyclic_group
        >>> cyclic_group(4) is cyclic_group(4)
        True
    """
    return _cyclic_group(_check_order(N))


def trivial_group() -> CyclicGroup:
    """The trivial group, C_1.

    Example:
        >>> from structconv.group import trivial_group
        >>> trivial_group().elements
        [0]
    """
    return cyclic_group(1)
