r"""Finite sets of sample points on groups and on the sphere, for the Fourier transforms of ``structconv.nn``.

:func:`grid` returns elements of a group ``G`` (escnn's ``G.grid(...)`` arguments), :func:`sphere_grid`
returns representatives :math:`g_i` of cosets of the sphere :math:`S^2 = SO(3)/SO(2) = O(3)/O(2)`, the
rotation taking the north pole :math:`e_z` to the point :math:`p_i = g_i e_z` (escnn's
``G.sphere_grid(...)``). A band-limited function on the group (or the sphere) is sampled on these points by
the Fourier non-linearities (:class:`structconv.nn.FourierPointwise`).

Grids (all float64, deterministic, cached; ``'rand'`` draws from ``numpy.random.default_rng(seed)``):

============================  =====================================================================
group                         ``grid(G, ...)``
============================  =====================================================================
SO(2)                         ``grid(G, N, type='regular', seed=None)``: ``'regular'`` the angles
                              :math:`2\pi i/N`; ``'rand'`` ``N`` uniform angles
O(2)                          the same; ``'regular'`` gives the ``N`` rotations, then the ``N``
                              reflections ``(1, 2πi/N)`` (``2N`` elements); :func:`grid_so2` only
                              the rotations
C_M, D_M (and the flips)      ``grid(G, type, N)``: ``'regular'`` the subgroup of ``N`` rotations
                              (``N`` divides ``M``; ``D_M``: times the reflections, ``2N``);
                              ``'rand'`` ``N`` uniform elements
SO(3)                         ``grid(G, type, *args, adj=None, parametrization='Q')``: ``'ico'``
                              (60), ``'cube'`` (24), ``'tetra'`` (12) rotations of the platonic
                              solids; ``'hopf'`` (``N``) and ``'fibonacci'`` (``N``) about ``N``
                              rotations (:func:`hopf_so3`, :func:`fibonacci_so3`); ``'thomson'``
                              ``N`` rotations spread by minimising a repulsive energy,
                              ``'thomson_cube'`` ``24 N`` such rotations with the octahedral
                              symmetry; ``'rand'`` (``N``, ``seed``)
O(3)                          ``'rand'`` ``N``; any SO(3) grid taken twice, with and without the
                              inversion (:func:`grid_so3`: once, without it)
C2 × H (cylinders, O_h, I_h)  ``grid(G, 'rand', N, seed=None)``: ``N`` random pairs; or the product
                              of the factors' grids, their arguments as keywords ``G1_...`` (C2)
                              and ``G2_...`` (``H``), e.g. ``G1_type='regular', G1_N=2, G2_N=8``
                              (C2-major, escnn's order)
finite groups of space        ``grid(G)`` / ``grid(G, 'regular')``: every element
============================  =====================================================================

``sphere_grid(G, type, *args, adj=None)`` (SO(3), O(3)): ``'cube'`` the 6 face centres
(:math:`\pm e_x, \pm e_y, \pm e_z`), ``'cube_vertices'`` the 8 vertices :math:`(\pm 1, \pm 1, \pm 1)/\sqrt 3`,
``'tetra'`` the orbit of :math:`e_z` under the tetrahedral group (the same 6 points), ``'ico'`` the 30 edge
centres of the icosahedron (the orbit of :math:`e_z` under the icosahedral group, escnn's orientation),
``'healpix'`` (``N_side``) the :math:`12 N_{side}^2` HEALPix pixel centres (:func:`healpix_sphere`; as in
escnn, the argument is ``N_side``, not a number of points), ``'longlat'`` (``N``, ``M``) ``M`` latitudes
(both poles included, once each) times ``N`` longitudes, :math:`N (M - 2) + 2` points
(:func:`longlat_sphere`), ``'fibonacci'`` the ``N`` points of the Fibonacci lattice, ``'thomson'`` ``N``
points minimising :math:`\sum_{i<j} 1/|p_i - p_j|`, ``'thomson_cube'`` ``24 N`` such points with the
octahedral symmetry, ``'rand'`` ``N`` uniform points. As escnn, O(3)'s points are the antipodes
:math:`-p_i` of SO(3)'s (the same set for the symmetric grids; escnn's ``SO3.sphere_grid`` maps :math:`e_z`
to minus its list of points, ``O3.sphere_grid`` to the list itself).

``adj`` (escnn's): an element :math:`a` of SO(3) / O(3) (or, for :func:`grid`, a unit quaternion
``(x, y, z, w)``) conjugates a group grid, :math:`g \mapsto a g a^{-1}`, and moves a sphere grid,
:math:`p \mapsto a p`. ``parametrization`` (SO(3), O(3)) is accepted for escnn's signature: the elements
are the same in every parametrization.

The deterministic grids reproduce escnn 1.0.11's points (``'regular'``, ``'cube'``, ``'ico'``, ``'tetra'``,
``'hopf'``, ``'fibonacci'``, ``'healpix'``, ``'longlat'``, ``'cube_vertices'``): in escnn's order, except
``'hopf'`` and ``'fibonacci'`` on SO(3) and the platonic sphere grids, which escnn lists in the order of a
Python set (ours: sphere point major, rotation angle minor). ``N`` of ``'hopf'`` and ``'fibonacci'`` is a
real number, as in escnn: ``'hopf'`` needs ``N >= 2 pi^2`` (19.7392) and ``'fibonacci'``
``N >= sqrt(3.375 pi)`` (3.2562), the smallest values escnn accepts.

The ``'thomson'`` and ``'thomson_cube'`` grids are ours: a deterministic projected gradient descent from a
fixed start (a Fibonacci lattice on the sphere; a seeded uniform draw on SO(3), where the energy also counts
the antipodal quaternion, since :math:`\pm q` is one rotation). ``'thomson_cube'`` optimises ``N`` seeds
whose orbits under the 24 rotations of the cube make the grid (the energy of the whole orbit, the best of
4 seeded starts), so the symmetry is exact to rounding. escnn optimises its own energy with Adam from its own
seeded start (minutes for a few tens of points; ``'thomson_cube'`` in float32): the points differ from
escnn's, so modules built on these grids do not reproduce escnn's numbers. 400 steps cost about 0.4 s for
40 rotations, 8 s for 192 (``'thomson_cube'``: 0.3 s for ``N = 4``, 96 rotations; 6 s for ``N = 20``).
Measured against escnn's points (computed once, not stored): 40 sphere points, Coulomb energy 660.75
(escnn's 662.44), smallest angle 0.552 (0.444), worst relative equivariance error of the sphere ELU on 10
random rotations at band limit 1 / 2 / 3: 0.0029 / 0.014 / 0.037 (escnn's grid: 0.013 / 0.023 / 0.068); 20
rotations, smallest angle 1.68 (1.49), the group ELU at band limit 1: 0.106 (0.108). ``'thomson_cube'``,
energy (smallest angle), ours vs escnn's: sphere ``N = 1, 2, 4``: 223.347 (0.734) vs 223.349 (0.732),
968.71 (0.518) vs 969.60 (0.495), 4090.79 (0.350) vs 4092.32 (0.314); SO(3) ``N = 1, 2``: 437.199 (π/2) and
1831.808 (1.047) for both (escnn's sets are invariant under left multiplication by the cube too).

Example:
    >>> from structconv.group import so3_group, so2_group
    >>> from structconv.group.grids import grid, sphere_grid
    >>> len(grid(so3_group(), "cube")), len(grid(so2_group(), 8))
    (24, 8)
    >>> len(grid(so3_group(), "hopf", 100)), len(grid(so3_group(), "fibonacci", N=100))
    (84, 85)
    >>> len(sphere_grid(so3_group(), "healpix", 2)), len(sphere_grid(so3_group(), "longlat", 4, 5))
    (48, 14)
    >>> pts = sphere_poles(sphere_grid(so3_group(), "cube"))
    >>> sorted((np.round(pts, 6) + 0.0).tolist())[:2]
    [[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]]
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import Any

import numpy as np

__all__ = [
    "grid",
    "grid_so2",
    "grid_so3",
    "sphere_grid",
    "sphere_points",
    "sphere_poles",
    "thomson_so3",
    "thomson_sphere",
    "thomson_cube_so3",
    "thomson_cube_sphere",
    "fibonacci_sphere",
    "fibonacci_so3",
    "healpix_sphere",
    "hopf_so3",
    "longlat_sphere",
]

_TWO_PI = 2.0 * math.pi


def _count(value: Any, argname: str, where: str, minimum: int = 1, why: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < minimum:
        raise ValueError(
            f"{where}: {argname}={value!r} is not accepted; expected an int >= {minimum}"
            + (f" ({why})" if why else "")
        )
    return int(value)


def _real_size(value: Any, argname: str, where: str, accepted: str) -> float:
    """A grid size that escnn's formulas use as a real number (``'hopf'``, ``'fibonacci'``); ``accepted``
    says which (the error's last words)."""
    try:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))
    except OverflowError:  # an int too large for a float
        ok = False
    if not ok or float(value) <= 0:
        raise ValueError(f"{where}: {argname}={value!r} is not accepted; expected {accepted}")
    return float(value)


