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
                              reflections ``(1, 2πi/N)`` (``2N`` elements)
C_M, D_M (and the flips)      ``grid(G, type, N)``: ``'regular'`` the subgroup of ``N`` rotations
                              (``N`` divides ``M``; ``D_M``: times the reflections, ``2N``);
                              ``'rand'`` ``N`` uniform elements
SO(3)                         ``grid(G, type, *args, adj=None)``: ``'ico'`` (60), ``'cube'`` (24),
                              ``'tetra'`` (12) rotations of the platonic solids, ``'thomson'`` ``N``
                              rotations spread by minimising a repulsive energy, ``'rand'`` ``N``
O(3)                          ``'rand'`` ``N``; any SO(3) grid taken twice, with and without the
                              inversion
finite groups of space        ``grid(G)`` / ``grid(G, 'regular')``: every element
============================  =====================================================================

``sphere_grid(G, type, *args, adj=None)`` (SO(3), O(3)): ``'cube'`` the 6 face centres
(:math:`\pm e_x, \pm e_y, \pm e_z`), ``'tetra'`` the orbit of :math:`e_z` under the tetrahedral group
(the same 6 points), ``'ico'`` the 30 edge centres of the icosahedron (the orbit of :math:`e_z` under the
icosahedral group, escnn's orientation), ``'thomson'`` ``N`` points minimising
:math:`\sum_{i<j} 1/|p_i - p_j|`, ``'fibonacci'`` the ``N`` points of the Fibonacci lattice (escnn's points),
``'rand'`` ``N`` uniform points.

The ``'thomson'`` grids are ours: a deterministic projected gradient descent from a fixed start (a
Fibonacci lattice on the sphere; a seeded uniform draw on SO(3), where the energy also counts the antipodal
quaternion, since :math:`\pm q` is one rotation). escnn optimises its own energy with Adam from its own
seeded start (minutes for a few tens of points): the points differ from escnn's, so modules built on
``'thomson'`` grids do not reproduce escnn's numbers (the exact grids ``'regular'``, ``'cube'``, ``'ico'``,
``'tetra'`` do). 400 steps cost about 0.4 s for 40 rotations, 8 s for 192. Measured against escnn's points
(computed once, not stored): 40 sphere points, Coulomb energy 660.75 (escnn's 662.44), smallest angle 0.552
(0.444), worst relative equivariance error of the sphere ELU on 10 random rotations at band limit 1 / 2 / 3:
0.0029 / 0.014 / 0.037 (escnn's grid: 0.013 / 0.023 / 0.068); 20 rotations, smallest angle 1.68 (1.49),
the group ELU at band limit 1: 0.106 (0.108).

Example:
    >>> from structconv.group import so3_group, so2_group
    >>> from structconv.group.grids import grid, sphere_grid
    >>> len(grid(so3_group(), "cube")), len(grid(so2_group(), 8))
    (24, 8)
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
    "sphere_grid",
    "sphere_points",
    "sphere_poles",
    "thomson_so3",
    "thomson_sphere",
    "fibonacci_sphere",
]

_TWO_PI = 2.0 * math.pi


def _count(value: Any, argname: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise ValueError(f"{where}: {argname}={value!r} is not accepted; expected an int >= 1")
    return int(value)


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


# ---------------------------------------------------------------------------------------------- point sets
def fibonacci_sphere(N: int) -> np.ndarray:
    r"""The Fibonacci lattice: ``N`` points on :math:`S^2` ``(N, 3)`` along the :math:`y` axis (escnn's):
    :math:`y_i = -1 + 2i/(N - 1)`, :math:`(x_i, z_i) = -\sqrt{1 - y_i^2}\,(\cos\varphi_i, \sin\varphi_i)`,
    :math:`\varphi_i = i\pi(3 - \sqrt 5)` (the golden angle)."""
    N = _count(N, "N", "fibonacci_sphere")
    i = np.arange(N, dtype=np.float64)
    y = -1.0 + 2.0 * i / max(N - 1, 1)
    r = np.sqrt(np.clip(1.0 - y * y, 0.0, None))
    phi = i * math.pi * (3.0 - math.sqrt(5.0))
    return np.stack([-r * np.cos(phi), y, -r * np.sin(phi)], axis=1)


def _repel(X: np.ndarray, antipodal: bool, steps: int) -> np.ndarray:
    """Projected gradient descent of :math:`\\sum_{i<j} 1/|x_i - x_j|` (and antipodes) on the unit sphere."""
    X = X / np.linalg.norm(X, axis=1, keepdims=True)
    N, d = X.shape
    if N < 2:
        return X
    scale = N ** (-1.0 / (d - 1))  # the typical spacing
    for t in range(steps):
        F = np.zeros_like(X)
        for sign in (1.0, -1.0) if antipodal else (1.0,):
            D = X[:, None, :] - sign * X[None, :, :]
            r = np.linalg.norm(D, axis=2)
            if sign > 0:
                np.fill_diagonal(r, np.inf)
            F += (D / r[..., None] ** 3).sum(axis=1)
        F -= (F * X).sum(axis=1, keepdims=True) * X  # tangent part
        norm = np.linalg.norm(F, axis=1, keepdims=True).max()
        lr = 0.2 * scale * (0.5 * (1.0 + math.cos(math.pi * t / steps)) + 1e-2)
        X = X + lr * F / norm
        X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.float64)
    a.setflags(write=False)
    return a


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


def _orbit_of_pole(quats: np.ndarray) -> np.ndarray:
    pts = _rotate_z(quats)
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
        *args, **kwargs: the grid's arguments, by group (see the module docstring).

    Raises:
        ValueError: an unknown grid ``type`` for ``G`` or a bad ``N``, naming the accepted values.
        TypeError: missing or unexpected arguments.
    """
    from structconv.group.cyclic import CyclicGroup, FlipGroup
    from structconv.group.dihedral import DihedralGroup
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
    if isinstance(G, O3):
        type, rest = _split_type(where, args, kwargs)
        adj = kwargs.pop("adj", None)
        if type == "rand":
            (N, seed) = _pop_args(where, ["N", "seed"], rest, kwargs, {"seed": None})
            rng = _rng(seed)
            N = _count(N, "N", where)
            q = rng.normal(size=(N, 4))
            q /= np.linalg.norm(q, axis=1, keepdims=True)
            return [G.element((int(j), qq), "Q") for j, qq in zip(rng.integers(2, size=N), q)]
        from structconv.group.so3 import so3_group

        rot_adj = None if adj is None else so3_group().element(_rotation_quat(G, adj), "Q")
        so3 = _so3_grid(so3_group(), where, type, rest, kwargs, rot_adj)
        return [G.element((j, g.value), "Q") for j in (0, 1) for g in so3]
    if isinstance(G, SO3):
        type, rest = _split_type(where, args, kwargs)
        adj = kwargs.pop("adj", None)
        return _so3_grid(G, where, type, rest, kwargs, adj)
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
        f"grid: G={G!r} has no grid; expected SO(2), O(2), C_N, D_N, SO(3), O(3) or a finite group"
    )


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


def _rotation_quat(G: Any, element: Any) -> np.ndarray:
    """The quaternion of the rotation part of an element of O(3) (or of an SO(3) element / quaternion)."""
    v = element.value if hasattr(element, "value") else element
    return np.asarray(v[1] if isinstance(v, tuple) else v, dtype=np.float64)


_SO3_TYPES = ("rand", "thomson", "ico", "cube", "tetra")


def _so3_grid(
    G: Any, where: str, type: str, rest: tuple[Any, ...], kwargs: dict[str, Any], adj: Any
) -> list[Any]:
    if type == "thomson":
        (N,) = _pop_args(where, ["N"], rest, kwargs, {})
        els = [G.element(q, "Q") for q in thomson_so3(_count(N, "N", where))]
        if adj is None:
            return els
        return [G.combine(G.inverse(adj), G.combine(g, adj)) for g in els]
    from structconv.group.so3 import _adjoint_quat, conjugate

    if type in ("ico", "cube", "tetra"):
        from structconv.group.polyhedral import ICO_QUATERNIONS, OCTA_QUATERNIONS

        _pop_args(where, [], rest, kwargs, {})
        qs = {"ico": ICO_QUATERNIONS, "cube": OCTA_QUATERNIONS, "tetra": OCTA_QUATERNIONS[:12]}[type]
    elif type == "rand":
        (N, seed) = _pop_args(where, ["N", "seed"], rest, kwargs, {"seed": None})
        q = _rng(seed).normal(size=(_count(N, "N", where), 4))
        qs = q / np.linalg.norm(q, axis=1, keepdims=True)
    else:
        raise ValueError(f"{where}: type={type!r} is not known; expected one of {list(_SO3_TYPES)}")
    if adj is not None:
        qs = conjugate(np.asarray(qs, dtype=np.float64), _adjoint_quat(adj))  # adj^{-1} g adj
    return [G.element(q, "Q") for q in qs]


_SPHERE_TYPES = ("ico", "cube", "tetra", "thomson", "fibonacci", "rand")


def sphere_points(type: str, *args: Any, **kwargs: Any) -> np.ndarray:
    """The points ``(n, 3)`` of :func:`sphere_grid`'s ``type``."""
    from structconv.group.polyhedral import ICO_QUATERNIONS, OCTA_QUATERNIONS

    where = "sphere_grid"
    if type in ("ico", "cube", "tetra"):
        _pop_args(where, [], args, kwargs, {})
        qs = {"ico": ICO_QUATERNIONS, "cube": OCTA_QUATERNIONS, "tetra": OCTA_QUATERNIONS[:12]}[type]
        return _orbit_of_pole(np.asarray(qs, dtype=np.float64))
    if type in ("thomson", "fibonacci"):
        (N,) = _pop_args(where, ["N"], args, kwargs, {})
        N = _count(N, "N", where)
        return np.array(thomson_sphere(N) if type == "thomson" else fibonacci_sphere(N))
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
        type: one of ``'ico'``, ``'cube'``, ``'tetra'``, ``'thomson'`` (``N``), ``'fibonacci'`` (``N``),
            ``'rand'`` (``N``, ``seed``).
        adj: optionally, an element of ``G``: the points are moved by it (:math:`p \mapsto adj^{-1} p`).

    Raises:
        ValueError: ``G`` is not SO(3) / O(3), or an unknown ``type``.
    """
    from structconv.group.o3 import O3
    from structconv.group.so3 import SO3

    if not isinstance(G, (SO3, O3)):
        raise ValueError(f"sphere_grid: G={G!r} is not accepted; expected SO(3) or O(3)")
    P = sphere_points(type, *args, **kwargs)
    if adj is not None:
        a = G.element(adj) if not hasattr(adj, "group") else adj
        M = np.asarray(G.standard_representation()(a), dtype=np.float64)
        P = P @ M  # adj^{-1} p = M^T p
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
