"""The gspaces of the plane: rotations, flips and rotations, flips, and the trivial action."""

from __future__ import annotations

import math
import numbers
from typing import Any

from structconv.group import (
    O2,
    SO2,
    CyclicGroup,
    DihedralGroup,
    FlipGroup,
    Group,
    SubgroupChildMap,
    SubgroupParentMap,
    cyclic_group,
    dihedral_group,
    flip_group,
    o2_group,
    so2_group,
)
from structconv.group.so2 import DEFAULT_MAXIMUM_FREQUENCY
from structconv.gspaces.gspace import GeneralOnR2, GSpace

__all__ = [
    "Rot2dOnR2",
    "FlipRot2dOnR2",
    "Flip2dOnR2",
    "TrivialOnR2",
    "rot2dOnR2",
    "flipRot2dOnR2",
    "flip2dOnR2",
    "trivialOnR2",
]

_TWO_PI = 2.0 * math.pi

_Restriction = tuple[GSpace, SubgroupParentMap, SubgroupChildMap]


def _wrap_axis(axis: Any) -> float:
    if isinstance(axis, bool) or not isinstance(axis, numbers.Real) or not math.isfinite(axis):
        raise ValueError(f"axis: expected a finite angle in radians, got {axis!r}")
    a = float(axis) % _TWO_PI
    return 0.0 if a >= _TWO_PI - 1e-15 else a


def _check_N(N: Any, maximum_frequency: Any, fibergroup: Group | None, cls: str) -> tuple[int, int | None]:
    if fibergroup is not None:
        if N is not None or maximum_frequency is not None:
            raise ValueError(f"{cls}: give either N (and maximum_frequency) or fibergroup, not both")
        return -1, None
    if N is None:
        raise ValueError(
            f"N: {cls} needs N, the number of rotations (a positive int) or -1 for continuous rotations"
        )
    if isinstance(N, bool) or not isinstance(N, numbers.Integral) or not (int(N) >= 1 or int(N) == -1):
        raise ValueError(f"N: expected a positive int (number of rotations) or -1 (continuous), got {N!r}")
    N = int(N)
    if N > 0 and maximum_frequency is not None:
        raise ValueError(
            f"maximum_frequency: only used for continuous rotations (N=-1), got maximum_frequency="
            f"{maximum_frequency!r} with N={N}"
        )
    if N == -1:
        mf = DEFAULT_MAXIMUM_FREQUENCY if maximum_frequency is None else maximum_frequency
        return N, mf
    return N, None


def _rotations_gspace(H: Group) -> GSpace:
    if H.order() == 1:
        return TrivialOnR2()
    return Rot2dOnR2(fibergroup=H)


class Rot2dOnR2(GeneralOnR2):
    """Rotations of the plane: by multiples of ``2π/N`` (C_N), or by any angle (``N=-1``, SO(2)).

    Args:
        N: number of rotations (a positive int), or ``-1`` for continuous rotations.
        maximum_frequency: band limit of SO(2)'s irreps when ``N=-1`` (default 10, as the reference
            library's group default).
        fibergroup: alternatively, an existing C_N or SO(2) (then give neither ``N`` nor
            ``maximum_frequency``).

    Example:
        >>> from structconv.gspaces import Rot2dOnR2
        >>> Rot2dOnR2(8).name, Rot2dOnR2(-1, maximum_frequency=4).name
        ('8-Rotations', 'Continuous-Rotations')
        >>> Rot2dOnR2(8).restrict(4)[0]
        Rot2dOnR2('4-Rotations')
    """

    def __init__(
        self, N: int | None = None, maximum_frequency: int | None = None, fibergroup: Group | None = None
    ) -> None:
        N, mf = _check_N(N, maximum_frequency, fibergroup, "Rot2dOnR2")
        if fibergroup is not None:
            if not isinstance(fibergroup, (CyclicGroup, SO2)) or isinstance(fibergroup, FlipGroup):
                raise ValueError(
                    f"fibergroup: expected a cyclic group of rotations or SO(2), got {fibergroup!r}"
                    + (" (the reflection group of Flip2dOnR2)" if isinstance(fibergroup, FlipGroup) else "")
                )
            G: Group = fibergroup
        else:
            G = so2_group(mf) if N == -1 else cyclic_group(N)
        name = "Continuous-Rotations" if G.continuous else f"{G.order()}-Rotations"
        super().__init__(G, name)

    def _init_args(self) -> tuple[Any, ...]:
        return (None, None, self.fibergroup)

    def restrict(self, id: int) -> _Restriction:
        """Restrict to ``C_M`` (``id = M``; ``M`` divides ``N``) or, for SO(2), ``id = -1`` (itself).

        ``M = 1`` gives :class:`TrivialOnR2`.
        """
        H, pmap, cmap = self.fibergroup.subgroup(id)
        if H is self.fibergroup:
            return self, pmap, cmap
        return _rotations_gspace(H), pmap, cmap


