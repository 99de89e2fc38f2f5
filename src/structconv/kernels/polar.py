"""Analytical steerable kernel bases on the plane, as objects: the reference library's kernel API.

A :class:`KernelBasis` is a finite family of matrix-valued functions on the plane, sampled with
:meth:`KernelBasis.sample` on points ``(2, n)`` into an array ``(out_size, in_size, dim, n)``. The bases
of steerable kernels are products (:class:`PolarBasis`) of a radial part (:class:`GaussianRadialProfile`,
Gaussian rings) and an angular part (:class:`SteerableKernelBasis`): for every pair of irreps in the
decompositions of the two representations, the circular harmonics of :class:`IrrepsBasis`, mapped
through the changes of basis,

.. math:: \\kappa(r, \\varphi) = Q_\\text{out} \\Big[\\ldots\\, e^{-(r - r_i)^2 / 2\\sigma_i^2}\\,
    h(\\varphi) \\,\\ldots\\Big] Q_\\text{in}^{-1}.

Elements are enumerated in the reference library's order (rings outermost; then input irreps, output
irreps, and within a pair of irreps by phase ``γ``, reflection type ``s`` and frequency), with the same
attribute dicts, so sampled bases agree number for number. The builders :func:`kernels_CN_act_R2`,
:func:`kernels_DN_act_R2`, :func:`kernels_SO2_act_R2`, :func:`kernels_O2_act_R2`,
:func:`kernels_Flip_act_R2` and :func:`kernels_Trivial_act_R2` (:mod:`structconv.kernels.r2`) assemble the
whole basis for one group.

Example:
    >>> from structconv.group import cyclic_group
    >>> G = cyclic_group(4)
    >>> angular = SteerableKernelBasis(IrrepsBasis, G.regular_representation, G.irrep(1), max_frequency=2)
    >>> basis = PolarBasis(GaussianRadialProfile([0.0, 1.0], 0.6), angular)
    >>> basis.dim, basis.shape, basis.sample(np.zeros((2, 3))).shape
    (20, (2, 4), (2, 4, 20, 3))
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from structconv.group._matrices import chi as _group_chi
from structconv.group._matrices import psi as _group_psi
from structconv.group._matrices import psichi as _group_psichi
from structconv.kernels.harmonics import Harmonic, irreps_harmonics
from structconv.kernels.irreps import irrep_spec_from

__all__ = [
    "EmptyBasisException",
    "Basis",
    "KernelBasis",
    "GaussianRadialProfile",
    "IrrepsBasis",
    "PolarBasis",
    "SteerableKernelBasis",
    "psi",
    "chi",
    "psichi",
]

#: Points closer than this to the origin count as the origin, where only frequency-0 harmonics are kept.
ORIGIN_ATOL = 1e-9


# ---------------------------------------------------------------------------------------- 2x2 blocks
def _write(values: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    if out is None:
        return values
    out[...] = values.reshape(out.shape)
    return out


def psi(
    theta: np.ndarray | float, k: int = 1, gamma: float = 0.0, out: np.ndarray | None = None
) -> np.ndarray:
    r"""Rotation matrices :math:`R(k\theta + \gamma)` for a flat list of angles, shape ``(2, 2, 1, n)``:
    :func:`structconv.group.psi` on the angles as a row.

    Args:
        theta: an angle or an array of angles (flattened to ``n`` angles).
        k: the frequency.
        gamma: a phase added to every angle.
        out: optional array ``(2, 2, 1, n)`` to write into (and return).

    Example:
        >>> psi(np.array([0.0, np.pi / 2])).shape
        (2, 2, 1, 2)
        >>> psi(np.pi / 2)[:, :, 0, 0].round(6) + 0.0
        array([[ 0., -1.],
               [ 1.,  0.]])
    """
    return _write(_group_psi(np.asarray(theta, dtype=np.float64).reshape(1, -1), k, gamma), out)


def chi(s: int, out: np.ndarray | None = None) -> np.ndarray:
    r"""The reflection :math:`\mathrm{diag}(1, (-1)^s)` as a float array ``(2, 2, 1, 1)``:
    :func:`structconv.group.chi` of ``s mod 2``.

    Example:
        >>> chi(1)[:, :, 0, 0]
        array([[ 1.,  0.],
               [ 0., -1.]])
    """
    return _write(_group_chi(int(s) % 2).astype(np.float64).reshape(2, 2, 1, 1), out)


def psichi(
    theta: np.ndarray | float, s: int, k: int = 1, gamma: float = 0.0, out: np.ndarray | None = None
) -> np.ndarray:
    r"""The products :math:`R(k\theta + \gamma)\,\mathrm{diag}(1, (-1)^s)`, shape ``(2, 2, 1, n)``:
    :func:`structconv.group.psichi` on the angles as a row.

    Example:
        >>> psichi(0.0, 1)[:, :, 0, 0]
        array([[ 1.,  0.],
               [ 0., -1.]])
    """
    angles = np.asarray(theta, dtype=np.float64).reshape(1, -1)
    return _write(_group_psichi(angles, int(s) % 2, k, gamma), out)


# ---------------------------------------------------------------------------------------- bases
class EmptyBasisException(Exception):
    """Raised when a basis would have no element (``dim == 0``); catch it to skip a pair of irreps."""

    def __init__(self) -> None:
        super().__init__(
            "the basis is empty (dim = 0): no kernel satisfies the constraint with these settings"
        )


class Basis(ABC):
    """A finite family of ``shape``-shaped matrix-valued functions: ``dim`` elements with attributes.

    ``len(basis) == basis.dim``; ``basis[i]`` is the attribute dict of element ``i``; iterating yields
    the attribute dicts in order.

    Args:
        dim: number of elements (at least 1: an empty basis raises :class:`EmptyBasisException`).
        shape: ``(out_size, in_size)`` of every element.
    """

    def __init__(self, dim: int, shape: tuple[int, int]) -> None:
        if dim == 0:
            raise EmptyBasisException()
        if dim < 0:
            raise ValueError(f"dim: expected a positive number of elements, got {dim!r}")
        self.dim = int(dim)
        self.shape = (int(shape[0]), int(shape[1]))

    def __len__(self) -> int:
        return self.dim

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i in range(self.dim):
            yield self[i]

    @abstractmethod
    def __getitem__(self, idx: int) -> dict[str, Any]:
        """The attributes of element ``idx``."""

    def _check_index(self, idx: int) -> int:
        if isinstance(idx, bool) or not isinstance(idx, (int, np.integer)) or not 0 <= int(idx) < self.dim:
            raise IndexError(f"idx: expected an int in [0, {self.dim}), got {idx!r}")
        return int(idx)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.dim, self.shape))


class KernelBasis(Basis):
    """A :class:`Basis` of kernels: functions on points of the plane, sampled with :meth:`sample`."""

    @abstractmethod
    def sample(self, points: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Sample every element on ``points``: an array ``(out_size, in_size, dim, n_points)``."""

    def sample_masked(
        self, points: np.ndarray, mask: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Sample only the elements where the boolean ``mask`` (``(dim,)``) is true.

        Returns:
            array ``(out_size, in_size, mask.sum(), n_points)`` (written into ``out`` when given).
        """
        mask = np.asarray(mask, dtype=bool).reshape(-1)
        if mask.shape != (self.dim,):
            raise ValueError(f"mask: expected a boolean array of {self.dim} entries, got shape {mask.shape}")
        return _write(self.sample(points)[:, :, mask], out)


class GaussianRadialProfile(KernelBasis):
    r"""Gaussian rings :math:`e^{-(r - r_i)^2 / (2 \sigma_i^2)}`, one element per radius ``r_i``.

    Args:
        radii: the ring radii.
        sigma: the widths, one per ring or one for all.

    Example:
        >>> rings = GaussianRadialProfile([0.0, 1.0], 0.5)
        >>> rings.sample(np.array([[0.0, 1.0]]))[0, 0].round(4)
        array([[1.    , 0.1353],
               [0.1353, 1.    ]])
        >>> rings[1]
        {'radius': 1.0, 'sigma': 0.5, 'idx': 1}
    """

    def __init__(self, radii: Sequence[float], sigma: Sequence[float] | float) -> None:
        radii_a = np.asarray(radii, dtype=np.float64).reshape(-1)
        if isinstance(sigma, (int, float, np.floating, np.integer)):
            sigma_a = np.full(radii_a.shape, float(sigma))
        else:
            sigma_a = np.asarray(sigma, dtype=np.float64).reshape(-1)
        if sigma_a.shape != radii_a.shape:
            raise ValueError(f"sigma: expected one width per radius ({radii_a.size}), got {sigma_a.size}")
        if np.any(sigma_a <= 0) or not np.all(np.isfinite(sigma_a)):
            raise ValueError(f"sigma: expected positive finite widths, got {sigma_a.tolist()}")
        super().__init__(radii_a.size, (1, 1))
        self.radii = radii_a
        self.sigma = sigma_a

    def sample(self, radii: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Sample the rings at the radii ``(1, n)`` (or ``(n,)``): array ``(1, 1, dim, n)``."""
        r = np.asarray(radii, dtype=np.float64).reshape(1, -1)
        vals = np.exp(-0.5 * ((r - self.radii[:, None]) / self.sigma[:, None]) ** 2)
        return _write(vals[None, None], out)

    def __getitem__(self, idx: int) -> dict[str, Any]:
        i = self._check_index(idx)
        return {"radius": float(self.radii[i]), "sigma": float(self.sigma[i]), "idx": i}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GaussianRadialProfile):
            return NotImplemented
        return np.array_equal(self.radii, other.radii) and np.array_equal(self.sigma, other.sigma)

    def __hash__(self) -> int:
        return hash((tuple(self.radii.tolist()), tuple(self.sigma.tolist())))