def _rng(seed: Any) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _pop_args(
    where: str, names: list[str], args: tuple[Any, ...], kwargs: dict[str, Any], defaults: dict[str, Any]
) -> list[Any]:
    """escnn-style positional-or-keyword arguments ``names`` (in order), with defaults."""
    if len(args) > len(names):
        raise TypeError(f"{where}: too many positional arguments {args!r}; expected {names}")
    values = dict(zip(names, args))
    for k in list(kwargs):
        if k in names:
            if k in values:
                raise TypeError(f"{where}: got two values for the argument {k!r}")
            values[k] = kwargs.pop(k)
    if kwargs:
        raise TypeError(f"{where}: unexpected keyword arguments {sorted(kwargs)}; expected {names}")
    out = []
    for n in names:
        if n in values:
            out.append(values[n])
        elif n in defaults:
            out.append(defaults[n])
        else:
            raise TypeError(f"{where}: the argument {n!r} is missing; expected {names}")
    return out


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.float64)
    a.setflags(write=False)
    return a


# ---------------------------------------------------------------------------------------------- point sets
def fibonacci_sphere(N: int) -> np.ndarray:
    r"""The Fibonacci lattice: ``N`` points on :math:`S^2` ``(N, 3)`` along the :math:`y` axis, the points of
    escnn's ``SO3.sphere_grid('fibonacci', N)``:
    :math:`y_i = -1 + 2i/(N - 1)`, :math:`(x_i, z_i) = -\sqrt{1 - y_i^2}\,(\cos\varphi_i, \sin\varphi_i)`,
    :math:`\varphi_i = i\pi(3 - \sqrt 5)` (the golden angle). (escnn's list of points, used by its
    ``O3.sphere_grid`` and its ``'fibonacci'`` SO(3) grid, is the antipodal one, ``-fibonacci_sphere(N)``.)"""
    N = _count(N, "N", "fibonacci_sphere")
    i = np.arange(N, dtype=np.float64)
    y = -1.0 + 2.0 * i / max(N - 1, 1)
    r = np.sqrt(np.clip(1.0 - y * y, 0.0, None))
    phi = i * math.pi * (3.0 - math.sqrt(5.0))
    return np.stack([-r * np.cos(phi), y, -r * np.sin(phi)], axis=1)