class FlipRot2dOnR2(GeneralOnR2):
    """Rotations and reflections of the plane: D_N, or O(2) when ``N=-1``.

    Element ``(f, θ)`` first reflects across the line at angle ``axis`` (if ``f == 1``), then rotates
    by ``θ``. The default ``axis = π/2`` mirrors images left-right.

    Args:
        N: number of rotations (a positive int), or ``-1`` for O(2).
        maximum_frequency: band limit of O(2)'s irreps when ``N=-1`` (default 10).
        axis: angle of the reflection axis with the x axis, in radians.
        fibergroup: alternatively, an existing D_N or O(2).

    Example:
        >>> from structconv.gspaces import FlipRot2dOnR2
        >>> gs = FlipRot2dOnR2(4)
        >>> gs.name
        'Flip_4-Rotations(f=1.57080)'
        >>> gs.basespace_action((1, 0))
        array([[-1.,  0.],
               [ 0.,  1.]])
        >>> gs.restrict((0, 2))[0].name, gs.restrict((1, 2))[0].name
        ('Flip_2-Rotations(f=1.57080)', 'Flip_2-Rotations(f=2.35619)')
    """

    def __init__(
        self,
        N: int | None = None,
        maximum_frequency: int | None = None,
        axis: float = math.pi / 2,
        fibergroup: Group | None = None,
    ) -> None:
        N, mf = _check_N(N, maximum_frequency, fibergroup, "FlipRot2dOnR2")
        if fibergroup is not None:
            if not isinstance(fibergroup, (DihedralGroup, O2)):
                raise ValueError(f"fibergroup: expected a dihedral group or O(2), got {fibergroup!r}")
            G: Group = fibergroup
        else:
            G = o2_group(mf) if N == -1 else dihedral_group(N)
        a = _wrap_axis(axis)
        rot = "Continuous" if G.continuous else str(G.order() // 2)
        super().__init__(G, f"Flip_{rot}-Rotations(f={a:.5f})", a)

    @property
    def axis(self) -> float:
        """Angle of the reflection axis (radians)."""
        return self._axis

    def _init_args(self) -> tuple[Any, ...]:
        return (None, None, self._axis, self.fibergroup)

    def restrict(self, id: Any) -> _Restriction:
        """Restrict to a subgroup (ids as :meth:`DihedralGroup.subgroup` / :meth:`O2.subgroup`).

        ``(None, M)`` gives rotations only (:class:`Rot2dOnR2`, or :class:`TrivialOnR2` for ``M = 1``);
        ``(axis, 1)`` gives :class:`Flip2dOnR2` (its group is C2, :func:`~structconv.group.flip_group`, as
        in the reference library); ``(axis, M)`` gives a :class:`FlipRot2dOnR2`; both with the reflection
        axis of this gspace rotated by half the angle of the subgroup's reflection element.
        """
        G = self.fibergroup
        H, pmap, cmap = G.subgroup(id)
        if H is G and pmap.shift == 0.0:
            return self, pmap, cmap
        new_axis = _wrap_axis(self._axis + 0.5 * pmap.shift)
        if isinstance(H, FlipGroup):
            return Flip2dOnR2(axis=new_axis), pmap, cmap
        if isinstance(H, (CyclicGroup, SO2)):
            return _rotations_gspace(H), pmap, cmap
        return FlipRot2dOnR2(axis=new_axis, fibergroup=H), pmap, cmap


class Flip2dOnR2(GeneralOnR2):
    """Reflections of the plane across one axis: the group C2 of :func:`~structconv.group.flip_group`.

    As in the reference library the group is C2 (elements ``0`` and ``1``, irreps ``irrep_0`` and
    ``irrep_1``, subgroups ``1`` and ``2``); its element ``1`` is the reflection across the line at angle
    ``axis``. (It is not :func:`~structconv.group.cyclic_group` ``(2)``, whose ``1`` rotates by π.)

    Args:
        axis: angle of the reflection axis with the x axis (default ``π/2``: mirror left-right).
        fibergroup: alternatively, the group: :func:`~structconv.group.flip_group` (or ``cyclic_group(2)``,
            the reference library's name for it, which stands for the same here).

    Example:
        >>> from structconv.gspaces import Flip2dOnR2
        >>> gs = Flip2dOnR2()
        >>> gs.name, gs.fibergroup.name, list(gs.irreps)
        ('Flips', 'C2', ['irrep_0', 'irrep_1'])
        >>> gs.featurefield_action(np.arange(3.0).reshape(1, 1, 3), gs.trivial_repr, 1)
        array([[[2., 1., 0.]]])
        >>> gs.restrict(1)[0].name, gs.restrict(2)[0] is gs
        ('Trivial', True)
    """

    def __init__(self, axis: float = math.pi / 2, fibergroup: Group | None = None) -> None:
        if fibergroup is not None and fibergroup not in (flip_group(), cyclic_group(2)):
            raise ValueError(
                f"fibergroup: expected the flip group C2 (structconv.group.flip_group()), got {fibergroup!r}"
            )
        super().__init__(flip_group(), "Flips", _wrap_axis(axis))

    @property
    def axis(self) -> float:
        """Angle of the reflection axis (radians)."""
        return self._axis

    def _init_args(self) -> tuple[Any, ...]:
        return (self._axis,)

    def restrict(self, id: int) -> _Restriction:
        """``2``: itself; ``1``: the trivial gspace (C2's subgroup ids, as in the reference library)."""
        H, pmap, cmap = self.fibergroup.subgroup(id)
        if H is self.fibergroup:
            return self, pmap, cmap
        return TrivialOnR2(), pmap, cmap


class TrivialOnR2(GeneralOnR2):
    """The trivial action on the plane (group C_1): ordinary, non-equivariant CNNs.

    Args:
        fibergroup: alternatively, the group C_1.

    Example:
        >>> from structconv.gspaces import TrivialOnR2
        >>> gs = TrivialOnR2()
        >>> gs.name, gs.testing_elements
        ('Trivial', [0])
    """

    def __init__(self, fibergroup: Group | None = None) -> None:
        if fibergroup is not None and fibergroup != cyclic_group(1):
            raise ValueError(f"fibergroup: expected C1 (cyclic_group(1)), got {fibergroup!r}")
        super().__init__(cyclic_group(1), "Trivial")

    def _init_args(self) -> tuple[Any, ...]:
        return ()

    def restrict(self, id: int) -> _Restriction:
        """Only ``id = 1`` (itself)."""
        H, pmap, cmap = self.fibergroup.subgroup(id)
        return self, pmap, cmap


# escnn's factories (escnn 1.0.11's names, signatures and defaults) for the e2cnn classes above

#: escnn's default band limit of SO(2) and O(2) in its factories (e2cnn's classes default to 10)
_ESCNN_MAXIMUM_FREQUENCY = 6


def rot2dOnR2(N: int = -1, maximum_frequency: int = _ESCNN_MAXIMUM_FREQUENCY) -> Rot2dOnR2:
    """escnn's factory of the rotations of the plane: ``C_N`` for ``N >= 1``, SO(2) for ``N = -1``.

    The same gspace as :class:`Rot2dOnR2` (e2cnn's name), with escnn's defaults: SO(2) when ``N`` is not
    given.

    Args:
        N: number of discrete rotations, or ``-1`` for all of them (SO(2)).
        maximum_frequency: for SO(2), the largest frequency of the irreps built in advance (escnn: 6);
            as in escnn, not used when ``N >= 1``.

    Returns:
        a :class:`Rot2dOnR2`.

    Raises:
        ValueError: ``N`` is not a positive int or ``-1``.

    Example:
        >>> from structconv.gspaces import rot2dOnR2
        >>> so2 = rot2dOnR2().fibergroup
        >>> rot2dOnR2(8).fibergroup.name, so2.name, so2.maximum_frequency
        ('C8', 'SO(2)', 6)
    """
    return Rot2dOnR2(N, maximum_frequency if N == -1 else None)


def flipRot2dOnR2(
    N: int = -1, maximum_frequency: int = _ESCNN_MAXIMUM_FREQUENCY, axis: float = math.pi / 2
) -> FlipRot2dOnR2:
    """escnn's factory of the rotations and reflections of the plane: ``D_N`` for ``N >= 1``, O(2) for
    ``N = -1``.

    The same gspace as :class:`FlipRot2dOnR2` (e2cnn's name), with escnn's defaults.

    Args:
        N: number of discrete rotations, or ``-1`` for all of them (O(2)).
        maximum_frequency: for O(2), the largest frequency of the irreps built in advance (escnn: 6); as in
            escnn, not used when ``N >= 1``.
        axis: the angle of the reflection axis in radians (default ``π/2``: the vertical axis).

    Returns:
        a :class:`FlipRot2dOnR2`.

    Raises:
        ValueError: ``N`` is not a positive int or ``-1``, or ``axis`` is not a finite number.

    Example:
        >>> from structconv.gspaces import flipRot2dOnR2
        >>> flipRot2dOnR2(4).fibergroup.name, flipRot2dOnR2().fibergroup.name
        ('D4', 'O(2)')
    """
    return FlipRot2dOnR2(N, maximum_frequency if N == -1 else None, axis=axis)


def flip2dOnR2(axis: float = math.pi / 2) -> Flip2dOnR2:
    """escnn's factory of one reflection of the plane (group C_2), :class:`Flip2dOnR2` (e2cnn's name).

    Args:
        axis: the angle of the reflection axis in radians (default ``π/2``: the vertical axis).

    Returns:
        a :class:`Flip2dOnR2`.

    Raises:
        ValueError: ``axis`` is not a finite number.

    Example:
        >>> from structconv.gspaces import flip2dOnR2
        >>> flip2dOnR2().basespace_action(1).tolist()
        [[-1.0, 0.0], [0.0, 1.0]]
    """
    return Flip2dOnR2(axis=axis)


def trivialOnR2() -> TrivialOnR2:
    """escnn's factory of the trivial action on the plane (group C_1), :class:`TrivialOnR2` (e2cnn's name).

    Returns:
        a :class:`TrivialOnR2`.

    Example:
        >>> from structconv.gspaces import trivialOnR2
        >>> trivialOnR2().fibergroup.order()
        1
    """
    return TrivialOnR2()
