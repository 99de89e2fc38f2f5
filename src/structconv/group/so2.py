"""The group SO(2) of all rotations of the plane (band-limited to a maximum frequency)."""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from structconv.group.cyclic import cyclic_group
from structconv.group.group import GROUP_CACHE_SIZE, TWO_PI, Group, _is_angle
from structconv.group.irreps import IrreducibleRepresentation

__all__ = ["SO2", "so2_group", "DEFAULT_MAXIMUM_FREQUENCY", "MAX_MAXIMUM_FREQUENCY"]

#: Default band limit of SO(2) and O(2) (the reference library's group default).
DEFAULT_MAXIMUM_FREQUENCY = 10

#: The largest band limit of SO(2) and O(2): the group builds its ``maximum_frequency + 1`` (SO(2)) or
#: ``+ 2`` (O(2)) irreps when it is built, about 0.2 ms and 1.4 kB each.
MAX_MAXIMUM_FREQUENCY = 1024

#: Number of rotations in ``testing_elements()`` of SO(2) / O(2): ``2πi/52``, the reference library's
#: (it includes the multiples of 90°, up to rounding).
N_TESTING_ANGLES = 52


def _testing_angles() -> list[float]:
    """``2πi/52`` for ``i < 52``, computed as the reference library does (same floats)."""
    return [TWO_PI * i / N_TESTING_ANGLES for i in range(N_TESTING_ANGLES)]


def _check_max_frequency(maximum_frequency: Any) -> int:
    if (
        isinstance(maximum_frequency, bool)
        or not isinstance(maximum_frequency, numbers.Integral)
        or int(maximum_frequency) < 0
    ):
        raise ValueError(f"maximum_frequency: expected a non-negative integer, got {maximum_frequency!r}")
    if int(maximum_frequency) > MAX_MAXIMUM_FREQUENCY:
        raise ValueError(
            f"maximum_frequency: {int(maximum_frequency)} exceeds the limit of {MAX_MAXIMUM_FREQUENCY} "
            "(structconv.group.so2.MAX_MAXIMUM_FREQUENCY): the group would build "
            f"{int(maximum_frequency) + 1} irreps; expected a non-negative integer <= {MAX_MAXIMUM_FREQUENCY}"
        )
    return int(maximum_frequency)


def _parse_angle(theta: Any, group_name: str, element: Any) -> float:
    """The angle as a float, unchanged (not reduced modulo 2π), or ``ValueError``."""
    if isinstance(theta, (bool, np.bool_)) or not isinstance(theta, numbers.Real) or not math.isfinite(theta):
        raise ValueError(
            f"element: {element!r} is not an element of {group_name}; expected a finite angle (float)"
        )
    return float(theta)


