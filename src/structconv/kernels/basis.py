"""Steerable kernel bases between two (not necessarily irreducible) representations.

Each representation decomposes as ``ρ = Q (⊕ ψ_i) Q⁻¹``.  A kernel between ``ρ_in`` and ``ρ_out`` is
``κ = Q_out K Q_in⁻¹`` where ``K`` is block-structured: the block of output irrep ``a`` and input irrep
``b`` is any element of the irrep-pair basis of :func:`~structconv.kernels.sampling.sample_irreps_basis`.
:func:`steerable_basis` builds the whole sampled basis ``[n_elements, out_size, in_size, k*k]`` with one
vectorised contraction per pair of distinct irreps, and caches it.

Example:
    >>> from structconv.group import cyclic_group
    >>> G = cyclic_group(8)
    >>> basis = steerable_basis(G.regular_representation, G.regular_representation, 3)
    >>> basis.array.shape
    (48, 8, 8, 9)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from structconv.kernels.irreps import IrrepSpec, irrep_spec_from
from structconv.kernels.sampling import _sample_cached, resolve_basis_params

__all__ = ["SteerableBasis", "group_kind", "irrep_spec_by_name", "steerable_basis"]


def group_kind(group: Any) -> tuple[str, int | None]:
    """``(kind, N)`` of a :mod:`structconv.group` group, from its trivial irrep's
    :attr:`~structconv.group.IrreducibleRepresentation.planar_data` (see :func:`irrep_spec_from`).

    The flip group (:func:`~structconv.group.flip_group`, named C2 as in the reference library) acts on
    the plane as D_1: ``('dihedral', 1)``.

    Example:
        >>> from structconv.group import cyclic_group, flip_group
        >>> group_kind(cyclic_group(4)), group_kind(flip_group())
        (('cyclic', 4), ('dihedral', 1))
    """
    try:
        spec = irrep_spec_from(group.trivial_representation)
    except (AttributeError, ValueError):
        raise ValueError(f"group={group!r} is not supported; expected C_N, D_N, SO(2) or O(2)") from None
    return spec.kind, spec.N


def irrep_spec_by_name(group: Any, name: str) -> IrrepSpec:
    """The :class:`IrrepSpec` of the irrep called ``name`` (``"irrep_3"``, ``"irrep_1,2"``) of ``group``:
    :func:`irrep_spec_from` of ``group.irreps[name]``.

    Example:
        >>> from structconv.group import cyclic_group
        >>> irrep_spec_by_name(cyclic_group(4), "irrep_2")
        IrrepSpec(kind='cyclic', N=4, j=0, k=2)
    """
    try:
        irrep = group.irreps[name]
    except KeyError:
        raise ValueError(
            f"name={name!r} is not an irrep of {group.name}; expected one of {list(group.irreps)}"
        ) from None
    return irrep_spec_from(irrep)


class SteerableBasis:
    """A sampled steerable kernel basis between two representations.

    The dense samples are computed on first use, in the precision asked for (:meth:`as_array`), from
    a compact form: the irrep-pair bases and the changes of basis.

    Attributes:
        elements: per element, ``(out_irrep_idx, in_irrep_idx, irrep-pair element index)``, int array
            ``[n_elements, 3]``: the positions of the irreps in the representations' irreps lists.
            The elements are grouped by pair of distinct irreps, then by occurrences ``(a, b)``.
        irreps_bases: the irrep-pair bases, keyed by ``(out_irrep_name, in_irrep_name)``.
        in_irreps: names of the input irreps (in order); out_irreps likewise.
        in_dims: sizes of the input irreps; out_dims likewise.
        shape: ``(n_elements, out_size, in_size, n_points)``.
        q_in_inv: the inverse change of basis of the input representation.
        q_out: the change of basis of the output representation (``None`` if unknown).
    """

    def __init__(
        self,
        elements: np.ndarray,
        irreps_bases: dict[tuple[str, str], Any],
        in_irreps: tuple[str, ...],
        out_irreps: tuple[str, ...],
        in_dims: tuple[int, ...],
        out_dims: tuple[int, ...],
        shape: tuple[int, int, int, int],
        plan: list[tuple[int, int, np.ndarray, np.ndarray, np.ndarray]],
        q_in_inv: np.ndarray | None = None,
        q_out: np.ndarray | None = None,
    ) -> None:
        self.elements = elements
        self.irreps_bases = irreps_bases
        self.in_irreps, self.out_irreps = in_irreps, out_irreps
        self.in_dims, self.out_dims = in_dims, out_dims
        self.shape = shape
        # per pair of distinct irreps (start, stop, Q_out's columns [A, X, d_o], the pair basis [n, d_o, d_i,
        # P], Q_in⁻¹'s rows [B, d_i, Y]); their products with Q_out are formed on first use (_plan)
        self._compact = plan
        self.q_in_inv = q_in_inv
        self.q_out = q_out
        self._arrays: dict[str, np.ndarray] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_arrays"] = {}  # dense samples are recomputed on demand, not pickled
        if "_compact" in state:  # and so are the products with Q_out (an old pickle has only those)
            state.pop("_left", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "_compact" not in state and "_plan" in state:  # pickled before the products were deferred
            state["_left"] = state.pop("_plan")
        self.__dict__.update(state)

    @property
    def _plan(self) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
        """Per pair of distinct irreps ``(start, stop, left [A, n, X, d_i, P], Q_in⁻¹'s rows [B, d_i, Y])``
        with ``left = Q_out[:, a] K_n``: formed on first use (the dense array, :meth:`values_at`), which
        the expansions that work from the pair bases never need."""
        left = self.__dict__.get("_left")
        if left is None:
            left = [
                (
                    start,
                    stop,
                    np.ascontiguousarray(np.tensordot(qo, pair, axes=(2, 1)).transpose(0, 2, 1, 3, 4)),
                    qi,
                )
                for start, stop, qo, pair, qi in self._compact
            ]
            self.__dict__["_left"] = left
        return left

    def __copy__(self) -> SteerableBasis:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, Any]) -> SteerableBasis:
        return self  # immutable: copies of a layer share their sampled bases

    @property
    def array(self) -> np.ndarray:
        """float64 samples ``[n_elements, out_size, in_size, n_points]`` (read-only); each element is
        normalised so that its squared Frobenius norm over the grid equals its output irrep's size."""
        return self.as_array(np.float64)

    def as_array(self, dtype: Any = np.float64, cache: bool = True) -> np.ndarray:
        """The dense samples computed in ``dtype`` (cached and read-only; with ``cache=False`` a fresh,
        writable array that is not kept, unless one is cached already, which is then returned).

        Example:
            >>> from structconv.group import cyclic_group
            >>> G = cyclic_group(4)
            >>> b = steerable_basis(G.regular_representation, G.regular_representation, 3)
            >>> b.as_array(np.float32).dtype, b.as_array(np.float32).shape
            (dtype('float32'), (24, 4, 4, 9))
        """
        key = np.dtype(dtype).name
        if key not in self._arrays:
            n, x, y, p = self.shape
            array = np.empty((n, x, y, p), dtype=dtype)
            # Q_out[:, a] K Q_in^-1[b, :] for all the occurrences (a, b) of each irrep pair at once,
            # written in place: one contraction per pair of distinct irreps
            for start, stop, left, qi in self._plan:
                view = array[start:stop].reshape(left.shape[0], qi.shape[0], left.shape[1], x, y, p)
                np.einsum("anxip,biy->abnxyp", left.astype(dtype), qi.astype(dtype), out=view)
            if not cache:
                return array
            array.setflags(write=False)
            self._arrays[key] = array
        return self._arrays[key]

    def values_at(self, out_idx: np.ndarray, in_idx: np.ndarray, point_idx: np.ndarray) -> np.ndarray:
        """The float64 samples of every element at the entries ``(out_idx[j], in_idx[j], point_idx[j])``,
        ``[n_elements, J]``, computed from the compact form (without the dense array).

        Example:
            >>> from structconv.group import cyclic_group
            >>> G = cyclic_group(4)
            >>> b = steerable_basis(G.regular_representation, G.regular_representation, 3)
            >>> o, i, p = np.array([0, 3]), np.array([1, 2]), np.array([4, 8])
            >>> np.allclose(b.values_at(o, i, p), b.array[:, o, i, p])
            True
        """
        o, i, q = (np.asarray(v, dtype=np.int64).ravel() for v in (out_idx, in_idx, point_idx))
        out = np.empty((self.shape[0], len(o)))
        for start, stop, left, qi in self._plan:
            # left [A, n, X, di, P], qi [B, di, Y]: the element (a, b, n) at (o, i, q), one small matrix
            # product per entry
            a_, n, _, di, _ = left.shape
            lhs = left[:, :, o, :, q].reshape(len(o), a_ * n, di)  # [J, A * n, di]
            rhs = qi[:, :, i].transpose(2, 1, 0)  # [J, di, B]
            picked = np.matmul(lhs, rhs).reshape(len(o), a_, n, -1)  # [J, A, n, B]
            out[start:stop] = picked.transpose(1, 3, 2, 0).reshape(stop - start, len(o))
        return out

    def __len__(self) -> int:
        return int(self.shape[0])

    def attributes(self) -> Iterator[dict[str, Any]]:
        """Yield one attribute dict per element (ring, frequency, irreps, positions...)."""
        in_off = np.concatenate([[0], np.cumsum(self.in_dims)]).astype(int)
        out_off = np.concatenate([[0], np.cumsum(self.out_dims)]).astype(int)
        for idx, (a, b, e) in enumerate(self.elements.tolist()):
            pair = self.irreps_bases[(self.out_irreps[a], self.in_irreps[b])]
            attr = dict(pair.attributes[e])
            attr.update(
                {
                    "in_irrep": self.in_irreps[b],
                    "out_irrep": self.out_irreps[a],
                    "in_irrep_idx": b,
                    "out_irrep_idx": a,
                    "in_irreps_position": int(in_off[b]),
                    "out_irreps_position": int(out_off[a]),
                    "inner_idx": e,
                    "idx": idx,
                }
            )
            yield attr


def steerable_basis(
    in_repr: Any,
    out_repr: Any,
    kernel_size: int,
    dilation: int = 1,
    rings: Sequence[float] | None = None,
    sigma: Sequence[float] | float | None = None,
    frequencies_cutoff: float | Callable[[float], float] | None = None,
    maximum_offset: int | None = None,
    axis: float = math.pi / 2,
) -> SteerableBasis:
    """Sample the complete basis of steerable kernels from ``in_repr`` to ``out_repr`` (cached).

    Every element ``κ`` satisfies ``κ(g·x) = ρ_out(g) κ(x) ρ_in(g)⁻¹`` at the grid points for every ``g``
    that maps the grid to itself.

    Args:
        in_repr: input :class:`~structconv.group.Representation`.
        out_repr: output representation of the same group.
        kernel_size: size of the square filter.
        dilation: spacing between the kernel's pixels.
        rings: ring radii (default: see :func:`~structconv.kernels.sampling.default_rings`).
        sigma: ring widths (default: see :func:`~structconv.kernels.sampling.default_sigma`).
        frequencies_cutoff: maximum frequency per radius: callable, float factor or ``None`` (default).
        maximum_offset: largest aliasing offset for finite groups; ``None`` for no limit.
        axis: angle of the reflection axis (groups with reflections).

    Returns:
        A :class:`SteerableBasis`.

    Raises:
        ValueError: if the representations belong to different groups or the parameters are invalid.

    Example:
        >>> from structconv.group import cyclic_group
        >>> G = cyclic_group(4)
        >>> len(steerable_basis(G.trivial_representation, G.trivial_representation, 7))
        4
    """
    if in_repr.group != out_repr.group:
        raise ValueError(
            f"in_repr={in_repr!r} and out_repr={out_repr!r} belong to different groups "
            f"({in_repr.group!r} and {out_repr.group!r})"
        )
    rings_t, sigma_t, cutoff = resolve_basis_params(kernel_size, dilation, rings, sigma, frequencies_cutoff)
    if maximum_offset is not None and (
        isinstance(maximum_offset, bool)
        or not isinstance(maximum_offset, (int, np.integer))
        or maximum_offset < 0
    ):
        raise ValueError(f"maximum_offset={maximum_offset!r} is not valid; expected None or an int >= 0")
    return _steerable_basis_cached(
        in_repr,
        out_repr,
        int(kernel_size),
        int(dilation),
        rings_t,
        sigma_t,
        cutoff,
        None if maximum_offset is None else int(maximum_offset),
        float(axis),
    )


def _offsets(names: Sequence[str], dims: dict[str, int]) -> tuple[np.ndarray, dict[str, list[int]]]:
    """Offsets of each irrep in the irrep space and the list of indices of every distinct irrep."""
    offsets = np.concatenate([[0], np.cumsum([dims[n] for n in names])]).astype(int)
    where: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        where.setdefault(n, []).append(i)
    return offsets, where


@lru_cache(maxsize=256)
def _steerable_basis_cached(
    in_repr: Any,
    out_repr: Any,
    kernel_size: int,
    dilation: int,
    rings: tuple[float, ...],
    sigma: tuple[float, ...],
    cutoff: Callable[[float], float],
    maximum_offset: int | None,
    axis: float,
) -> SteerableBasis:
    group = in_repr.group
    names = set(in_repr.irreps) | set(out_repr.irreps)
    specs = {n: irrep_spec_by_name(group, n) for n in names}

    def pair_basis(out_name: str, in_name: str) -> Any:
        return _sample_cached(
            specs[in_name], specs[out_name], kernel_size, dilation, rings, sigma, cutoff, maximum_offset, axis
        )

    dims = {n: specs[n].dim for n in names}
    return assemble_basis(in_repr, out_repr, dims, pair_basis, kernel_size * kernel_size)


def assemble_basis(
    in_repr: Any,
    out_repr: Any,
    dims: dict[str, int],
    pair_basis: Callable[[str, str], Any],
    n_points: int,
) -> SteerableBasis:
    """The :class:`SteerableBasis` between two representations from the bases of their irrep pairs.

    Shared by the kernel bases on the plane and in space: only the irrep-pair bases differ.

    Args:
        in_repr: input representation (its ``irreps`` are names, its ``change_of_basis_inv`` is used).
        out_repr: output representation (its ``change_of_basis`` is used).
        dims: the size of every irrep named in the two representations.
        pair_basis: ``(out_name, in_name) -> basis`` with ``.array [n, out_dim, in_dim, n_points]``,
            ``.attributes`` (one dict per element) and ``len()``.
        n_points: number of sampling points.

    Returns:
        A :class:`SteerableBasis`, elements grouped by pair of distinct irreps, then by occurrences.
    """
    in_names, out_names = tuple(in_repr.irreps), tuple(out_repr.irreps)
    in_off, in_where = _offsets(in_names, dims)
    out_off, out_where = _offsets(out_names, dims)
    q_out = np.asarray(out_repr.change_of_basis, dtype=np.float64)
    q_in_inv = np.asarray(in_repr.change_of_basis_inv, dtype=np.float64)
    # first pass: the irrep-pair bases (cached) and the layout of the elements
    plan = []
    pair_bases: dict[tuple[str, str], Any] = {}
    total = 0
    for out_name, a_list in out_where.items():
        for in_name, b_list in in_where.items():
            pair = pair_basis(out_name, in_name)
            pair_bases[(out_name, in_name)] = pair
            if len(pair):
                plan.append((out_name, a_list, in_name, b_list, pair, total))
                total += len(a_list) * len(b_list) * len(pair)
    elements = np.empty((total, 3), dtype=int)
    compact = []
    for out_name, a_list, in_name, b_list, pair, start in plan:
        do, di, n = dims[out_name], dims[in_name], len(pair)
        stop = start + len(a_list) * len(b_list) * n
        qo = np.stack([q_out[:, out_off[a] : out_off[a] + do] for a in a_list])  # [A, X, do]
        qi = np.stack([q_in_inv[in_off[b] : in_off[b] + di, :] for b in b_list])  # [B, di, Y]
        compact.append((start, stop, qo, pair.array, qi))
        aa, bb, ee = np.meshgrid(np.array(a_list), np.array(b_list), np.arange(n), indexing="ij")
        elements[start:stop] = np.stack([aa.ravel(), bb.ravel(), ee.ravel()], axis=1)
    elements.setflags(write=False)
    in_dims = tuple(dims[n] for n in in_names)
    out_dims = tuple(dims[n] for n in out_names)
    shape = (total, out_repr.size, in_repr.size, n_points)
    return SteerableBasis(
        elements, pair_bases, in_names, out_names, in_dims, out_dims, shape, compact, q_in_inv, q_out
    )