def _resolve_irrep(group: Any, irrep: Any) -> Any:
    if isinstance(irrep, str):
        return group.irreps[irrep]
    if isinstance(irrep, (tuple, list)):
        return group.irrep(*irrep)
    if isinstance(irrep, (int, np.integer)) and not isinstance(irrep, bool):
        return group.irrep(int(irrep)) if len(group.trivial_representation.id) == 1 else group.irrep(0, irrep)
    if getattr(irrep, "group", None) != group:
        raise ValueError(f"irrep: expected an irrep of {getattr(group, 'name', group)}, got {irrep!r}")
    return irrep


class IrrepsBasis(KernelBasis):
    r"""The angular basis of the kernels between two irreps: circular harmonics of the angle.

    With :math:`\alpha = \mu (\varphi - \text{axis}) + \gamma`, the elements are :math:`\cos\alpha`
    (``1x1`` blocks), :math:`[\cos\alpha, \sin\alpha]^T` (``2x1``), :math:`[\cos\alpha, \sin\alpha]` (``1x2``)
    and :math:`R(\alpha)\,\mathrm{diag}(1, -1)^s` (``2x2``); the frequencies :math:`\mu` are fixed by the
    irreps up to multiples of ``N`` for C_N and D_N (see :func:`~structconv.kernels.irreps_harmonics`).
    Ordered by ``gamma``, then ``s``, then frequency; each element's attributes hold ``frequency``,
    ``gamma``, ``s`` (``2x2`` blocks), ``offset`` (finite groups) and ``idx``.

    Args:
        group: the group (C_N, D_N, SO(2), O(2)).
        in_irrep: the input irrep (object, name or id).
        out_irrep: the output irrep.
        axis: angle of the reflection axis (groups with reflections; ignored otherwise).
        max_frequency: the largest ``|μ|`` (finite groups need it or ``max_offset``).
        max_offset: the largest ``|t|`` of the aliased frequencies ``μ = base + t N`` (finite groups).

    Raises:
        EmptyBasisException: no harmonic satisfies the constraint.

    Example:
        >>> from structconv.group import cyclic_group
        >>> b = IrrepsBasis(cyclic_group(4), 0, 0, max_frequency=4)
        >>> [(e["frequency"], e["gamma"]) for e in b]
        [(0, 0.0), (4, 0.0), (4, 1.5707963267948966)]
    """

    def __init__(
        self,
        group: Any,
        in_irrep: Any,
        out_irrep: Any,
        axis: float = 0.0,
        max_frequency: float | None = None,
        max_offset: int | None = None,
    ) -> None:
        self.group = group
        self.in_irrep = _resolve_irrep(group, in_irrep)
        self.out_irrep = _resolve_irrep(group, out_irrep)
        si, so = irrep_spec_from(self.in_irrep), irrep_spec_from(self.out_irrep)
        finite = si.N is not None
        if finite and max_frequency is None and max_offset is None:
            raise ValueError(
                f"max_frequency, max_offset: {group.name} is finite, so at least one of them must be set "
                "(both are None)"
            )
        if max_offset is not None and (
            isinstance(max_offset, bool) or int(max_offset) != max_offset or max_offset < 0
        ):
            raise ValueError(f"max_offset: expected None or an int >= 0, got {max_offset!r}")
        if max_frequency is not None and not (max_frequency >= 0):
            raise ValueError(f"max_frequency: expected None or a number >= 0, got {max_frequency!r}")
        bound = max_frequency
        if bound is None:
            bound = math.inf if not finite else si.N * (2 * int(max_offset) + 2)  # type: ignore[operator]
        harmonics = irreps_harmonics(si, so, bound, None if max_offset is None else int(max_offset))
        if finite and max_frequency is None and si.dim == 1 and so.dim == 1:
            # bounded by the offset only, the reference library also keeps the negative frequencies of
            # the cosines (equal to the positive ones): kept for a one-to-one correspondence of elements
            base, n_rot = so.k - si.k, int(si.N)  # type: ignore[arg-type]
            harmonics += [
                Harmonic(base + t * n_rot, h_gamma, 0, t)
                for t in range(-int(max_offset), int(max_offset) + 1)  # type: ignore[arg-type]
                for h_gamma in {h.gamma for h in harmonics} | ({0.0} if not si.flips else set())
                if h_gamma == 0.0 and base + t * n_rot < 0
            ]
        harmonics = sorted(harmonics, key=lambda h: (h.gamma, h.s, h.frequency))
        super().__init__(len(harmonics), (self.out_irrep.size, self.in_irrep.size))
        self.axis = float(axis) if si.flips else 0.0
        self.harmonics = tuple(harmonics)
        self._finite = finite
        self._mu = np.array([h.frequency for h in harmonics], dtype=np.float64)
        self._gamma = np.array([h.gamma for h in harmonics], dtype=np.float64)
        self._s = np.array([h.s for h in harmonics], dtype=np.int64)

    def sample(self, angles: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Sample on the angles ``(1, n)`` (or ``(n,)``): array ``(out_size, in_size, dim, n)``."""
        phi = np.asarray(angles, dtype=np.float64).reshape(1, -1)
        a = self._mu[:, None] * (phi - self.axis) + self._gamma[:, None]
        c, s = np.cos(a), np.sin(a)
        o, i = self.shape
        if o == 1 and i == 1:
            vals = c[None, None]
        elif i == 1:
            vals = np.stack([c, s])[:, None]
        elif o == 1:
            vals = np.stack([c, s])[None, :]
        else:
            sign = np.where(self._s % 2 == 1, -1.0, 1.0)[:, None]
            vals = np.stack([np.stack([c, -s * sign]), np.stack([s, c * sign])])
        return _write(vals, out)

    def __getitem__(self, idx: int) -> dict[str, Any]:
        i = self._check_index(idx)
        h = self.harmonics[i]
        attr: dict[str, Any] = {"frequency": int(h.frequency), "gamma": float(h.gamma)}
        if self.shape == (2, 2):
            attr["s"] = int(h.s)
        if self._finite:
            attr["offset"] = int(h.offset)
        attr["idx"] = i
        return attr

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IrrepsBasis):
            return NotImplemented
        return (self.group, self.in_irrep, self.out_irrep, self.axis, self.harmonics) == (
            other.group,
            other.in_irrep,
            other.out_irrep,
            other.axis,
            other.harmonics,
        )

    def __hash__(self) -> int:
        return hash((self.group, self.in_irrep.name, self.out_irrep.name, self.axis, self.harmonics))


class SteerableKernelBasis(KernelBasis):
    r"""The angular basis of the kernels between two representations, from the bases between their irreps.

    For each input irrep ``b`` (outer loop) and output irrep ``a`` of the decompositions
    :math:`\rho = Q (\bigoplus_i \psi_i) Q^{-1}`, the elements of ``irreps_basis(group, ψ_b, ψ_a,
    **kwargs)`` fill block ``(a, b)``; the result is mapped to :math:`Q_\text{out} [\ldots] Q_\text{in}^{-1}`.
    Pairs without a solution are skipped.

    Args:
        irreps_basis: the class (or any callable) building the basis between two irreps, called as
            ``irreps_basis(group, in_irrep, out_irrep, **kwargs)``: usually :class:`IrrepsBasis`.
        in_repr: the input representation.
        out_repr: the output representation (same group).
        **kwargs: passed to ``irreps_basis`` (``axis``, ``max_frequency``, ``max_offset``).

    Raises:
        EmptyBasisException: no pair of irreps has a solution.

    Example:
        >>> from structconv.group import so2_group
        >>> G = so2_group(3)
        >>> b = SteerableKernelBasis(IrrepsBasis, G.irrep(1), G.irrep(1))
        >>> b.dim, b.shape, b[1]["frequency"], b[1]["s"]
        (4, (2, 2), 2, 1)
    """

    def __init__(
        self, irreps_basis: Callable[..., KernelBasis], in_repr: Any, out_repr: Any, **kwargs: Any
    ) -> None:
        if in_repr.group != out_repr.group:
            raise ValueError(
                f"in_repr, out_repr: expected representations of one group, got {in_repr.group.name} and "
                f"{out_repr.group.name}"
            )
        self.in_repr, self.out_repr = in_repr, out_repr
        self.group = in_repr.group
        G = self.group
        in_irreps = [G.irreps[n] for n in in_repr.irreps]
        out_irreps = [G.irreps[n] for n in out_repr.irreps]
        self.in_sizes = [irr.size for irr in in_irreps]
        self.out_sizes = [irr.size for irr in out_irreps]
        self.irreps_bases: dict[tuple[str, str], KernelBasis] = {}
        blocks = []  # (in_idx, out_idx, basis, start)
        dim = 0
        for b, irr_in in enumerate(in_irreps):
            for a, irr_out in enumerate(out_irreps):
                key = (irr_in.name, irr_out.name)
                if key not in self.irreps_bases:
                    try:
                        self.irreps_bases[key] = irreps_basis(G, irr_in, irr_out, **kwargs)
                    except EmptyBasisException:
                        self.irreps_bases[key] = None  # type: ignore[assignment]
                basis = self.irreps_bases[key]
                if basis is not None:
                    blocks.append((b, a, basis, dim))
                    dim += basis.dim
        super().__init__(dim, (out_repr.size, in_repr.size))
        self.bases = blocks
        self.A_inv = np.asarray(in_repr.change_of_basis_inv, dtype=np.float64)
        self.B = np.asarray(out_repr.change_of_basis, dtype=np.float64)
        self._in_off = np.concatenate([[0], np.cumsum(self.in_sizes)]).astype(int)
        self._out_off = np.concatenate([[0], np.cumsum(self.out_sizes)]).astype(int)
        self._owner = np.empty(dim, dtype=np.int64)
        for n, (_, _, basis, start) in enumerate(blocks):
            self._owner[start : start + basis.dim] = n

    def sample(self, angles: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Sample on the angles ``(1, n)``: array ``(out_repr.size, in_repr.size, dim, n)``."""
        phi = np.asarray(angles, dtype=np.float64).reshape(1, -1)
        n = phi.shape[1]
        block = np.zeros((sum(self.out_sizes), sum(self.in_sizes), self.dim, n))
        cache: dict[int, np.ndarray] = {}
        for b, a, basis, start in self.bases:
            vals = cache.get(id(basis))
            if vals is None:
                vals = cache[id(basis)] = basis.sample(phi)
            o0, i0 = self._out_off[a], self._in_off[b]
            block[o0 : o0 + basis.shape[0], i0 : i0 + basis.shape[1], start : start + basis.dim] = vals
        vals = np.einsum("ox,xydn,yi->oidn", self.B, block, self.A_inv, optimize=True)
        return _write(vals, out)

    def __getitem__(self, idx: int) -> dict[str, Any]:
        i = self._check_index(idx)
        b, a, basis, start = self.bases[self._owner[i]]
        attr = dict(basis[i - start])
        attr.update(
            {
                "shape": basis.shape,
                "in_irrep": self.in_repr.irreps[b],
                "out_irrep": self.out_repr.irreps[a],
                "in_irrep_idx": b,
                "out_irrep_idx": a,
                "inner_idx": i - start,
                "idx": i,
            }
        )
        return attr

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SteerableKernelBasis):
            return NotImplemented
        return (
            self.in_repr == other.in_repr
            and self.out_repr == other.out_repr
            and [(b, a, basis) for b, a, basis, _ in self.bases]
            == [(b, a, basis) for b, a, basis, _ in other.bases]
        )

    def __hash__(self) -> int:
        return hash((self.in_repr, self.out_repr, self.dim))


