r"""Steerable bases of partial differential operators between two irreps (Jenner & Weiler, 2021).

A PDO :math:`P(\partial)` with matrix-valued polynomial symbol :math:`P` maps a field of type
:math:`\rho_\text{in}` to one of type :math:`\rho_\text{out}` equivariantly iff

.. math::
    P(g x) = \rho_\text{out}(g) \, P(x) \, \rho_\text{in}(g)^{-1} \qquad \forall g \in G,

the same constraint as for steerable kernels.  Homogeneous polynomials of degree ``n`` split into
harmonic parts times powers of the Laplacian: :math:`r^{n} = r^{2p} \cdot r^{k}` with ``n = k + 2p``,
where the angular part of frequency ``k`` is spanned by the homogenised Chebyshev polynomials
:math:`r^k \cos(k\varphi)` and :math:`r^k \sin(k\varphi)`
(:func:`~structconv.diffops.polynomials.homogenized_chebyshev`).
So the basis is the kernels' angular basis (same frequency rules, see
:mod:`structconv.kernels.harmonics`) with circular harmonics replaced by homogenised Chebyshev
polynomials and Gaussian rings replaced by powers of the Laplacian.

For each frequency ``k`` the equivariant angular solutions are found exactly, as the range of the
group-averaging projector on the (at most 8-dimensional) space of ``d_out x d_in`` matrices with entries in
``span(r^k cos kφ, r^k sin kφ)``; for SO(2) and O(2) the average runs over ``C_M`` / ``D_M`` with ``M``
larger than every frequency involved, which has the same invariants.  The orthonormal basis is built by
Gram-Schmidt over the projected canonical candidates, so it is deterministic.

Example:
    >>> from structconv.kernels.irreps import IrrepSpec
    >>> triv = IrrepSpec("cyclic", 4, 0, 0)
    >>> basis = irreps_diffop_basis(triv, triv, maximum_order=4)
    >>> [(a["order"], a["frequency"], a["power"]) for a in basis.attributes]
    [(0, 0, 0), (2, 0, 1), (4, 0, 2), (4, 4, 0), (4, 4, 0)]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from structconv.diffops.polynomials import (
    evaluate_polynomial,
    homogenized_chebyshev,
    laplacian_power,
    multiply_polynomials,
)
from structconv.kernels.harmonics import irreps_harmonics
from structconv.kernels.irreps import IrrepSpec, element_action, irrep_matrix

__all__ = [
    "DiffopIrrepsBasis",
    "irreps_diffop_basis",
    "angular_solutions",
    "aliasing_offset",
    "group_elements",
]

_RANK_TOL = 1e-8


@dataclass(frozen=True)
class DiffopIrrepsBasis:
    """The basis of homogeneous equivariant PDOs between two irreps.

    Attributes:
        in_irrep: the input irrep.
        out_irrep: the output irrep.
        coefficients: one read-only float64 array ``(out_dim, in_dim, order + 1)`` per element (the symbol,
            see :mod:`structconv.diffops.polynomials`).
        attributes: one dict per element with ``order``, ``power``, ``frequency``, ``offset``,
            ``inner_idx`` (index of the angular solution), ``shape`` and ``in_irrep`` / ``out_irrep``.
    """

    in_irrep: IrrepSpec
    out_irrep: IrrepSpec
    coefficients: tuple[np.ndarray, ...] = field(repr=False)
    attributes: tuple[dict[str, Any], ...] = field(repr=False)

    def __len__(self) -> int:
        return len(self.coefficients)

    def evaluate(self, points: np.ndarray) -> np.ndarray:
        """Evaluate every symbol at ``points`` ``(2, P)``: array ``(n_elements, out_dim, in_dim, P)``.

        Example:
            >>> from structconv.kernels.irreps import IrrepSpec
            >>> one = IrrepSpec("so2", None, 0, 1)
            >>> irreps_diffop_basis(one, one, 1).evaluate(np.zeros((2, 3))).shape
            (2, 2, 2, 3)
        """
        shape = (len(self), self.out_irrep.dim, self.in_irrep.dim, np.shape(points)[1])
        out = np.zeros(shape, dtype=np.float64)
        for i, c in enumerate(self.coefficients):
            out[i] = evaluate_polynomial(c, points)
        return out


def group_elements(spec: IrrepSpec, extra_frequency: int = 0) -> list[Any]:
    """Elements to average over: all of a finite group, or of ``C_M`` / ``D_M`` for SO(2) / O(2).

    For continuous groups ``M = extra_frequency + 1``; pass an ``extra_frequency`` larger than the sum of
    all frequencies involved so that averaging over the finite subgroup projects onto the same invariants.

    Example:
        >>> len(group_elements(IrrepSpec("dihedral", 3, 0, 0)))
        6
    """
    if spec.N is not None:
        rot: list[Any] = list(range(spec.N))
    else:
        m = int(extra_frequency) + 1
        rot = [2.0 * math.pi * r / m for r in range(m)]
    if spec.flips:
        return [(f, r) for f in (0, 1) for r in rot]
    return rot


def _harmonics(k: int) -> np.ndarray:
    """Coefficients ``(n_h, k + 1)`` of the harmonic polynomials of frequency ``k``."""
    if k == 0:
        return homogenized_chebyshev(0, "t")[None]
    return np.stack([homogenized_chebyshev(k, "t"), homogenized_chebyshev(k, "u")])


def _harmonic_action(k: int, matrix: np.ndarray) -> np.ndarray:
    """``H`` with ``h(M x) = H h(x)`` for the harmonic vector ``h`` of frequency ``k`` (``M`` orthogonal).

    ``M = R(θ) S^f`` with ``S = diag(1, -1)``; ``S`` maps ``φ -> -φ`` and ``R(θ)`` maps ``φ -> φ + θ``, so
    ``H = R(kθ) S^f`` on ``(r^k cos kφ, r^k sin kφ)``.
    """
    if k == 0:
        return np.ones((1, 1))
    theta = math.atan2(matrix[1, 0], matrix[0, 0])
    c, s = math.cos(k * theta), math.sin(k * theta)
    out = np.array([[c, -s], [s, c]])
    if np.linalg.det(matrix) < 0:
        out = out @ np.diag([1.0, -1.0])
    return out


@lru_cache(maxsize=1024)
def _irrep_stack(spec: IrrepSpec, m: int) -> np.ndarray:
    """``(G, d, d)``: the irrep at every element of :func:`group_elements` (``M = m`` if continuous)."""
    return np.stack([irrep_matrix(spec, g) for g in group_elements(spec, m - 1)])


@lru_cache(maxsize=1024)
def _harmonic_stack(k: int, group: IrrepSpec, axis: float, m: int) -> np.ndarray:
    """``(G, n_h, n_h)``: the action on the frequency-``k`` harmonics of every element."""
    return np.stack(
        [_harmonic_action(k, element_action(group, g, axis)) for g in group_elements(group, m - 1)]
    )


def angular_solutions(
    in_irrep: IrrepSpec, out_irrep: IrrepSpec, k: int, axis: float = math.pi / 2
) -> np.ndarray:
    """Orthonormal equivariant angular parts of frequency ``k``, in harmonic coordinates.

    Returns:
        float64 array ``(n_solutions, out_dim, in_dim, n_h)``, ``n_h = 1`` for ``k = 0`` else 2, meaning
        the matrix polynomial ``sum_h A[..., h] * harmonic_h`` (cosine part first).

    Example:
        >>> from structconv.kernels.irreps import IrrepSpec
        >>> triv = IrrepSpec("cyclic", 4, 0, 0)
        >>> angular_solutions(triv, triv, 4).shape, angular_solutions(triv, triv, 2).shape
        ((2, 1, 1, 2), (0, 1, 1, 2))
    """
    if (in_irrep.kind, in_irrep.N) != (out_irrep.kind, out_irrep.N):
        raise ValueError(f"in_irrep={in_irrep} and out_irrep={out_irrep} belong to different groups")
    return _angular_solutions_cached(in_irrep, out_irrep, int(k), float(axis)).copy()


@lru_cache(maxsize=4096)
def _angular_solutions_cached(in_irrep: IrrepSpec, out_irrep: IrrepSpec, k: int, axis: float) -> np.ndarray:
    do, di = out_irrep.dim, in_irrep.dim
    nh = 1 if k == 0 else 2
    size = do * di * nh
    m = in_irrep.N if in_irrep.N is not None else k + in_irrep.k + out_irrep.k + 1
    ro, ri = _irrep_stack(out_irrep, m), _irrep_stack(in_irrep, m)
    hh = _harmonic_stack(k, IrrepSpec(in_irrep.kind, in_irrep.N, 0, 0), axis, m)
    # the average over g of  A -> ro^T (sum_h A_h H_{h h'}) ri,  a matrix on vec(A) with index order (o, i, h)
    proj = np.einsum("gao,gbi,ghc->oicabh", ro, ri, hh).reshape(size, size) / len(ro)
    basis = _gram_schmidt(list(proj.T))  # over the projected canonical candidates
    out = np.array(basis, dtype=np.float64).reshape(len(basis), do, di, nh)
    out[np.abs(out) < 1e-13] = 0.0
    out.setflags(write=False)
    return out


def _gram_schmidt(vectors: Sequence[np.ndarray]) -> list[np.ndarray]:
    basis: list[np.ndarray] = []
    for col in vectors:
        v = np.array(col, dtype=np.float64)
        for b in basis:
            v -= (b @ v) * b
        norm = np.linalg.norm(v)
        if norm > _RANK_TOL:
            basis.append(v / norm)
    return basis


@lru_cache(maxsize=4096)
def _offset_limited_solutions(
    in_irrep: IrrepSpec, out_irrep: IrrepSpec, k: int, axis: float, maximum_offset: int
) -> np.ndarray:
    """Like :func:`angular_solutions`, restricted to the span of the kernels' angular harmonics
    (:func:`structconv.kernels.harmonics.irreps_harmonics`) of frequency ``±k`` and offset at most
    ``maximum_offset``.
    """
    do, di = out_irrep.dim, in_irrep.dim
    nh = 1 if k == 0 else 2
    ref = axis if in_irrep.flips else 0.0
    cands = []
    for h in irreps_harmonics(in_irrep, out_irrep, k, maximum_offset):
        if abs(h.frequency) != k:
            continue
        sigma = 1.0 if h.frequency >= 0 else -1.0
        beta = h.gamma - h.frequency * ref
        cb, sb = math.cos(beta), math.sin(beta)
        # cos(±kφ + β) and sin(±kφ + β) in the coordinates (r^k cos kφ, r^k sin kφ)
        cos_c = np.array([cb]) if k == 0 else np.array([cb, -sigma * sb])
        sin_c = np.array([sb]) if k == 0 else np.array([sb, sigma * cb])
        block = np.zeros((do, di, nh))
        if do == 1 and di == 1:
            block[0, 0] = cos_c
        elif di == 1:
            block[0, 0], block[1, 0] = cos_c, sin_c
        elif do == 1:
            block[0, 0], block[0, 1] = cos_c, sin_c
        else:
            sign = -1.0 if h.s == 1 else 1.0  # R(α) S^s
            block[0, 0], block[0, 1] = cos_c, -sin_c * sign
            block[1, 0], block[1, 1] = sin_c, cos_c * sign
        cands.append(block.ravel())
    basis = _gram_schmidt(cands)
    out = np.array(basis, dtype=np.float64).reshape(len(basis), do, di, nh)
    out[np.abs(out) < 1e-13] = 0.0
    out.setflags(write=False)
    return out


def aliasing_offset(in_irrep: IrrepSpec, out_irrep: IrrepSpec, k: int) -> int:
    """The smallest ``|t|`` with ``±k = base + t·N`` for a base frequency ``k_out ± k_in`` (0 if continuous).

    Example:
        >>> from structconv.kernels.irreps import IrrepSpec
        >>> one = IrrepSpec("cyclic", 4, 0, 1)
        >>> [aliasing_offset(one, one, k) for k in (0, 2, 4, 6, 8)]
        [0, 0, 1, 1, 2]
    """
    if in_irrep.N is None:
        return 0
    n = in_irrep.N
    best = None
    for base in (out_irrep.k - in_irrep.k, out_irrep.k + in_irrep.k):
        for sign in (1, -1):
            diff = sign * k - base
            if diff % n == 0:
                t = abs(diff // n)
                best = t if best is None else min(best, t)
    return k if best is None else best


def irreps_diffop_basis(
    in_irrep: IrrepSpec,
    out_irrep: IrrepSpec,
    maximum_order: int,
    maximum_power: int | None = None,
    maximum_offset: int | None = None,
    axis: float = math.pi / 2,
) -> DiffopIrrepsBasis:
    """All equivariant homogeneous PDOs of order ``<= maximum_order`` between two irreps (cached).

    Element ``(k, p)`` is an angular solution of frequency ``k`` times the ``p``-th power of the
    Laplacian, of order ``k + 2p``.  Elements are sorted by order, then frequency, then angular index.

    Args:
        in_irrep: the input irrep.
        out_irrep: the output irrep (same group).
        maximum_order: largest derivative order (``>= 0``).
        maximum_power: largest power of the Laplacian (``None``: only ``maximum_order`` limits it).
        maximum_offset: for finite groups, the largest aliasing offset ``|t|`` of the signed angular
            frequencies ``μ = base + t·N`` of the kernels' harmonics
            (:func:`structconv.kernels.harmonics.irreps_harmonics`); the angular parts are then the span of
            those harmonics (``None``: no limit, every equivariant angular part).
        axis: angle of the reflection axis for groups with reflections.

    Raises:
        ValueError: on negative limits or irreps of different groups.

    Example:
        >>> from structconv.kernels.irreps import IrrepSpec
        >>> one = IrrepSpec("so2", None, 0, 1)
        >>> [a["order"] for a in irreps_diffop_basis(one, one, 2).attributes]
        [0, 0, 2, 2, 2, 2]
    """
    for name, value in (("maximum_order", maximum_order), ("maximum_power", maximum_power)):
        if value is None and name == "maximum_power":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name}={value!r} is not valid; expected an int >= 0")
    if maximum_offset is not None and (
        isinstance(maximum_offset, bool)
        or not isinstance(maximum_offset, (int, np.integer))
        or maximum_offset < 0
    ):
        raise ValueError(f"maximum_offset={maximum_offset!r} is not valid; expected None or an int >= 0")
    if (in_irrep.kind, in_irrep.N) != (out_irrep.kind, out_irrep.N):
        raise ValueError(f"in_irrep={in_irrep} and out_irrep={out_irrep} belong to different groups")
    return _basis_cached(
        in_irrep,
        out_irrep,
        int(maximum_order),
        None if maximum_power is None else int(maximum_power),
        None if maximum_offset is None else int(maximum_offset),
        float(axis),
    )


@lru_cache(maxsize=4096)
def _basis_cached(
    in_irrep: IrrepSpec,
    out_irrep: IrrepSpec,
    maximum_order: int,
    maximum_power: int | None,
    maximum_offset: int | None,
    axis: float,
) -> DiffopIrrepsBasis:
    coeffs: list[np.ndarray] = []
    attrs: list[dict[str, Any]] = []
    entries = []
    for k in range(maximum_order + 1):
        offset = aliasing_offset(in_irrep, out_irrep, k)
        if maximum_offset is None:
            sols = _angular_solutions_cached(in_irrep, out_irrep, k, axis)
        else:
            sols = _offset_limited_solutions(in_irrep, out_irrep, k, axis, maximum_offset)
        if len(sols) == 0:
            continue
        harm = _harmonics(k)
        angular = np.einsum("soih,hc->soic", sols, harm)
        for p in range((maximum_order - k) // 2 + 1):
            if maximum_power is not None and p > maximum_power:
                break
            for s in range(len(sols)):
                entries.append((k + 2 * p, k, s, p, offset, angular[s]))
    entries.sort(key=lambda e: e[:3])
    for order, k, s, p, offset, ang in entries:
        c = multiply_polynomials(ang, laplacian_power(p))
        c.setflags(write=False)
        coeffs.append(c)
        attrs.append(
            {
                "order": order,
                "power": p,
                "frequency": k,
                "offset": offset,
                "inner_idx": s,
                "shape": (out_irrep.dim, in_irrep.dim),
                "in_irrep": in_irrep,
                "out_irrep": out_irrep,
            }
        )
    return DiffopIrrepsBasis(in_irrep, out_irrep, tuple(coeffs), tuple(attrs))


def check_equivariance(
    basis: DiffopIrrepsBasis,
    points: np.ndarray,
    axis: float = math.pi / 2,
    elements: Sequence[Any] | None = None,
) -> float:
    """Largest violation of ``P(g x) = ρ_out(g) P(x) ρ_in(g)⁻¹`` over elements and sample points.

    Args:
        basis: the basis to check.
        points: ``(2, P)`` sample points.
        axis: the reflection axis the basis was built with.
        elements: group elements (default: :func:`group_elements` with a few extra rotations).

    Example:
        >>> from structconv.kernels.irreps import IrrepSpec
        >>> one = IrrepSpec("dihedral", 5, 1, 2)
        >>> check_equivariance(irreps_diffop_basis(one, one, 3), np.random.randn(2, 7)) < 1e-10
        True
    """
    spec = basis.in_irrep
    if elements is None:
        elements = group_elements(spec, 12)
    worst = 0.0
    values = basis.evaluate(points)
    for g in elements:
        moved = basis.evaluate(element_action(spec, g, axis) @ points)
        ro = irrep_matrix(basis.out_irrep, g)
        ri = irrep_matrix(basis.in_irrep, g)
        expected = np.einsum("ab,nbcp,dc->nadp", ro, values, ri)
        if values.size:
            worst = max(worst, float(np.abs(moved - expected).max()))
    return worst
