r"""Steerable kernel bases on :math:`\mathbb{R}^3` for every gspace of :mod:`structconv.gspaces.r3`.

A kernel :math:`\kappa: \mathbb{R}^3 \to \mathbb{R}^{d_{out} \times d_{in}}` of a group :math:`G \subset O(3)`
satisfies :math:`\kappa(g x) = \rho_{out}(g)\, \kappa(x)\, \rho_{in}(g)^{-1}` (Weiler et al. 2018, "3D
Steerable CNNs"; Cesa, Lang, Weiler 2022). On a spherical shell of radius :math:`r` (a Gaussian radial
profile of width :math:`\sigma`) the angular part is a combination of the real spherical harmonics
:math:`Y_J` of degree :math:`J \le f(r)`, which :math:`O(3)` moves by :math:`Y_J(A x) = D^J(A) Y_J(x)`
(parity :math:`(-1)^J` under the inversion). For an irrep pair :math:`(\psi_{in}, \psi_{out})` the kernels
of degree :math:`J` are

.. math:: \kappa(x) = e^{-(|x| - r)^2 / 2\sigma^2} \sum_m Y_{J,m}(\hat x)\, T_m, \qquad
          T_n = \psi_{out}(g)^\top \Big(\sum_m D^J_{mn}(g)\, T_m\Big) \psi_{in}(g) \ \ \forall g \in G,

a linear space computed numerically in float64 (the range of the group average for a finite group, the
null space of the constraint over a few generic elements of a continuous one) with an orthonormal basis;
its dimension is the multiplicity of :math:`\psi_{out}` in :math:`Y_J|_G \otimes \psi_{in}`.
A shell of radius 0 follows the same rule, with
:math:`Y_J(0) = 0` for :math:`J > 0` (the default cut-off allows only :math:`J = 0` there; a wider cut-off
and a wide shell keep :math:`e^{-|x|^2/2\sigma^2} Y_J(\hat x)`, as escnn does).

Defaults (those of escnn 1.0.11's ``R3Conv``, observed from its outputs): rings and widths as on the plane
(:func:`~structconv.kernels.sampling.default_rings`, :func:`~structconv.kernels.sampling.default_sigma`),
degrees :math:`J \le f(r)` with :class:`R3FrequencyCutoff` (``f(r) = min(2r, 2 + k//2 - r)``), a float
cut-off ``λ`` meaning ``f(r) = λ r``; rings must lie within the grid's half diagonal
``√3 · dilation · (k - 1) / 2``.

Voxel ``(i, j, k)`` of a kernel of size ``s`` (centre ``c = (s-1)/2``) is the point
``(x, y, z) = dilation · (k - c, c - j, c - i)`` (:data:`structconv.gspaces.r3.VOXEL_AXES`); points are
flattened in C order over ``(D, H, W)``, so ``torch.nn.functional.conv3d`` uses the expanded filter as is.

Example:
    >>> from structconv.gspaces.r3 import rot3dOnR3
    >>> gs = rot3dOnR3()
    >>> G = gs.fibergroup
    >>> basis = steerable_basis_r3(gs, G.irrep(1), G.irrep(1), 5)
    >>> basis.shape
    (7, 3, 3, 125)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from structconv._threads import one_blas_thread_for
from structconv.group._linalg import canonical_range
from structconv.kernels.basis import SteerableBasis, assemble_basis
from structconv.kernels.sampling import _cutoff_at, resolve_basis_params

__all__ = [
    "R3FrequencyCutoff",
    "SampledR3IrrepsBasis",
    "evaluate_basis_r3",
    "kernel_grid_r3",
    "real_spherical_harmonics",
    "resolve_r3_basis_params",
    "sample_irreps_basis_r3",
    "steerable_basis_r3",
]

#: Elements whose sampled norm is below this are considered empty and dropped (as on the plane).
_NORM_EPS = 1e-6
#: Eigenvalues of the constraint's Gram matrix below this (per constraint) span the intertwiner space.
_NULL_TOL = 1e-8


class R3FrequencyCutoff:
    """The default maximum degree ``J`` of a shell of radius ``r`` in space (picklable callable).

    ``f(r) = min(2 r, 2 + max_radius - r)`` with ``max_radius = kernel_size // 2`` (not scaled by the
    dilation): the degree grows as on the plane up to the outermost default shell and decreases beyond it.

    Args:
        max_radius: ``kernel_size // 2``.

    Example:
        >>> fco = R3FrequencyCutoff(2)
        >>> [fco(r) for r in (0.0, 1.0, 2.0, 3.0)]
        [0.0, 2.0, 2.0, 1.0]
    """

    def __init__(self, max_radius: float) -> None:
        self.max_radius = float(max_radius)

    def __call__(self, r: float) -> float:
        return min(2.0 * r, 2.0 + self.max_radius - r)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, R3FrequencyCutoff) and other.max_radius == self.max_radius

    def __hash__(self) -> int:
        return hash(("R3FrequencyCutoff", self.max_radius))

    def __repr__(self) -> str:
        return f"R3FrequencyCutoff(max_radius={self.max_radius})"


def resolve_r3_basis_params(
    kernel_size: int,
    dilation: int = 1,
    rings: Sequence[float] | None = None,
    sigma: Sequence[float] | float | None = None,
    frequencies_cutoff: float | Callable[[float], float] | None = None,
) -> tuple[tuple[float, ...], tuple[float, ...], Callable[[float], float]]:
    """Validate and fill in the shell radii, widths and degree cut-off of a kernel basis in space.

    As :func:`~structconv.kernels.sampling.resolve_basis_params`, except the default cut-off
    (:class:`R3FrequencyCutoff`) and that every ring must lie within ``√3 · dilation · (kernel_size-1)/2``.

    Raises:
        ValueError: on a bad kernel size, dilation, rings (also outside the grid) or sigma.
        TypeError: on a frequency cut-off that is neither ``None``, a number nor a callable.

    Example:
        >>> resolve_r3_basis_params(5)
        ((0.0, 1.0, 2.0), (0.005, 0.6, 0.4), R3FrequencyCutoff(max_radius=2.0))
    """
    rings_t, sigma_t, cutoff = resolve_basis_params(kernel_size, dilation, rings, sigma, frequencies_cutoff)
    if frequencies_cutoff is None:
        cutoff = R3FrequencyCutoff(int(kernel_size) // 2)
    limit = math.sqrt(3.0) * int(dilation) * (int(kernel_size) - 1) / 2
    if any(r > limit for r in rings_t):
        raise ValueError(
            f"rings={list(rings_t)!r} is not valid; expected radii in [0, {limit:.6g}] (the half diagonal "
            f"sqrt(3) * dilation * (kernel_size - 1) / 2 of a {kernel_size}^3 grid with dilation {dilation})"
        )
    return rings_t, sigma_t, cutoff


def kernel_grid_r3(kernel_size: int, dilation: int = 1) -> np.ndarray:
    """The points ``(x, y, z)`` of the voxels of a ``k³`` kernel, C order over ``(D, H, W)``: ``(3, k³)``.

    Example:
        >>> kernel_grid_r3(3)[:, :2]
        array([[-1.,  0.],
               [ 1.,  1.],
               [ 1.,  1.]])
    """
    return _grid(int(kernel_size), int(dilation)).copy()


@lru_cache(maxsize=64)
def _grid(kernel_size: int, dilation: int) -> np.ndarray:
    c = (kernel_size - 1) / 2
    i, j, k = np.indices((kernel_size,) * 3, dtype=np.float64).reshape(3, -1)
    grid = np.stack([k - c, c - j, c - i]) * dilation
    grid.setflags(write=False)
    return grid


def real_spherical_harmonics(degree: int, points: np.ndarray) -> np.ndarray:
    r"""The real spherical harmonics of ``degree`` at the directions of ``points`` ``(3, P)``: ``(2J+1, P)``.

    Orthonormal on the unit sphere, order ``m = -J..J`` (``m > 0``: :math:`\cos m\varphi`, ``m < 0``:
    :math:`\sin |m|\varphi`); at the origin ``Y_0`` is its constant and the others are 0.

    Raises:
        ValueError: ``degree`` is not an int in ``0..85``, or ``points`` is not ``(3, P)``.

    Example:
        >>> import numpy as np
        >>> np.round(real_spherical_harmonics(1, np.eye(3)) * np.sqrt(4 * np.pi / 3), 12)
        array([[0., 1., 0.],
               [0., 0., 1.],
               [1., 0., 0.]])
    """
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or degree < 0:
        raise ValueError(f"degree={degree!r} is not valid; expected an int >= 0")
    if degree > _MAX_HARMONIC_DEGREE:
        raise ValueError(
            f"degree={degree!r} is not computed; expected at most {_MAX_HARMONIC_DEGREE} (the normalisation "
            "divides by (degree + m)!, which float64 holds up to 170!)"
        )
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[0] != 3:
        raise ValueError(f"points of shape {pts.shape} is not accepted; expected (3, P)")
    return _harmonics(int(degree), pts)


class _DegreeTooLarge(ValueError):
    """A spherical harmonic of a degree above ``_MAX_HARMONIC_DEGREE`` was asked for."""

    def __init__(self, degree: int) -> None:
        super().__init__(f"spherical harmonics of degree {degree}; at most {_MAX_HARMONIC_DEGREE} computed")
        self.degree = degree


#: the largest degree of the real spherical harmonics computed here: their normalisation divides by (J + m)!,
#: which float64 holds up to 170!
_MAX_HARMONIC_DEGREE = 85


def _harmonics(J: int, pts: np.ndarray) -> np.ndarray:
    if J > _MAX_HARMONIC_DEGREE:
        raise _DegreeTooLarge(J)
    r = np.sqrt((pts**2).sum(0))
    origin = r < 1e-12
    out = np.empty((2 * J + 1, pts.shape[1]))
    if J == 0:
        out[0] = 1.0 / math.sqrt(4 * math.pi)
        return out
    x, y, z = pts / np.where(origin, 1.0, r)
    re, im = np.ones_like(x), np.zeros_like(x)  # (x + iy)^m
    for m in range(J + 1):
        if m:
            re, im = re * x - im * y, re * y + im * x
        # P_l^m(z) / sin^m(theta) by the three-term recursion in l, from (2m-1)!!
        q_prev, q = np.zeros_like(z), np.full_like(z, float(np.prod(np.arange(1, 2 * m, 2))))
        for ll in range(m + 1, J + 1):
            q_prev, q = q, ((2 * ll - 1) * z * q - (ll + m - 1) * q_prev) / (ll - m)
        norm = math.sqrt((2 * J + 1) / (4 * math.pi) * math.factorial(J - m) / math.factorial(J + m))
        if m == 0:
            out[J] = norm * q
        else:
            out[J + m] = math.sqrt(2.0) * norm * q * re
            out[J - m] = math.sqrt(2.0) * norm * q * im
    out[:, origin] = 0.0
    return out


@lru_cache(maxsize=64)
def _fit_points(J: int) -> tuple[np.ndarray, np.ndarray]:
    """Fibonacci points of the sphere and the pseudo-inverse of the harmonics there."""
    n = 4 * (2 * J + 1) + 8
    k = np.arange(n) + 0.5
    z = 1 - 2 * k / n
    phi = math.pi * (1 + math.sqrt(5.0)) * k
    s = np.sqrt(1 - z**2)
    X = np.stack([s * np.cos(phi), s * np.sin(phi), z])
    return X, np.linalg.pinv(_harmonics(J, X))


def _harmonic_action(J: int, A: np.ndarray) -> np.ndarray:
    """``D [E, 2J+1, 2J+1]`` with ``Y_J(A x) = D Y_J(x)`` for the orthogonal matrices ``A [E, 3, 3]``."""
    X, pinv = _fit_points(J)
    moved = np.einsum("eab,bp->eap", A, X)
    values = _harmonics(J, moved.transpose(1, 0, 2).reshape(3, -1)).reshape(2 * J + 1, A.shape[0], -1)
    return np.einsum("mep,pn->emn", values, pinv)


@lru_cache(maxsize=64)
def _constraint_elements(gspace: Any) -> tuple[tuple[Any, ...], np.ndarray]:
    """Elements whose invariance implies invariance under the whole fibre group, and their 3x3 matrices."""
    G = gspace.fibergroup
    if not G.continuous:
        elements = list(G.elements)
    else:
        testing = list(G.testing_elements())
        step = max(1, len(testing) // 12)
        elements = testing[1::step]
        if hasattr(G, "sample"):
            elements += [G.sample(seed) for seed in (1, 2, 3)]
    A = np.stack([np.asarray(gspace.basespace_action(g), dtype=np.float64) for g in elements])
    return tuple(elements), A


@lru_cache(maxsize=64)
def _all_elements(gspace: Any) -> tuple[tuple[Any, ...], np.ndarray]:
    """All the elements of a finite fibre group and their 3x3 matrices."""
    elements = tuple(gspace.fibergroup.elements)
    return elements, np.stack([np.asarray(gspace.basespace_action(g), dtype=np.float64) for g in elements])


@lru_cache(maxsize=1024)
def _irrep_stack(gspace: Any, name: str, finite: bool) -> np.ndarray:
    """The matrices ``[E, d, d]`` of an irrep at all the elements (finite) or the constraint elements."""
    elements = _all_elements(gspace)[0] if finite else _constraint_elements(gspace)[0]
    return gspace.fibergroup.irreps[name].representation_matrices(list(elements))


@lru_cache(maxsize=4096)
def _angular_basis(gspace: Any, in_name: str, out_name: str, J: int) -> np.ndarray:
    """Orthonormal ``T [n, 2J+1, d_out, d_in]`` spanning the degree-``J`` kernels of an irrep pair.

    ``T`` is invariant under ``Phi_g: T_n -> sum_m D_mn(g) psi_out(g)^T T_m psi_in(g)``. Finite groups: the
    invariants are the range of the average of ``Phi_g`` (a projector; its trace, the multiplicity from the
    characters, is checked first). SO(3) and O(3): the Clebsch-Gordan coefficients (closed form). The other
    continuous groups: the null space of ``sum_g (Phi_g - 1)^T (Phi_g - 1)`` over a few generic elements.
    The basis of a multi-dimensional solution space is canonical (:func:`_canonical_basis`).
    """
    closed = _clebsch_gordan_basis(gspace, in_name, out_name, J)
    if closed is not None:
        return closed
    finite = not gspace.fibergroup.continuous
    A = _all_elements(gspace)[1] if finite else _constraint_elements(gspace)[1]
    D = _harmonic_action(J, A)
    ri, ro = _irrep_stack(gspace, in_name, finite), _irrep_stack(gspace, out_name, finite)
    E, M, do, di = len(A), 2 * J + 1, ro.shape[1], ri.shape[1]
    n = M * do * di
    if finite:
        chi = np.einsum("emm->e", D) * np.einsum("epp->e", ro) * np.einsum("eqq->e", ri)
        mult = int(round(float(chi.mean())))
        if mult == 0:
            basis = np.zeros((0, M, do, di))
        else:
            proj = np.einsum("emn,epo,eqi->noimpq", D, ro, ri).reshape(n, n) / E
            basis = _canonical_basis(proj, mult).reshape(mult, M, do, di)
    else:
        phi = np.einsum("emn,epo,eqi->noimpq", D, ro, ri).reshape(n, n)
        # sum over g of (Phi_g - 1)^T (Phi_g - 1) = 2 - Phi_g - Phi_g^T (Phi_g orthogonal): its null space
        gram = 2.0 * E * np.eye(n) - phi - phi.T
        one_blas_thread_for(gram)
        values, vectors = np.linalg.eigh(gram)
        null = vectors[:, values < _NULL_TOL * E]
        basis = _canonical_basis(null @ null.T, null.shape[1]).reshape(-1, M, do, di)
    basis.setflags(write=False)
    return basis


def _canonical_basis(proj: np.ndarray, k: int) -> np.ndarray:
    """A basis ``[k, n]`` of the range of ``proj`` that does not depend on the LAPACK build (a fixed probe;
    :func:`structconv.group._linalg.canonical_range`)."""
    return canonical_range(proj, np.random.default_rng(0).standard_normal((proj.shape[0], k)))


@lru_cache(maxsize=64)
def _harmonics_are_irreps(gspace: Any) -> bool:
    """Whether the gspace is SO(3) or O(3) acting on R^3 as itself, so that the degree-J harmonics transform
    as its irrep of frequency J (parity J mod 2), in the same basis (checked at the constraint elements)."""
    from structconv.group.o3 import O3
    from structconv.group.so3 import SO3

    G = gspace.fibergroup
    if not isinstance(G, (SO3, O3)):
        return False
    elements, A = _constraint_elements(gspace)
    for J in (1, 2):
        irrep = G.irrep(J) if isinstance(G, SO3) else G.irrep(J % 2, J)
        R = irrep.representation_matrices(list(elements))
        if np.abs(_harmonic_action(J, A) - R).max() > 1e-9:
            return False
    return True


def _clebsch_gordan_basis(gspace: Any, in_name: str, out_name: str, J: int) -> np.ndarray | None:
    """SO(3) and O(3): the degree-``J`` kernels from ``l_in`` to ``l_out`` in closed form, the Clebsch-Gordan
    coefficients ``C(J, l_in -> l_out)`` (one solution for ``|l_in - l_out| <= J <= l_in + l_out``; O(3) also
    needs ``j_in + j_out + J`` even: the harmonic of degree J has parity ``(-1)^J``), as Weiler et al. 2018
    (3D Steerable CNNs, eq. 9) write the basis. None for the other gspaces."""
    if not _harmonics_are_irreps(gspace):
        return None
    from structconv.group._so3_maths import clebsch_gordan_real

    G = gspace.fibergroup
    id_in, id_out = G.irreps[in_name].id, G.irreps[out_name].id
    l_in, l_out = id_in[-1], id_out[-1]
    if not abs(l_in - l_out) <= J <= l_in + l_out or (len(id_in) == 2 and (id_in[0] + id_out[0] + J) % 2):
        basis = np.zeros((0, 2 * J + 1, 2 * l_out + 1, 2 * l_in + 1))
    else:  # C[k, i, o]: (D^J (x) D^l_in) C = C D^l_out; the kernel is sum_k Y_k(x) C[k, :, :]^T
        C = clebsch_gordan_real(J, l_in, l_out)
        basis = (C.transpose(0, 2, 1) / math.sqrt(2 * l_out + 1))[None].copy()
    basis.setflags(write=False)
    return basis


@dataclass(frozen=True, eq=False)
class SampledR3IrrepsBasis:
    """The sampled, normalised kernel basis in space of one irrep pair of a gspace's fibre group.

    Attributes:
        in_irrep: the input irrep's name; out_irrep likewise.
        array: float64 ``[n_elements, out_dim, in_dim, n_points]`` (read-only).
        attributes: one dict per element: ``radius``, ``sigma``, ``frequency`` (the degree ``J``, also
            ``j``), ``gamma`` (0), ``s`` (index in the degree's intertwiner space), ``shape``.
        angular: per element, the coefficients ``T [2J+1, out_dim, in_dim]`` of the harmonics.
        norms: per element, the sampled norm it was divided by.
    """

    in_irrep: str
    out_irrep: str
    array: np.ndarray
    attributes: tuple[dict[str, Any], ...] = field(repr=False)
    angular: tuple[np.ndarray, ...] = field(repr=False, default=())
    norms: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    def __len__(self) -> int:
        return int(self.array.shape[0])

    def evaluate(self, points: np.ndarray) -> np.ndarray:
        """The normalised elements at arbitrary points ``(3, P)``: ``[n_elements, out_dim, in_dim, P]``.

        Example:
            >>> from structconv.gspaces.r3 import octaOnR3
            >>> gs = octaOnR3()
            >>> b = sample_irreps_basis_r3(gs, "irrep_1", "irrep_1", 3)
            >>> bool(np.allclose(b.evaluate(kernel_grid_r3(3)), b.array))
            True
        """
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[0] != 3:
            raise ValueError(f"points of shape {pts.shape} is not accepted; expected (3, P)")
        do, di = self.array.shape[1:3]
        if not self.attributes:
            return np.zeros((0, do, di, pts.shape[1]))
        values = _evaluate(list(self.attributes), list(self.angular), pts)
        return values / self.norms[:, None, None, None]


def _evaluate(attrs: Sequence[dict[str, Any]], angular: Sequence[np.ndarray], pts: np.ndarray) -> np.ndarray:
    """Un-normalised values ``[n, do, di, P]`` (one einsum per shell and degree)."""
    r = np.sqrt((pts**2).sum(0))
    do, di = angular[0].shape[1:]
    out = np.empty((len(attrs), do, di, pts.shape[1]))
    harmonics: dict[int, np.ndarray] = {}
    start = 0
    while start < len(attrs):
        a = attrs[start]
        stop = start
        while stop < len(attrs) and attrs[stop]["block"] == a["block"]:
            stop += 1
        J = a["frequency"]
        if J not in harmonics:
            harmonics[J] = _harmonics(J, pts)
        radial = np.exp(-((r - a["radius"]) ** 2) / (2 * a["sigma"] ** 2))
        T = np.stack(angular[start:stop])
        out[start:stop] = np.einsum("nmoi,mp->noip", T, harmonics[J]) * radial
        start = stop
    return out


def _check_gspace(gspace: Any, owner: str) -> None:
    from structconv.gspaces.r3 import GSpace3D

    if not isinstance(gspace, GSpace3D):
        raise TypeError(f"{owner}: gspace={gspace!r} is not accepted; expected a GSpace3D (e.g. rot3dOnR3())")


def sample_irreps_basis_r3(
    gspace: Any,
    in_irrep: str,
    out_irrep: str,
    kernel_size: int,
    dilation: int = 1,
    rings: Sequence[float] | None = None,
    sigma: Sequence[float] | float | None = None,
    frequencies_cutoff: float | Callable[[float], float] | None = None,
) -> SampledR3IrrepsBasis:
    """Sample the steerable kernel basis in space of one irrep pair on a ``k³`` grid (cached).

    Args:
        gspace: the :class:`~structconv.gspaces.r3.GSpace3D`.
        in_irrep: name of an irrep of ``gspace.fibergroup`` (``"irrep_1"``); out_irrep likewise.
        kernel_size, dilation, rings, sigma, frequencies_cutoff: see :func:`steerable_basis_r3`.

    Returns:
        A :class:`SampledR3IrrepsBasis` (possibly empty).

    Example:
        >>> from structconv.gspaces.r3 import icoOnR3
        >>> len(sample_irreps_basis_r3(icoOnR3(), "irrep_0", "irrep_0", 5))
        3
    """
    _check_gspace(gspace, "sample_irreps_basis_r3")
    for arg, name in (("in_irrep", in_irrep), ("out_irrep", out_irrep)):
        try:
            gspace.fibergroup.irreps[name]
        except (KeyError, ValueError, TypeError):
            raise ValueError(
                f"{arg}={name!r} is not an irrep of {gspace.fibergroup.name}; expected one of "
                f"{list(gspace.fibergroup.irreps)}"
            ) from None
    params = resolve_r3_basis_params(kernel_size, dilation, rings, sigma, frequencies_cutoff)
    return _sample_pair(gspace, in_irrep, out_irrep, int(kernel_size), int(dilation), *params)


@lru_cache(maxsize=4096)
def _sample_pair(
    gspace: Any,
    in_name: str,
    out_name: str,
    kernel_size: int,
    dilation: int,
    rings: tuple[float, ...],
    sigma: tuple[float, ...],
    cutoff: Callable[[float], float],
) -> SampledR3IrrepsBasis:
    G = gspace.fibergroup
    do, di = G.irreps[out_name].size, G.irreps[in_name].size
    attrs: list[dict[str, Any]] = []
    angular: list[np.ndarray] = []
    for ring, (radius, width) in enumerate(zip(rings, sigma)):
        fmax = _cutoff_at(cutoff, radius)
        if fmax < 0:
            continue
        top = int(math.floor(fmax))
        for J in range(top + 1):
            try:
                T = _angular_basis(gspace, in_name, out_name, J)
            except _DegreeTooLarge as exc:
                raise ValueError(
                    f"frequencies_cutoff gives {fmax!r} on the ring of radius {radius}, which needs "
                    f"spherical harmonics of degree {exc.degree}; expected at most {_MAX_HARMONIC_DEGREE} "
                    "(what float64 computes) for this group"
                ) from None
            for s, t in enumerate(T):
                attrs.append(
                    {
                        "radius": radius,
                        "sigma": width,
                        "frequency": J,
                        "j": J,
                        "gamma": 0.0,
                        "s": s,
                        "ring": ring,
                        "block": (ring, J),
                        "shape": (do, di),
                    }
                )
                angular.append(t)
    n_points = kernel_size**3
    if not attrs:
        return SampledR3IrrepsBasis(in_name, out_name, np.zeros((0, do, di, n_points)), ())
    values = _evaluate(attrs, angular, _grid(kernel_size, dilation))
    norms = np.sqrt((values**2).reshape(len(attrs), -1).sum(1) / do)
    keep = norms >= _NORM_EPS
    values = values[keep] / norms[keep, None, None, None]
    values.setflags(write=False)
    kept = tuple(a for a, k in zip(attrs, keep) if k)
    kept_angular = tuple(t for t, k in zip(angular, keep) if k)
    return SampledR3IrrepsBasis(in_name, out_name, values, kept, kept_angular, norms[keep])


def steerable_basis_r3(
    gspace: Any,
    in_repr: Any,
    out_repr: Any,
    kernel_size: int,
    dilation: int = 1,
    rings: Sequence[float] | None = None,
    sigma: Sequence[float] | float | None = None,
    frequencies_cutoff: float | Callable[[float], float] | None = None,
) -> SteerableBasis:
    r"""Sample the complete basis of steerable kernels in space from ``in_repr`` to ``out_repr`` (cached).

    Every element satisfies :math:`\kappa(g x) = \rho_{out}(g) \kappa(x) \rho_{in}(g)^{-1}` for all ``g`` of
    ``gspace.fibergroup`` acting on points by ``gspace.basespace_action``; sampled on the ``k³`` voxels
    (:func:`kernel_grid_r3`), cross-correlation by ``conv3d`` with the expanded filter is equivariant under
    ``gspace.featurefield_action`` for the elements that map the grid onto itself. The number of elements
    equals escnn 1.0.11's ``R3Conv(...).basisexpansion.dimension()`` for the same arguments.

    Args:
        gspace: the :class:`~structconv.gspaces.r3.GSpace3D` (fixes how the fibre group moves points).
        in_repr: input :class:`~structconv.group.Representation` of ``gspace.fibergroup``.
        out_repr: output representation of the same group.
        kernel_size: size of the cubic filter (``>= 1``).
        dilation: spacing between the kernel's voxels (``>= 1``).
        rings: shell radii (default ``ceil(k/2)`` shells at ``0, 1, ..., (k-1)//2`` times ``dilation``), at
            most ``√3 · dilation · (k-1)/2``.
        sigma: shell widths: one per ring or one float (default 0.6, the last 0.4, 0.005 at radius 0).
        frequencies_cutoff: largest degree ``J`` per radius: a callable, a float ``λ`` (``λ r``) or ``None``
            (:class:`R3FrequencyCutoff`).

    Returns:
        A :class:`~structconv.kernels.SteerableBasis` of shape ``(n, out_size, in_size, k³)``.

    Raises:
        TypeError: ``gspace`` is not a ``GSpace3D`` or ``frequencies_cutoff`` is of a wrong type.
        ValueError: the representations do not belong to ``gspace.fibergroup``, or a parameter is invalid.

    Example:
        >>> from structconv.gspaces.r3 import octaOnR3
        >>> gs = octaOnR3()
        >>> R = gs.fibergroup.regular_representation
        >>> steerable_basis_r3(gs, R, R, 3).shape
        (240, 24, 24, 27)
    """
    _check_gspace(gspace, "steerable_basis_r3")
    G = gspace.fibergroup
    for arg, rep in (("in_repr", in_repr), ("out_repr", out_repr)):
        if getattr(rep, "group", None) != G:
            raise ValueError(
                f"{arg}={rep!r} is not accepted; expected a representation of {G.name} (the fibre group "
                f"of {gspace.name})"
            )
    params = resolve_r3_basis_params(kernel_size, dilation, rings, sigma, frequencies_cutoff)
    return _steerable_basis_r3_cached(gspace, in_repr, out_repr, int(kernel_size), int(dilation), *params)


@lru_cache(maxsize=256)
def _steerable_basis_r3_cached(
    gspace: Any,
    in_repr: Any,
    out_repr: Any,
    kernel_size: int,
    dilation: int,
    rings: tuple[float, ...],
    sigma: tuple[float, ...],
    cutoff: Callable[[float], float],
) -> SteerableBasis:
    G = gspace.fibergroup
    dims = {n: G.irreps[n].size for n in set(in_repr.irreps) | set(out_repr.irreps)}

    def pair_basis(out_name: str, in_name: str) -> SampledR3IrrepsBasis:
        return _sample_pair(gspace, in_name, out_name, kernel_size, dilation, rings, sigma, cutoff)

    return assemble_basis(in_repr, out_repr, dims, pair_basis, kernel_size**3)


def evaluate_basis_r3(basis: SteerableBasis, points: np.ndarray) -> np.ndarray:
    """The elements of a basis from :func:`steerable_basis_r3` at arbitrary points ``(3, P)``.

    Returns:
        float64 ``[n_elements, out_size, in_size, P]``; at :func:`kernel_grid_r3` it equals ``basis.array``.

    Example:
        >>> from structconv.gspaces.r3 import rot3dOnR3
        >>> gs = rot3dOnR3()
        >>> b = steerable_basis_r3(gs, gs.fibergroup.irrep(1), gs.fibergroup.irrep(2), 3)
        >>> bool(np.allclose(evaluate_basis_r3(b, kernel_grid_r3(3)), b.array))
        True
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[0] != 3 or not np.isfinite(pts).all():
        raise ValueError(f"points of shape {pts.shape} is not accepted; expected finite coordinates (3, P)")
    if basis.q_out is None or basis.q_in_inv is None:
        raise ValueError(
            "basis: expected a SteerableBasis with its changes of basis (from steerable_basis_r3)"
        )
    n, x, y, _ = basis.shape
    out = np.zeros((n, x, y, pts.shape[1]))
    in_off = np.concatenate([[0], np.cumsum(basis.in_dims)]).astype(int)
    out_off = np.concatenate([[0], np.cumsum(basis.out_dims)]).astype(int)
    values = {key: pair.evaluate(pts) for key, pair in basis.irreps_bases.items() if len(pair)}
    a, b, e = basis.elements.T
    for key, vals in values.items():
        sel = np.flatnonzero(
            (np.array(basis.out_irreps, dtype=object)[a] == key[0])
            & (np.array(basis.in_irreps, dtype=object)[b] == key[1])
        )
        if not len(sel):
            continue
        do, di = vals.shape[1:3]
        qo = np.stack([basis.q_out[:, out_off[i] : out_off[i] + do] for i in a[sel]])  # [S, X, do]
        qi = np.stack([basis.q_in_inv[in_off[i] : in_off[i] + di, :] for i in b[sel]])  # [S, di, Y]
        out[sel] = np.einsum("sxo,soip,siy->sxyp", qo, vals[e[sel]], qi)
    return out
