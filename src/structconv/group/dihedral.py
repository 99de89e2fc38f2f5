"""The dihedral groups D_N of N rotations and N reflections."""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from structconv.group.cyclic import _check_order, cyclic_group, flip_group
from structconv.group.group import ANGLE_ATOL, GROUP_CACHE_SIZE, TWO_PI, Group, _is_int, _wrap_angle
from structconv.group.irreps import IrreducibleRepresentation

__all__ = ["DihedralGroup", "dihedral_group"]


def _parse_flip(f: Any, group_name: str, element: Any) -> int:
    if isinstance(f, (bool, np.bool_)):
        return int(f)
    if isinstance(f, numbers.Integral) and int(f) in (0, 1):
        return int(f)
    raise ValueError(
        f"element: {element!r} is not an element of {group_name}; the flip must be 0 or 1, got {f!r}"
    )


def _split_pair(element: Any, group_name: str, expected: str) -> tuple[Any, Any]:
    if isinstance(element, (tuple, list)) and len(element) == 2:
        return element[0], element[1]
    if isinstance(element, np.ndarray) and element.shape == (2,):
        return element[0].item(), element[1].item()
    raise ValueError(f"element: {element!r} is not an element of {group_name}; expected {expected}")


class DihedralGroup(Group):
    """The dihedral group D_N: N rotations and N reflections of the plane.

    Elements are pairs ``(f, k)`` meaning "first reflect if ``f == 1``, then rotate by ``2πk/N``"
    (``f ∈ {0, 1}``, ``0 ≤ k < N``). Irreps ``irrep_0,0`` (trivial), ``irrep_1,0`` (sign of the flip),
    2-dimensional ``irrep_1,k`` for ``0 < k < N/2`` and, for even ``N``, ``irrep_0,N/2`` and
    ``irrep_1,N/2``. Build it with :func:`dihedral_group`.

    Subgroups: ``(None, M)`` is C_M (rotations only); ``(axis, M)`` with ``0 ≤ axis < N/M`` is D_M whose
    reflections are ``(1, axis + k·N/M)``, except ``(axis, 1)``: the single reflection ``(1, axis)``, the
    C2 of :func:`~structconv.group.flip_group` (as in the reference library); ``M`` must divide ``N``.

    Example:
        >>> from structconv.group import dihedral_group
        >>> G = dihedral_group(4)
        >>> list(G.irreps)
        ['irrep_0,0', 'irrep_1,0', 'irrep_1,1', 'irrep_1,2', 'irrep_0,2']
        >>> G.combine((0, 1), (1, 0))
        (1, 1)
    """

    def __init__(self, N: int) -> None:
        self._N = _check_order(N)
        super().__init__(f"D{self._N}", continuous=False, abelian=False)

    @property
    def N(self) -> int:
        """Number of rotations."""
        return self._N

    def _factory_args(self) -> tuple[Callable[..., Group], tuple[Any, ...]]:
        return dihedral_group, (self._N,)

    def order(self) -> int:
        """``2N``."""
        return 2 * self._N

    @property
    def identity(self) -> tuple[int, int]:
        """``(0, 0)``."""
        return (0, 0)

    @property
    def elements(self) -> list[tuple[int, int]]:
        """The ``N`` rotations ``(0, k)`` followed by the ``N`` reflections ``(1, k)``."""
        return [(f, k) for f in (0, 1) for k in range(self._N)]

    @property
    def elements_names(self) -> list[str]:
        """``'e', 'r1', ...`` for the rotations, then ``'f', 'r1f', ...`` for the reflections ``(1, k)``."""
        rot = ["e"] + [f"r{k}" for k in range(1, self._N)]
        return rot + ["f"] + [f"r{k}f" for k in range(1, self._N)]

    @property
    def rotation_order(self) -> int:
        """``N``, the number of rotations (the order of the rotation subgroup C_N)."""
        return self._N

    @property
    def reflection(self) -> tuple[int, int]:
        """The reflection ``(1, 0)`` along the group's axis."""
        return (1, 0)

    def testing_elements(self) -> list[tuple[int, int]]:
        """All elements, as the reference library (a list; the reference library returns an iterator)."""
        return self.elements

    def _is_canonical(self, element: Any) -> bool:
        return (
            isinstance(element, tuple)
            and len(element) == 2
            and _is_int(element[0])
            and int(element[0]) in (0, 1)
            and _is_int(element[1])
            and 0 <= int(element[1]) < self._N
        )

    def _element_from_flip_rot(self, flip: int, rot: float | int) -> tuple[int, int]:
        return int(flip), int(rot)

    def _parse(self, element: Any) -> tuple[int, int]:
        expected = f"a pair (flip, k) with flip in {{0, 1}} and an int k (rotation by 2πk/{self._N})"
        f, k = _split_pair(element, self.name, expected)
        f = _parse_flip(f, self.name, element)
        if not isinstance(k, numbers.Integral):  # bools too, as e2cnn
            raise ValueError(f"element: {element!r} is not an element of {self.name}; expected {expected}")
        return f, int(k) % self._N

    def _to_flip_angle(self, element: tuple[int, int]) -> tuple[int, float]:
        return element[0], TWO_PI * element[1] / self._N

    def _flip_rot(self, element: tuple[int, int]) -> tuple[int, int]:
        return element

    def _from_flip_angle(self, flip: int, angle: float) -> tuple[int, int] | None:
        x = _wrap_angle(angle) * self._N / TWO_PI
        k = int(round(x))
        if abs(x - k) > ANGLE_ATOL:
            return None
        return int(flip), k % self._N

    def _all_element_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        N = self._N
        return np.repeat(np.arange(2, dtype=np.int64), N), np.tile(np.arange(N, dtype=np.int64), 2)

    def _index(self, element: tuple[int, int]) -> int:
        return element[0] * self._N + element[1]

    def _combine(self, a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
        return a[0] ^ b[0], (a[1] + (b[1] if a[0] == 0 else -b[1])) % self._N

    def _inverse(self, a: tuple[int, int]) -> tuple[int, int]:
        return a if a[0] else (0, (-a[1]) % self._N)

    def _generators(self) -> list[tuple[int, int]]:
        return [(0, 1 % self._N), (1, 0)]

    def _build_irreps(self) -> None:
        N = self._N
        self.irrep(0, 0)
        self.irrep(1, 0)
        for k in range(1, (N - 1) // 2 + 1):
            self.irrep(1, k)
        if N % 2 == 0:
            self.irrep(1, N // 2)
            self.irrep(0, N // 2)

    def irrep(self, j: int, k: int | None = None, *more: int) -> IrreducibleRepresentation:  # type: ignore[override]
        """The irrep of flip frequency ``j`` and rotation frequency ``k`` (``irrep_j,k``); any other id
        raises ``ValueError``."""
        return super().irrep(*((j,) if k is None else (j, k)), *more)

    def _check_irrep_id(self, id: tuple[Any, ...]) -> tuple[int, ...]:
        N = self._N
        msg = (
            f"id: {id!r} is not an irrep of {self.name}; expected irrep(j, k) with (j, k) in (0, 0), (1, 0), "
            f"(1, k) for 0 < k <= {N // 2}" + (f", (0, {N // 2})" if N % 2 == 0 else "")
        )
        if len(id) != 2 or any(isinstance(i, bool) or not isinstance(i, numbers.Integral) for i in id):
            raise ValueError(msg)
        j, k = int(id[0]), int(id[1])
        ok = (j == 1 and 0 <= k <= N // 2) or (j == 0 and (k == 0 or 2 * k == N))
        if not ok:
            raise ValueError(msg)
        return (j, k)

    def _new_irrep(self, id: tuple[int, ...]) -> IrreducibleRepresentation:
        j, k = id
        size = 1 if (k == 0 or 2 * k == self._N) else 2
        return IrreducibleRepresentation._closed_form(self, id, size, self._N)

    def _subgroup(self, subgroup_id: Any) -> tuple[Any, Group, float]:
        N = self._N
        divisors = [m for m in range(1, N + 1) if N % m == 0]
        msg = (
            f"subgroup_id: {subgroup_id!r} is not a subgroup of {self.name}; expected (None, M) or (axis, M) "
            f"with M dividing {N} (one of {divisors}) and an int 0 <= axis < {N}/M"
        )
        if not isinstance(subgroup_id, (tuple, list)) or len(subgroup_id) != 2:
            raise ValueError(msg)
        axis, M = subgroup_id
        if isinstance(M, bool) or not isinstance(M, numbers.Integral) or int(M) < 1 or N % int(M) != 0:
            raise ValueError(msg)
        M = int(M)
        if axis is None:
            return (None, M), cyclic_group(M), 0.0
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral) or not 0 <= int(axis) < N // M:
            raise ValueError(msg)
        axis = int(axis)
        return (axis, M), (flip_group() if M == 1 else dihedral_group(M)), TWO_PI * axis / N


@functools.lru_cache(maxsize=GROUP_CACHE_SIZE)
def _dihedral_group(N: int) -> DihedralGroup:
    return DihedralGroup(N)


def dihedral_group(N: int) -> DihedralGroup:
    """The dihedral group D_N (a cached singleton).

    The factory keeps the :data:`~structconv.group.group.GROUP_CACHE_SIZE` (128) most recently used
    dihedral groups; a group that left the cache stays valid and equal (``==``) to a new one.

    Args:
        N: number of rotations, a positive integer ``<=`` :data:`~structconv.group.cyclic.MAX_ROTATIONS`
            (4096); D_1 is the group of one reflection.

    Raises:
        ValueError: ``N`` is not a positive integer, or above the limit (checked before anything is built).

    Example:
        >>> from structconv.group import dihedral_group
        >>> dihedral_group(1).elements
        [(0, 0), (1, 0)]
    """
    return _dihedral_group(_check_order(N))
