"""Angular parts of the steerable kernel bases between two irreps (Weiler & Cesa, 2019).

For a pair of irreps of a planar group, the solutions of ``κ(g·x) = ρ_out(g) κ(x) ρ_in(g)⁻¹`` restricted
to a circle are circular harmonics of the angle ``φ`` (measured from the reflection axis when the group
has reflections), with ``α = μ φ + γ``:

* ``1x1`` blocks: ``cos α``;
* ``2x1`` blocks: ``[cos α, sin α]ᵀ``; ``1x2`` blocks: ``[cos α, sin α]``;
* ``2x2`` blocks: ``R(α) S^s`` with ``R`` the rotation matrix and ``S = diag(1, -1)``.

The frequency ``μ`` is fixed by the irreps' frequencies up to aliasing offsets ``t·N`` for finite groups;
with reflections, the phase ``γ`` is fixed too.  Every element is a :class:`Harmonic`.

Example:
    >>> from structconv.kernels.irreps import IrrepSpec
    >>> hs = irreps_harmonics(IrrepSpec("so2", None, 0, 1), IrrepSpec("so2", None, 0, 1), 2)
    >>> sorted((h.frequency, h.s) for h in hs)
    [(0, 0), (0, 0), (2, 1), (2, 1)]
"""

from __future__ import annotations

import math
from typing import NamedTuple

from structconv.kernels.irreps import IrrepSpec

__all__ = ["Harmonic", "irreps_harmonics"]


class Harmonic(NamedTuple):
    """One angular basis element ``α = frequency·φ + gamma`` of an irrep-pair block.

    Attributes:
        frequency: the angular frequency ``μ`` (may be negative for ``2x1``, ``1x2``, ``2x2`` blocks).
        gamma: the phase, ``0`` or ``π/2``.
        s: ``0`` for rotation-like, ``1`` for reflection-like ``2x2`` blocks (always 0 otherwise).
        offset: the aliasing offset ``t`` with ``μ = base + t·N`` (0 for continuous groups).
    """

    frequency: int
    gamma: float
    s: int
    offset: int


def _frequencies(
    base: int, period: int | None, max_frequency: float, maximum_offset: int | None, nonnegative: bool
) -> list[tuple[int, int]]:
    """All ``(μ, t)`` with ``μ = base + t·period``, ``|μ| <= max_frequency`` (and the offset bound)."""
    if period is None:
        ok = abs(base) <= max_frequency + 1e-9 and (base >= 0 or not nonnegative)
        return [(base, 0)] if ok else []
    lo = math.ceil((-max_frequency - base - 1e-9) / period)
    hi = math.floor((max_frequency - base + 1e-9) / period)
    out = []
    for t in range(lo, hi + 1):
        mu = base + t * period
        if nonnegative and mu < 0:
            continue
        if maximum_offset is not None and abs(t) > maximum_offset:
            continue
        out.append((mu, t))
    return out


def irreps_harmonics(
    in_irrep: IrrepSpec,
    out_irrep: IrrepSpec,
    max_frequency: float,
    maximum_offset: int | None = None,
) -> list[Harmonic]:
    """Enumerate the angular basis of the kernels from ``in_irrep`` to ``out_irrep``.

    Args:
        in_irrep: the input irrep.
        out_irrep: the output irrep (same group).
        max_frequency: harmonics with ``|μ| > max_frequency`` are left out.
        maximum_offset: for finite groups, the largest ``|t|`` of the aliased frequencies
            ``μ = base + t·N``; ``None`` keeps every frequency allowed by ``max_frequency``.

    Returns:
        The list of :class:`Harmonic` elements (the shape of the block is
        ``(out_irrep.dim, in_irrep.dim)``).

    Raises:
        ValueError: if the two irreps do not belong to the same group.

    Example:
        >>> from structconv.kernels.irreps import IrrepSpec
        >>> triv = IrrepSpec("cyclic", 4, 0, 0)
        >>> [h.frequency for h in irreps_harmonics(triv, triv, 4)]
        [0, 4, 4]
    """
    if (in_irrep.kind, in_irrep.N) != (out_irrep.kind, out_irrep.N):
        raise ValueError(f"in_irrep={in_irrep} and out_irrep={out_irrep} belong to different groups")
    period = in_irrep.N
    flips = in_irrep.flips
    di, do = in_irrep.dim, out_irrep.dim
    half = math.pi / 2
    out: list[Harmonic] = []
    if di == 1 and do == 1:
        base = out_irrep.k - in_irrep.k
        parity = (in_irrep.j + out_irrep.j) % 2
        for mu, t in _frequencies(base, period, max_frequency, maximum_offset, nonnegative=True):
            gammas = (half * parity,) if flips else (0.0, half)
            for gamma in gammas:
                if mu == 0 and gamma != 0.0:
                    continue  # sin(0) vanishes
                out.append(Harmonic(mu, gamma, 0, t))
        return out
    if di == 1 or do == 1:
        # 2x1: mu = k_out -/+ k_in; 1x2: mu = k_in -/+ k_out.  The 1-d irrep has frequency 0 or N/2,
        # so both signs give the same aliasing class; the offsets count from k_in + k_out.
        base = out_irrep.k + in_irrep.k
        j_one = in_irrep.j if di == 1 else out_irrep.j
        gammas = (half * j_one,) if flips else (0.0, half)
        for mu, t in _frequencies(base, period, max_frequency, maximum_offset, nonnegative=False):
            for gamma in gammas:
                out.append(Harmonic(mu, gamma, 0, t))
        return out
    gammas = (0.0,) if flips else (0.0, half)
    for s, base in ((0, out_irrep.k - in_irrep.k), (1, out_irrep.k + in_irrep.k)):
        for mu, t in _frequencies(base, period, max_frequency, maximum_offset, nonnegative=False):
            for gamma in gammas:
                out.append(Harmonic(mu, gamma, s, t))
    return out