class PolarBasis(KernelBasis):
    """The products of a radial and an angular basis, sampled on Cartesian points ``(2, n)`` (x, y).

    Element ``idx = i_radial * angular.dim + i_angular``; its attributes are the radial element's, then
    the angular element's, with ``idx`` and the two indices ``idx1`` (radial) and ``idx2`` (angular).
    At the origin (``r <= 1e-9``) the angular elements of non-zero frequency are zero.

    Args:
        radial: a basis on radii with shape ``(1, 1)`` (e.g. :class:`GaussianRadialProfile`).
        angular: a basis on angles (e.g. :class:`SteerableKernelBasis`).

    Example:
        >>> from structconv.group import so2_group
        >>> G = so2_group(3)
        >>> angular = SteerableKernelBasis(IrrepsBasis, G.irrep(0), G.irrep(1))
        >>> b = PolarBasis(GaussianRadialProfile([1.0], 0.5), angular)
        >>> b.sample(np.array([[0.0, 1.0], [1.0, 0.0]]))[:, 0, 0].round(6) + 0.0
        array([[0., 1.],
               [1., 0.]])
    """

    def __init__(self, radial: KernelBasis, angular: KernelBasis) -> None:
        if radial.shape != (1, 1):
            raise ValueError(f"radial: expected a basis of shape (1, 1), got {radial.shape}")
        super().__init__(radial.dim * angular.dim, angular.shape)
        self.radial = radial
        self.angular = angular
        self._nonzero_freq = np.array([a.get("frequency", 0) != 0 for a in angular], dtype=bool)

    def sample(self, points: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Sample on the points ``(2, n)``: array ``(out_size, in_size, dim, n)``."""
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[0] != 2:
            raise ValueError(f"points: expected an array (2, n) of x, y coordinates, got shape {pts.shape}")
        radii = np.hypot(pts[0], pts[1])[None, :]
        angles = np.arctan2(pts[1], pts[0])[None, :]
        rad = self.radial.sample(radii)  # (1, 1, R, n)
        ang = self.angular.sample(angles)  # (O, I, A, n)
        origin = radii[0] <= ORIGIN_ATOL
        if origin.any() and self._nonzero_freq.any():
            ang = ang.copy()
            ang[:, :, self._nonzero_freq[:, None] & origin[None, :]] = 0.0
        o, i, A, n = ang.shape
        vals = (rad[0, 0][None, None, :, None, :] * ang[:, :, None, :, :]).reshape(o, i, -1, n)
        return _write(vals, out)

    def __getitem__(self, idx: int) -> dict[str, Any]:
        i = self._check_index(idx)
        i1, i2 = divmod(i, self.angular.dim)
        attr = dict(self.radial[i1])
        attr.update(self.angular[i2])
        attr["idx"] = i
        attr["idx1"] = i1
        attr["idx2"] = i2
        return attr

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PolarBasis):
            return NotImplemented
        return self.radial == other.radial and self.angular == other.angular

    def __hash__(self) -> int:
        return hash((self.radial, self.angular))
