"""Sampled (discretised) steerable PDO bases, in the formats of :mod:`structconv.kernels`.

:func:`sample_irreps_diffop_basis` discretises the irrep-pair basis of :func:`irreps_diffop_basis` into
stencils and returns a :class:`~structconv.kernels.sampling.SampledIrrepsBasis`;
:func:`diffop_basis` assembles those for two arbitrary representations into a
:class:`~structconv.kernels.basis.SteerableBasis`, i.e. exactly what the kernel bases of ``R2Conv`` are,
so that the basis expansion, initialisation and export of ``R2Conv`` apply to PDOs unchanged.

Each discretised element is normalised like the kernel bases: its sum of squares over the grid and the
block's entries equals the output irrep's dimension; elements whose stencil vanishes are dropped.

Example:
    >>> from structconv.kernels.irreps import IrrepSpec
    >>> triv = IrrepSpec("cyclic", 4, 0, 0)
    >>> basis = sample_irreps_diffop_basis(triv, triv, kernel_size=3, maximum_order=2)
    >>> basis.array.shape, [a["order"] for a in basis.attributes]
    ((2, 1, 1, 9), [0, 2])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from structconv.diffops.basis import irreps_diffop_basis
from structconv.diffops.discretization import METHODS, discretize_homogeneous_polynomial
from structconv.diffops.polynomials import transform_polynomial
from structconv.kernels.basis import SteerableBasis, irrep_spec_by_name
from structconv.kernels.irreps import IrrepSpec
from structconv.kernels.sampling import SampledIrrepsBasis

__all__ = ["DiscretizationArgs", "DiffopSteerableBasis", "sample_irreps_diffop_basis", "diffop_basis"]

_NORM_EPS = 1e-6


class DiscretizationArgs:
    """How PDOs are turned into stencils (immutable, hashable, picklable).

    Args:
        method: ``"fd"`` (finite differences), ``"gauss"`` (Gaussian derivatives) or ``"rbffd"``.
        smoothing: Gaussian standard deviation in pixels; required for ``"gauss"``.  When set, Gaussian
            derivatives are used whatever ``method`` says.
        angle_offset: if not ``None``, every PDO is rotated by this angle (radians) before it is
            discretised: the symbol ``P`` becomes ``x -> P(R(-angle_offset) x)``.
        phi: radial basis function of ``"rbffd"``.

    Example:
        >>> DiscretizationArgs("gauss", smoothing=1.0)
        DiscretizationArgs(method='gauss', smoothing=1.0, angle_offset=None, phi='ga')
    """

    __slots__ = ("method", "smoothing", "angle_offset", "phi")

    def __init__(
        self,
        method: str = "fd",
        smoothing: float | None = None,
        angle_offset: float | None = None,
        phi: str = "ga",
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"method={method!r} is not known; expected one of {METHODS}")
        if method == "gauss" and smoothing is None:
            raise ValueError(
                "method='gauss' needs smoothing; received smoothing=None, expected a positive float"
            )
        if smoothing is not None:
            try:
                smoothing = float(smoothing)
            except (TypeError, ValueError) as exc:
                raise TypeError(
                    f"smoothing={smoothing!r} is not valid; expected None or a positive float"
                ) from exc
            if not (smoothing > 0 and math.isfinite(smoothing)):
                raise ValueError(f"smoothing={smoothing!r} is not valid; expected None or a positive float")
        if angle_offset is not None:
            try:
                angle_offset = float(angle_offset)
            except (TypeError, ValueError) as exc:
                raise TypeError(
                    f"angle_offset={angle_offset!r} is not valid; expected None or a float"
                ) from exc
            if not math.isfinite(angle_offset):
                raise ValueError(f"angle_offset={angle_offset!r} is not valid; expected a finite float")
        object.__setattr__(self, "method", method)
        object.__setattr__(self, "smoothing", smoothing)
        object.__setattr__(self, "angle_offset", angle_offset)
        object.__setattr__(self, "phi", str(phi))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("DiscretizationArgs is immutable")

    def _key(self) -> tuple[Any, ...]:
        return (self.method, self.smoothing, self.angle_offset, self.phi)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DiscretizationArgs) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(("DiscretizationArgs",) + self._key())

    def __reduce__(self) -> tuple[Any, ...]:
        return (DiscretizationArgs, self._key())

    def __repr__(self) -> str:
        return (
            f"DiscretizationArgs(method={self.method!r}, smoothing={self.smoothing!r}, "
            f"angle_offset={self.angle_offset!r}, phi={self.phi!r})"
        )


def sample_irreps_diffop_basis(
    in_irrep: IrrepSpec,
    out_irrep: IrrepSpec,
    kernel_size: int,
    maximum_order: int,
    maximum_power: int | None = None,
    maximum_offset: int | None = None,
    dilation: int = 1,
    discretization: DiscretizationArgs | None = None,
    axis: float = math.pi / 2,
) -> SampledIrrepsBasis:
    """Discretise the steerable PDO basis between two irreps on a ``k x k`` grid (cached).

    Args:
        in_irrep: the input irrep.
        out_irrep: the output irrep (same group).
        kernel_size: size of the square stencil.
        maximum_order: largest derivative order.
        maximum_power: largest power of the Laplacian (``None``: no extra limit).
        maximum_offset: largest aliasing offset of the angular frequency (finite groups).
        dilation: spacing between the stencil's pixels.
        discretization: how to discretise (default finite differences).
        axis: reflection axis (groups with reflections).

    Returns:
        a :class:`~structconv.kernels.sampling.SampledIrrepsBasis` whose attributes hold ``order``,
        ``power``, ``frequency``, ``offset``, ``angular_idx`` and ``shape`` (plus ``radius`` = ``order``,
        ``gamma`` = 0 and ``s`` = ``angular_idx``, the keys the kernels' basis expansion reads).

    Example:
        >>> from structconv.kernels.irreps import IrrepSpec
        >>> one = IrrepSpec("so2", None, 0, 1)
        >>> len(sample_irreps_diffop_basis(one, one, 3, 2))
        6
    """
    disc = DiscretizationArgs() if discretization is None else discretization
    if not isinstance(disc, DiscretizationArgs):
        raise TypeError(
            f"discretization={discretization!r} is not valid; expected DiscretizationArgs or None"
        )
    return _sample_cached(
        in_irrep,
        out_irrep,
        int(kernel_size),
        int(maximum_order),
        None if maximum_power is None else int(maximum_power),
        None if maximum_offset is None else int(maximum_offset),
        int(dilation),
        disc,
        float(axis),
    )


@lru_cache(maxsize=4096)
def _sample_cached(
    in_irrep: IrrepSpec,
    out_irrep: IrrepSpec,
    kernel_size: int,
    maximum_order: int,
    maximum_power: int | None,
    maximum_offset: int | None,
    dilation: int,
    disc: DiscretizationArgs,
    axis: float,
) -> SampledIrrepsBasis:
    basis = irreps_diffop_basis(in_irrep, out_irrep, maximum_order, maximum_power, maximum_offset, axis)
    do, di = out_irrep.dim, in_irrep.dim
    n_points = kernel_size * kernel_size
    if len(basis) == 0:
        return SampledIrrepsBasis(in_irrep, out_irrep, np.zeros((0, do, di, n_points)), ())
    method = "gauss" if disc.smoothing is not None else disc.method
    rot = None
    if disc.angle_offset is not None:
        c, s = math.cos(disc.angle_offset), math.sin(disc.angle_offset)
        rot = np.array([[c, s], [-s, c]])  # R(-angle_offset)
    sampled = np.zeros((len(basis), do, di, n_points))
    for i, coeffs in enumerate(basis.coefficients):
        if rot is not None:
            coeffs = transform_polynomial(coeffs, rot)
        sampled[i] = discretize_homogeneous_polynomial(
            coeffs, kernel_size, dilation, method, disc.smoothing, disc.phi
        )
    norms = np.sqrt((sampled**2).reshape(len(basis), -1).sum(1) / do)
    keep = norms >= _NORM_EPS
    sampled = sampled[keep] / norms[keep, None, None, None]
    attrs = []
    for a, k in zip(basis.attributes, keep):
        if k:
            attrs.append(
                {
                    "order": a["order"],
                    "power": a["power"],
                    "frequency": a["frequency"],
                    "offset": a["offset"],
                    "angular_idx": a["inner_idx"],
                    "shape": a["shape"],
                    # the keys the kernel bases carry, read by the basis expansion (names, delta
                    # initialisation): "radius" holds the derivative order (order 0 is the identity,
                    # supported at the centre for finite differences), "s" the angular index
                    "radius": float(a["order"]),
                    "gamma": 0.0,
                    "s": a["inner_idx"],
                }
            )
    sampled.setflags(write=False)
    return SampledIrrepsBasis(in_irrep, out_irrep, sampled, tuple(attrs))


class DiffopSteerableBasis(SteerableBasis):
    """A :class:`~structconv.kernels.SteerableBasis` of discretised PDOs, holding its dense samples.

    It has the public attributes of the kernel bases (``elements``, ``irreps_bases``, ``in_irreps``,
    ``out_irreps``, ``in_dims``, ``out_dims``, ``shape``, :attr:`array`, :meth:`as_array`,
    :meth:`attributes`), so the basis expansion of ``R2Conv`` consumes it unchanged.

    Example:
        >>> from structconv.group import cyclic_group
        >>> G = cyclic_group(4)
        >>> basis = diffop_basis(G.trivial_representation, G.regular_representation, 3, 2)
        >>> isinstance(basis, SteerableBasis), basis.shape, basis.as_array(np.float32).dtype
        (True, (6, 4, 1, 9), dtype('float32'))
    """

    def __init__(
        self,
        array: np.ndarray,
        elements: np.ndarray,
        irreps_bases: dict[tuple[str, str], Any],
        in_irreps: tuple[str, ...],
        out_irreps: tuple[str, ...],
        in_dims: tuple[int, ...],
        out_dims: tuple[int, ...],
    ) -> None:
        # the kernels' constructor takes a compact form; this basis is dense from the start
        self.elements = elements
        self.irreps_bases = irreps_bases
        self.in_irreps, self.out_irreps = in_irreps, out_irreps
        self.in_dims, self.out_dims = in_dims, out_dims
        self.shape = tuple(int(v) for v in array.shape)
        self._dense = {np.dtype(np.float64).name: array}

    @property
    def array(self) -> np.ndarray:
        """float64 stencils ``[n_elements, out_size, in_size, n_points]`` (read-only)."""
        return self.as_array(np.float64)

    def as_array(self, dtype: Any = np.float64, cache: bool = True) -> np.ndarray:
        """The dense stencils in ``dtype`` (cached and read-only; with ``cache=False`` a fresh writable array
        that is not kept, unless one is cached already, which is then returned)."""
        key = np.dtype(dtype).name
        if key not in self._dense:
            arr = self._dense["float64"].astype(dtype)
            if not cache:
                return arr
            arr.setflags(write=False)
            self._dense[key] = arr
        return self._dense[key]

    def values_at(self, out_idx: np.ndarray, in_idx: np.ndarray, point_idx: np.ndarray) -> np.ndarray:
        """The float64 stencils of every element at the entries ``(out_idx[j], in_idx[j], point_idx[j])``,
        ``[n_elements, J]`` (read from the dense array this basis holds).

        Raises:
            IndexError: an index is out of range for :attr:`shape`.

        Example:
            >>> from structconv.group import cyclic_group
            >>> G = cyclic_group(4)
            >>> b = diffop_basis(G.trivial_representation, G.regular_representation, 3, 2)
            >>> b.values_at([0, 3], [0, 0], [4, 8]).shape
            (6, 2)
        """
        o, i, q = (np.asarray(v, dtype=np.int64).ravel() for v in (out_idx, in_idx, point_idx))
        return np.array(self._dense["float64"][:, o, i, q])

    def __len__(self) -> int:
        return int(self.shape[0])


def _positions(names: Sequence[str], specs: dict[str, IrrepSpec]) -> tuple[np.ndarray, dict[str, list[int]]]:
    offsets = np.concatenate([[0], np.cumsum([specs[n].dim for n in names])]).astype(int)
    where: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        where.setdefault(n, []).append(i)
    return offsets, where


def diffop_basis(
    in_repr: Any,
    out_repr: Any,
    kernel_size: int,
    maximum_order: int,
    maximum_power: int | None = None,
    maximum_offset: int | None = None,
    dilation: int = 1,
    discretization: DiscretizationArgs | None = None,
    axis: float = math.pi / 2,
) -> SteerableBasis:
    """The discretised steerable PDO basis between two representations (cached).

    The block of output irrep ``a`` and input irrep ``b`` is the irrep-pair basis of
    :func:`sample_irreps_diffop_basis`, mapped through the changes of basis:
    ``P = Q_out [...] Q_in⁻¹``.  The result has the layout of
    :func:`structconv.kernels.steerable_basis` (same ordering of elements).

    Args:
        in_repr: input :class:`~structconv.group.Representation`.
        out_repr: output representation of the same group.
        kernel_size: size of the square stencil.
        maximum_order: largest derivative order.
        maximum_power: largest power of the Laplacian.
        maximum_offset: largest aliasing offset (finite groups).
        dilation: spacing of the stencil's pixels.
        discretization: how to discretise (default finite differences).
        axis: reflection axis (groups with reflections).

    Raises:
        ValueError: if the representations belong to different groups.

    Example:
        >>> from structconv.group import cyclic_group
        >>> G = cyclic_group(4)
        >>> diffop_basis(G.regular_representation, G.trivial_representation, 3, 2).array.shape
        (6, 1, 4, 9)
    """
    if in_repr.group != out_repr.group:
        raise ValueError(
            f"in_repr={in_repr!r} and out_repr={out_repr!r} belong to different groups "
            f"({in_repr.group!r} and {out_repr.group!r})"
        )
    disc = DiscretizationArgs() if discretization is None else discretization
    return _diffop_basis_cached(
        in_repr,
        out_repr,
        int(kernel_size),
        int(maximum_order),
        None if maximum_power is None else int(maximum_power),
        None if maximum_offset is None else int(maximum_offset),
        int(dilation),
        disc,
        float(axis),
    )


@lru_cache(maxsize=1024)
def _diffop_basis_cached(
    in_repr: Any,
    out_repr: Any,
    kernel_size: int,
    maximum_order: int,
    maximum_power: int | None,
    maximum_offset: int | None,
    dilation: int,
    disc: DiscretizationArgs,
    axis: float,
) -> SteerableBasis:
    group = in_repr.group
    in_names, out_names = tuple(in_repr.irreps), tuple(out_repr.irreps)
    specs = {n: irrep_spec_by_name(group, n) for n in set(in_names) | set(out_names)}
    in_off, in_where = _positions(in_names, specs)
    out_off, out_where = _positions(out_names, specs)
    q_out = np.asarray(out_repr.change_of_basis, dtype=np.float64)
    q_in_inv = np.asarray(in_repr.change_of_basis_inv, dtype=np.float64)
    n_points = kernel_size * kernel_size
    blocks: list[np.ndarray] = []
    index: list[np.ndarray] = []
    pair_bases: dict[tuple[str, str], Any] = {}
    for out_name, a_list in out_where.items():
        so = specs[out_name]
        qo = np.stack([q_out[:, out_off[a] : out_off[a] + so.dim] for a in a_list])
        for in_name, b_list in in_where.items():
            si = specs[in_name]
            pair = sample_irreps_diffop_basis(
                si, so, kernel_size, maximum_order, maximum_power, maximum_offset, dilation, disc, axis
            )
            pair_bases[(out_name, in_name)] = pair
            n = len(pair)
            if n == 0:
                continue
            qi = np.stack([q_in_inv[in_off[b] : in_off[b] + si.dim, :] for b in b_list])
            block = np.einsum("axo,noip,biy->abnxyp", qo, pair.array, qi, optimize=True)
            blocks.append(block.reshape(-1, out_repr.size, in_repr.size, n_points))
            aa, bb, ee = np.meshgrid(np.array(a_list), np.array(b_list), np.arange(n), indexing="ij")
            index.append(np.stack([aa.ravel(), bb.ravel(), ee.ravel()], axis=1))
    if blocks:
        array = np.concatenate(blocks)
        elements = np.concatenate(index)
        order = np.lexsort((elements[:, 2], elements[:, 1], elements[:, 0]))
        array, elements = np.ascontiguousarray(array[order]), elements[order]
    else:
        array = np.zeros((0, out_repr.size, in_repr.size, n_points))
        elements = np.zeros((0, 3), dtype=int)
    array.setflags(write=False)
    elements.setflags(write=False)
    in_dims = tuple(specs[n].dim for n in in_names)
    out_dims = tuple(specs[n].dim for n in out_names)
    return DiffopSteerableBasis(array, elements, pair_bases, in_names, out_names, in_dims, out_dims)
