"""The bases of steerable kernels on the plane for each planar group (the reference library's builders).

Each builder is a :class:`~structconv.kernels.PolarBasis` of Gaussian rings (radii ``radii``, widths
``sigma``) and the :class:`~structconv.kernels.SteerableKernelBasis` of the group's circular harmonics; the
elements come in the reference library's order, with its attributes and numbers.

Example:
    >>> from structconv.group import cyclic_group
    >>> G = cyclic_group(4)
    >>> basis = kernels_CN_act_R2(G.regular_representation, G.irrep(1), radii=[0.0, 1.0], sigma=0.6,
    ...                           max_frequency=2)
    >>> basis.dim, basis.shape
    (20, (2, 4))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from structconv.kernels.polar import (
    GaussianRadialProfile,
    IrrepsBasis,
    KernelBasis,
    PolarBasis,
    SteerableKernelBasis,
)

__all__ = [
    "kernels_CN_act_R2",
    "kernels_DN_act_R2",
    "kernels_SO2_act_R2",
    "kernels_O2_act_R2",
    "kernels_Flip_act_R2",
    "kernels_Trivial_act_R2",
]


def _check_group(repr: Any, arg: str, expected: Callable[[Any], bool], what: str) -> None:
    if not expected(repr.group):
        raise ValueError(f"{arg}: expected a representation of {what}, got one of {repr.group.name}")


def _is_cyclic(G: Any) -> bool:
    return type(G).__name__ == "CyclicGroup"


def _is_dihedral(G: Any) -> bool:
    return type(G).__name__ == "DihedralGroup"


def _polar(in_repr: Any, out_repr: Any, radii: Sequence[float], sigma: Any, **kwargs: Any) -> KernelBasis:
    angular = SteerableKernelBasis(IrrepsBasis, in_repr, out_repr, **kwargs)
    return PolarBasis(GaussianRadialProfile(radii, sigma), angular)


def kernels_CN_act_R2(
    in_repr: Any,
    out_repr: Any,
    radii: Sequence[float],
    sigma: Sequence[float] | float,
    max_frequency: int | None = None,
    max_offset: int | None = None,
) -> KernelBasis:
    """The basis of C_N-steerable kernels on the plane between ``in_repr`` and ``out_repr``.

    Args:
        in_repr: input representation of a cyclic group.
        out_repr: output representation of the same group.
        radii: the ring radii of the Gaussian radial profile.
        sigma: the ring widths (one per ring, or one for all).
        max_frequency: the largest angular frequency (at least one of the two bounds is needed).
        max_offset: the largest aliasing offset.

    Example:
        >>> from structconv.group import cyclic_group
        >>> G = cyclic_group(8)
        >>> kernels_CN_act_R2(G.trivial_representation, G.trivial_representation, [0.0, 1.0], 0.6,
        ...                   max_frequency=8).dim
        6
    """
    _check_group(in_repr, "in_repr", _is_cyclic, "a cyclic group C_N")
    return _polar(in_repr, out_repr, radii, sigma, max_frequency=max_frequency, max_offset=max_offset)


def kernels_DN_act_R2(
    in_repr: Any,
    out_repr: Any,
    radii: Sequence[float],
    sigma: Sequence[float] | float,
    axis: float = math.pi / 2,
    max_frequency: int | None = None,
    max_offset: int | None = None,
) -> KernelBasis:
    """The basis of D_N-steerable kernels, reflections across the line at angle ``axis``.

    Args:
        in_repr: input representation of a dihedral group.
        out_repr: output representation of the same group.
        radii: the ring radii.
        sigma: the ring widths.
        axis: angle of the reflection axis.
        max_frequency: the largest angular frequency (at least one of the two bounds is needed).
        max_offset: the largest aliasing offset.

    Example:
        >>> from structconv.group import dihedral_group
        >>> G = dihedral_group(4)
        >>> kernels_DN_act_R2(G.irrep(0, 0), G.irrep(1, 1), [1.0], 0.6, max_frequency=5).dim
        3
    """
    _check_group(in_repr, "in_repr", _is_dihedral, "a dihedral group D_N")
    return _polar(
        in_repr, out_repr, radii, sigma, axis=axis, max_frequency=max_frequency, max_offset=max_offset
    )


def kernels_SO2_act_R2(
    in_repr: Any, out_repr: Any, radii: Sequence[float], sigma: Sequence[float] | float
) -> KernelBasis:
    """The basis of SO(2)-steerable kernels on the plane.

    Example:
        >>> from structconv.group import so2_group
        >>> G = so2_group(3)
        >>> kernels_SO2_act_R2(G.irrep(1), G.irrep(2), [1.0, 2.0], 0.6).dim
        8
    """
    _check_group(in_repr, "in_repr", lambda G: type(G).__name__ == "SO2", "SO(2)")
    return _polar(in_repr, out_repr, radii, sigma)


def kernels_O2_act_R2(
    in_repr: Any,
    out_repr: Any,
    radii: Sequence[float],
    sigma: Sequence[float] | float,
    axis: float = math.pi / 2,
) -> KernelBasis:
    """The basis of O(2)-steerable kernels, reflections across the line at angle ``axis``.

    Example:
        >>> from structconv.group import o2_group
        >>> G = o2_group(3)
        >>> kernels_O2_act_R2(G.irrep(1, 1), G.irrep(1, 1), [1.0], 0.6).dim
        2
    """
    _check_group(in_repr, "in_repr", lambda G: type(G).__name__ == "O2", "O(2)")
    return _polar(in_repr, out_repr, radii, sigma, axis=axis)


def kernels_Flip_act_R2(
    in_repr: Any,
    out_repr: Any,
    radii: Sequence[float],
    sigma: Sequence[float] | float,
    axis: float = math.pi / 2,
    max_frequency: int | None = None,
    max_offset: int | None = None,
) -> KernelBasis:
    """The basis of kernels equivariant to one reflection across the line at ``axis``.

    The representations are of the flip group C2 (:func:`~structconv.group.flip_group`, the group of
    :class:`~structconv.gspaces.Flip2dOnR2`, as in the reference library) or of D_1; the bases agree.

    Example:
        >>> from structconv.group import dihedral_group, flip_group
        >>> G = flip_group()
        >>> kernels_Flip_act_R2(G.irrep(0), G.irrep(1), [1.0], 0.6, max_frequency=3).dim
        3
        >>> D1 = dihedral_group(1)
        >>> kernels_Flip_act_R2(D1.irrep(0, 0), D1.irrep(1, 0), [1.0], 0.6, max_frequency=3).dim
        3
    """
    _check_group(
        in_repr,
        "in_repr",
        lambda G: type(G).__name__ == "FlipGroup" or (_is_dihedral(G) and G.order() == 2),
        "the flip group (flip_group(), C2) or D1",
    )
    return _polar(
        in_repr, out_repr, radii, sigma, axis=axis, max_frequency=max_frequency, max_offset=max_offset
    )


def kernels_Trivial_act_R2(
    in_repr: Any,
    out_repr: Any,
    radii: Sequence[float],
    sigma: Sequence[float] | float,
    max_frequency: int | None = None,
    max_offset: int | None = None,
) -> KernelBasis:
    """The basis of unconstrained kernels (trivial group C_1) in polar harmonics.

    Example:
        >>> from structconv.group import trivial_group
        >>> G = trivial_group()
        >>> kernels_Trivial_act_R2(G.irrep(0), G.irrep(0), [1.0], 0.6, max_frequency=2).dim
        5
    """
    _check_group(in_repr, "in_repr", lambda G: _is_cyclic(G) and G.order() == 1, "the trivial group C1")
    return _polar(in_repr, out_repr, radii, sigma, max_frequency=max_frequency, max_offset=max_offset)