@functools.lru_cache(maxsize=32)
def healpix_sphere(N_side: int) -> np.ndarray:
    r"""The :math:`12 N_{side}^2` pixel centres of the HEALPix grid (Górski et al. 2005) ``(n, 3)``
    (read-only), in escnn's order: the southern points, then the northern ones and the equator.

    Northern rings, :math:`j = 1, \dots` along each ring: the polar cap, :math:`i = 1, \dots, N_{side} - 1`,
    :math:`z = 1 - i^2 / (3 N_{side}^2)`, :math:`4i` points at :math:`\varphi = \frac{\pi}{2i}(j - \frac12)`;
    the equatorial belt, :math:`i = N_{side}, \dots, 2N_{side}`, :math:`z = \frac43 - \frac{2i}{3N_{side}}`,
    :math:`4N_{side}` points at :math:`\varphi = \frac{\pi}{2N_{side}}(j - \frac s2)`,
    :math:`s = (i - N_{side} + 1) \bmod 2`. The southern rings mirror the northern ones
    (:math:`z \mapsto -z`).

    Example:
        >>> P = healpix_sphere(1)
        >>> P.shape, np.round(P[-4:, 2], 12) + 0.0
        ((12, 3), array([0., 0., 0., 0.]))
    """
    ns = _count(N_side, "N_side", "healpix_sphere")
    z, phi, north_of_equator = [], [], []
    for i in range(1, 2 * ns + 1):
        if i < ns:  # the polar cap
            j = np.arange(1, 4 * i + 1, dtype=np.float64)
            z.append(np.full(4 * i, 1.0 - i**2 / (3 * ns**2)))
            phi.append(math.pi / (2 * i) * (j - 0.5))
        else:  # the equatorial belt
            j = np.arange(1, 4 * ns + 1, dtype=np.float64)
            s = (i - ns + 1) % 2
            z.append(np.full(4 * ns, 4.0 / 3.0 - 2 * i / (3 * ns)))
            phi.append(math.pi / (2 * ns) * (j - s / 2.0))
        north_of_equator.append(np.full(len(z[-1]), i < 2 * ns))
    zz, pp, above = np.concatenate(z), np.concatenate(phi), np.concatenate(north_of_equator)
    sin_theta = np.sqrt(np.clip(1.0 - zz * zz, 0.0, None))
    north = np.stack([np.cos(pp) * sin_theta, np.sin(pp) * sin_theta, zz], axis=1)
    south = north[above] * np.array([1.0, 1.0, -1.0])
    return _readonly(np.concatenate([south, north]))


def longlat_sphere(N: int, M: int) -> np.ndarray:
    r"""A longitude-latitude grid ``(N (M - 2) + 2, 3)``: the north pole, ``M - 2`` rings of ``N`` points at
    the polar angles :math:`\theta_k = k\pi/(M - 1)`, longitudes :math:`2\pi l/N`, then the south pole
    (escnn's ``'longlat'`` points, in its order: each pole is one point, ``M >= 2``).

    Example:
        >>> longlat_sphere(4, 3)[:, 2].round(12) + 0.0
        array([ 1.,  0.,  0.,  0.,  0., -1.])
    """
    N = _count(N, "N", "longlat_sphere")
    M = _count(M, "M", "longlat_sphere", minimum=2, why="the number of latitudes, both poles included")
    theta = np.arange(1, M - 1, dtype=np.float64) * math.pi / (M - 1)
    phi = np.arange(N, dtype=np.float64) * _TWO_PI / N
    z = np.cos(theta)
    r = np.sqrt(1.0 - z**2)
    rings = np.stack(
        np.broadcast_arrays(np.outer(r, np.cos(phi)), np.outer(r, np.sin(phi)), z[:, None]), axis=-1
    ).reshape(-1, 3)
    return np.concatenate([[[0.0, 0.0, 1.0]], rings, [[0.0, 0.0, -1.0]]])


def _orbit(X: np.ndarray, ops: np.ndarray) -> np.ndarray:
    """``[op x for op in ops for x in X]`` ``(len(ops) n, d)`` (``ops`` ``(k, d, d)`` linear maps)."""
    return np.einsum("gij,nj->gni", ops, X).reshape(-1, X.shape[1])


def _repel(X: np.ndarray, antipodal: bool, steps: int, ops: np.ndarray | None = None) -> np.ndarray:
    """Projected gradient descent of :math:`\\sum_{i<j} 1/|x_i - x_j|` (and antipodes) on the unit sphere.

    With ``ops`` (linear isometries, ``ops[0]`` the identity) the points are the orbits ``_orbit(X, ops)`` of
    the seeds ``X``: each seed moves along the force of the whole orbit set (the energy's gradient, which is
    equivariant), and the seeds are returned."""
    X = X / np.linalg.norm(X, axis=1, keepdims=True)
    N, d = X.shape
    m = N * (1 if ops is None else len(ops))
    if m < 2:
        return X
    scale = m ** (-1.0 / (d - 1))  # the typical spacing
    seeds = np.arange(N)
    for t in range(steps):
        Y = X if ops is None else _orbit(X, ops)
        F = np.zeros_like(X)
        for sign in (1.0, -1.0) if antipodal else (1.0,):
            D = X[:, None, :] - sign * Y[None, :, :]
            r = np.linalg.norm(D, axis=2)
            if sign > 0:
                r[seeds, seeds] = np.inf  # a seed is the row of its own index in Y (ops[0] = identity)
            F += (D / r[..., None] ** 3).sum(axis=1)
        total = np.abs(F).max()
        F -= (F * X).sum(axis=1, keepdims=True) * X  # tangent part
        norm = np.linalg.norm(F, axis=1, keepdims=True).max()
        if (
            not norm > 1e-12 * total
        ):  # at a critical point (e.g. one orbit of SO(3)'s cube: all are congruent)
            break
        lr = 0.2 * scale * (0.5 * (1.0 + math.cos(math.pi * t / steps)) + 1e-2)
        X = X + lr * F / norm
        X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X


def _energy(Y: np.ndarray, antipodal: bool) -> float:
    """:math:`\\sum_{i<j} 1/|y_i - y_j|` (plus :math:`1/|y_i + y_j|`) of unit vectors ``Y``."""
    G = np.clip(Y @ Y.T, -1.0, 1.0)
    iu = np.triu_indices(len(Y), 1)
    E = (1.0 / np.sqrt(np.maximum(2.0 - 2.0 * G[iu], 1e-300))).sum()
    if antipodal:
        E += (1.0 / np.sqrt(np.maximum(2.0 + 2.0 * G[iu], 1e-300))).sum()
    return float(E)


