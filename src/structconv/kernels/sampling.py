"""Radial profiles, frequency cut-offs and the sampled irrep-pair kernel bases.

A basis element is a Gaussian ring ``exp(-(r - r_i)² / (2σ_i²))`` times an angular
:class:`~structconv.kernels.harmonics.Harmonic`.  The defaults reproduce the parameter counts of the
reference library:

* :func:`default_rings`: ``ceil(k/2)`` rings at radii ``linspace(0, (k-1)//2, n) * dilation``;
* :func:`default_sigma`: 0.6 for every ring but the last (0.4), and 0.005 for a ring at radius 0;
* :class:`ManualFrequencyCutoff`: ``f(0) = 0``, otherwise ``min(2r, 2 if r == k//2 else 2r - (r+1) % 2)``.

:func:`sample_irreps_basis` samples all the elements of one irrep pair on a kernel grid (float64,
vectorised), normalises each element and drops the ones whose sampled norm is negligible.  Results are
cached by their arguments.

Example:
    >>> from structconv.kernels.irreps import IrrepSpec
    >>> triv = IrrepSpec("cyclic", 4, 0, 0)
    >>> basis = sample_irreps_basis(triv, triv, 5)
    >>> basis.array.shape
    (3, 1, 1, 25)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from structconv.kernels.harmonics import irreps_harmonics
from structconv.kernels.irreps import IrrepSpec

__all__ = [
    "ManualFrequencyCutoff",
    "LinearFrequencyCutoff",
    "SampledIrrepsBasis",
    "default_rings",
    "default_sigma",
    "resolve_basis_params",
    "kernel_grid",
    "sample_irreps_basis",
]

#: Elements whose sampled norm is below this are considered empty and dropped.
_NORM_EPS = 1e-6


class ManualFrequencyCutoff:
    """The default maximum frequency of a ring of radius ``r`` (picklable callable).

    ``f(0) = 0``; otherwise ``min(2r, 2 if r == max_radius else 2r - (r+1) % 2)``, where
    ``max_radius = kernel_size // 2`` (scaled by the dilation).

    Args:
        max_radius: the radius of the outermost ring.

    Example:
        >>> fco = ManualFrequencyCutoff(2)
        >>> [fco(r) for r in (0, 1, 2)]
        [0, 2, 2]
    """

    def __init__(self, max_radius: float) -> None:
        self.max_radius = float(max_radius)

    def __call__(self, r: float) -> float:
        if r == 0:
            return 0
        return min(2 * r, 2 if r == self.max_radius else 2 * r - (r + 1) % 2)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ManualFrequencyCutoff) and other.max_radius == self.max_radius

    def __hash__(self) -> int:
        return hash(("ManualFrequencyCutoff", self.max_radius))

    def __repr__(self) -> str:
        return f"ManualFrequencyCutoff(max_radius={self.max_radius})"


class LinearFrequencyCutoff:
    """Maximum frequency ``factor * r`` (what a float ``frequencies_cutoff`` means).

    Example:
        >>> LinearFrequencyCutoff(1.5)(2.0)
        3.0
    """

    def __init__(self, factor: float) -> None:
        self.factor = float(factor)

    def __call__(self, r: float) -> float:
        return self.factor * r

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LinearFrequencyCutoff) and other.factor == self.factor

    def __hash__(self) -> int:
        return hash(("LinearFrequencyCutoff", self.factor))

    def __repr__(self) -> str:
        return f"LinearFrequencyCutoff(factor={self.factor})"


def default_rings(kernel_size: int, dilation: int = 1) -> list[float]:
    """Default ring radii: ``ceil(k/2)`` rings at ``linspace(0, (k-1)//2, n) * dilation``.

    Example:
        >>> default_rings(5)
        [0.0, 1.0, 2.0]
    """
    n = math.ceil(kernel_size / 2)
    return [float(r) * dilation for r in np.linspace(0, (kernel_size - 1) // 2, n)]


def default_sigma(rings: Sequence[float]) -> list[float]:
    """Default ring widths: 0.6 for every ring but the last (0.4), 0.005 for a ring at radius 0.

    Example:
        >>> default_sigma([0.0, 1.0, 2.0])
        [0.005, 0.6, 0.4]
    """
    sigma = [0.6] * (len(rings) - 1) + [0.4]
    return [0.005 if r == 0 else s for r, s in zip(rings, sigma)]


def resolve_basis_params(
    kernel_size: int,
    dilation: int = 1,
    rings: Sequence[float] | None = None,
    sigma: Sequence[float] | float | None = None,
    frequencies_cutoff: float | Callable[[float], float] | None = None,
) -> tuple[tuple[float, ...], tuple[float, ...], Callable[[float], float]]:
    """Validate and fill in the ring radii, widths and frequency cut-off of a kernel basis.

    Args:
        kernel_size: size of the square filter (``>= 1``).
        dilation: spacing between the kernel's pixels (``>= 1``).
        rings: ring radii (in pixels of the dilated grid); default :func:`default_rings`.
        sigma: one width per ring, or one float for all rings; default :func:`default_sigma`.
        frequencies_cutoff: callable ``radius -> max frequency``, a float factor ``λ`` (``f(r) = λr``)
            or ``None`` for :class:`ManualFrequencyCutoff`.

    Returns:
        ``(rings, sigma, cutoff)`` with tuples of floats and a callable.

    Raises:
        ValueError: on a bad kernel size, dilation, rings or sigma.
        TypeError: on a frequency cut-off that is neither ``None``, a number nor a callable.

    Example:
        >>> rings, sigma, fco = resolve_basis_params(3)
        >>> rings, sigma, fco(1.0)
        ((0.0, 1.0), (0.005, 0.4), 2.0)
    """
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, (int, np.integer)) or kernel_size < 1:
        raise ValueError(f"kernel_size={kernel_size!r} is not valid; expected an int >= 1")
    if isinstance(dilation, bool) or not isinstance(dilation, (int, np.integer)) or dilation < 1:
        raise ValueError(f"dilation={dilation!r} is not valid; expected an int >= 1")
    if rings is None:
        rings_t = tuple(default_rings(int(kernel_size), int(dilation)))
    else:
        try:
            rings_t = tuple(float(r) for r in rings)
        except TypeError as exc:
            raise ValueError(f"rings={rings!r} is not valid; expected a list of radii >= 0") from exc
        if not rings_t or any(r < 0 or not math.isfinite(r) for r in rings_t):
            raise ValueError(f"rings={rings!r} is not valid; expected a non-empty list of radii >= 0")
    if sigma is None:
        sigma_t = tuple(default_sigma(rings_t))
    elif isinstance(sigma, (int, float, np.floating, np.integer)) and not isinstance(sigma, bool):
        sigma_t = (float(sigma),) * len(rings_t)
    else:
        try:
            sigma_t = tuple(float(s) for s in sigma)  # type: ignore[union-attr]
        except TypeError as exc:
            raise ValueError(f"sigma={sigma!r} is not valid; expected a float or a list of floats") from exc
        if len(sigma_t) != len(rings_t):
            raise ValueError(
                f"sigma={sigma!r} has {len(sigma_t)} values; expected one per ring ({len(rings_t)} rings)"
            )
    if any(not (s > 0) or not math.isfinite(s) for s in sigma_t):
        raise ValueError(f"sigma={sigma!r} is not valid; expected positive widths")
    if frequencies_cutoff is None:
        cutoff: Callable[[float], float] = ManualFrequencyCutoff(kernel_size // 2)
    elif isinstance(frequencies_cutoff, (int, float, np.floating, np.integer)) and not isinstance(
        frequencies_cutoff, bool
    ):
        cutoff = LinearFrequencyCutoff(float(frequencies_cutoff))
    elif callable(frequencies_cutoff):
        cutoff = frequencies_cutoff
    else:
        raise TypeError(
            f"frequencies_cutoff={frequencies_cutoff!r} is not valid; expected None, a float or a callable"
        )
    return rings_t, sigma_t, cutoff


def _cutoff_at(cutoff: Callable[[float], float], radius: float) -> float:
    """``cutoff(radius)``, the largest frequency on the ring of that radius, checked: a ``TypeError`` where it
    is not a real number, a ``ValueError`` where it is NaN or ``+inf`` (a negative value, ``-inf`` included,
    leaves the ring out)."""
    value = cutoff(radius)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(
            f"frequencies_cutoff returned {value!r} for the ring of radius {radius}; expected a real number "
            "(the largest frequency on that ring)"
        )
    if value == -math.inf:  # as any value below 0: no frequency on the ring (-1 keeps the arithmetic finite)
        return -1.0
    if math.isnan(value) or value == math.inf:
        raise ValueError(
            f"frequencies_cutoff returned {value!r} for the ring of radius {radius}; expected a finite "
            "number (the largest frequency on that ring; a negative one leaves the ring out)"
        )
    return float(value)


def kernel_grid(kernel_size: int, dilation: int = 1) -> np.ndarray:
    """Plane coordinates ``(x, y)`` of the pixels of a ``k x k`` kernel, row-major, shape ``(2, k*k)``.

    ``x`` grows to the right and ``y`` upwards; row 0 is on top; the centre is the origin.

    Example:
        >>> kernel_grid(3)[:, :3]
        array([[-1.,  0.,  1.],
               [ 1.,  1.,  1.]])
    """
    return _kernel_grid(int(kernel_size), int(dilation)).copy()


@lru_cache(maxsize=256)
def _kernel_grid(kernel_size: int, dilation: int) -> np.ndarray:
    c = (kernel_size - 1) / 2
    idx = np.arange(kernel_size, dtype=np.float64)
    rows, cols = np.meshgrid(idx, idx, indexing="ij")
    x = (cols - c) * dilation
    y = (c - rows) * dilation
    return np.stack([x.ravel(), y.ravel()])


@dataclass(frozen=True, eq=False)
class SampledIrrepsBasis:
    """The sampled, normalised kernel basis of one irrep pair.

    Attributes:
        in_irrep: the input irrep.
        out_irrep: the output irrep.
        array: float64 array ``[n_elements, out_dim, in_dim, n_points]`` (read-only).
        attributes: one dict per element with ``radius``, ``sigma``, ``frequency``, ``gamma``, ``s``,
            ``offset`` and ``shape``.
    """

    in_irrep: IrrepSpec
    out_irrep: IrrepSpec
    array: np.ndarray
    attributes: tuple[dict[str, Any], ...] = field(repr=False)
    norms: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    axis: float = math.pi / 2

    def __len__(self) -> int:
        return int(self.array.shape[0])

    def evaluate(self, points: np.ndarray) -> np.ndarray:
        """Evaluate the (normalised) basis elements at arbitrary points ``(2, P)`` of the plane.

        Returns:
            float64 array ``[n_elements, out_dim, in_dim, P]``; at the grid points it equals :attr:`array`.

        Example:
            >>> from structconv.kernels.irreps import IrrepSpec
            >>> one = IrrepSpec("so2", None, 0, 1)
            >>> b = sample_irreps_basis(one, one, 3)
            >>> np.allclose(b.evaluate(kernel_grid(3)), b.array)
            True
        """
        points = np.asarray(points, dtype=np.float64)
        if not self.attributes:
            return np.zeros((0, self.out_irrep.dim, self.in_irrep.dim, points.shape[1]))
        values = _evaluate(self.in_irrep, self.out_irrep, list(self.attributes), points, self.axis)
        return values / self.norms[:, None, None, None]


def _angular_blocks(alpha: np.ndarray, s: np.ndarray, di: int, do: int) -> np.ndarray:
    """Matrix-valued harmonics ``[n, do, di, P]`` for the angles ``alpha`` ``[n, P]``."""
    c, sn = np.cos(alpha), np.sin(alpha)
    if di == 1 and do == 1:
        return c[:, None, None, :]
    if do == 2 and di == 1:
        return np.stack([c, sn], axis=1)[:, :, None, :]
    if do == 1 and di == 2:
        return np.stack([c, sn], axis=1)[:, None, :, :]
    sign = np.where(s == 1, -1.0, 1.0)[:, None]  # R(a) S = [[c, s], [s, -c]]
    top = np.stack([c, -sn * sign], axis=1)
    bottom = np.stack([sn, c * sign], axis=1)
    return np.stack([top, bottom], axis=1)


def _evaluate(
    in_irrep: IrrepSpec,
    out_irrep: IrrepSpec,
    attrs: Sequence[dict[str, Any]],
    points: np.ndarray,
    axis: float,
) -> np.ndarray:
    """Un-normalised values ``[n, do, di, P]`` of the elements ``attrs`` at the points ``(2, P)``."""
    x, y = points
    r = np.hypot(x, y)
    origin = r < 1e-9
    phi = np.where(origin, 0.0, np.arctan2(y, x))
    if in_irrep.flips:
        phi = phi - axis
    mu = np.array([a["frequency"] for a in attrs], dtype=np.float64)
    gamma = np.array([a["gamma"] for a in attrs])
    s = np.array([a["s"] for a in attrs])
    ring_r = np.array([a["radius"] for a in attrs])
    ring_s = np.array([a["sigma"] for a in attrs])
    alpha = mu[:, None] * phi[None, :] + gamma[:, None]
    radial = np.exp(-((r[None, :] - ring_r[:, None]) ** 2) / (2 * ring_s[:, None] ** 2))
    radial = np.where(origin[None, :] & (mu[:, None] != 0), 0.0, radial)
    return _angular_blocks(alpha, s, in_irrep.dim, out_irrep.dim) * radial[:, None, None, :]


def sample_irreps_basis(
    in_irrep: IrrepSpec,
    out_irrep: IrrepSpec,
    kernel_size: int,
    dilation: int = 1,
    rings: Sequence[float] | None = None,
    sigma: Sequence[float] | float | None = None,
    frequencies_cutoff: float | Callable[[float], float] | None = None,
    maximum_offset: int | None = None,
    axis: float = math.pi / 2,
) -> SampledIrrepsBasis:
    """Sample the steerable kernel basis between two irreps on a ``k x k`` grid (cached).

    Each element is normalised so that its sum of squares over the grid and the block's entries equals
    the output irrep's dimension; elements whose sampled norm is negligible are dropped.

    Args:
        in_irrep: the input irrep.
        out_irrep: the output irrep.
        kernel_size: size of the square filter.
        dilation: spacing between the kernel's pixels.
        rings: ring radii, see :func:`resolve_basis_params`.
        sigma: ring widths, see :func:`resolve_basis_params`.
        frequencies_cutoff: maximum frequency per radius, see :func:`resolve_basis_params`.
        maximum_offset: largest aliasing offset for finite groups (``None``: no limit).
        axis: angle of the reflection axis (groups with reflections).

    Returns:
        A :class:`SampledIrrepsBasis` (possibly with zero elements).

    Example:
        >>> from structconv.kernels.irreps import IrrepSpec
        >>> one = IrrepSpec("so2", None, 0, 1)
        >>> len(sample_irreps_basis(one, one, 5))
        10
    """
    rings_t, sigma_t, cutoff = resolve_basis_params(kernel_size, dilation, rings, sigma, frequencies_cutoff)
    if maximum_offset is not None and (
        isinstance(maximum_offset, bool)
        or not isinstance(maximum_offset, (int, np.integer))
        or maximum_offset < 0
    ):
        raise ValueError(f"maximum_offset={maximum_offset!r} is not valid; expected None or an int >= 0")
    return _sample_cached(
        in_irrep,
        out_irrep,
        int(kernel_size),
        int(dilation),
        rings_t,
        sigma_t,
        cutoff,
        None if maximum_offset is None else int(maximum_offset),
        float(axis),
    )


@lru_cache(maxsize=4096)
def _sample_cached(
    in_irrep: IrrepSpec,
    out_irrep: IrrepSpec,
    kernel_size: int,
    dilation: int,
    rings: tuple[float, ...],
    sigma: tuple[float, ...],
    cutoff: Callable[[float], float],
    maximum_offset: int | None,
    axis: float,
) -> SampledIrrepsBasis:
    di, do = in_irrep.dim, out_irrep.dim
    attrs: list[dict[str, Any]] = []
    for radius, width in zip(rings, sigma):
        fmax = _cutoff_at(cutoff, radius)
        for h in irreps_harmonics(in_irrep, out_irrep, fmax, maximum_offset):
            attrs.append(
                {
                    "radius": radius,
                    "sigma": width,
                    "frequency": h.frequency,
                    "gamma": h.gamma,
                    "s": h.s,
                    "offset": h.offset,
                    "shape": (do, di),
                }
            )
    n_points = kernel_size * kernel_size
    if not attrs:
        empty = np.zeros((0, do, di, n_points))
        return SampledIrrepsBasis(in_irrep, out_irrep, empty, (), np.zeros(0), axis)
    basis = _evaluate(in_irrep, out_irrep, attrs, _kernel_grid(kernel_size, dilation), axis)
    norms = np.sqrt((basis**2).reshape(len(attrs), -1).sum(1) / do)
    keep = norms >= _NORM_EPS
    basis = basis[keep] / norms[keep, None, None, None]
    kept = tuple(a for a, k in zip(attrs, keep) if k)
    basis.setflags(write=False)
    return SampledIrrepsBasis(in_irrep, out_irrep, basis, kept, norms[keep], axis)
