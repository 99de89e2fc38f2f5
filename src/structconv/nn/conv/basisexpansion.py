"""Basis expansion modules: learnable coefficients -> dense steerable filter.

A steerable convolution stores one coefficient per basis element of the kernel space between every pair of
(input field, output field). The basis of a pair depends only on the two fields' representations, so the
expansion groups the fields by representation pair: for each pair it keeps one sampled basis ``[D, out_size,
in_size, P]`` (a non-persistent buffer, float32 unless the module is cast) and expands all the coefficients
of that pair with a single matrix product -- or, for large representations (e.g. regular ones) where it
needs far fewer multiply-adds, expands them in factorized form ``Q_out K Q_in⁻¹`` (see
:class:`_FactorPlan`), or, for a single pair of such fields, with ``K`` built in the irreps' bases (see
:class:`_IrrepPlan`), or, for fields that are direct sums of irreps in their own bases (SO(3)'s and O(3)'s
band-limited regular fields), with one product per irrep pair over all the field pairs. Between permutation
representations of a finite group that permutes the sampling grid (regular fields of the octahedral group on
the cubic grid, of C4 and D4 on the square grid) the filter is constant on the orbits of its entries and is
gathered from its values on one entry per orbit (see :class:`_OrbitPlan`); where the group moves grid points
off the grid (the icosahedral groups) but acts freely on the channel pairs, every pair's filter is a rotated
copy of a representative one, evaluated from the basis's harmonics (see :class:`_RotatedPlan`). The blocks
are then concatenated and, if the types mix representations, re-ordered with one index gather.

Example:
    >>> from structconv.gspaces import Rot2dOnR2
    >>> from structconv.nn import FieldType
    >>> gs = Rot2dOnR2(8)
    >>> t = FieldType(gs, [gs.regular_repr] * 2)
    >>> exp = BlocksBasisExpansion(t, t, r2_kernel_basis, kernel_grid(3), kernel_size=3)
    >>> exp.dimension()
    192
    >>> exp(torch.randn(192)).shape
    torch.Size([16, 16, 9])
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
import torch

from structconv._validate import check_bool
from structconv.kernels import SteerableBasis, kernel_grid, steerable_basis  # noqa: F401 (examples)
from structconv.nn._device import default_device
from structconv.nn._structure import StructureMixin

__all__ = [
    "BasisExpansion",
    "BlocksBasisExpansion",
    "SingleBlockBasisExpansion",
    "block_basisexpansion",
    "r2_kernel_basis",
    "r3_kernel_basis",
]


def r2_kernel_basis(
    in_repr: Any,
    out_repr: Any,
    *,
    kernel_size: int,
    dilation: int = 1,
    rings: Any = None,
    sigma: Any = None,
    frequencies_cutoff: Any = None,
    maximum_offset: int | None = None,
    axis: float = math.pi / 2,
    recompute: bool = False,
) -> SteerableBasis:
    """Default basis generator of the planar steerable convolutions (wraps
    :func:`structconv.kernels.steerable_basis`).

    Args:
        in_repr: input representation.
        out_repr: output representation.
        kernel_size: size of the square filter.
        dilation: spacing between the kernel's pixels.
        rings: ring radii (``None``: default).
        sigma: ring widths (``None``: default).
        frequencies_cutoff: maximum frequency per radius (``None``: default).
        maximum_offset: largest aliasing offset (``None``: no limit).
        axis: reflection axis of the gspace.
        recompute: bypass the cache and build a fresh basis.

    Returns:
        the sampled :class:`~structconv.kernels.SteerableBasis`.

    Example:
        >>> from structconv.group import cyclic_group
        >>> G = cyclic_group(8)
        >>> len(r2_kernel_basis(G.regular_representation, G.regular_representation, kernel_size=5))
        88
    """
    args = (in_repr, out_repr, kernel_size, dilation, rings, sigma, frequencies_cutoff, maximum_offset, axis)
    if recompute:
        from structconv.kernels.basis import _steerable_basis_cached
        from structconv.kernels.sampling import _sample_cached

        _sample_cached.cache_clear()
        _steerable_basis_cached.cache_clear()
    return steerable_basis(*args)


def r3_kernel_basis(
    in_repr: Any,
    out_repr: Any,
    *,
    gspace: Any,
    kernel_size: int,
    dilation: int = 1,
    rings: Any = None,
    sigma: Any = None,
    frequencies_cutoff: Any = None,
    recompute: bool = False,
) -> SteerableBasis:
    """Default basis generator of the volumetric steerable convolutions (wraps
    :func:`structconv.kernels.r3.steerable_basis_r3`).

    Args:
        in_repr: input representation (of ``gspace.fibergroup``).
        out_repr: output representation.
        gspace: the ``GSpace3D`` (how the fibre group moves points of space).
        kernel_size: size of the cubic filter.
        dilation: spacing between the kernel's voxels.
        rings: shell radii (``None``: default).
        sigma: shell widths (``None``: default).
        frequencies_cutoff: largest harmonic degree per radius (``None``: default).
        recompute: bypass the cache and build a fresh basis.

    Returns:
        the sampled :class:`~structconv.kernels.SteerableBasis` (points: the ``k³`` voxels).

    Example:
        >>> from structconv.gspaces import octaOnR3
        >>> gs = octaOnR3()
        >>> R = gs.regular_repr
        >>> len(r3_kernel_basis(R, R, gspace=gs, kernel_size=3))
        240
    """
    from structconv.kernels import r3

    if recompute:
        r3._steerable_basis_r3_cached.cache_clear()
    return r3.steerable_basis_r3(
        gspace, in_repr, out_repr, kernel_size, dilation, rings, sigma, frequencies_cutoff
    )


@lru_cache(maxsize=64)
def _to_torch(basis: Any, keep: bytes | None) -> torch.Tensor:
    """float32 torch copy of a sampled basis ``[D, o, i, P]`` (optionally masked), cached (the basis itself
    does not keep its float32 samples: one copy, which every layer with this basis clones)."""
    arr = basis.as_array(np.float32, cache=False)
    if keep is not None:
        arr = arr[np.frombuffer(keep, dtype=bool)]
    return torch.from_numpy(np.array(arr, copy=not arr.flags.writeable))


def _check_points(points: Any, owner: str, size: int | None = None) -> np.ndarray:
    """``points`` as a float64 array ``(d, P)`` (``d`` = 2 on the plane, 3 in space) of finite coordinates
    (``P == size`` when given)."""
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{owner}: points={points!r} is not accepted; expected an array of shape (2, P) or (3, P) of "
            "coordinates "
            "(e.g. structconv.kernels.kernel_grid(kernel_size))"
        ) from None
    expected = f"(2, {size}) or (3, {size})" if size is not None else "(2, P) or (3, P) with P >= 1"
    wrong_size = size is not None and arr.shape[-1] != size
    if arr.ndim != 2 or arr.shape[0] not in (2, 3) or arr.shape[1] < 1 or wrong_size:
        raise ValueError(
            f"{owner}: points of shape {arr.shape} is not accepted; expected {expected}"
            + (" to match the basis" if size is not None else "")
        )
    if not np.isfinite(arr).all():
        raise ValueError(f"{owner}: points holds NaN or infinite coordinates; expected finite ones")
    return arr


def _check_filter(basis_filter: Any, owner: str) -> None:
    if basis_filter is not None and not callable(basis_filter):
        raise TypeError(
            f"{owner}: basis_filter={basis_filter!r} is not accepted; expected None or a callable taking a "
            "basis element's attributes (a dict) and returning a bool"
        )


class BasisExpansion(StructureMixin, ABC, torch.nn.Module):
    """Abstract interface of the basis expansion algorithms.

    A basis expansion maps a vector of learnable coefficients to a dense filter.  Subclasses implement
    :meth:`forward`, :meth:`dimension`, :meth:`get_basis_names`, :meth:`get_element_info` and
    :meth:`get_basis_info`.

    Example:
        >>> issubclass(BlocksBasisExpansion, BasisExpansion)
        True
    """

    def __init__(self) -> None:
        super().__init__()

    @abstractmethod
    def forward(self, weights: torch.Tensor) -> torch.Tensor:
        """Expand the basis with the coefficients ``weights`` and return the filter."""

    @abstractmethod
    def dimension(self) -> int:
        """Number of basis elements, i.e. of learnable coefficients."""

    @abstractmethod
    def get_basis_names(self) -> list[str]:
        """The identification names of the basis elements, in the order of the coefficients."""

    @abstractmethod
    def get_element_info(self, name: str | int) -> dict[str, Any]:
        """The attributes of one basis element, given by its name or index."""

    @abstractmethod
    def get_basis_info(self) -> Iterator[dict[str, Any]]:
        """Iterate over the attributes of all the basis elements, in the order of the coefficients."""


def _filtered(basis: SteerableBasis, basis_filter: Callable[[dict[str, Any]], bool] | None) -> bytes | None:
    if basis_filter is None:
        return None
    keep = np.array([bool(basis_filter(a)) for a in basis.attributes()], dtype=bool)
    return keep.tobytes()


# the factorized expansion is used where it needs clearly fewer multiply-adds than the dense product
# (its batched products run slower per multiply-add than one large product; measured on 2 CPU cores it
# is faster forward from ~2x fewer and forward+backward from ~3x fewer); ``False`` always uses the
# dense product and ``"always"`` the factorized one where it applies (tests compare the two)
_FACTORIZE: bool | str = True
_FACTORIZE_MIN_GAIN = 2.5
# the model that picks the irrep-space expansion for a single pair of fields (see ``_plans``; ``"irrep"``
# forces it): per multiply-add of its count, per float read by a matrix-vector product, and its fixed cost
# (about 0.5 ms of extra operations), in units of one multiply-add of a large matrix product
_IRREP_WEIGHT = 4.0
# the factorized form stores ``B·N·in·P`` floats where the dense one stores ``D·out·in·P`` per layer (36 MB
# against 1.6 MB for a pair of escnn's SE(3) example): it is preferred up to this much modelled extra time
_MEMORY_SLACK = 1.15
_READ_WEIGHT = 16.0
_IRREP_OVERHEAD = 3_600_000
# the per-chunk irrep-space expansion (``_FACTORIZE == "chunks"``), in the same units: per multiply-add of
# its products and per filter entry it gathers (forward and backward), fitted to SO(3)'s and O(3)'s
# ``bl_regular(1 | 2 | 3)`` fields x 1 to 8 (k = 3, 5) against the factorized, irrep-space and dense forms
_CHUNK_MAC = 12.0
_CHUNK_ENTRY = 48.0
# and its fixed cost (a product per chunk, the concatenation, the gather), fitted so that small single
# blocks stay dense or factorized (SO(3)'s bl_regular(1) x 1 at k = 3: 0.4-0.65 ms per chunk against
# 0.17-0.26 ms for the other forms)
_CHUNK_OVERHEAD = 12_000_000


class _FactorPlan:
    """Precomputed float64 factors of the factorized expansion ``κ = Q_out K Q_in⁻¹`` of a basis.

    An element's ``K_d`` is non-zero only in the rows of one output irrep occurrence ``a``, and
    ``K_d Q_in⁻¹`` restricted to those rows depends only on the irrep ``ψ`` of ``a`` and the row ``r``
    inside it, not on ``a``.  So the rows ``(ψ, r, a)`` of ``K Q_in⁻¹`` for all the occurrences ``a`` of
    ``ψ`` are one product: the ``N_ψ`` coefficients of each occurrence, stacked ``[A_ψ, N_ψ]``, times a
    fixed matrix ``R_ψr = [N_ψ, in_size * P]``, stored once for all the occurrences.  The expansion is two
    batched products: over the pairs ``b = (ψ, r)``, the gathered coefficients ``[B, A * fields, N]``
    times the stacked ``R [B, N, in_size * P]`` (``A`` and ``N`` padded to the largest with a zero
    coefficient), then ``Q_out`` (its columns in the order of the rows ``(b, a)``, zero for the padding)
    times the result, batched over the output fields, which lays the filter out as
    ``[n_out, out_size, n_in * in_size * P]``.  With one pair of fields the first product is a matrix
    product with ``A`` rows, not a matrix-vector product, and ``R`` is read once for all the occurrences.

    Attributes:
        right: the stacked ``R_ψr``, ``[B, N, in_size * P]``; ``gather``: per pair ``b``, occurrence and
            element the coefficient index (``D`` pads, pointing at an appended zero), ``[B * A * N]``;
            ``q_out``: ``[out_size, B * A]``; ``shape``: ``(B, A, N)``; ``cost`` / ``dense_cost``:
            multiply-adds per field pair.
    """

    def __init__(self, basis: SteerableBasis) -> None:
        n_elements, x, y, p = basis.shape
        out_off = np.concatenate([[0], np.cumsum(basis.out_dims)]).astype(int)
        in_off = np.concatenate([[0], np.cumsum(basis.in_dims)]).astype(int)
        q_out = np.asarray(basis.q_out, dtype=np.float64)
        q_in_inv = np.asarray(basis.q_in_inv, dtype=np.float64)
        elements = np.asarray(basis.elements)
        pairs: list[
            tuple[np.ndarray, np.ndarray, list[int]]
        ] = []  # per (ψ, r): R [N, in*P], idx [A, N], columns
        for name in dict.fromkeys(basis.out_irreps):
            occurrences = [a for a, n in enumerate(basis.out_irreps) if n == name]
            idx = np.stack([np.flatnonzero(elements[:, 0] == a) for a in occurrences])  # [A, N]
            if idx.shape[1] == 0:
                continue  # these rows of K are zero
            inner = elements[idx[0], 1:]
            if any(not np.array_equal(elements[row, 1:], inner) for row in idx[1:]):
                raise ValueError("the occurrences of an output irrep have different element layouts")
            d = basis.out_dims[occurrences[0]]
            right = np.empty((len(inner), d, y, p))
            for j, (b, e) in enumerate(inner.tolist()):
                sample = basis.irreps_bases[(name, basis.in_irreps[b])].array[e]  # [d, d_b, P]
                q = q_in_inv[in_off[b] : in_off[b] + basis.in_dims[b]]  # [d_b, in_size]
                right[j] = np.einsum("oip,iy->oyp", sample, q)
            for r in range(d):
                pairs.append(
                    (right[:, r].reshape(len(inner), -1), idx, [out_off[a] + r for a in occurrences])
                )
        B = len(pairs)
        A = max(len(cols) for _, _, cols in pairs)
        N = max(idx.shape[1] for _, idx, _ in pairs)
        self.right = np.zeros((B, N, y * p))
        self.gather = np.full((B, A, N), n_elements, dtype=np.int64)
        self.q_out = np.zeros((x, B * A))
        for b, (right_b, idx, cols) in enumerate(pairs):
            self.right[b, : len(right_b)] = right_b
            self.gather[b, : len(cols), : idx.shape[1]] = idx
            self.q_out[:, b * A : b * A + len(cols)] = q_out[:, cols]
        self.gather = self.gather.ravel()
        self.shape = (B, A, N)
        self.cost = B * A * (N + x) * y * p
        self.dense_cost = n_elements * x * y * p


class _IrrepPlan:
    """The expansion ``κ = Q_out K Q_in⁻¹`` with ``K`` assembled block by block in the irreps' bases.

    The elements of a :class:`~structconv.kernels.SteerableBasis` come in contiguous chunks, one per pair
    of distinct irreps ``(ψ, φ)``, laid out ``[occurrence pairs (a, b), n]`` with the ``n`` elements of the
    pair basis last.  The blocks ``K_ab`` of a chunk are the product of its coefficients ``[pairs, n]`` with
    the pair basis ``[n, d_ψ d_φ P]``; all chunks go in one batched product, padded to the largest
    ``pairs``, ``n`` and ``d_ψ d_φ P`` with zeros (plus one all-zero chunk, where ``K`` has no element).  One
    index gather lays the blocks out as ``K``, then ``Q_out`` (left) and ``Q_in⁻¹`` (right) are two dense
    products, skipped where they are identities.  It stores the padded irrep-pair bases and one gather index
    of ``out_size * in_size * P`` entries (about 2 MB for SO(3)'s ``bl_regular(2)`` pair at ``k = 5``, where
    the factorized form stores 7.7 MB and the dense one 241 MB) and spends its multiply-adds in large matrix
    products.

    Attributes:
        gather: per chunk, pair and element the coefficient index (``D`` pads, pointing at an appended zero),
            ``[T * M * N]``; ``blocks``: the padded pair bases ``[T, N, S]``; ``place_chunk`` /
            ``place_inner``: for every entry of ``K`` laid out ``[out_size, P, in_size]``, its chunk ``t``
            and its position ``m * S + s`` inside the chunk's product ``[M, S]``; ``q_out`` /
            ``q_in_inv``: the changes of basis or ``None`` for identities; ``cost``: multiply-adds (and
            copies) per field pair.
    """

    def __init__(self, basis: SteerableBasis) -> None:
        n_elements, x, y, p = basis.shape
        out_off = np.concatenate([[0], np.cumsum(basis.out_dims)]).astype(np.int64)
        in_off = np.concatenate([[0], np.cumsum(basis.in_dims)]).astype(np.int64)
        elements = np.asarray(basis.elements)
        out_names = np.array(basis.out_irreps, dtype=object)[elements[:, 0]]
        in_names = np.array(basis.in_irreps, dtype=object)[elements[:, 1]]
        chunks = []  # (start, n, occurrence pairs [pairs, 2], pair basis [n, d_o, d_i, P])
        for (out_name, in_name), pair in basis.irreps_bases.items():
            if not len(pair):
                continue
            sel = np.flatnonzero((out_names == out_name) & (in_names == in_name))
            if not len(sel):
                continue
            start, n = int(sel[0]), len(pair)
            occ = elements[start : int(sel[-1]) + 1 : n, :2]
            expected = np.arange(start, start + len(occ) * n)
            if not np.array_equal(sel, expected) or not np.array_equal(
                elements[sel, 2], np.tile(np.arange(n), len(occ))
            ):
                raise ValueError("the elements of an irrep pair are not one chunk laid out [pairs, n]")
            chunks.append((start, n, occ, np.asarray(pair.array, dtype=np.float64)))
        T = len(chunks) + 1  # and one all-zero chunk
        M = max(len(c[2]) for c in chunks)
        N = max(c[1] for c in chunks)
        S = max(c[3][0].size for c in chunks)
        self._chunks_full, self._layout = chunks, (n_elements, x, y, p, out_off, in_off)
        # the chunks unpadded, for one product per chunk batched over the field pairs (see
        # SingleBlockBasisExpansion._chunk_rows): per chunk (start, n, pairs, d_ψ·d_φ·P) and its pair basis
        # [n, d_ψ·d_φ·P]. Every product lays P out last, so it is made of rows of P entries, one per
        # (occurrence pair, o, i); ``rows`` gives, for every entry (o, i) of K laid out [out_size, in_size],
        # its row in the concatenated products (``total // P``: no element, an appended zero row)
        self.chunks = [(start, n, len(occ), int(array[0].size)) for start, n, occ, array in chunks]
        self.chunk_arrays = [array.reshape(n, -1) for _, n, _, array in chunks]
        sizes = np.array([pairs * size for _, _, pairs, size in self.chunks], dtype=np.int64)
        self.total = int(sizes.sum())
        rows = np.full(x * y, self.total // p, dtype=np.int64)
        offset = 0
        for _, _, occ, array in chunks:
            d_o, d_i = array.shape[1:3]
            out_rows = out_off[occ[:, 0], None, None] + np.arange(d_o)[None, :, None]
            in_cols = in_off[occ[:, 1], None, None] + np.arange(d_i)[None, None, :]
            flat = (out_rows * y + in_cols).ravel()  # [pairs, d_o, d_i]: K's entries, in product order
            rows[flat] = offset + np.arange(flat.size)
            offset += flat.size
        self.rows = rows
        self.useful = sum(len(occ) * n * array[0].size for _, n, occ, array in chunks)
        self.shape = (T, M, N, S)
        q_out = np.asarray(basis.q_out, dtype=np.float64)
        q_in_inv = np.asarray(basis.q_in_inv, dtype=np.float64)
        self.q_out = None if np.array_equal(q_out, np.eye(x)) else q_out
        self.q_in_inv = None if np.array_equal(q_in_inv, np.eye(y)) else q_in_inv
        # the padded batched product, the products with Q_out and Q_in⁻¹, and the copies of K (gather,
        # transposition)
        self.cost = T * M * N * S + (x * x * p * y if self.q_out is not None else 0)
        self.cost += (x * p * y * y if self.q_in_inv is not None else 0) + 2 * x * p * y

    @cached_property
    def _padded(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(gather, blocks, place_chunk, place_inner)`` of the padded batched product (built when the
        irrep-space expansion is used, not for the per-chunk one)."""
        T, M, N, S = self.shape
        n_elements, x, y, p, out_off, in_off = self._layout
        gather = np.full((T, M, N), n_elements, dtype=np.int64)
        blocks = np.zeros((T, N, S))
        place_chunk = np.full((x, p, y), T - 1, dtype=np.int64)
        place_inner = np.zeros((x, p, y), dtype=np.int64)
        for t, (start, n, occ, array) in enumerate(self._chunks_full):
            pairs, (d_o, d_i) = len(occ), array.shape[1:3]
            gather[t, :pairs, :n] = start + np.arange(pairs * n).reshape(pairs, n)
            blocks[t, :n, : array[0].size] = array.reshape(n, -1)
            r, o, i, q = np.meshgrid(
                np.arange(pairs), np.arange(d_o), np.arange(d_i), np.arange(p), indexing="ij"
            )
            rows, cols = out_off[occ[r, 0]] + o, in_off[occ[r, 1]] + i
            place_chunk[rows, q, cols] = t
            place_inner[rows, q, cols] = r * S + ((o * d_i + i) * p + q)
        return gather.ravel(), blocks, place_chunk.ravel(), place_inner.ravel()

    @property
    def gather(self) -> np.ndarray:
        return self._padded[0]

    @property
    def blocks(self) -> np.ndarray:
        return self._padded[1]

    @property
    def place_chunk(self) -> np.ndarray:
        return self._padded[2]

    @property
    def place_inner(self) -> np.ndarray:
        return self._padded[3]