class SO2(Group):
    """The group SO(2) of rotations of the plane by any angle.

    Elements are angles ``θ`` (radians, taken modulo 2π: :meth:`combine` and :meth:`inverse` return them
    in ``[0, 2π)``, as the reference library). Irreps ``irrep_k`` for every ``k ≥ 0``
    (:attr:`irreps` lists those up to ``maximum_frequency``; :meth:`irrep` builds any). Build it with
    :func:`so2_group`.

    Subgroups: ``subgroup(M)`` for ``M ≥ 1`` is C_M (``k ↦ 2πk/M``); ``subgroup(-1)`` is SO(2) itself.

    Example:
        >>> from structconv.group import so2_group
        >>> G = so2_group(3)
        >>> G.name, G.order(), list(G.irreps)
        ('SO(2)', -1, ['irrep_0', 'irrep_1', 'irrep_2', 'irrep_3'])
        >>> round(G.combine(np.pi, 1.5 * np.pi), 6)
        1.570796
    """

    def __init__(self, maximum_frequency: int) -> None:
        self._max_freq = _check_max_frequency(maximum_frequency)
        super().__init__("SO(2)", continuous=True, abelian=True)

    @property
    def maximum_frequency(self) -> int:
        """Largest frequency listed in :attr:`irreps`."""
        return self._max_freq

    def _factory_args(self) -> tuple[Callable[..., Group], tuple[Any, ...]]:
        return so2_group, (self._max_freq,)

    def __repr__(self) -> str:
        return f"SO2(maximum_frequency={self._max_freq})"

    def order(self) -> int:
        """``-1`` (continuous)."""
        return -1

    @property
    def identity(self) -> float:
        """``0.0``."""
        return 0.0

    def testing_elements(self) -> list[float]:
        """The 52 equally spaced angles ``2πi/52``, the reference library's (a list, not an iterator)."""
        return _testing_angles()

    def _parse(self, element: Any) -> float:
        return _parse_angle(element, self.name, element)

    def _is_canonical(self, element: Any) -> bool:
        return _is_angle(element)

    def _to_flip_angle(self, element: float) -> tuple[int, float]:
        return 0, element

    def _from_flip_angle(self, flip: int, angle: float) -> float | None:
        return None if flip else float(angle)

    def _combine(self, a: float, b: float) -> float:
        return (a + b) % TWO_PI

    def _inverse(self, a: float) -> float:
        return (-a) % TWO_PI

    def _generators(self) -> list[float]:
        return [0.3, 1.0, 2.5]

    def _build_irreps(self) -> None:
        for k in range(self._max_freq + 1):
            self.irrep(k)

    def irrep(self, k: int, *more: int) -> IrreducibleRepresentation:  # type: ignore[override]
        """The irrep of frequency ``k`` (``irrep_k``); any other id raises ``ValueError``."""
        return super().irrep(k, *more)

    def _check_irrep_id(self, id: tuple[Any, ...]) -> tuple[int, ...]:
        if (
            len(id) != 1
            or isinstance(id[0], bool)
            or not isinstance(id[0], numbers.Integral)
            or int(id[0]) < 0
        ):
            raise ValueError(f"id: {id!r} is not an irrep of SO(2); expected irrep(k) with an int k >= 0")
        return (int(id[0]),)

    def _new_irrep(self, id: tuple[int, ...]) -> IrreducibleRepresentation:
        return IrreducibleRepresentation._closed_form(self, id, 1 if id[0] == 0 else 2, -1)

    def _candidate_irreps(self, max_frequency: int) -> list[IrreducibleRepresentation]:
        return [self.irrep(k) for k in range(max_frequency + 1)]

    def _subgroup(self, subgroup_id: Any) -> tuple[Any, Group, float]:
        if (
            isinstance(subgroup_id, bool)
            or not isinstance(subgroup_id, numbers.Integral)
            or not (int(subgroup_id) >= 1 or int(subgroup_id) == -1)
        ):
            raise ValueError(
                f"subgroup_id: {subgroup_id!r} is not a subgroup of SO(2); expected an int M >= 1 (C_M) "
                "or -1 (SO(2) itself)"
            )
        M = int(subgroup_id)
        return M, (self if M == -1 else cyclic_group(M)), 0.0


@functools.lru_cache(maxsize=GROUP_CACHE_SIZE)
def _so2_group(maximum_frequency: int) -> SO2:
    return SO2(maximum_frequency)


def so2_group(maximum_frequency: int = DEFAULT_MAXIMUM_FREQUENCY) -> SO2:
    """The group SO(2) with irreps listed up to ``maximum_frequency`` (a cached singleton).

    The factory keeps the :data:`~structconv.group.group.GROUP_CACHE_SIZE` (128) most recently used
    band limits; a group that left the cache stays valid and equal (``==``) to a new one.

    Args:
        maximum_frequency: the band limit of :attr:`SO2.irreps` (default 10, as the reference library),
            at most :data:`MAX_MAXIMUM_FREQUENCY` (1024).

    Raises:
        ValueError: ``maximum_frequency`` is not a non-negative integer, or above the limit (checked
            before anything is built).

    Example:
        >>> from structconv.group import so2_group
        >>> so2_group(6) is so2_group(6), so2_group(6) == so2_group(7)
        (True, False)
    """
    return _so2_group(_check_max_frequency(maximum_frequency))