@functools.lru_cache(maxsize=64)
def thomson_sphere(N: int) -> np.ndarray:
    """``N`` points on :math:`S^2` ``(N, 3)`` (read-only) spread by a repulsive (Coulomb) energy, from the
    Fibonacci lattice (deterministic)."""
    N = _count(N, "N", "thomson_sphere")
    return _readonly(_repel(fibonacci_sphere(N), antipodal=False, steps=400))


@functools.lru_cache(maxsize=64)
def thomson_so3(N: int) -> np.ndarray:
    """``N`` rotations as unit quaternions ``(x, y, z, w)`` ``(N, 4)`` (read-only), spread by a repulsive
    energy on :math:`S^3` that also counts the antipodes :math:`-q` (deterministic start: a seeded draw)."""
    N = _count(N, "N", "thomson_so3")
    X = np.random.default_rng(0).normal(size=(N, 4))
    X = _repel(X, antipodal=True, steps=400)
    X *= np.where(X[:, 3:] < 0, -1.0, 1.0)  # w >= 0
    return _readonly(X)


def _cube_quaternions() -> np.ndarray:
    """The 24 rotations of the cube (quaternions ``(x, y, z, w)``), the identity first."""
    from structconv.group.polyhedral import OCTA_QUATERNIONS

    q = np.asarray(OCTA_QUATERNIONS, dtype=np.float64)
    first = int(np.argmax(np.abs(q[:, 3])))
    return np.concatenate([q[first : first + 1], np.delete(q, first, axis=0)])


# seeded starts and steps of the 'thomson_cube' descents (the lowest energy is kept): for N <= 8 on SO(3)
# and N <= 4 on the sphere, 4 starts of 400 steps reach energies within 1e-7 (relative) of one start of 150
# steps, at 4-10 times the time (80-360 ms), so that a network with these grids builds in a fraction of a
# second in a fresh process
_CUBE_STARTS = 1
_CUBE_STEPS = 150


def _thomson_orbits(N: int, d: int, ops: np.ndarray, antipodal: bool) -> np.ndarray:
    best: tuple[float, np.ndarray] | None = None
    for seed in range(_CUBE_STARTS):
        X = _repel(np.random.default_rng(seed).normal(size=(N, d)), antipodal, steps=_CUBE_STEPS, ops=ops)
        Y = _orbit(X, ops)
        E = _energy(Y, antipodal)
        if best is None or E < best[0] - 1e-9 * abs(best[0]):
            best = (E, Y)
    assert best is not None
    return best[1]


@functools.lru_cache(maxsize=32)
def thomson_cube_so3(N: int) -> np.ndarray:
    """``24 N`` rotations (unit quaternions ``(x, y, z, w)``, ``w >= 0``) ``(24 N, 4)`` (read-only) with the
    octahedral symmetry: the orbits :math:`\\{c\\, q_k\\}` of ``N`` seeds under left multiplication by the 24
    rotations :math:`c` of the cube, the seeds spread by the repulsive energy of the whole set (antipodes
    :math:`-q` counted), ``c``-major. Deterministic (a seeded start)."""
    N = _count(N, "N", "thomson_cube_so3")
    from structconv.group._so3_maths import quat_mul

    cube = _cube_quaternions()
    ops = np.stack([quat_mul(c[None, :], np.eye(4)).T for c in cube])  # q -> c q, as 4x4 matrices
    Y = _thomson_orbits(N, 4, ops, antipodal=True)
    Y = Y / np.linalg.norm(Y, axis=1, keepdims=True)
    Y *= np.where(Y[:, 3:] < 0, -1.0, 1.0)
    return _readonly(Y)


@functools.lru_cache(maxsize=32)
def thomson_cube_sphere(N: int) -> np.ndarray:
    """``24 N`` points on :math:`S^2` ``(24 N, 3)`` (read-only) with the octahedral symmetry: the orbits of
    ``N`` seeds under the 24 rotations of the cube (``c``-major), the seeds spread by the Coulomb energy of
    the whole set. Deterministic (a seeded start)."""
    N = _count(N, "N", "thomson_cube_sphere")
    from structconv.group._so3_maths import quat_to_matrix

    ops = quat_to_matrix(_cube_quaternions())
    Y = _thomson_orbits(N, 3, ops, antipodal=False)
    return _readonly(Y / np.linalg.norm(Y, axis=1, keepdims=True))


def _unique_rotations(q: np.ndarray, tol: float = 1e-7) -> np.ndarray:
    """The quaternions ``q`` ``(n, 4)`` without repeated rotations (``q`` and ``-q`` are one rotation;
    within ``tol``), the first of each kept, in order."""
    from scipy.spatial import cKDTree

    n = len(q)
    pairs = cKDTree(np.concatenate([q, -q])).query_pairs(tol, output_type="ndarray") % n
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    keep = np.ones(n, dtype=bool)
    keep[pairs.max(axis=1)] = False
    return q[keep]