class _OrbitPlan:
    """The expansion of a basis between two permutation representations of a finite group that permutes
    the sampling points: a gather from the filter's values on one entry per orbit.

    Where every element ``g`` acts on the output and input channels by permutations ``σ_out(g)``,
    ``σ_in(g)`` and on the grid by a permutation ``π(g)`` of the points (the regular representation of the
    octahedral group on the cubic grid, of C4 or D4 on the square grid), a steerable filter satisfies
    ``κ[σ_out(g) o, σ_in(g) i, π(g) p] = κ[o, i, p]`` exactly (Cohen & Welling 2016: a group convolution):
    it is constant on the orbits of the entries ``(o, i, p)``. So it is the product of the coefficients with
    the basis at one representative entry per orbit (``[D, n_orbits]``, ``|G|`` times smaller than the
    dense basis for regular representations), gathered into the filter by one index. The backward of the
    gather sums the gradients over each orbit.

    Attributes:
        columns: the basis at the representatives, ``[D, n_orbits]`` (float64); ``index``: the orbit of
            every entry, ``[out_size * in_size * P]``.
    """

    def __init__(self, columns: np.ndarray, index: np.ndarray) -> None:
        self.columns, self.index = columns, index
        self.n_orbits = columns.shape[1]


#: the rotated-filter expansion (_RotatedPlan) replaces the others where the factorized one would cost at
#: least this many multiply-adds for all the block's field pairs; below, its fixed cost of about 15 small
#: operations loses (``benchmarks/r3conv.py`` and the dihedral and cylindrical groups of order 6 to 48: the
#: two are equal for one field pair of ``dihedralOnR3(24)`` or ``cylindricalOnR3(24)`` at k = 3, 4.2-4.6M;
#: the icosahedral group, 14M, is 2-3 times faster; 8 field pairs of ``dihedralOnR3(12)``, 6.4M, 1.75 times)
_ROTATED_MIN_COST = 4_000_000