def _axis_angle_quats(P: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Rotations about each axis ``P`` ``(n, 3)`` by each angle ``theta`` ``(m,)``: ``(n m, 4)``, axis
    major."""
    s, c = np.sin(theta / 2.0), np.cos(theta / 2.0)
    v = P[:, None, :] * s[None, :, None]
    return np.concatenate([v, np.broadcast_to(c[None, :, None], v.shape[:2] + (1,))], axis=2).reshape(-1, 4)


def hopf_so3(N: float, _where: str = "grid(SO(3), 'hopf')") -> np.ndarray:
    r"""About ``N`` rotations ``(n, 4)`` (unit quaternions ``(x, y, z, w)``, read-only): escnn's ``'hopf'``
    grid, the rotations about the axes of a HEALPix grid (:func:`healpix_sphere`,
    :math:`N_{side} = \mathrm{round}(\sqrt{N / (8\pi^2)})`) by the :math:`m = \mathrm{round}((\pi N)^{1/3})`
    angles :math:`(k + \frac14) 2\pi/m`, :math:`12 N_{side}^2 m` rotations (axis major). ``N`` is a real
    number, as in escnn, with :math:`N_{side} \ge 1` (``N >= 19.7392``, :math:`2\pi^2`).

    Raises:
        ValueError: if ``N`` is not a finite real number or gives :math:`N_{side} = 0`.

    Example:
        >>> hopf_so3(100).shape  # N_side = 1, m = 7
        (84, 4)
    """
    accepted = "a real number >= 19.7392 (2 pi^2: N_side = round(sqrt(N / (8 pi^2))) >= 1)"
    N = _real_size(N, "N", _where, accepted)
    m = int(np.round(np.cbrt(N * math.pi)))
    n_side = int(np.round(np.sqrt(N / (8.0 * math.pi**2))))
    if n_side < 1:
        raise ValueError(f"{_where}: N={N!r} is not accepted; expected {accepted}")
    return _hopf_so3(n_side, m)


@functools.lru_cache(maxsize=32)
def _hopf_so3(n_side: int, m: int) -> np.ndarray:
    theta = (np.arange(m) + 0.25) * _TWO_PI / m
    return _readonly(_unique_rotations(_axis_angle_quats(healpix_sphere(n_side), theta)))


def fibonacci_so3(N: float, _where: str = "grid(SO(3), 'fibonacci')") -> np.ndarray:
    r"""About ``N`` rotations ``(n, 4)`` (unit quaternions ``(x, y, z, w)``, read-only): escnn's
    ``'fibonacci'`` grid, the rotations about the axes of a Fibonacci lattice of
    :math:`s = \mathrm{round}((N^2/\pi)^{1/3})` points (escnn's list, ``-fibonacci_sphere(s)``) by the
    :math:`m = \mathrm{round}((\pi N)^{1/3})` angles :math:`2\pi k/m`, each rotation once (the ``s``
    identities and the rotations about the two poles coincide): :math:`(s - 1)(m - 1) + 1` rotations. ``N``
    is a real number, as in escnn, with :math:`s \ge 2` (``N >= 3.2562``).

    Raises:
        ValueError: if ``N`` is not a finite real number or gives :math:`s < 2`.

    Example:
        >>> fibonacci_so3(100).shape  # s = 15, m = 7
        (85, 4)
    """
    accepted = "a real number >= 3.2562 (sqrt(3.375 pi): round(cbrt(N^2 / pi)) >= 2 axes)"
    N = _real_size(N, "N", _where, accepted)
    m = int(np.round(np.cbrt(N * math.pi)))
    s = int(np.round(np.cbrt(N**2 / math.pi)))
    if s < 2:
        raise ValueError(f"{_where}: N={N!r} is not accepted; expected {accepted}")
    return _fibonacci_so3(s, m)


@functools.lru_cache(maxsize=32)
def _fibonacci_so3(s: int, m: int) -> np.ndarray:
    theta = np.arange(m) * _TWO_PI / m
    return _readonly(_unique_rotations(_axis_angle_quats(-fibonacci_sphere(s), theta)))


def _rotate_z(q: np.ndarray) -> np.ndarray:
    """``R(q) e_z`` for quaternions ``(..., 4)`` ``(x, y, z, w)``."""
    x, y, z, w = np.moveaxis(q, -1, 0)
    return np.stack([2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)], axis=-1)


def _pole_rotations(P: np.ndarray) -> np.ndarray:
    """For points ``P`` ``(n, 3)`` on the sphere, quaternions of rotations taking ``e_z`` to them (about the
    axis ``e_z × p``; the south pole: by π about ``e_x``)."""
    P = P / np.linalg.norm(P, axis=1, keepdims=True)
    axis = np.stack([-P[:, 1], P[:, 0], np.zeros(len(P))], axis=1)
    s = np.linalg.norm(axis, axis=1)
    angle = np.arctan2(s, P[:, 2])
    south = s < 1e-12
    axis[~south] /= s[~south, None]
    axis[south] = (1.0, 0.0, 0.0)
    q = np.concatenate([axis * np.sin(angle / 2)[:, None], np.cos(angle / 2)[:, None]], axis=1)
    return q


def _orbit_of_point(quats: np.ndarray, point: np.ndarray) -> np.ndarray:
    from structconv.group._so3_maths import quat_to_matrix

    pts = quat_to_matrix(quats) @ point
    out: list[np.ndarray] = []
    for p in pts:
        if not any(np.abs(p - o).max() < 1e-9 for o in out):
            out.append(p)
    return np.array(out)


# ---------------------------------------------------------------------------------------------- public API
def grid(G: Any, *args: Any, **kwargs: Any) -> list[Any]:
    """Sample elements of ``G`` (a list, in the group's plain element format); escnn's ``G.grid(...)``.

    Args:
        G: a group of :mod:`structconv.group`.
        *args, **kwargs: the grid's arguments, by group (see the module docstring): SO(2) / O(2)
            ``(N, type='regular', seed=None)``; C_N / D_N ``(type, N)``; SO(3) / O(3)
            ``(type, *type_args, adj=None, parametrization='Q')`` with the types ``'rand'`` (``N``,
            ``seed``), ``'ico'``, ``'cube'``, ``'tetra'``, ``'thomson'`` (``N``), ``'thomson_cube'``
            (``N``: ``24 N`` rotations), ``'hopf'`` (real ``N >= 19.7392``), ``'fibonacci'`` (real
            ``N >= 3.2562``); the
            products ``C2 × H`` ``('rand', N, seed=None)`` or ``G1_...=``, ``G2_...=`` keywords.

    Raises:
        ValueError: an unknown grid ``type`` for ``G``, a bad ``N``, ``adj`` or ``parametrization``, naming
            the accepted values.
        TypeError: missing or unexpected arguments.

    Example:
        >>> from structconv.group import so3_group, o3_group, cylinder_group
        >>> len(grid(so3_group(), "thomson_cube", 1)), len(grid(o3_group(), "hopf", N=20))
        (24, 96)
        >>> grid(cylinder_group(), G1_type="regular", G1_N=2, G2_N=2)
        [Cylindrical[0 ; 0.0], Cylindrical[0 ; 3.14...], Cylindrical[1 ; 0.0], Cylindrical[1 ; 3.14...]]
    """
    from structconv.group.cyclic import CyclicGroup, FlipGroup
    from structconv.group.dihedral import DihedralGroup
    from structconv.group.directproduct import DirectProductGroup
    from structconv.group.o2 import O2
    from structconv.group.o3 import O3
    from structconv.group.so2 import SO2
    from structconv.group.so3 import SO3

    where = f"grid({G.name})"
    if isinstance(G, (SO2, O2)):
        N, type, seed = _pop_args(
            where, ["N", "type", "seed"], args, kwargs, {"type": "regular", "seed": None}
        )
        N = _count(N, "N", where)
        if type == "regular":
            theta = [_TWO_PI * i / N for i in range(N)]
            if isinstance(G, SO2):
                return theta
            return [(0, t) for t in theta] + [(1, t) for t in theta]
        if type == "rand":
            rng = _rng(seed)
            if isinstance(G, SO2):
                return [float(t) for t in rng.uniform(0.0, _TWO_PI, size=N)]
            return [
                (int(f), float(t)) for f, t in zip(rng.integers(2, size=N), rng.uniform(0.0, _TWO_PI, size=N))
            ]
        raise ValueError(f"{where}: type={type!r} is not known; expected 'regular' or 'rand'")
    if isinstance(G, (CyclicGroup, DihedralGroup, FlipGroup)):
        type, N, seed = _pop_args(where, ["type", "N", "seed"], args, kwargs, {"seed": None})
        N = _count(N, "N", where)
        els = G.elements
        if type == "rand":
            return [els[i] for i in _rng(seed).integers(len(els), size=N)]
        if type != "regular":
            raise ValueError(f"{where}: type={type!r} is not known; expected 'regular' or 'rand'")
        M = 1 if isinstance(G, FlipGroup) else G.order() // (2 if isinstance(G, DihedralGroup) else 1)
        if M % N:
            raise ValueError(
                f"{where}: N={N} does not divide the number of rotations {M}; expected a divisor"
            )
        rotations = list(range(0, M, M // N))
        if isinstance(G, FlipGroup):
            return [0, 1]
        if isinstance(G, CyclicGroup):
            return rotations
        return [(f, k) for f in (0, 1) for k in rotations]
    if isinstance(G, (SO3, O3)):
        type, rest = _split_type(where, args, kwargs)
        adj = _adj_quaternion(where, kwargs.pop("adj", None))
        _check_parametrization(where, G, kwargs.pop("parametrization", "Q"))
        if isinstance(G, O3) and type == "rand":  # as escnn: uniform over O(3), adj not applied
            (N, seed) = _pop_args(where, ["N", "seed"], rest, kwargs, {"seed": None})
            rng = _rng(seed)
            N = _count(N, "N", where)
            q = rng.normal(size=(N, 4))
            q /= np.linalg.norm(q, axis=1, keepdims=True)
            return [G.element((int(j), qq), "Q") for j, qq in zip(rng.integers(2, size=N), q)]
        qs = _so3_grid(where, type, rest, kwargs, adj)
        if isinstance(G, O3):
            return [G.element((j, q), "Q") for j in (0, 1) for q in qs]
        return [G.element(q, "Q") for q in qs]
    if isinstance(G, DirectProductGroup):
        product = _product_grid(G, where, args, kwargs)
        if product is not None:
            return product
    if G.order() > 0:
        type, rest = _split_type(where, args, kwargs, default="regular")
        if type == "regular" and not rest and not kwargs:
            return list(G.elements)
        if type == "rand":
            (N, seed) = _pop_args(where, ["N", "seed"], rest, kwargs, {"seed": None})
            els = G.elements
            return [els[i] for i in _rng(seed).integers(len(els), size=_count(N, "N", where))]
        raise ValueError(f"{where}: type={type!r} is not known; expected 'regular' (every element) or 'rand'")
    raise ValueError(
        f"grid: G={G!r} has no grid; expected SO(2), O(2), C_N, D_N, SO(3), O(3), C2 × H or a finite group"
    )


def _product_grid(G: Any, where: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any] | None:
    """escnn's ``DirectProductGroup.grid``: ``'rand'`` pairs, or the product of the factors' grids (keywords
    ``G1_...`` / ``G2_...``); ``None`` when neither applies to a finite product (its own grids then)."""
    factor_kw = [{k[3:]: v for k, v in kwargs.items() if k.startswith(prefix)} for prefix in ("G1_", "G2_")]
    if any(factor_kw):
        others = {k: v for k, v in kwargs.items() if not k.startswith(("G1_", "G2_"))}
        if any(a is not None for a in args) or any(v is not None for v in others.values()):
            raise TypeError(
                f"{where}: the factors' grid keywords G1_... / G2_... cannot be combined with {args!r} "
                f"{others!r}; expected only G1_... (C2) and G2_... ({G.G2.name}) keywords"
            )
        kwargs.clear()
        grid1 = grid(G.G1, **factor_kw[0])
        grid2 = grid(G.G2, **factor_kw[1])
        return [G.pair_elements(a, b) for a in grid1 for b in grid2]
    if not args and "type" not in kwargs and G.order() < 0:
        raise TypeError(
            f"{where}: no grid arguments; expected 'rand' (N, seed) or the factors' grid arguments as "
            f"keywords G1_... (C2) and G2_... ({G.G2.name}), e.g. G1_type='regular', G1_N=2, G2_N=8"
        )
    kw = dict(kwargs)  # a finite product falls back to its own grids with the arguments untouched
    type, rest = _split_type(where, args, kw, default="regular")
    if type == "rand" and G.order() < 0:  # (a finite product draws from its list of elements)
        (N, seed) = _pop_args(where, ["N", "seed"], rest, kw, {"seed": None})
        kwargs.clear()
        N = _count(N, "N", where)
        rng = _rng(seed)
        grid1 = grid(G.G1, type="rand", N=N, seed=rng)
        grid2 = grid(G.G2, type="rand", N=N, seed=rng)
        return [G.pair_elements(a, b) for a, b in zip(grid1, grid2)]
    if G.order() > 0:
        return None
    raise ValueError(
        f"{where}: type={type!r} is not known; expected 'rand' (N, seed) or the factors' grid arguments as "
        f"keywords G1_... (C2) and G2_... ({G.G2.name}), e.g. G1_type='regular', G1_N=2, G2_N=8"
    )


def grid_so2(G: Any, N: int, type: str = "regular", seed: Any = None) -> list[Any]:
    """The rotations ``(0, θ)`` of O(2) on the SO(2) grid ``grid(so2_group(), N, type, seed)`` (escnn's
    ``O2.grid_so2``).

    Example:
        >>> from structconv.group import o2_group
        >>> grid_so2(o2_group(), 2)
        [(0, 0.0), (0, 3.14...)]
    """
    from structconv.group.o2 import O2
    from structconv.group.so2 import so2_group

    if not isinstance(G, O2):
        raise ValueError(f"grid_so2: G={G!r} is not accepted; expected O(2)")
    return [(0, t) for t in grid(so2_group(), N, type, seed)]


def grid_so3(G: Any, type: str, *args: Any, **kwargs: Any) -> list[Any]:
    """The rotations ``(0, g)`` of O(3) on the SO(3) grid ``grid(so3_group(), type, *args, **kwargs)``
    (escnn's ``O3.grid_so3``; ``adj``, ``parametrization`` as :func:`grid`).

    Example:
        >>> from structconv.group import o3_group
        >>> len(grid_so3(o3_group(), "cube")), grid_so3(o3_group(), "cube")[0].value[0]
        (24, 0)
    """
    from structconv.group.o3 import O3
    from structconv.group.so3 import so3_group

    if not isinstance(G, O3):
        raise ValueError(f"grid_so3: G={G!r} is not accepted; expected O(3)")
    return [G.element((0, g.value), "Q") for g in grid(so3_group(), type, *args, **kwargs)]


def _split_type(
    where: str, args: tuple[Any, ...], kwargs: dict[str, Any], default: str | None = None
) -> tuple[str, tuple[Any, ...]]:
    if args:
        if "type" in kwargs:
            raise TypeError(f"{where}: got two values for the argument 'type'")
        type, rest = args[0], tuple(args[1:])
    elif "type" in kwargs:
        type, rest = kwargs.pop("type"), ()
    elif default is not None:
        type, rest = default, ()
    else:
        raise TypeError(f"{where}: the argument 'type' is missing")
    if not isinstance(type, str):
        raise ValueError(f"{where}: type={type!r} is not accepted; expected a string")
    return type, rest


def _check_parametrization(where: str, G: Any, parametrization: Any) -> None:
    if not isinstance(parametrization, str) or parametrization not in G.PARAMETRIZATIONS:
        raise ValueError(
            f"{where}: parametrization={parametrization!r} is not accepted; expected one of "
            f"{list(G.PARAMETRIZATIONS)}"
        )


def _adj_quaternion(where: str, adj: Any) -> np.ndarray | None:
    """The rotation (quaternion ``(x, y, z, w)``) of ``adj``: an element of SO(3) / O(3) (its rotation part;
    the inversion commutes with every rotation) or a unit quaternion; ``None`` for ``None``."""
    if adj is None:
        return None
    group = getattr(adj, "group", None)
    if group is not None and getattr(group, "name", None) in ("SO(3)", "O(3)"):
        v = adj.value
        return np.asarray(v[1] if isinstance(v, tuple) else v, dtype=np.float64)
    if group is None and not isinstance(adj, (str, bytes)):
        try:
            q = np.asarray(adj, dtype=np.float64)
        except (TypeError, ValueError):
            q = None
        if q is not None and q.shape == (4,) and np.all(np.isfinite(q)) and abs(np.linalg.norm(q) - 1) < 1e-6:
            return q / np.linalg.norm(q)
    raise ValueError(
        f"{where}: adj={adj!r} is not accepted; expected None, an element of SO(3) or O(3), or a unit "
        "quaternion (x, y, z, w)"
    )


_SO3_TYPES = ("rand", "thomson", "thomson_cube", "ico", "cube", "tetra", "hopf", "fibonacci")


def _so3_grid(
    where: str, type: str, rest: tuple[Any, ...], kwargs: dict[str, Any], adj: np.ndarray | None
) -> np.ndarray:
    """The quaternions ``(n, 4)`` of SO(3)'s grid ``type``, conjugated by ``adj``: :math:`a q a^{-1}`."""
    from structconv.group import _so3_maths as so3m
    from structconv.group.polyhedral import ICO_QUATERNIONS, OCTA_QUATERNIONS

    counted = {
        "thomson": thomson_so3,
        "thomson_cube": thomson_cube_so3,
        "hopf": hopf_so3,
        "fibonacci": fibonacci_so3,
    }
    if type in counted:
        (N,) = _pop_args(where, ["N"], rest, kwargs, {})
        if type in ("hopf", "fibonacci"):  # real N, each with its own lower bound, named as called
            qs = counted[type](N, where)
        else:
            qs = counted[type](_count(N, "N", where))
    elif type in ("ico", "cube", "tetra"):
        _pop_args(where, [], rest, kwargs, {})
        qs = {"ico": ICO_QUATERNIONS, "cube": OCTA_QUATERNIONS, "tetra": OCTA_QUATERNIONS[:12]}[type]
    elif type == "rand":
        (N, seed) = _pop_args(where, ["N", "seed"], rest, kwargs, {"seed": None})
        q = _rng(seed).normal(size=(_count(N, "N", where), 4))
        qs = q / np.linalg.norm(q, axis=1, keepdims=True)
    else:
        raise ValueError(f"{where}: type={type!r} is not known; expected one of {list(_SO3_TYPES)}")
    qs = np.asarray(qs, dtype=np.float64)
    if adj is not None:
        qs = so3m.quat_mul(adj, so3m.quat_mul(qs, so3m.quat_inv(adj)))
    return qs


_SPHERE_TYPES = (
    "ico",
    "cube",
    "cube_vertices",
    "tetra",
    "thomson",
    "thomson_cube",
    "fibonacci",
    "healpix",
    "longlat",
    "rand",
)


def sphere_points(type: str, *args: Any, **kwargs: Any) -> np.ndarray:
    """The points ``(n, 3)`` of SO(3)'s :func:`sphere_grid` ``type`` (O(3)'s: their antipodes).

    Example:
        >>> sphere_points("longlat", 2, 3).round(12) + 0.0
        array([[ 0.,  0., -1.],
               [-1.,  0.,  0.],
               [ 1.,  0.,  0.],
               [ 0.,  0.,  1.]])
    """
    from structconv.group.polyhedral import ICO_QUATERNIONS, OCTA_QUATERNIONS

    where = "sphere_grid"
    if type in ("ico", "cube", "tetra", "cube_vertices"):
        _pop_args(where, [], args, kwargs, {})
        qs = {"ico": ICO_QUATERNIONS, "tetra": OCTA_QUATERNIONS[:12]}.get(type, OCTA_QUATERNIONS)
        point = np.ones(3) / math.sqrt(3.0) if type == "cube_vertices" else np.array([0.0, 0.0, 1.0])
        return _orbit_of_point(np.asarray(qs, dtype=np.float64), point)
    if type in ("thomson", "fibonacci", "thomson_cube"):
        (N,) = _pop_args(where, ["N"], args, kwargs, {})
        N = _count(N, "N", where)
        if type == "thomson_cube":
            return np.array(thomson_cube_sphere(N))
        return np.array(thomson_sphere(N) if type == "thomson" else fibonacci_sphere(N))
    if type == "healpix":
        (N_side,) = _pop_args(where, ["N_side"], args, kwargs, {})
        return -healpix_sphere(_count(N_side, "N_side", where))
    if type == "longlat":
        (N, M) = _pop_args(where, ["N", "M"], args, kwargs, {})
        N = _count(N, "N", where)
        M = _count(M, "M", where, minimum=2, why="the number of latitudes, both poles included")
        return -longlat_sphere(N, M)
    if type == "rand":
        (N, seed) = _pop_args(where, ["N", "seed"], args, kwargs, {"seed": None})
        P = _rng(seed).normal(size=(_count(N, "N", where), 3))
        return P / np.linalg.norm(P, axis=1, keepdims=True)
    raise ValueError(f"{where}: type={type!r} is not known; expected one of {list(_SPHERE_TYPES)}")


def sphere_grid(G: Any, type: str, *args: Any, adj: Any = None, **kwargs: Any) -> list[Any]:
    r"""Points on the sphere as coset representatives of ``G / H``: ``SO(3)/SO(2)`` (``H`` the rotations about
    :math:`e_z`, subgroup ``(False, -1)``) or ``O(3)/O(2)`` (the cone ``('cone', -1)``); escnn's
    ``G.sphere_grid(...)``. Each element :math:`g_i` is the rotation taking :math:`e_z` to the point.

    Args:
        G: :func:`~structconv.group.so3_group` or :func:`~structconv.group.o3_group`.
        type: one of ``'ico'``, ``'cube'``, ``'cube_vertices'``, ``'tetra'``, ``'thomson'`` (``N``),
            ``'thomson_cube'`` (``N``: ``24 N`` points), ``'fibonacci'`` (``N``), ``'healpix'``
            (``N_side``: :math:`12 N_{side}^2` points), ``'longlat'`` (``N``, ``M``:
            :math:`N (M - 2) + 2` points), ``'rand'`` (``N``, ``seed``).
        adj: optionally, an element :math:`a` of ``G``: the points are moved by it (:math:`p \mapsto a p`).

    Raises:
        ValueError: ``G`` is not SO(3) / O(3), an unknown ``type`` or a bad count.
        TypeError: missing or unexpected arguments.

    Example:
        >>> from structconv.group import so3_group, o3_group
        >>> S, O = so3_group(), o3_group()
        >>> len(sphere_grid(S, "healpix", N_side=3)), len(sphere_grid(O, "thomson_cube", 1))
        (108, 24)
        >>> sphere_poles(sphere_grid(o3_group(), "longlat", 3, 4))[0].round(12) + 0.0  # the north pole first
        array([0., 0., 1.])
    """
    from structconv.group.o3 import O3
    from structconv.group.so3 import SO3

    if not isinstance(G, (SO3, O3)):
        raise ValueError(f"sphere_grid: G={G!r} is not accepted; expected SO(3) or O(3)")
    P = sphere_points(type, *args, **kwargs)
    if isinstance(G, O3):
        P = -P  # escnn's O(3) grid: its list of points itself (SO(3)'s: their antipodes)
    if adj is not None:
        a = G.element(adj) if not hasattr(adj, "group") else adj
        M = np.asarray(G.standard_representation()(a), dtype=np.float64)
        P = P @ M.T  # p -> a p
    qs = _pole_rotations(P)
    if isinstance(G, O3):
        return [G.element((0, q), "Q") for q in qs]
    return [G.element(q, "Q") for q in qs]


def sphere_poles(elements: list[Any]) -> np.ndarray:
    """The points :math:`g e_z` ``(n, 3)`` of rotations ``g`` (SO(3) or O(3) elements; the inversion flips
    the point)."""
    out = []
    for e in elements:
        v = e.value
        if isinstance(v, tuple):
            j, q = v
            out.append(_rotate_z(np.asarray(q)) * (-1.0 if j else 1.0))
        else:
            out.append(_rotate_z(np.asarray(v)))
    return np.array(out)