#: the rotated expansion forms ``V`` by one dense product (:meth:`_RotatedPlan.coefficient_map`) when its
#: matrix has at most this many entries and at most this many times the per-degree blocks' entries: the
#: icosahedral regular layer at k = 3 (600 x 600, 2.8 times the blocks) expands forward+backward in 1.09
#: against 1.47 ms, 1.76 against 2.26 ms right after a convolution; at k = 5 (1140 x 1140, 5.1 times) the
#: blocks win, 2.82 against 3.35 ms
_ROTATED_DENSE_MAX = 2**19
_ROTATED_DENSE_RATIO = 4

#: relative tolerance for the grid to be permuted by the group, and for the symmetry check of the basis
_ORBIT_TOL = 1e-9


def _probe_entries(X: int, Y: int, P: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The entries ``(o, i, p)`` at which a plan is checked against the basis's own samples: 64 at random and
    one at every point ``p`` (a plan built from points that differ from the basis's grid in any point is
    caught)."""
    rng = np.random.default_rng(0)
    spread = rng.integers(0, X * Y * P, size=min(64, X * Y * P))
    every = rng.integers(0, X * Y, size=P) * P + np.arange(P)
    return np.unravel_index(np.concatenate([spread, every]), (X, Y, P))


def _permutations(matrices: np.ndarray) -> np.ndarray | None:
    """``σ [E, n]`` with ``M_e[σ_e(j), j] = 1`` if every matrix ``[E, n, n]`` is a permutation matrix."""
    if not np.array_equal(matrices, np.round(matrices)) or not np.all((matrices == 0) | (matrices == 1)):
        return None
    if not (np.all(matrices.sum(1) == 1) and np.all(matrices.sum(2) == 1)):
        return None
    return matrices.argmax(1)


@lru_cache(maxsize=64)
def _cached_permutations(rep: Any) -> np.ndarray | None:
    """:func:`_permutations` of a representation of a finite group at its elements (in ``G.elements``'
    order)."""
    return _permutations(np.asarray(rep.representation_matrices(list(rep.group.elements))))


def _orbit_plan(basis: SteerableBasis, in_repr: Any, out_repr: Any, gspace: Any, points: np.ndarray) -> Any:
    """The :class:`_OrbitPlan` of ``basis`` (from ``in_repr`` to ``out_repr`` of ``gspace``'s finite fibre
    group, sampled at ``points [d, P]``), or ``None`` where it does not apply: a continuous group,
    representations that are not permutations, a group that moves a point off the grid, or a basis whose
    samples are not symmetric to ``_ORBIT_TOL`` at a set of probe entries (then the gather would not
    reproduce the dense expansion)."""
    G = getattr(gspace, "fibergroup", None)
    if G is None or getattr(G, "continuous", True) or not hasattr(gspace, "basespace_action"):
        return None
    elements = list(G.elements)
    d, P = points.shape
    scale = max(1.0, float(np.abs(points).max()))
    actions = np.stack([np.asarray(gspace.basespace_action(g), dtype=np.float64) for g in elements])
    moved = np.einsum("eab,bp->epa", actions, points).reshape(-1, d)  # [E * P, d]

    def rows(a: np.ndarray) -> np.ndarray:  # the rounded points as one (bytewise comparable) key each
        a = np.ascontiguousarray(np.round(a / (scale * _ORBIT_TOL)).astype(np.int64))
        return a.view(np.dtype((np.void, a.dtype.itemsize * d))).ravel()

    keys = rows(points.T)
    order = np.argsort(keys)
    found = np.minimum(np.searchsorted(keys[order], rows(moved)), P - 1)
    moves = order[found]
    if np.abs(points.T[moves] - moved).max() > _ORBIT_TOL * scale:
        return None  # some element moves a point off the grid
    moves = moves.reshape(len(elements), P)
    s_out, s_in = _cached_permutations(out_repr), _cached_permutations(in_repr)
    if s_out is None or s_in is None:
        return None
    _, X, Y, P = basis.shape
    # the orbit of an entry: the smallest flat index of its images (the same for all members of an orbit)
    images = (s_out[:, :, None, None] * Y + s_in[:, None, :, None]) * P + moves[:, None, None, :]
    smallest = images.reshape(len(elements), -1).min(0)  # [X * Y * P]
    reps, index = np.unique(smallest, return_inverse=True)
    # the probe: the basis at some entries and at their images under 4 elements must agree (a convention
    # mismatch between the basis and the action on the grid would break the symmetry); one evaluation
    # with the representatives
    po, pi, pp = _probe_entries(X, Y, P)
    moved_by = np.random.default_rng(1).permutation(len(elements))[:4]
    entries = [np.unravel_index(reps, (X, Y, P)), (po, pi, pp)]
    entries += [(s_out[e, po], s_in[e, pi], moves[e, pp]) for e in moved_by]
    values = basis.values_at(*(np.concatenate(parts) for parts in zip(*entries)))
    columns, probes = values[:, : len(reps)], values[:, len(reps) :].reshape(len(basis), -1, len(po))
    scale_b = max(1.0, float(np.abs(probes[:, 0]).max()))
    if np.abs(probes[:, 1:] - probes[:, :1]).max() > 1e-7 * scale_b:
        return None
    return _OrbitPlan(np.ascontiguousarray(columns), index.astype(np.int64).ravel())


@lru_cache(maxsize=64)
def _cached_orbit_plan(
    basis: SteerableBasis, in_repr: Any, out_repr: Any, gspace: Any, points: bytes, dim: int
) -> _OrbitPlan | None:
    grid = np.frombuffer(points, dtype=np.float64).reshape(dim, -1)
    return _orbit_plan(basis, in_repr, out_repr, gspace, grid)


def _full_orbit_index(plan: _OrbitPlan, n_out: int, n_in: int, shape: tuple[int, ...]) -> np.ndarray:
    """The gather index of the filter ``[n_out * out_size, n_in * in_size, P]`` of ``n_out * n_in`` field
    pairs from their orbit values laid out ``[n_out, n_in, n_orbits]``."""
    x, y, p = shape
    pair = np.arange(n_out)[:, None, None, None, None] * n_in + np.arange(n_in)[None, None, :, None, None]
    orbit = plan.index.reshape(1, x, 1, y, p)
    return (pair * plan.n_orbits + orbit).astype(np.int64).ravel()


class _RotatedPlan:
    """The expansion of a basis in space between permutation representations of a finite group acting
    freely on the channel pairs (one of them regular, or quotients by subgroups of coprime orders), on a
    grid the group does not permute (the icosahedral group on the cubic grid): every channel pair's filter
    is a rotated copy of one of a few representative filters, evaluated from the basis's functional form
    (to float64 rounding times the size of the harmonics of the highest degree: 1e-14 at the default
    cutoffs, 4e-13 at degree 13).

    Where ``g`` acts on the channels by the permutations ``σ_out(g)``, ``σ_in(g)`` and the action on the
    pairs ``(o, i)`` is free, every pair is ``(σ_out(g) o_c, σ_in(g) i_c)`` for exactly one representative
    pair ``c`` and one ``g``, and equivariance gives ``κ[o, i](x) = κ[o_c, i_c](A_g⁻¹ x)`` (for regular
    fields a group convolution with rotated filters: Cohen & Welling 2016, Weiler et al. 2018). An element
    of :func:`~structconv.kernels.steerable_basis_r3` is, in every entry, a combination of the functions
    ``φ_(J, ring, m)(x) = Y_Jm(x/|x|) exp(-(|x| - r)² / 2σ²)`` of its shell and degree; so the filter is
    ``Σ_r V[c, r] Φ[g, r, p]`` with ``V = Σ_d w_d C_d`` (``C_d [n_reps, R]``: the element's coefficients at
    the representative pairs) and ``Φ [|G|, R, P]`` the functions at the rotated points ``A_g⁻¹ x_p``, then
    one row gather lays the pairs out. The coefficients of one shell and degree only reach its own
    ``2J+1`` functions, so ``V`` is one batched product per degree over the shells.

    Attributes:
        degrees: per degree ``J``, ``(J, gather [n_shells * M], blocks [n_shells, M, n_reps * (2J+1)])``:
            the coefficient index of the elements of every shell (``D`` pads, pointing at an appended
            zero) and their coefficients at the representative pairs (float64); ``phi``: ``[R, |G| * P]``;
            ``pairs``: per channel pair ``(o, i)``, its row ``c * |G| + g``, ``[out_size * in_size]``;
            ``n_reps``, ``order``: the representative pairs and ``|G|``.
    """

    def __init__(
        self,
        degrees: list[tuple[int, np.ndarray, np.ndarray]],
        phi: np.ndarray,
        pairs: np.ndarray,
        n_reps: int,
        order: int,
    ) -> None:
        self.degrees, self.phi, self.pairs, self.n_reps, self.order = degrees, phi, pairs, n_reps, order
        self.rows = phi.shape[0]

    def coefficient_map(self, dim: int) -> np.ndarray | None:
        """``V`` as one product: the map ``[dim, n_reps * R]`` (float64; ``V = w @ map``, laid out
        ``[n_reps, R]``) where it is small enough (:data:`_ROTATED_DENSE_MAX` entries, at most
        :data:`_ROTATED_DENSE_RATIO` times the blocks' entries), else ``None``. One product and its
        backward replace a gather and a batched product, permutation and concatenation per degree (about
        40 operations in all), each of which costs microseconds once a convolution has evicted the
        caches."""
        blocks = sum(b.size for _, _, b in self.degrees)
        width = self.n_reps * self.rows
        if dim * width > min(_ROTATED_DENSE_MAX, _ROTATED_DENSE_RATIO * blocks):
            return None
        out = np.zeros((dim + 1, width))  # the last row: the pads of the gathers
        offset = 0
        for J, gather, blocks_J in self.degrees:
            shells, m, _ = blocks_J.shape
            n = 2 * J + 1
            # blocks[s, j, c * n + k] is the coefficient of weight gather[s, j] in V[c, offset + s * n + k]
            cols = (
                np.arange(self.n_reps)[None, :, None] * self.rows
                + offset
                + np.arange(shells)[:, None, None] * n
                + np.arange(n)[None, None, :]
            )  # [S, C, n]
            rows = gather.reshape(shells, m)
            # every weight has one shell and degree: the entries are distinct but for the pads' row
            out[rows[:, :, None, None], cols[:, None, :, :]] = blocks_J.reshape(shells, m, -1, n)
            offset += shells * n
        return out[:dim]


def _rotated_plan(basis: SteerableBasis, in_repr: Any, out_repr: Any, gspace: Any, points: np.ndarray) -> Any:
    """The :class:`_RotatedPlan` of ``basis`` (between ``in_repr`` and ``out_repr`` of ``gspace``'s finite
    fibre group, sampled at ``points [3, P]``), or ``None`` where it does not apply: a continuous group,
    representations that are not permutations or a group that does not act freely on the channel pairs,
    a basis not from :func:`~structconv.kernels.steerable_basis_r3`, or a plan that does not reproduce the
    basis at a set of probe entries to ``1e-7`` (relative)."""
    from structconv.kernels.r3 import SampledR3IrrepsBasis, _harmonics

    G = getattr(gspace, "fibergroup", None)
    if G is None or getattr(G, "continuous", True) or not hasattr(gspace, "basespace_action"):
        return None
    if points.shape[0] != 3 or not len(basis) or basis.q_out is None or basis.q_in_inv is None:
        return None
    if not all(isinstance(pair, SampledR3IrrepsBasis) for pair in basis.irreps_bases.values()):
        return None
    elements = list(G.elements)
    E, (_, X, Y, P) = len(elements), basis.shape
    s_out, s_in = _cached_permutations(out_repr), _cached_permutations(in_repr)
    if s_out is None or s_in is None or (X * Y) % E:
        return None
    images = s_out[:, :, None] * Y + s_in[:, None, :]  # [E, X, Y]: the pair (o, i) moved by g
    reps = np.unique(images.reshape(E, -1).min(0))
    if len(reps) * E != X * Y:
        return None  # some pair is fixed by an element: the action is not free
    pairs = np.full(X * Y, -1, dtype=np.int64)
    pairs[images.reshape(E, -1)[:, reps].T.ravel()] = np.arange(len(reps) * E)  # row c * E + g
    if (pairs < 0).any():
        return None
    o_c, i_c = np.divmod(reps, Y)
    # the shells and degrees of the elements, and each element's coefficients at the representative pairs
    out_off = np.concatenate([[0], np.cumsum(basis.out_dims)]).astype(np.int64)
    in_off = np.concatenate([[0], np.cumsum(basis.in_dims)]).astype(np.int64)
    q_out = np.asarray(basis.q_out, dtype=np.float64)[o_c]  # [C, out irreps' size]
    q_in = np.asarray(basis.q_in_inv, dtype=np.float64)[:, i_c]  # [in irreps' size, C]
    a, b, e = np.asarray(basis.elements).T
    # the elements of one irrep pair (their key: the pair's position in irreps_bases)
    names = {key: n for n, key in enumerate(basis.irreps_bases)}
    code = np.array([[names.get((o, i), -1) for i in basis.in_irreps] for o in basis.out_irreps])
    element_key = code[a, b]
    order = np.argsort(element_key, kind="stable")
    bounds = np.searchsorted(element_key[order], np.arange(len(names) + 1))
    degree, shell = np.zeros(len(basis), dtype=np.int64), np.zeros((len(basis), 2))
    width = 2 * max(int(at["frequency"]) for pb in basis.irreps_bases.values() for at in pb.attributes) + 1
    coefficients = np.zeros((len(basis), len(reps), width))  # [D, C, 2J+1], zero past the element's 2J+1
    for n, pair in enumerate(basis.irreps_bases.values()):
        sel = order[bounds[n] : bounds[n + 1]]
        if not len(sel):
            continue
        attrs = pair.attributes
        pair_degree = np.array([at["frequency"] for at in attrs], dtype=np.int64)
        degree[sel] = pair_degree[e[sel]]
        shell[sel] = np.array([(at["radius"], at["sigma"]) for at in attrs])[e[sel]]
        do, di = pair.array.shape[1:3]
        for J in np.unique(pair_degree[e[sel]]).tolist():
            part = sel[pair_degree[e[sel]] == J]
            local = np.flatnonzero(pair_degree == J)
            T_J = np.stack([pair.angular[k] / pair.norms[k] for k in local])  # [n_J, 2J+1, do, di]
            position = np.zeros(len(attrs), dtype=np.int64)
            position[local] = np.arange(len(local))
            T = T_J[position[e[part]]]  # [S, 2J+1, do, di]
            qo = q_out[:, out_off[a[part]][:, None] + np.arange(do)]  # [C, S, do]
            qi = q_in[in_off[b[part]][:, None] + np.arange(di)]  # [S, di, C]
            inner = np.matmul(T.reshape(len(part), -1, di), qi).reshape(len(part), 2 * J + 1, do, -1)
            # Σ_o q_out[c, o] (T q_in)[m, o, c]: [S, 2J+1, C]
            values = (inner * qo.transpose(1, 2, 0)[:, None]).sum(2)
            coefficients[part, :, : 2 * J + 1] = values.transpose(0, 2, 1)
    # the elements of every (degree, radius, sigma), sorted by degree
    keys, inverse = np.unique(np.column_stack([degree, shell]), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    shells = {
        (int(J), float(r), float(sg)): np.flatnonzero(inverse == n) for n, (J, r, sg) in enumerate(keys)
    }
    # Φ: the functions of every shell and degree at the rotated points, rows ordered by degree, then shell
    A = np.stack([np.asarray(gspace.basespace_action(g), dtype=np.float64) for g in elements])
    rotated = np.einsum("eba,bp->aep", A, points).reshape(3, E * P)  # A_g^T x_p = A_g⁻¹ x_p
    radius = np.tile(np.sqrt((points**2).sum(0)), E)
    harmonics: dict[int, np.ndarray] = {}
    phi_rows, degrees = [], []
    for J in sorted({key[0] for key in shells}):
        group = [key for key in shells if key[0] == J]
        if J not in harmonics:
            harmonics[J] = _harmonics(J, rotated)
        M = max(len(shells[key]) for key in group)
        gather = np.full((len(group), M), len(basis), dtype=np.int64)
        blocks = np.zeros((len(group), M, len(reps) * (2 * J + 1)))
        for s, key in enumerate(group):
            sel = shells[key]
            gather[s, : len(sel)] = sel
            blocks[s, : len(sel)] = coefficients[sel, :, : 2 * J + 1].reshape(len(sel), -1)
            phi_rows.append(harmonics[J] * np.exp(-((radius - key[1]) ** 2) / (2 * key[2] ** 2)))
        degrees.append((J, gather.ravel(), blocks))
    phi = np.concatenate(phi_rows)  # [R, E * P]; the rows of degree J: (shell, m)
    plan = _RotatedPlan(degrees, phi, pairs, len(reps), E)
    # the probe: the plan's values of every element at some entries against the basis's own samples
    po, pi, pp = _probe_entries(X, Y, P)
    rows = pairs[po * Y + pi]
    c, g = np.divmod(rows, E)
    mine = np.zeros((len(basis) + 1, len(po)))
    offset = 0
    for J, gather, blocks in degrees:
        n = 2 * J + 1
        for s in range(blocks.shape[0]):
            f = phi[offset + s * n : offset + (s + 1) * n].reshape(n, E, P)[:, g, pp]  # [n, probes]
            coef = blocks[s].reshape(-1, len(reps), n)[:, c]  # [M, probes, n]
            idx = gather[s * blocks.shape[1] : (s + 1) * blocks.shape[1]]
            mine[idx] += (coef * f.T[None]).sum(-1)
        offset += blocks.shape[0] * n
    theirs = basis.values_at(po, pi, pp)
    scale = max(1.0, float(np.abs(theirs).max()))
    if np.abs(mine[:-1] - theirs).max() > 1e-7 * scale:
        return None
    return plan


class _PermuteRows(torch.autograd.Function):
    """``source.index_select(dim, index)`` for an ``index`` that takes every source entry at most once (a
    permutation, or an injective gather plus appended zeros taken several times, whose gradient is not
    used), whose backward is a gather too: by ``inverse``, the position of every source entry's copy
    (``index_select``'s own backward scatters with ``index_add_``, 2 to 19 times slower on the CPU for rows
    of a few floats). Its forward-mode derivative gathers the tangent by ``index``."""

    generate_vmap_rule = True

    @staticmethod
    def forward(source: torch.Tensor, index: torch.Tensor, inverse: torch.Tensor, dim: int) -> torch.Tensor:
        return source.index_select(dim, index)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
        _, index, inverse, dim = inputs
        ctx.save_for_backward(inverse)
        ctx.save_for_forward(index)
        ctx.dim = dim

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None, None]:
        (inverse,) = ctx.saved_tensors
        return grad.index_select(ctx.dim, inverse), None, None, None

    @staticmethod
    def jvp(ctx: Any, tangent: torch.Tensor, *_: Any) -> torch.Tensor:
        (index,) = ctx.saved_tensors
        return tangent.index_select(ctx.dim, index)


def _row_inverse(index: np.ndarray, size: int) -> np.ndarray:
    """For a gather ``index`` of rows out of ``size`` source rows that takes every source row at most once
    (except zero rows, taken several times, whose gradient is not used), the position of every source row's
    copy (0 for rows it does not take, and for the zero rows)."""
    inverse = np.zeros(size, dtype=np.int64)
    inverse[index] = np.arange(len(index))
    return inverse


def _permute(source: torch.Tensor, dim: int, index: torch.Tensor, inverse: torch.Tensor) -> torch.Tensor:
    """``source.index_select(dim, index)`` for the permutation ``index`` (``inverse``: its inverse), with
    a gather for its backward in eager mode (:class:`_PermuteRows`); traced, scripted, compiled and
    exported graphs get the plain ``index_select``."""
    if (
        not source.requires_grad
        or torch.jit.is_scripting()
        or torch.jit.is_tracing()
        or torch.compiler.is_compiling()
        or torch.onnx.is_in_onnx_export()
    ):
        return source.index_select(dim, index)
    return _PermuteRows.apply(source, index, inverse, dim)


@lru_cache(maxsize=64)
def _cached_rotated_plan(
    basis: SteerableBasis, in_repr: Any, out_repr: Any, gspace: Any, points: bytes, dim: int
) -> _RotatedPlan | None:
    grid = np.frombuffer(points, dtype=np.float64).reshape(dim, -1)
    return _rotated_plan(basis, in_repr, out_repr, gspace, grid)


def _full_rotated_index(plan: _RotatedPlan, n_out: int, n_in: int, shape: tuple[int, ...]) -> np.ndarray:
    """The row gather of the filter ``[n_out * out_size * n_in * in_size, P]`` of ``n_out * n_in`` field
    pairs from their rotated rows laid out ``[n_out, n_in, n_reps * |G|, P]``."""
    x, y, _ = shape
    pair = np.arange(n_out)[:, None, None, None] * n_in + np.arange(n_in)[None, None, :, None]
    rows = plan.pairs.reshape(1, x, 1, y)
    return (pair * (plan.n_reps * plan.order) + rows).ravel()


def _check_factorize() -> None:
    """Raise ``ValueError`` if the override ``_FACTORIZE`` holds a value that is not accepted."""
    if _FACTORIZE not in (True, False, "always", "irrep", "chunks"):
        raise ValueError(
            f"basisexpansion._FACTORIZE={_FACTORIZE!r} is not accepted; expected True (automatic), False "
            "(dense), 'always' (factorized), 'irrep' (irrep space) or 'chunks' (irrep space, one product "
            "per irrep pair)"
        )


def _plans(
    basis: SteerableBasis, keep: bytes | None, fields: int | None = None
) -> tuple[_FactorPlan | None, _IrrepPlan | None, _IrrepPlan | None]:
    """``(factorized, irrep-space, per-chunk)``: the plan of ``basis`` where one applies and is clearly
    cheaper than the dense product (at most one is not ``None``; all ``None``: the dense product).

    Dense against factorized: by their multiply-adds, the factorized ones weighted ``_FACTORIZE_MIN_GAIN``
    (``benchmarks/expansion_threshold.py``), and, when the number of field pairs is known, the floats each
    reads from its fixed tensor (weighted ``_READ_WEIGHT``: with few field pairs the dense product is
    bound by reading its ``D·out·in·P`` basis).  The irrep-space plan is considered for a single pair of
    fields (``fields == 1``): there the other two are matrix-vector products whose time is reading their
    large coefficient tensor, while the irrep-space plan reads about one float per filter entry (its gather
    index) and spends its time in two matrix
    products (the weights of the model, ``_IRREP_*``, are fitted to ``benchmarks/r3conv.py``'s icosahedral,
    octahedral and band-limited SO(3) layers).  With more fields those tensors are read once for all of
    them and the irrep-space plan, whose padded products grow with the fields, loses.  Where both changes
    of basis are identities, the per-chunk plan (the irrep-space plan's chunks, one unpadded product each
    over all the field pairs) is taken, for any known number of field pairs, when its modelled time
    (``_CHUNK_*``) is below the dense or factorized one.
    """
    _check_factorize()
    if not _FACTORIZE or keep is not None or type(basis) is not SteerableBasis:
        return None, None, None
    if getattr(basis, "q_out", None) is None or basis.q_in_inv is None or not len(basis):
        return None, None, None
    if _FACTORIZE == "always":
        return _cached_factor_plan(basis), None, None
    if _FACTORIZE == "irrep":
        return None, _cached_irrep_plan(basis), None
    identities = _identities(basis)
    if _FACTORIZE == "chunks":
        return (
            (None, None, _cached_irrep_plan(basis)) if identities else (None, _cached_irrep_plan(basis), None)
        )
    n, x, y, p = basis.shape
    dense_cost = n * x * y * p
    factor_cost, factor_size = _factor_cost(basis)
    if fields is None:  # many field pairs: reading the fixed tensors is amortized
        factorize = dense_cost > _FACTORIZE_MIN_GAIN * factor_cost
    else:
        dense_time = _READ_WEIGHT * dense_cost + fields * dense_cost
        factor_time = _READ_WEIGHT * factor_size + _FACTORIZE_MIN_GAIN * fields * factor_cost
        # within _MEMORY_SLACK of the dense time, the factorized form's far smaller tensor decides
        factorize = _MEMORY_SLACK * dense_time > factor_time
        if identities:
            # the irreps' own bases (Q_out, Q_in identities: band-limited regular and irreps fields of SO(3)
            # and O(3)): one product per irrep pair over all the field pairs, then one gather
            # (it does what the padded irrep-space plan does without the padding: that one is not considered)
            chunked_time = _CHUNK_OVERHEAD + fields * (
                _CHUNK_MAC * _useful_macs(basis) + _CHUNK_ENTRY * x * y * p
            )
            if chunked_time < (factor_time if factorize else dense_time):
                return None, None, _cached_irrep_plan(basis)
            return (_cached_factor_plan(basis), None, None) if factorize else (None, None, None)
    if fields == 1:
        # model times of one expansion (forward and backward), in dense multiply-adds
        irrep = _cached_irrep_plan(basis)
        irrep_time = _IRREP_WEIGHT * irrep.cost + _IRREP_OVERHEAD
        other_time = _READ_WEIGHT * factor_size + factor_cost if factorize else _READ_WEIGHT * dense_cost
        if irrep_time < other_time:
            return None, irrep, None
    # the factorized plan's (large) coefficient tensor is built only when it is used
    return (_cached_factor_plan(basis), None, None) if factorize else (None, None, None)


def _identities(basis: SteerableBasis) -> bool:
    """Whether both changes of basis of ``basis`` are identities (its channels are the irreps' own)."""
    n, x, y, _ = basis.shape
    return np.array_equal(basis.q_out, np.eye(x)) and np.array_equal(basis.q_in_inv, np.eye(y))


def _useful_macs(basis: SteerableBasis) -> int:
    """The multiply-adds of ``K``'s blocks from the pair bases, per field pair (``_IrrepPlan.useful``)."""
    outs, ins = Counter(basis.out_irreps), Counter(basis.in_irreps)
    pairs = basis.irreps_bases.items()
    return sum(outs[o] * ins[i] * len(pair) * pair.array[0].size for (o, i), pair in pairs if len(pair))


def _factor_cost(basis: SteerableBasis) -> tuple[int, int]:
    """:attr:`_FactorPlan.cost` and the size of :attr:`_FactorPlan.right`, without building the plan."""
    _, x, y, p = basis.shape
    elements = np.asarray(basis.elements)
    counts = np.bincount(elements[:, 0], minlength=len(basis.out_dims))
    occurrences: dict[str, int] = {}
    for a, name in enumerate(basis.out_irreps):
        if counts[a]:
            occurrences[name] = occurrences.get(name, 0) + 1
    dims = dict(zip(basis.out_irreps, basis.out_dims))
    B, A, N = sum(dims[name] for name in occurrences), max(occurrences.values()), int(counts.max())
    return B * A * (N + x) * y * p, B * N * y * p


@lru_cache(maxsize=64)
def _cached_factor_plan(basis: SteerableBasis) -> _FactorPlan:
    return _FactorPlan(basis)


@lru_cache(maxsize=256)
def _cached_irrep_plan(basis: SteerableBasis) -> _IrrepPlan:
    return _IrrepPlan(basis)


class SingleBlockBasisExpansion(BasisExpansion):
    """Basis expansion of a single block: every input field and every output field share one
    representation pair.

    The filter of a pair of fields is ``Σ_d w_d B_d``; :meth:`forward` maps coefficients of shape
    ``[..., D]`` to filters ``[..., out_size, in_size, P]``.  Prefer :func:`block_basisexpansion`, which
    reuses sampled bases.

    Args:
        basis: the sampled basis of the pair (a :class:`~structconv.kernels.SteerableBasis`).
        points: the points ``(2, P)`` (``(3, P)`` in space) where the basis was sampled (checked against
            the basis).
        basis_filter: callable taking an element's attribute dict, returning whether to keep it.

    Raises:
        ValueError: if ``points`` does not match the basis or the basis is empty after filtering.

    Example:
        >>> from structconv.group import cyclic_group
        >>> G = cyclic_group(4)
        >>> b = r2_kernel_basis(G.regular_representation, G.regular_representation, kernel_size=3)
        >>> exp = block_basisexpansion(b, kernel_grid(3))
        >>> exp(torch.randn(5, 7, exp.dimension())).shape
        torch.Size([5, 7, 4, 4, 9])
    """

    sampled_basis: torch.Tensor

    def __init__(
        self,
        basis: SteerableBasis,
        points: np.ndarray,
        basis_filter: Callable[[dict[str, Any]], bool] | None = None,
        *,
        _fields: int | None = None,
        _symmetry: tuple[Any, Any, Any] | None = None,
        _layout: tuple[int, int] | None = None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        if not isinstance(basis, SteerableBasis):
            raise TypeError(
                f"{owner}: basis={basis!r} is not accepted; expected a structconv.kernels.SteerableBasis "
                "(e.g. from r2_kernel_basis or steerable_basis)"
            )
        points = _check_points(points, owner, basis.shape[-1])
        _check_filter(basis_filter, owner)
        keep = _filtered(basis, basis_filter)
        self._basis = basis
        self._keep = None if keep is None else np.frombuffer(keep, dtype=bool)
        self._keep_bytes = keep
        dim = len(basis) if keep is None else int(self._keep.sum())
        if dim == 0:
            raise ValueError(
                "the basis of this block is empty (after basis_filter); use a larger kernel_size or "
                "change rings / frequencies_cutoff / basis_filter"
            )
        self._dim = dim
        self._shape = tuple(basis.shape[1:])
        # permutation representations on a grid the group permutes: the orbit gather (see _OrbitPlan)
        self._orbits, self._orbit_key, self._layout = None, None, _layout
        # permutation representations acted on freely, on a grid the group does not permute: rotated
        # copies of representative filters (see _RotatedPlan)
        self._rotated, self._rotated_key = None, None
        if _symmetry is not None and keep is None and _FACTORIZE is True and type(basis) is SteerableBasis:
            grid = np.ascontiguousarray(points, dtype=np.float64)
            key = (*_symmetry, grid.tobytes(), int(grid.shape[0]))
            self._orbits = _cached_orbit_plan(basis, *key)
            self._orbit_key = key if self._orbits is not None else None
            if self._orbits is None and _factor_cost(basis)[0] * (_fields or 1) >= _ROTATED_MIN_COST:
                self._rotated = _cached_rotated_plan(basis, *key)
                self._rotated_key = key if self._rotated is not None else None
        if self._orbits is not None or self._rotated is not None:
            self._factors, self._irrep, self._chunked = None, None, None
        else:
            self._factors, self._irrep, self._chunked = _plans(basis, keep, _fields)
        # the sampled basis in the dtype new parameters get (float32 unless torch.set_default_dtype says
        # otherwise), so that weights created next to it multiply it without a cast
        self._install(torch.get_default_dtype(), default_device())

    # ------------------------------------------------------------------ buffers
    def _install(self, dtype: torch.dtype, device: Any) -> None:
        """(Re)build the basis buffer in ``dtype`` on ``device`` from the float64 samples."""
        self._installed_dtype = dtype
        orbits = getattr(self, "_orbits", None)
        if orbits is not None:
            # the basis at one entry per orbit and the gather indices (per pair, and for the whole layout)
            self.register_buffer("sampled_basis", None, persistent=False)
            columns = torch.tensor(orbits.columns, dtype=dtype, device=device)
            self.register_buffer("_ocolumns", columns, persistent=False)
            index = torch.tensor(orbits.index, dtype=torch.int64, device=device)
            self.register_buffer("_oindex", index, persistent=False)
            full = None
            if self._layout is not None and math.prod(self._layout) * orbits.n_orbits < 2**31:
                # int32 (index_select takes it): half the memory of the one index per filter entry
                index32 = _full_orbit_index(orbits, *self._layout, self._shape).astype(np.int32)
                full = torch.tensor(index32, device=device)
            self.register_buffer("_ofull", full, persistent=False)
            return
        rotated = getattr(self, "_rotated", None)
        if rotated is not None:
            # the coefficients at the representative pairs per degree, the functions at the rotated points,
            # and the row gathers (per pair, and for the whole layout)
            self.register_buffer("sampled_basis", None, persistent=False)
            dense = rotated.coefficient_map(self._dim)
            if dense is not None:
                value = torch.tensor(dense, dtype=dtype, device=device)
                self.register_buffer("_rmap", value, persistent=False)
            else:
                self.register_buffer("_rmap", None, persistent=False)
                gather = np.concatenate([g for _, g, _ in rotated.degrees])
                self.register_buffer("_rgather", torch.tensor(gather, device=device), persistent=False)
                for n, (_, _, blocks) in enumerate(rotated.degrees):
                    value = torch.tensor(blocks, dtype=dtype, device=device)
                    self.register_buffer(f"_rblocks{n}", value, persistent=False)
            self.register_buffer(
                "_rphi", torch.tensor(rotated.phi, dtype=dtype, device=device), persistent=False
            )
            # the gathers are permutations: each with its inverse, for the backward (see _permute)
            self.register_buffer("_rpairs", torch.tensor(rotated.pairs, device=device), persistent=False)
            inverse = torch.tensor(np.argsort(rotated.pairs), device=device)
            self.register_buffer("_rpairs_inv", inverse, persistent=False)
            full = full_inv = None
            if self._layout is not None:
                index = _full_rotated_index(rotated, *self._layout, self._shape)
                inv = np.argsort(index)
                if len(index) < 2**31:
                    index, inv = index.astype(np.int32), inv.astype(np.int32)
                full, full_inv = torch.tensor(index, device=device), torch.tensor(inv, device=device)
            self.register_buffer("_rfull", full, persistent=False)
            self.register_buffer("_rfull_inv", full_inv, persistent=False)
            return
        chunked = getattr(self, "_chunked", None)
        if chunked is not None:
            # irrep space, one product per chunk: the pair bases, and every entry's position in the products
            self.register_buffer("sampled_basis", None, persistent=False)
            for t, array in enumerate(chunked.chunk_arrays):
                value = torch.tensor(array, dtype=dtype, device=device)
                self.register_buffer(f"_cchunk{t}", value, persistent=False)
            # the gather of K's rows of P entries from the products (see _IrrepPlan.rows) and, per row of
            # the products, the position of its one copy (the zero row, gathered wherever K has no element,
            # points at 0: its gradient is not used); for this block's own field pairs, the same gathers
            # for every pair at once: in pair order [F, out, in] and in the layer's order [n_out, out,
            # n_in, in] (one row gather builds the filter, without a transposition). ``width``: the rows
            # per field pair in _chunk_rows, the products' and a zero row where K has entries without one
            rows, products = chunked.rows, chunked.total // self._shape[2]
            width = self._cwidth = products + int(bool((rows == products).any()))
            inverse = np.zeros(width, dtype=np.int64)
            kept = np.flatnonzero(rows < products)
            inverse[rows[kept]] = kept
            indices = {"_crow": rows, "_crow_inv": inverse}
            if self._layout is not None:
                n_out, n_in = self._layout
                x, y, _ = self._shape
                pair = np.arange(n_out * n_in).reshape(n_out, 1, n_in, 1)
                full = pair * width + rows.reshape(1, x, 1, y)
                indices["_cpairs"] = full.transpose(0, 2, 1, 3).ravel()
                indices["_cpairs_inv"] = _row_inverse(indices["_cpairs"], n_out * n_in * width)
                indices["_cfull"] = full.ravel()
                indices["_cfull_inv"] = _row_inverse(full.ravel(), n_out * n_in * width)
            for name, index in indices.items():
                if index.size < 2**31 and index.max(initial=0) < 2**31:
                    index = index.astype(np.int32)
                self.register_buffer(name, torch.from_numpy(index).to(device), persistent=False)
            return
        plan = getattr(self, "_factors", None)
        if plan is not None:
            # factorized: the rows R_ψr of K Q_in⁻¹, the permuted Q_out and the coefficient gather index
            self.register_buffer("sampled_basis", None, persistent=False)

            def put(name: str, arr: np.ndarray) -> None:
                # one conversion from the float64 array (from_numpy shares its memory; .to copies once)
                array = np.ascontiguousarray(arr, dtype=np.float64)
                tensor = torch.from_numpy(array).to(device=device, dtype=dtype)
                if tensor.dtype == torch.float64 and tensor.device.type == "cpu":
                    tensor = tensor.clone()  # not the plan's own array: that one is cached and shared
                self.register_buffer(name, tensor, persistent=False)

            put("_fright", plan.right)
            put("_fq_out", plan.q_out)
            gather = torch.tensor(plan.gather, dtype=torch.int64, device=device)
            self.register_buffer("_fgather", gather, persistent=False)
            return
        irrep = getattr(self, "_irrep", None)
        if irrep is not None:
            # irrep space: the pair bases, the changes of basis (None for identities) and K's gather index
            self.register_buffer("sampled_basis", None, persistent=False)
            floats = (("_iblocks", irrep.blocks), ("_iq_out", irrep.q_out), ("_iq_in", irrep.q_in_inv))
            for name, arr in floats:
                value = None if arr is None else torch.tensor(arr, dtype=dtype, device=device)
                self.register_buffer(name, value, persistent=False)
            T, M, N, S = irrep.shape
            indices = (
                ("_igather", irrep.gather),
                ("_iplace", irrep.place_chunk * (M * S) + irrep.place_inner),
            )
            for name, arr in indices:
                self.register_buffer(
                    name, torch.tensor(arr, dtype=torch.int64, device=device), persistent=False
                )
            return
        if dtype == torch.float64:
            arr = self._basis.array if self._keep is None else self._basis.array[self._keep]
            tensor = torch.tensor(arr, dtype=torch.float64)
        else:
            # a private copy: the cached tensor is shared by every layer with this basis
            tensor = _to_torch(self._basis, self._keep_bytes).clone()
        self.register_buffer("sampled_basis", tensor.to(device=device, dtype=dtype), persistent=False)

    def __getstate__(self) -> dict[str, Any]:
        # the basis buffers are rebuilt from the compact basis when unpickled
        state = dict(self.__dict__)
        state["_buffers"] = {}
        for name in state.get("_structure_names", ()):  # the plans' gather indices, rebuilt likewise
            state.pop(name, None)
        ref = self._reference_buffer()
        state["_basis_meta"] = (ref.dtype, str(ref.device))
        # the plans are derived from the basis: only which one is used travels (they are rebuilt, or taken
        # from the process's cache, when unpickled; copies share them)
        state["_factors"] = state.get("_factors") is not None
        state["_irrep"] = state.get("_irrep") is not None
        state["_chunked"] = state.get("_chunked") is not None
        state["_orbits"] = state.get("_orbits") is not None
        state["_rotated"] = state.get("_rotated") is not None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        dtype, device = state.pop("_basis_meta")
        for key in ("_chunked", "_rotated", "_rotated_key"):  # pickles from before these plans
            state.setdefault(key, None)
        plans = (
            ("_factors", _cached_factor_plan),
            ("_irrep", _cached_irrep_plan),
            ("_chunked", _cached_irrep_plan),
        )
        for key, cached in plans:
            plan = state.get(key)
            state[key] = cached(state["_basis"]) if plan is True else (None if plan is False else plan)
        if state.get("_orbits") is True:
            state["_orbits"] = _cached_orbit_plan(state["_basis"], *state["_orbit_key"])
        elif state.get("_orbits") is False:
            state["_orbits"] = None
        if state.get("_rotated") is True:
            state["_rotated"] = _cached_rotated_plan(state["_basis"], *state["_rotated_key"])
        elif state.get("_rotated") is False:
            state["_rotated"] = None
        self.__dict__.update(state)
        self._install(dtype, device)

    def _apply(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> SingleBlockBasisExpansion:
        before = self._reference_buffer()
        super()._apply(fn, *args, **kwargs)
        ref = self._reference_buffer()
        if (
            ref.dtype != getattr(self, "_installed_dtype", None)
            or (before.device.type == "meta" and ref.device.type != "meta")
            or (ref is not before and ref.device == before.device and ref.device.type != "meta")
        ):
            # any cast (to double, or back from half/bfloat16): rebuild from the float64 samples, never from
            # the rounded copy, so a round trip through a low precision leaves the basis exact; and a layer
            # leaving the meta device, or whose buffers were replaced on the same device (to_empty), gets
            # its fixed samples back
            self._install(ref.dtype, ref.device)
        return self

    def _reference_buffer(self) -> torch.Tensor:
        """A floating buffer whose dtype and device are those of the expansion."""
        if getattr(self, "_orbits", None) is not None:
            return self._ocolumns
        if getattr(self, "_rotated", None) is not None:
            return self._rphi
        if getattr(self, "_chunked", None) is not None:
            return self._cchunk0
        if self._factors is not None:
            return self._fq_out
        return self._iblocks if self._irrep is not None else self.sampled_basis

    def dimension(self) -> int:
        return self._dim

    # ------------------------------------------------------------------ expansion
    def forward(self, weights: torch.Tensor) -> torch.Tensor:
        """Expand ``weights [..., D]`` into filters ``[..., out_size, in_size, P]``."""
        if self._orbits is not None:
            out = self._expand_orbits(weights.reshape(-1, self._dim))
            return out.reshape(*weights.shape[:-1], *self._shape)
        if self._rotated is not None:
            out = self._expand_rotated(weights.reshape(-1, self._dim))
            return out.reshape(*weights.shape[:-1], *self._shape)
        if self._chunked is not None:
            out = self._expand_chunked(weights.reshape(-1, self._dim))
            return out.reshape(*weights.shape[:-1], *self._shape)
        if self._factors is not None:
            flat = weights.reshape(-1, self._dim)
            out = self._expand_factorized(flat, flat.shape[0], 1)
            return out.reshape(*weights.shape[:-1], *self._shape)
        if self._irrep is not None:
            out = self._expand_irrep(weights.reshape(-1, self._dim))  # [F, out, P, in]
            return out.transpose(-1, -2).reshape(*weights.shape[:-1], *self._shape)
        basis = self.sampled_basis
        out = weights.reshape(-1, self._dim) @ basis.reshape(self._dim, -1)
        return out.reshape(*weights.shape[:-1], *self._shape)

    def _expand_factorized(self, weights: torch.Tensor, n_out: int, n_in: int) -> torch.Tensor:
        """Expand ``weights [n_out * n_in, D]`` into the filters laid out ``[n_out, out_size, n_in * in_size
        * P]``: one batched product of the gathered coefficients with the rows ``R_ψr`` of ``K Q_in⁻¹``, then
        one product with ``Q_out`` batched over the output fields (see :class:`_FactorPlan`)."""
        right = self._fright
        B, A, N = self._factors.shape
        width = right.shape[-1]
        fields = weights.shape[0]
        padded = torch.cat([weights, weights.new_zeros(fields, 1)], dim=1)
        coeffs = padded.index_select(1, self._fgather).view(fields, B, A, N).permute(1, 2, 0, 3)
        rows = torch.bmm(coeffs.reshape(B, A * fields, N), right)  # [B, A * F, in_size * P]
        rows = rows.view(B * A, n_out, n_in * width).transpose(0, 1)  # the rows (b, a) of K Q_in⁻¹
        return torch.matmul(self._fq_out, rows)

    def _expand_orbits(self, weights: torch.Tensor) -> torch.Tensor:
        """Expand ``weights [F, D]`` into filters ``[F, out_size * in_size * P]``: the values on the orbits,
        then one gather (see :class:`_OrbitPlan`)."""
        return (weights @ self._ocolumns).index_select(1, self._oindex)

    def _rotated_rows(self, weights: torch.Tensor) -> torch.Tensor:
        """The rows ``[F * n_reps * |G|, P]`` of the representative filters of ``weights [F, D]``, rotated
        by every element (see :class:`_RotatedPlan`)."""
        plan = self._rotated
        fields, reps = weights.shape[0], plan.n_reps
        dense = getattr(self, "_rmap", None)  # absent from pickles made before it
        if dense is not None:
            values = torch.mm(weights, dense).view(fields * reps, plan.rows)
            return torch.mm(values, self._rphi).view(fields * reps * plan.order, self._shape[2])
        padded = torch.cat([weights, weights.new_zeros(fields, 1)], dim=1)
        coeffs = padded.index_select(1, self._rgather)
        parts, start = [], 0
        for n, (J, _, _) in enumerate(plan.degrees):
            blocks = getattr(self, f"_rblocks{n}")
            shells, width, _ = blocks.shape
            chunk = coeffs[:, start : start + shells * width].reshape(fields, shells, width).transpose(0, 1)
            start += shells * width
            values = torch.bmm(chunk, blocks).view(shells, fields, reps, 2 * J + 1)  # [S, F, C, 2J+1]
            parts.append(values.permute(1, 2, 0, 3).reshape(fields * reps, shells * (2 * J + 1)))
        values = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)  # [F * C, R]
        return torch.mm(values, self._rphi).view(fields * reps * plan.order, self._shape[2])

    def _expand_rotated(self, weights: torch.Tensor) -> torch.Tensor:
        """Expand ``weights [F, D]`` into filters ``[F, out_size * in_size, P]``."""
        plan = self._rotated
        rows = self._rotated_rows(weights)
        if weights.shape[0] == 1:  # a gather of rows (dim 0 takes the fast path)
            return _permute(rows, 0, self._rpairs, self._rpairs_inv).unsqueeze(0)
        rows = rows.view(weights.shape[0], plan.n_reps * plan.order, self._shape[2])
        return _permute(rows, 1, self._rpairs, self._rpairs_inv)

    def _chunk_rows(self, weights: torch.Tensor) -> torch.Tensor:
        """The blocks of ``K`` for ``weights [F, D]``: per chunk (irrep pair) one product of its coefficients
        ``[F * pairs, n]`` with its pair basis ``[n, d_ψ·d_φ·P]``, concatenated per field pair with a zero
        row where needed: rows of ``P`` entries, ``[F * width, P]`` (see :class:`_IrrepPlan`)."""
        fields, p = weights.shape[0], self._shape[2]
        parts = []
        for t, (start, n, pairs, size) in enumerate(self._chunked.chunks):
            coeffs = weights[:, start : start + pairs * n].reshape(fields * pairs, n)
            parts.append(torch.mm(coeffs, getattr(self, f"_cchunk{t}")).view(fields, pairs * size))
        if self._cwidth * p > self._chunked.total:
            parts.append(weights.new_zeros(fields, p))
        return torch.cat(parts, dim=1).view(-1, p)

    def _expand_chunked(self, weights: torch.Tensor) -> torch.Tensor:
        """Expand ``weights [F, D]`` into filters ``[F, out_size * in_size * P]`` (irreps' bases): the chunk
        products, then one gather of every field pair's rows of ``K`` (backward: the gather by the
        inverse)."""
        fields, (x, y, p) = weights.shape[0], self._shape
        if self._layout is not None and fields == math.prod(self._layout):
            index, inverse = self._cpairs, self._cpairs_inv
        else:
            shift = torch.arange(fields, device=weights.device, dtype=self._crow.dtype)[:, None]
            index = (shift * self._cwidth + self._crow).reshape(-1)
            inverse = (shift * (x * y) + self._crow_inv).reshape(-1)
        return _permute(self._chunk_rows(weights), 0, index, inverse).view(fields, x * y * p)

    def _expand_irrep(self, weights: torch.Tensor) -> torch.Tensor:
        """Expand ``weights [F, D]`` into filters laid out ``[F, out_size, P, in_size]``: one batched product
        over the irrep-pair chunks, one gather into ``K``, then ``Q_out`` and ``Q_in⁻¹`` (see
        :class:`_IrrepPlan`)."""
        T, M, N, S = self._irrep.shape
        fields = weights.shape[0]
        o, i, p = self._shape
        padded = torch.cat([weights, weights.new_zeros(fields, 1)], dim=1)
        coeffs = padded.index_select(1, self._igather).view(fields, T, M, N).transpose(0, 1)
        blocks = torch.bmm(coeffs.reshape(T, fields * M, N), self._iblocks)  # [T, F * M, S]
        # the entry (t, f, m, s) sits at t * F * M * S + f * M * S + m * S + s
        if fields == 1:
            index = self._iplace  # chunk * M * S + inner position
        else:
            chunk, inner = self._iplace // (M * S), self._iplace % (M * S)
            index = chunk * (fields * M * S) + inner
            shift = torch.arange(fields, device=index.device) * (M * S)
            index = (shift[:, None] + index[None, :]).reshape(-1)
        kernel = blocks.reshape(-1).index_select(0, index).view(fields, o, p * i)
        if self._iq_out is not None:
            if fields == 1:
                kernel = torch.mm(self._iq_out, kernel[0]).unsqueeze(0)
            else:
                kernel = torch.matmul(self._iq_out, kernel)
        kernel = kernel.reshape(fields, o, p, i)
        if self._iq_in is not None:
            kernel = torch.matmul(kernel, self._iq_in)
        return kernel

    def _expand_rows(self, weights: torch.Tensor) -> torch.Tensor:
        """Expand ``weights [F, D]`` into filters ``[F, out_size, in_size, P]``."""
        if self._orbits is not None:
            return self._expand_orbits(weights).reshape(-1, *self._shape)
        if self._rotated is not None:
            return self._expand_rotated(weights).reshape(-1, *self._shape)
        if self._chunked is not None:
            return self._expand_chunked(weights).reshape(-1, *self._shape)
        if self._factors is not None:
            return self._expand_factorized(weights, weights.shape[0], 1).reshape(-1, *self._shape)
        if self._irrep is not None:
            return self._expand_irrep(weights).transpose(-1, -2)
        return (weights @ self.sampled_basis.reshape(self._dim, -1)).reshape(-1, *self._shape)

    def expand_fields(self, weights: torch.Tensor, n_out: int, n_in: int) -> torch.Tensor:
        """Expand ``weights [n_out * n_in * D]`` into the filter ``[n_out * out_size, n_in * in_size, P]``
        of ``n_out`` output and ``n_in`` input fields: one matrix product and one permutation copy (or,
        factorized, small products per output irrep and one product with ``Q_out``, without a copy)."""
        o, i, p = self._shape
        if self._orbits is not None:
            values = weights.reshape(n_out * n_in, self._dim) @ self._ocolumns  # [F, n_orbits]
            if self._ofull is not None and self._layout == (n_out, n_in):
                return values.reshape(-1).index_select(0, self._ofull).view(n_out * o, n_in * i, p)
            out = values.index_select(1, self._oindex).view(n_out, n_in, o, i, p)
            return out.transpose(1, 2).reshape(n_out * o, n_in * i, p)
        if self._rotated is not None:
            flat = weights.reshape(n_out * n_in, self._dim)
            if self._rfull is not None and self._layout == (n_out, n_in):
                rows = _permute(self._rotated_rows(flat), 0, self._rfull, self._rfull_inv)
                return rows.view(n_out * o, n_in * i, p)
            out = self._expand_rotated(flat).view(n_out, n_in, o, i, p)
            return out.transpose(1, 2).reshape(n_out * o, n_in * i, p)
        if self._chunked is not None:
            flat = weights.reshape(n_out * n_in, self._dim)
            if self._layout == (n_out, n_in):
                rows = _permute(self._chunk_rows(flat), 0, self._cfull, self._cfull_inv)
                return rows.view(n_out * o, n_in * i, p)
            out = self._expand_chunked(flat).view(n_out, n_in, o, i, p)
            return out.transpose(1, 2).reshape(n_out * o, n_in * i, p)
        if self._factors is not None:
            out = self._expand_factorized(weights.reshape(n_out * n_in, self._dim), n_out, n_in)
            return out.reshape(n_out * o, n_in * i, p)
        if self._irrep is not None:
            out = self._expand_irrep(weights.reshape(n_out * n_in, self._dim))  # [F, o, P, i]
            out = out.view(n_out, n_in, o, p, i).permute(0, 2, 1, 4, 3)
            return out.reshape(n_out * o, n_in * i, p)
        basis = self.sampled_basis
        out = weights.reshape(n_out * n_in, self._dim) @ basis.reshape(self._dim, -1)
        return out.reshape(n_out, n_in, o, i, p).transpose(1, 2).reshape(n_out * o, n_in * i, p)

    def _element_table(self) -> tuple[np.ndarray, np.ndarray]:
        """``(out_irrep_idx, radius)`` of every kept element, two arrays of length ``D``."""
        return _element_table(self._basis, None if self._keep is None else self._keep.tobytes())

    def _attribute_table(self) -> tuple[dict[str, Any], ...]:
        """The attributes of the kept elements, computed once (the basis and the filter are fixed)."""
        table = self.__dict__.get("_attr_table")
        if table is None:
            attrs = list(self._basis.attributes())
            if self._keep is not None:
                attrs = [a for a, k in zip(attrs, self._keep) if k]
            for i, a in enumerate(attrs):
                a["idx"] = i
                a["id"] = _element_name(a)
            table = tuple(attrs)
            self.__dict__["_attr_table"] = table
        return table

    def _attributes(self) -> list[dict[str, Any]]:
        return [dict(a) for a in self._attribute_table()]

    def get_basis_names(self) -> list[str]:
        return [a["id"] for a in self._attribute_table()]

    def get_element_info(self, name: str | int) -> dict[str, Any]:
        table = self._attribute_table()
        if isinstance(name, (int, np.integer)):
            if not 0 <= int(name) < len(table):
                raise ValueError(f"name={name!r} is out of range; expected 0 <= index < {len(table)}")
            return dict(table[int(name)])
        ids = self.__dict__.get("_id_index")
        if ids is None:
            ids = {a["id"]: i for i, a in enumerate(table)}
            self.__dict__["_id_index"] = ids
        if name not in ids:
            raise ValueError(f"name={name!r} is not the name of a basis element")
        return dict(table[ids[name]])

    def get_basis_info(self) -> Iterator[dict[str, Any]]:
        return iter(self._attributes())

    def extra_repr(self) -> str:
        return f"dimension={self.dimension()}, block={self._shape}"


@lru_cache(maxsize=1024)
def _element_table(basis: SteerableBasis, keep: bytes | None) -> tuple[np.ndarray, np.ndarray]:
    out_idx = basis.elements[:, 0].copy()
    radius = np.empty(len(basis))
    out_names = np.array(basis.out_irreps, dtype=object)[basis.elements[:, 0]]
    in_names = np.array(basis.in_irreps, dtype=object)[basis.elements[:, 1]]
    for (out_name, in_name), pair in basis.irreps_bases.items():
        if not len(pair):
            continue
        radii = np.array([a["radius"] for a in pair.attributes])
        sel = (out_names == out_name) & (in_names == in_name)
        if sel.any():
            radius[sel] = radii[basis.elements[sel, 2]]
    if keep is not None:
        mask = np.frombuffer(keep, dtype=bool)
        out_idx, radius = out_idx[mask], radius[mask]
    return out_idx, radius


def _element_name(attr: dict[str, Any]) -> str:
    return (
        f"({attr['out_irrep']}-{attr['out_irrep_idx']},{attr['in_irrep']}-{attr['in_irrep_idx']})"
        f"_({attr['radius']}|{attr['frequency']}|{attr['gamma']:.4f}|{attr['s']})"
    )


def block_basisexpansion(
    basis: SteerableBasis,
    points: np.ndarray,
    basis_filter: Callable[[dict[str, Any]], bool] | None = None,
    recompute: bool = False,
    *,
    _fields: int | None = None,
    _symmetry: tuple[Any, Any, Any] | None = None,
    _layout: tuple[int, int] | None = None,
) -> SingleBlockBasisExpansion:
    """Build a :class:`SingleBlockBasisExpansion`, reusing the cached torch copy of the basis.

    Args:
        basis: the sampled basis.
        points: the points where it was sampled.
        basis_filter: optional element filter (attribute dict -> keep?).
        recompute: if ``True``, convert the basis again instead of reusing a cached tensor.

    Example:
        >>> from structconv.group import cyclic_group
        >>> G = cyclic_group(4)
        >>> b = r2_kernel_basis(G.trivial_representation, G.trivial_representation, kernel_size=5)
        >>> block_basisexpansion(b, kernel_grid(5)).dimension()
        3
    """
    if recompute:
        _to_torch.cache_clear()
    return SingleBlockBasisExpansion(
        basis, points, basis_filter, _fields=_fields, _symmetry=_symmetry, _layout=_layout
    )


class BlocksBasisExpansion(BasisExpansion):
    """Basis expansion over the representation pairs of two field types.

    The coefficient vector is laid out pair by pair (output representations in order of first
    appearance, then input representations): for a pair with ``n_out`` output fields, ``n_in`` input
    fields and a ``D``-dimensional basis, a contiguous chunk viewed as ``[n_out, n_in, D]``.
    :meth:`forward` returns the filter ``[out_type.size, in_type.size, P]``.

    Args:
        in_type: the input field type.
        out_type: the output field type.
        basis_generator: ``basis_generator(in_repr, out_repr, **kwargs)`` returns the sampled
            :class:`~structconv.kernels.SteerableBasis` of a representation pair (e.g.
            :func:`r2_kernel_basis`).
        points: the points ``(2, P)`` (``(3, P)`` in space) where the bases are sampled.
        basis_filter: optional callable on an element's attribute dict returning whether to keep it.
        recompute: if ``True``, rebuild the bases instead of reusing cached ones.
        **kwargs: passed to ``basis_generator``.

    Attributes:
        S: the number of points where the filters are sampled.

    Raises:
        ValueError: if the basis of every pair is empty.

    Example:
        >>> from structconv.gspaces import Rot2dOnR2
        >>> from structconv.nn import FieldType
        >>> gs = Rot2dOnR2(4)
        >>> t_in = FieldType(gs, [gs.trivial_repr, gs.regular_repr])
        >>> t_out = FieldType(gs, [gs.regular_repr, gs.trivial_repr])
        >>> exp = BlocksBasisExpansion(t_in, t_out, r2_kernel_basis, kernel_grid(3), kernel_size=3)
        >>> exp(torch.randn(exp.dimension())).shape
        torch.Size([5, 5, 9])
    """

    def __init__(
        self,
        in_type: Any,
        out_type: Any,
        basis_generator: Callable[..., SteerableBasis],
        points: np.ndarray,
        basis_filter: Callable[[dict[str, Any]], bool] | None = None,
        recompute: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        from structconv.nn.typed.field_type import FieldType

        owner = type(self).__name__
        for arg, value in (("in_type", in_type), ("out_type", out_type)):
            if not isinstance(value, FieldType):
                raise TypeError(
                    f"{owner}: {arg} must be a structconv.nn.FieldType; received {type(value).__name__}: "
                    f"{value!r}"
                )
        if in_type.gspace != out_type.gspace:
            raise ValueError(
                f"{owner}: in_type and out_type live on different gspaces ({in_type.gspace!r} and "
                f"{out_type.gspace!r}); expected one gspace"
            )
        if not callable(basis_generator):
            raise TypeError(
                f"{owner}: basis_generator={basis_generator!r} is not accepted; expected a callable "
                "basis_generator(in_repr, out_repr, **kwargs) returning a SteerableBasis "
                "(e.g. r2_kernel_basis)"
            )
        points = _check_points(points, owner)
        _check_filter(basis_filter, owner)
        check_bool(recompute, "recompute", owner=owner)
        self._in_type, self._out_type = in_type, out_type
        self.S = int(points.shape[1])
        in_reprs = list(dict.fromkeys(in_type.representations))
        out_reprs = list(dict.fromkeys(out_type.representations))
        in_fields = {r: [i for i, x in enumerate(in_type.representations) if x == r] for r in in_reprs}
        out_fields = {r: [i for i, x in enumerate(out_type.representations) if x == r] for r in out_reprs}
        _check_factorize()  # (a ValueError inside the loop below means an empty block)
        self._blocks: list[tuple[Any, Any, int, int, int, int, SingleBlockBasisExpansion | None]] = []
        self._pair_modules = torch.nn.ModuleDict()
        start = 0
        for oi, ro in enumerate(out_reprs):
            for ii, ri in enumerate(in_reprs):
                kw = dict(kwargs)
                if recompute:
                    kw["recompute"] = True
                basis = basis_generator(ri, ro, **kw)
                n_out, n_in = len(out_fields[ro]), len(in_fields[ri])
                try:
                    block = block_basisexpansion(
                        basis,
                        points,
                        basis_filter,
                        recompute=recompute,
                        _fields=n_out * n_in,
                        _symmetry=(ri, ro, in_type.gspace),
                        _layout=(n_out, n_in),
                    )
                except ValueError:
                    block = None
                dim = 0 if block is None else block.dimension()
                if block is not None:
                    self._pair_modules[f"block_{oi}_{ii}"] = block
                self._blocks.append((ro, ri, n_out, n_in, dim, start, block))
                start += n_out * n_in * dim
        if start == 0:
            raise ValueError(
                f"the basis of steerable kernels from {in_type} to {out_type} is empty for these sampling "
                "parameters; use a larger kernel_size or change rings / frequencies_cutoff / basis_filter"
            )
        self._dimension = start
        self._in_reprs, self._out_reprs = in_reprs, out_reprs
        self._in_fields, self._out_fields = in_fields, out_fields
        # a single pair of representations is expanded in place (one product, one transposition copy);
        # several pairs write their products into one flat buffer of length-S rows, gathered once into
        # the filter's channel order
        self._single = len(self._blocks) == 1
        self._has_zero_row = False
        self.register_buffer(
            "row_index",
            None if self._single else self._row_index(in_type, out_type).to(default_device()),
            persistent=False,
        )
        self._n_in_reprs = len(in_reprs)

    def _apply(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> BlocksBasisExpansion:
        super()._apply(fn, *args, **kwargs)
        index = self.row_index
        if index is not None and index.device.type != "meta":
            # the gather index is fixed: rebuilt after any conversion (to_empty leaves it uninitialised)
            exact = self._row_index(self._in_type, self._out_type).to(index.device)
            self.register_buffer("row_index", exact, persistent=False)
        return self

    def _row_index(self, in_type: Any, out_type: Any) -> torch.Tensor:
        """For every (output channel, input channel), its row in the flat buffer of products."""
        index = np.empty((out_type.size, in_type.size), dtype=np.int64)
        offset = 0
        empty: list[tuple[np.ndarray, np.ndarray]] = []
        for ro, ri, n_out, n_in, _dim, _, block in self._blocks:
            rows = (out_type.fields_start[self._out_fields[ro]][:, None] + np.arange(ro.size)).ravel()
            cols = (in_type.fields_start[self._in_fields[ri]][:, None] + np.arange(ri.size)).ravel()
            if block is None:
                empty.append((rows, cols))
                continue
            # products are laid out [n_out, n_in, out_size, in_size] (rows of length S)
            a, b, x, y = np.meshgrid(
                np.arange(n_out), np.arange(n_in), np.arange(ro.size), np.arange(ri.size), indexing="ij"
            )
            flat = offset + np.arange(a.size).reshape(a.shape)
            index[np.ix_(rows, cols)] = flat.transpose(0, 2, 1, 3).reshape(len(rows), len(cols))
            offset += a.size
        for rows, cols in empty:
            index[np.ix_(rows, cols)] = offset  # one shared zero row after all the products
        self._has_zero_row = bool(empty)
        return torch.from_numpy(index.ravel())

    def dimension(self) -> int:
        return self._dimension

    def forward(self, weights: torch.Tensor) -> torch.Tensor:
        """Expand the coefficient vector ``[dimension]`` into the filter ``[out_size, in_size, P]``."""
        if self._single:
            _, _, n_out, n_in, _, _, block = self._blocks[0]
            return block.expand_fields(weights, n_out, n_in)
        parts: list[torch.Tensor] = []
        for _, _, n_out, n_in, dim, start, block in self._blocks:
            if block is not None:
                w = weights[start : start + n_out * n_in * dim].reshape(n_out * n_in, dim)
                parts.append(block._expand_rows(w).reshape(-1, self.S))
        if self._has_zero_row:
            parts.append(weights.new_zeros(1, self.S))
        flat = torch.cat(parts, dim=0)
        return flat.index_select(0, self.row_index).reshape(self._out_type.size, self._in_type.size, self.S)

    # ------------------------------------------------------------------ introspection
    def layout(
        self,
    ) -> list[tuple[Any, Any, list[int], list[int], int, int, SingleBlockBasisExpansion | None]]:
        """Where every representation pair's coefficients live in the weight vector.

        Returns:
            per pair of representations ``(out_repr, in_repr, out_fields, in_fields, D, start, block)``: the
            positions of the output and input fields with those representations, the pair's basis size
            ``D``, and its slice ``weights[start : start + len(out_fields) * len(in_fields) * D]``, laid out
            ``[out field, in field, D]``; ``block`` expands ``[..., D]`` coefficients (``None``: empty basis).

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> from structconv.nn import FieldType
            >>> gs = Rot2dOnR2(4)
            >>> t = FieldType(gs, [gs.regular_repr, gs.trivial_repr])
            >>> exp = BlocksBasisExpansion(t, t, r2_kernel_basis, kernel_grid(3), kernel_size=3)
            >>> [(o.name, i.name, of, inf, d, start) for o, i, of, inf, d, start, _ in exp.layout()]
            [('regular', 'regular', [0], [0], 24, 0), ('regular', 'irrep_0', [0], [1], 6, 24),
             ('irrep_0', 'regular', [1], [0], 6, 30), ('irrep_0', 'irrep_0', [1], [1], 2, 36)]
        """
        return self._layout()

    # ------------------------------------------------------------------ introspection
    def _layout(
        self,
    ) -> list[tuple[Any, Any, list[int], list[int], int, int, SingleBlockBasisExpansion | None]]:
        """Per representation pair: ``(out_repr, in_repr, out_fields, in_fields, D, start, block)``."""
        return [
            (ro, ri, self._out_fields[ro], self._in_fields[ri], dim, start, block)
            for ro, ri, _, _, dim, start, block in self._blocks
        ]

    def _info_index(self) -> tuple[np.ndarray, list[tuple[Any, Any, list[int], list[int], Any]]]:
        """``(starts, entries)``: the first global index of every non-empty pair block, and the block.

        Built once (the layout is fixed at construction): element ``i`` lies in block
        ``searchsorted(starts, i, 'right') - 1``, so :meth:`get_element_info` is O(log #pairs).
        """
        cached = self.__dict__.get("_info_cache")
        if cached is None:
            starts, entries, total = [], [], 0
            for ro, ri, out_f, in_f, _dim, _, block in self._layout():
                if block is None:
                    continue
                starts.append(total)
                entries.append((ro, ri, out_f, in_f, block))
                total += len(out_f) * len(in_f) * len(block._attribute_table())
            cached = (np.asarray(starts, dtype=np.int64), entries)
            self.__dict__["_info_cache"] = cached
        return cached

    @staticmethod
    def _info(ro: Any, ri: Any, a: int, b: int, attr: dict[str, Any], idx: int) -> dict[str, Any]:
        info = dict(attr)
        info.update(
            {
                "in_repr": ri.name,
                "out_repr": ro.name,
                "in_field_position": b,
                "out_field_position": a,
                "inner_idx": attr["idx"],
                "idx": idx,
                "id": f"({ri.name}-{b},{ro.name}-{a})_{attr['id']}",
            }
        )
        return info

    def get_basis_info(self) -> Iterator[dict[str, Any]]:
        idx = 0
        for ro, ri, out_f, in_f, block in self._info_index()[1]:
            pair_attrs = block._attribute_table()
            for a in out_f:
                for b in in_f:
                    for attr in pair_attrs:
                        yield self._info(ro, ri, a, b, attr, idx)
                        idx += 1

    def get_basis_names(self) -> list[str]:
        return [a["id"] for a in self.get_basis_info()]

    def get_element_info(self, name: str | int) -> dict[str, Any]:
        """The attributes of one basis element, by index or by name (``id``), without scanning the basis.

        Example:
            >>> from structconv import gspaces, nn
            >>> gs = gspaces.Rot2dOnR2(4)
            >>> regular = nn.FieldType(gs, [gs.regular_repr])
            >>> conv = nn.R2Conv(regular + regular, regular, 3)
            >>> info = conv.basisexpansion.get_element_info(7)
            >>> info["idx"], conv.basisexpansion.get_element_info(info["id"])["idx"]
            (7, 7)
        """
        if isinstance(name, (int, np.integer)) and not isinstance(name, bool):
            i = int(name)
            if not 0 <= i < self._dimension:
                raise ValueError(f"name={name!r} is out of range; expected 0 <= index < {self._dimension}")
            starts, entries = self._info_index()
            k = int(np.searchsorted(starts, i, side="right")) - 1
            ro, ri, out_f, in_f, block = entries[k]
            table = block._attribute_table()
            pos, e = divmod(i - int(starts[k]), len(table))
            a, b = divmod(pos, len(in_f))
            return self._info(ro, ri, out_f[a], in_f[b], table[e], i)
        ids = self.__dict__.get("_id_index")
        if ids is None:
            ids = {info["id"]: info["idx"] for info in self.get_basis_info()}
            self.__dict__["_id_index"] = ids
        if name not in ids:
            raise ValueError(f"name={name!r} is not the name of a basis element")
        return self.get_element_info(ids[name])

    def extra_repr(self) -> str:
        return f"dimension={self._dimension}, pairs={len(self._blocks)}, S={self.S}"
