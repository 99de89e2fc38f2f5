"""Regular, quotient, induced, band-limited regular and restricted representations.

The regular representation's change of basis is in closed form (the matrix coefficients of the irreps);
the quotient and induced representations of an irrep, by Frobenius reciprocity from the restrictions of
the group's irreps (:func:`_frobenius_basis`), which gives the reference library's change of basis. The
others are decomposed into irreps numerically: for each candidate irrep ``ψ`` the intertwiners ``X`` with
``ρ(h) X = X ψ(h)`` on a generating set of elements form the null space of a small linear system (or,
with all elements of a finite group, the range of the group-averaging projector); its dimension is the
multiplicity of ``ψ`` times the dimension of the commutant of ``ψ`` (``sum_of_squares_constituents``), and
an orthonormal family of intertwiners gives the columns of the change of basis. Results are cached on the
group.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg

from structconv._threads import one_blas_thread_for
from structconv.group.cyclic import CyclicGroup, FlipGroup
from structconv.group.group import Group
from structconv.group.irreps import IrreducibleRepresentation
from structconv.group.representation import Representation

__all__ = [
    "decompose_matrices",
    "regular_representation",
    "quotient_representation",
    "induced_representation",
    "restrict_representation",
    "bl_regular_representation",
]

_NULL_TOL = 1e-8


def decompose_matrices(
    matrices: np.ndarray,
    candidates: list[tuple[IrreducibleRepresentation, np.ndarray]],
    complete: bool = False,
) -> tuple[list[str], np.ndarray]:
    r"""Decompose an orthogonal representation given by its matrices on a set of elements.

    Args:
        matrices: ``(S, n, n)``, the representation at ``S`` elements that generate the group (for a
            continuous group: a few generic elements), or at every element when ``complete``.
        candidates: ``(irrep, irrep matrices (S, d, d))`` at the same elements, in the order wanted.
        complete: the elements are the whole (finite) group: the intertwiners are then obtained by
            group averaging, :math:`X \mapsto \frac{1}{|G|}\sum_g \rho(g) X \psi(g)^T`, instead of
            a null space.

    Returns:
        ``(irrep names, Q)`` with ``Q`` orthogonal and ``ρ(h) = Q (⊕ ψ_i(h)) Q^T``.

    Example:
        >>> from structconv.group import cyclic_group
        >>> from structconv.group.constructions import decompose_matrices
        >>> C2 = cyclic_group(2)
        >>> swap = np.array([[[0.0, 1.0], [1.0, 0.0]]])  # C2 swapping two coordinates
        >>> cands = [(C2.irrep(k), C2.irrep(k).representation_matrices([1])) for k in (0, 1)]
        >>> names, Q = decompose_matrices(swap, cands)
        >>> names, np.abs(Q).round(4)
        (['irrep_0', 'irrep_1'], array([[0.7071, 0.7071],
               [0.7071, 0.7071]]))
    """
    S, n, _ = matrices.shape
    blocks: list[np.ndarray] = []
    names: list[str] = []
    eye_n = np.eye(n)
    for irr, P in candidates:
        d = irr.size
        c = irr.sum_of_squares_constituents
        if complete:
            # columns of the averaging projector (ψ ⊗ ρ) / |G| are intertwiners, vec in column-major order
            T = np.einsum("sij,sab->jbia", P, matrices) / S  # T[j, b, i, a]: column (j, b), row (i, a)
            Xs = T.reshape(d * n, d, n).transpose(0, 2, 1)  # (candidates, n, d)
            k = int(round(float(np.einsum("jbjb->", T))))  # trace of the projector = its rank
        else:
            eye_d = np.eye(d)
            A = np.concatenate(
                [np.kron(eye_d, matrices[s]) - np.kron(P[s].T, eye_n) for s in range(S)], axis=0
            )
            one_blas_thread_for(A)
            _, sv, Vt = np.linalg.svd(A, full_matrices=False)
            scale = max(1.0, float(sv[0])) if sv.size else 1.0
            null = Vt[sv < _NULL_TOL * scale]
            k = null.shape[0]
            Xs = null.reshape(k, d, n).transpose(0, 2, 1)  # (k, n, d)
        if k == 0:
            continue
        if k % c:
            raise RuntimeError(f"decomposition failed: intertwiner space of {irr.name} has dimension {k}")
        U = np.zeros((n, 0))
        for _ in range(k // c):
            R = Xs - U @ (U.T @ Xs)
            norms = np.linalg.norm(R, axis=(1, 2))
            best = int(np.argmax(norms))
            if norms[best] < 1e-6:
                raise RuntimeError(f"decomposition failed: ran out of intertwiners for {irr.name}")
            X = R[best]
            X = X / np.sqrt(np.trace(X.T @ X) / d)
            U = np.concatenate([U, X], axis=1)
            names.append(irr.name)
        blocks.append(U)
    Q = np.concatenate(blocks, axis=1) if blocks else np.zeros((n, 0))
    if Q.shape != (n, n):
        found = ", ".join(names)
        raise RuntimeError(
            f"decomposition failed: found irreps [{found}] of total size {Q.shape[1]} for a representation "
            f"of size {n} (is it orthogonal, and are all its irreps among the candidates?)"
        )
    u, _, vt = np.linalg.svd(Q)
    return names, u @ vt


def _check_decomposition(G: Group, rho: Representation, matrices: np.ndarray, elements: list[Any]) -> None:
    flips, rots = G._element_arrays(elements)
    err = float(np.max(np.abs(rho._evaluate_arrays(flips, rots) - matrices)))
    if err > 1e-8:  # pragma: no cover - a safety net: the decomposition is exact by construction
        raise RuntimeError(f"decomposition of {rho.name} of {G.name} is inaccurate (error {err:.2e})")


def _decompose_on(
    H: Group, matrices_at: np.ndarray, samples: list[Any], max_frequency: int
) -> tuple[list[str], np.ndarray]:
    """Decompose with ``H``'s irreps; ``samples`` are all of ``H``'s elements when ``H`` is finite."""
    complete = not H.continuous
    candidates = [(irr, irr.representation_matrices(samples)) for irr in H._candidate_irreps(max_frequency)]
    return decompose_matrices(matrices_at, candidates, complete=complete)


def _frequency(irr: IrreducibleRepresentation, H: Group) -> int:
    """The frequency of an irrep: the largest frequency of ``H``'s irreps its restriction may contain.

    A user-defined irrep without a ``frequency`` attribute gets ``H``'s band limit (0 if ``H`` is finite).
    """
    freq = irr.attributes.get("frequency")
    if isinstance(freq, (int, np.integer)) and not isinstance(freq, bool) and freq >= 0:
        return int(freq)
    band_limit = getattr(H, "maximum_frequency", 0)
    return 0 if band_limit is None else int(band_limit)  # None: a finite subgroup of a 3D group


def _max_frequency(reprs: list[IrreducibleRepresentation], H: Group) -> int:
    return max(_frequency(irr, H) for irr in reprs)


# ---------------------------------------------------------------------- finite-group tables
def _cayley(G: Group) -> tuple[np.ndarray, np.ndarray]:
    """``(mul, inv)``: ``mul[a, b]`` indexes ``elements[a]·elements[b]``; ``inv[a]`` the inverse of ``a``."""
    cached = G._cache.get("cayley")
    if cached is None:
        N = G.N  # type: ignore[attr-defined]
        f, r = G._all_element_arrays()  # type: ignore[attr-defined]
        f3 = f[:, None] ^ f[None, :]
        r3 = (r[:, None] + (1 - 2 * f[:, None]) * r[None, :]) % N
        mul = f3 * N + r3
        inv = np.argmax(mul == 0, axis=1)
        cached = (mul, inv)
        G._cache["cayley"] = cached
    return cached


def _require_finite(G: Group, what: str) -> None:
    if G.continuous:
        raise ValueError(f"{what} is only defined for finite groups, not {G.name}")


#: the largest table of representation matrices (numbers) built for a finite group: ``|G|`` matrices of size
#: ``n x n`` in float64; ``2 ** 27`` numbers (1 GiB) allows the regular representation of groups of order 512
MAX_TABLE_ENTRIES = 2**27


def _check_table_size(G: Group, size: int, what: str) -> None:
    """Refuse, before any allocation, a table of ``|G|`` matrices ``size x size`` above the limit."""
    entries = G.order() * size * size
    if entries > MAX_TABLE_ENTRIES:
        raise ValueError(
            f"{what} of {G.name} (order {G.order()}) needs {G.order()} matrices of size {size} x {size}, "
            f"{entries:.3g} numbers ({entries * 8 / 2**30:.3g} GiB); the limit is {MAX_TABLE_ENTRIES} "
            "numbers (structconv.group.constructions.MAX_TABLE_ENTRIES); expected a smaller group (or irreps)"
        )


def _permutation_table(mul_idx: np.ndarray, n: int) -> np.ndarray:
    """Table ``T[g]`` with ``T[g][mul_idx[g, c], c] = 1``."""
    G_n = mul_idx.shape[0]
    T = np.zeros((G_n, n, n))
    g = np.repeat(np.arange(G_n), n)
    c = np.tile(np.arange(n), G_n)
    T[g, mul_idx.reshape(-1), c] = 1.0
    return T


#: the commutant of a 2-dimensional irrep of complex type (C_N, SO(2)): spanned by I and J (rotation by 90°)
_J = np.array([[0.0, -1.0], [1.0, 0.0]])


def _frobenius_basis(
    G: Group, key: Any, sigma: Representation, coset_reps: list[Any]
) -> tuple[list[str], np.ndarray] | None:
    r"""The change of basis of :math:`\mathrm{Ind}_H^G \sigma` by Frobenius reciprocity (``None`` if n/a).

    The induced space holds the functions :math:`f` on the cosets, :math:`f(r_c)` in the space of
    :math:`\sigma`. An intertwiner :math:`A` with :math:`\psi(h) A = A \sigma(h)` (columns of the change of
    basis of the restriction :math:`\psi|_H`, one block per copy of :math:`\sigma`, times a basis of the
    commutant of :math:`\sigma`) embeds the irrep :math:`\psi` of :math:`G` as
    :math:`v \mapsto f_v(r_c) = A^\top \psi(r_c)^\top v`, scaled by :math:`\sqrt{d_\psi / (n_c d_\sigma)}`
    to unit columns. The irreps ``ψ`` come in the group's order; the copies of each, in the order of the
    blocks of :math:`\psi|_H`. The choices inside the multiplicity space are the reference library's
    (checked against it for every subgroup of C_N, N <= 12, and D_N, N <= 8, and for O(2) over SO(2)):
    the intertwiners as they come, except that the two copies of a real :math:`\sigma` in a complex-type
    :math:`\psi` (one copy of :math:`\psi`) give :math:`(A_0 + A_1)/\sqrt 2`, and over SO(2) the commutant
    basis of a complex :math:`\sigma` is :math:`(I \pm J)/\sqrt 2`.

    ``sigma`` must be an irrep of the subgroup (built by the group); otherwise ``None`` is returned and the
    caller decomposes numerically.
    """
    if not isinstance(sigma, IrreducibleRepresentation) or sigma.id is None:
        return None
    d, c_sig = sigma.size, sigma.sum_of_squares_constituents
    if c_sig == 1:
        commutant = [np.eye(d)]
    elif c_sig == 2 and d == 2:
        commutant = [np.eye(2), _J]
        if G.continuous:
            commutant = [(np.eye(2) + _J) / np.sqrt(2.0), (np.eye(2) - _J) / np.sqrt(2.0)]
    else:  # pragma: no cover - the planar groups have no other irreps
        return None
    H = G.subgroup(key)[0]
    n_c = len(coset_reps)
    n = n_c * d
    names: list[str] = []
    blocks: list[np.ndarray] = []
    for psi in G._candidate_irreps(_frequency(sigma, G) + 1 if G.continuous else 0):
        res_irreps, res_q = _basis_restriction(G, key, psi)
        offsets = np.cumsum([0] + [H._irrep_by_name(m).size for m in res_irreps])[:-1]
        A_blocks = [res_q[:, o : o + d] for o, m in zip(offsets, res_irreps) if m == sigma.name]
        if not A_blocks:
            continue
        c_psi = psi.sum_of_squares_constituents
        cands = [A @ C for A in A_blocks for C in commutant]
        if c_psi == 2 and c_sig == 1 and len(cands) == 2:
            cands = [(cands[0] + cands[1]) / np.sqrt(2.0)]
        mult = len(A_blocks) * c_sig // c_psi
        psi_at = psi.representation_matrices(coset_reps)  # (n_c, dψ, dψ)
        scale = np.sqrt(psi.size / n)
        U = np.zeros((n, 0))
        for A in cands:
            if U.shape[1] == mult * psi.size:
                break
            B = np.einsum("ma,cim->cai", A, psi_at).reshape(n, psi.size) * scale
            if np.linalg.norm(B - U @ (U.T @ B)) < 1e-6:  # a copy already found
                continue
            U = np.concatenate([U, B], axis=1)
            names.append(psi.name)
        if U.shape[1] != mult * psi.size:  # pragma: no cover - by Frobenius reciprocity
            return None
        blocks.append(U)
    Q = np.concatenate(blocks, axis=1) if blocks else np.zeros((n, 0))
    if Q.shape != (n, n) or not np.allclose(Q.T @ Q, np.eye(n), atol=1e-10):  # pragma: no cover
        return None
    return names, Q


def _finite_repr_from_table(
    G: Group,
    name: str,
    table: np.ndarray,
    supported: set[str],
    basis: tuple[list[str], np.ndarray] | None = None,
) -> Representation:
    names, Q = basis if basis is not None else _decompose_on(G, table, G.elements, 0)
    rho = Representation(G, name, names, Q, supported, matrices=table)
    gens = G._generators()
    _check_decomposition(G, rho, table[[G._index(G._parse(e)) for e in gens]], gens)
    return rho._register()


def regular_representation(G: Group) -> Representation:
    """The regular representation ``ρ(g) e_h = e_{gh}`` of a finite group (cached).

    The basis vector ``e_h`` is indexed by the position of ``h`` in ``G.elements``.

    Args:
        G: a finite group.

    Example:
        >>> from structconv.group import dihedral_group
        >>> rho = dihedral_group(2).regular_representation
        >>> rho.irreps, rho.character((0, 0)), rho.character((1, 1))
        (['irrep_0,0', 'irrep_1,0', 'irrep_1,1', 'irrep_0,1'], 4.0, 0.0)
    """
    _require_finite(G, "the regular representation")
    rho = G.representations._peek("regular")  # type: ignore[attr-defined]
    if rho is None:
        _check_table_size(G, G.order(), "the regular representation")
        mul, _ = _cayley(G)
        table = _permutation_table(mul, mul.shape[0])
        supported = {"pointwise", "norm", "gated", "concatenated"}
        if isinstance(G, CyclicGroup):  # as the reference library: also the flip group's (C2)
            supported.add("vectorfield")
        names, Q = _regular_fourier_basis(G)
        rho = Representation(G, "regular", names, Q, supported, matrices=table)
        gens = G._generators()
        _check_decomposition(G, rho, table[[G._index(G._parse(e)) for e in gens]], gens)
        rho = rho._register()
    return rho


def _regular_fourier_basis(G: Group) -> tuple[list[str], np.ndarray]:
    r"""The irreps of the regular representation and its change of basis, in closed form.

    Every irrep ``ψ`` (dimension ``d``) appears ``d / c`` times (``c``: its sum of squares of
    constituents); copy ``j`` spans the columns :math:`Q[h, (ψ, j, i)] = \sqrt{d / |G|}\, ψ(h)_{i j}`
    (the matrix coefficients, orthonormal by Schur's relations), as in the reference library.
    """
    flips, rots = G._all_element_arrays()  # type: ignore[attr-defined]
    n = flips.shape[0]
    names: list[str] = []
    cols: list[np.ndarray] = []
    for irr in G.irreps.values():
        d = irr.size
        mats = irr._evaluate_arrays(flips, rots)  # (n, d, d)
        for j in range(d // irr.sum_of_squares_constituents):
            names.append(irr.name)
            cols.append(mats[:, :, j] * np.sqrt(d / n))
    return names, np.concatenate(cols, axis=1)


def _format_id(key: Any) -> str:
    return repr(key)


def _cosets(G: Group, subgroup_id: Any) -> tuple[Any, Group, np.ndarray, np.ndarray, np.ndarray]:
    """``(key, H, reps, coset_of, h_of_parent)`` for a finite group and one of its subgroups."""
    key = G._normalize_subgroup_id(subgroup_id)
    H, pmap, cmap = G.subgroup(key)
    mul, _ = _cayley(G)
    elems = G.elements
    idx_h = np.array([G._index(G._parse(pmap(h))) for h in H.elements])
    keys = mul[:, idx_h].min(axis=1)  # smallest element of each coset gH
    reps = np.unique(keys)
    coset_of = np.searchsorted(reps, keys)
    h_of_parent = np.full(len(elems), -1)
    for p in idx_h:
        h_of_parent[p] = H._index(H._parse(cmap(elems[p])))
    return key, H, reps, coset_of, h_of_parent


def quotient_representation(G: Group, subgroup_id: Any) -> Representation:
    """The permutation representation of ``G`` on the cosets ``G/H`` (cached).

    Finite groups, and O(2) over SO(2) (``(None, -1)``).

    Args:
        G: the group.
        subgroup_id: the subgroup ``H`` (see :meth:`Group.subgroup`).

    Example:
        >>> from structconv.group import cyclic_group
        >>> rho = cyclic_group(8).quotient_representation(2)
        >>> rho.name, rho.size, rho.irreps
        ('quotient[2]', 4, ['irrep_0', 'irrep_2', 'irrep_4'])
    """
    key = G._normalize_subgroup_id(subgroup_id)
    name = f"quotient[{_format_id(key)}]"
    rho = G.representations._peek(name)  # type: ignore[attr-defined]
    if rho is not None:
        return rho
    supported = {
        "pointwise",
        "norm",
        "gated",
        "concatenated",
        "induced_gate",
        "induced_norm",
        "induced_gated",
    }
    if G.continuous:
        H = G.subgroup(key)[0]
        return _continuous_induced(G, key, H.trivial_representation, name, supported)
    key, H, reps, coset_of, _ = _cosets(G, key)
    mul, _ = _cayley(G)
    table = _permutation_table(coset_of[mul[:, reps]], reps.size)
    coset_reps = [G.elements[i] for i in reps]
    basis = _frobenius_basis(G, key, H.trivial_representation, coset_reps)
    return _finite_repr_from_table(G, name, table, supported, basis)


def _induced_supported(repr: Representation) -> set[str]:
    d = repr.size
    out = {"norm", "gated", "induced_norm", "induced_gated", f"induced_norm_{d}", f"induced_gated_{d}"}
    if "pointwise" in repr.supported_nonlinearities:
        out |= {"pointwise", "concatenated"}
    if repr.is_trivial():
        out.add("induced_gate")
    return out


def induced_representation(G: Group, subgroup_id: Any, repr: Representation) -> Representation:
    r"""The representation of ``G`` induced from ``repr`` of the subgroup ``H`` (cached).

    With coset representatives :math:`r_i` (the first element of each coset in ``G.elements``), block
    ``(i, j)`` of :math:`\rho(g)` is :math:`\sigma(h)` where :math:`g r_j = r_i h`, and zero otherwise.
    Finite groups, and O(2) from SO(2) (``(None, -1)``).

    Args:
        G: the group.
        subgroup_id: the subgroup ``H`` (see :meth:`Group.subgroup`).
        repr: a representation of ``H``.

    Example:
        >>> from structconv.group import cyclic_group, dihedral_group
        >>> rho = dihedral_group(4).induced_representation((None, 4), cyclic_group(4).irrep(1))
        >>> rho.name, rho.irreps
        ('induced[(None, 4)][irrep_1]', ['irrep_1,1', 'irrep_1,1'])
    """
    key = G._normalize_subgroup_id(subgroup_id)
    H = G.subgroup(key)[0]
    if not isinstance(repr, Representation) or repr.group != H:
        raise ValueError(
            f"repr: expected a representation of the subgroup {H.name} selected by "
            f"subgroup_id={subgroup_id!r}, got {repr!r}"
        )
    name = f"induced[{_format_id(key)}][{repr.name}]"
    # cached by the representation itself: two representations of H may share a name
    rho = G._cache.get(("induced", key, repr))
    if rho is not None:
        return rho
    rho = _induced_representation(G, key, repr, name)
    G._cache[("induced", key, repr)] = rho
    return rho


def _induced_representation(G: Group, key: Any, repr: Representation, name: str) -> Representation:
    supported = _induced_supported(repr)
    if G.continuous:
        return _continuous_induced(G, key, repr, name, supported)
    key, H, reps, coset_of, h_of_parent = _cosets(G, key)
    mul, inv = _cayley(G)
    n_c, d, n_g = reps.size, repr.size, mul.shape[0]
    sigma = repr._matrix_table()
    x = mul[:, reps]  # (g, j): g r_j
    i = coset_of[x]
    h = h_of_parent[mul[inv[reps[i]], x]]  # r_i^{-1} g r_j, as an element of H
    T = np.zeros((n_g, n_c, d, n_c, d))
    g_idx = np.repeat(np.arange(n_g), n_c)
    j_idx = np.tile(np.arange(n_c), n_g)
    T[g_idx, i.reshape(-1), :, j_idx, :] = sigma[h.reshape(-1)]
    table = T.reshape(n_g, n_c * d, n_c * d)
    basis = _frobenius_basis(G, key, repr, [G.elements[i] for i in reps])
    return _finite_repr_from_table(G, name, table, supported, basis)


def _continuous_induced(
    G: Group, key: Any, repr: Representation, name: str, supported: set[str]
) -> Representation:
    H, _, cmap = G.subgroup(key)
    if not H.continuous:
        raise ValueError(
            f"subgroup_id: {key!r} has infinite index in {G.name}; quotient and induced representations of a "
            "continuous group are only available over a continuous subgroup (e.g. (None, -1) in O(2))"
        )
    reps = [G.identity] if type(H) is type(G) else [G.identity, G._from_flip_angle(1, 0.0)]
    samples = G._generators()
    n_c, d = len(reps), repr.size
    mats = np.zeros((len(samples), n_c * d, n_c * d))
    for s, g in enumerate(samples):
        for j, rj in enumerate(reps):
            x = G.combine(g, rj)
            for i, ri in enumerate(reps):
                h = cmap(G.combine(G.inverse(ri), x))
                if h is not None:
                    mats[s, i * d : (i + 1) * d, j * d : (j + 1) * d] = repr(h)
                    break
    basis = _frobenius_basis(G, key, repr, reps)
    if basis is None:
        basis = _decompose_on(G, mats, samples, _max_frequency(repr._irrep_objs, G))
    names, Q = basis
    rho = Representation(G, name, names, Q, supported)
    _check_decomposition(G, rho, mats, samples)
    return rho._register()


def bl_regular_representation(G: Group, L: int) -> Representation:
    """Band-limited regular representation of SO(2) / O(2), sampled on ``2L+1`` rotations (cached).

    It is the regular representation of C_{2L+1} (SO(2)) or D_{2L+1} (O(2)) extended to the whole
    group: a rotation by a multiple of ``2π/(2L+1)`` permutes its basis, other elements act through
    the band-limited interpolation; point-wise non-linearities are therefore only approximately
    equivariant for the other angles.

    Args:
        G: SO(2) or O(2).
        L: the band limit (largest frequency).

    Example:
        >>> from structconv.group import o2_group
        >>> o2_group(3).bl_regular_representation(2).irreps
        ['irrep_0,0', 'irrep_1,0', 'irrep_1,1', 'irrep_1,1', 'irrep_1,2', 'irrep_1,2']
        >>> from structconv.group import so2_group
        >>> rho = so2_group(4).bl_regular_representation(1)
        >>> np.abs(rho(2 * np.pi / 3)).round(6)
        array([[0., 0., 1.],
               [1., 0., 0.],
               [0., 1., 0.]])
    """
    from structconv.group.cyclic import cyclic_group
    from structconv.group.dihedral import dihedral_group

    if not G.continuous:
        raise ValueError(f"bl_regular_representation is only defined for SO(2) and O(2), not {G.name}")
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or L < 0:
        raise ValueError(f"L: expected a non-negative integer band limit, got {L!r}")
    name = f"bl_regular_{int(L)}"
    rho = G.representations._peek(name)  # type: ignore[attr-defined]
    if rho is None:
        n = 2 * int(L) + 1
        F = cyclic_group(n) if type(G).__name__ == "SO2" else dihedral_group(n)
        reg = F.regular_representation
        rho = Representation(
            G, name, reg.irreps, reg.change_of_basis, {"pointwise", "norm", "gated", "concatenated"}
        )._register()
    return rho


def _tidy(H: Group, names: list[str], Q: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Order the 1-d blocks of the restriction of one irrep as the reference library does.

    The blocks symmetric under the subgroup's flip (``flip_frequency`` 0) come first, then the order of
    the coordinates; 1-d columns are made to point "up" (``Q`` as close to a signed identity as allowed).
    """
    if len(names) < 2 or Q.shape[1] != len(names):  # a single block, or 2-d blocks: keep
        return names, Q
    Q = Q.copy()
    keys = []
    for j in range(Q.shape[1]):
        a = np.abs(Q[:, j])
        r = int(np.argmax(a > a.max() - 1e-9))  # first row of (nearly) largest magnitude
        if Q[r, j] < 0:
            Q[:, j] = -Q[:, j]
        keys.append(r)
    # the flip group's irreps: their frequency is the flip frequency
    key = "frequency" if isinstance(H, FlipGroup) else "flip_frequency"
    flip = [H._irrep_by_name(n).attributes.get(key, 0) for n in names]
    order = sorted(range(len(names)), key=lambda j: (flip[j], keys[j]))
    return [names[j] for j in order], Q[:, order]


def _same_irrep(
    H: Group, mats: np.ndarray, samples: list[Any], max_frequency: int
) -> tuple[list[str], np.ndarray] | None:
    """``([name], I)`` when the matrices are exactly those of one irrep of ``H`` (no change of basis)."""
    for cand in H._candidate_irreps(max_frequency):
        if cand.size == mats.shape[1] and np.allclose(
            cand.representation_matrices(samples), mats, atol=1e-12
        ):
            return [cand.name], np.eye(cand.size)
    return None


def _rotated_split(
    H: Group,
    irr: IrreducibleRepresentation,
    shift: float,
    mats: np.ndarray,
    samples: list[Any],
    dec: tuple[list[str], np.ndarray],
) -> tuple[list[str], np.ndarray]:
    r"""The reference library's change of basis for a 2-d irrep of frequency ``k`` restricted to a subgroup
    whose reflection axis is rotated by ``shift``: :math:`R(k \cdot shift / 2)`, times
    :math:`\mathrm{diag}(1, -1)` when the restriction is a 2-d irrep of the opposite frequency; used when it
    decomposes the restriction into the same irreps (checked), else ``dec`` is kept."""
    names, _ = dec
    if irr.size != 2 or shift == 0.0 or irr.id is None:  # the closed form is for the group's own irreps
        return dec
    target = np.zeros_like(mats)
    p = 0
    for n in names:
        sub = H._irrep_by_name(n)
        target[:, p : p + sub.size, p : p + sub.size] = sub.representation_matrices(samples)
        p += sub.size
    a = irr.attributes["frequency"] * shift / 2.0
    R = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    for Q in (R, R @ np.diag([1.0, -1.0])):
        if np.allclose(Q.T @ mats @ Q, target, atol=1e-10):
            return names, Q
    return dec  # pragma: no cover - the closed form applies to the planar groups


def _basis_restriction(G: Group, key: Any, irr: IrreducibleRepresentation) -> tuple[list[str], np.ndarray]:
    """``(names, Q)``: the restriction of the irrep ``irr`` to the subgroup ``key`` decomposed generically
    (the decomposition the Frobenius bases of quotient and induced representations were built on), cached on
    the group apart from its own restrictions: 3D groups restrict in escnn's order of the subgroup's irreps,
    and sharing one cache made each depend on which was built first. Keeps those representations' changes of
    basis, hence the layers' filters for saved weights, as they were."""
    cache = G.__dict__.setdefault("_basis_restrictions", {})
    rk = (key, irr.name if irr.id is not None else irr)
    dec = cache.get(rk)
    if dec is None:
        key, H, shift = G._subgroup(key)
        _, pmap, _ = G.subgroup(key)
        samples = H.elements if not H.continuous else H._generators()
        dec = cache[rk] = _decompose_restriction(H, irr, shift, samples, [pmap(h) for h in samples])
    return list(dec[0]), np.asarray(irr.change_of_basis) @ dec[1]


def _decompose_restriction(
    H: Group, irr: IrreducibleRepresentation, shift: float, samples: Any, parents: list[Any]
) -> tuple[list[str], np.ndarray]:
    """``(names, Q)``: the restriction of ``irr`` to ``H`` (its matrices at ``parents``, the images of
    ``samples``) decomposed into ``H``'s irreps, generically."""
    mats = irr.representation_matrices(parents)
    freq = _frequency(irr, H)
    dec = _same_irrep(H, mats, samples, freq)
    if dec is None:
        dec = _tidy(H, *_decompose_on(H, mats, samples, freq))
    return _rotated_split(H, irr, shift, mats, samples, dec)


def restrict_representation(G: Group, subgroup_id: Any, repr: Representation) -> Representation:
    """Restriction of ``repr`` to the subgroup ``subgroup_id``, expressed with the subgroup's irreps.

    Each irrep of ``repr`` is restricted (and decomposed) once and cached; the change of basis of the
    result is ``Q · ⊕ Q_i`` where ``Q_i`` decomposes the restriction of the ``i``-th irrep. The result
    satisfies ``restricted(h) == repr(parent_map(h))``.

    Args:
        G: the group.
        subgroup_id: the subgroup ``H`` (see :meth:`Group.subgroup`).
        repr: a representation of ``G``.

    Example:
        >>> from structconv.group import cyclic_group
        >>> rho = cyclic_group(8).regular_representation.restrict(4)
        >>> rho.name, rho.irreps
        ('C8:regular', ['irrep_0', 'irrep_1', 'irrep_2', 'irrep_2', 'irrep_1', 'irrep_0'])
    """
    if not isinstance(repr, Representation) or repr.group != G:
        raise ValueError(f"repr: expected a representation of {G.name}, got {repr!r}")
    if type(G).restrict_representation is not Group.restrict_representation:
        # a group with its own restrictions (the 3D groups: escnn's order) gives its own, and this generic
        # decomposition stays out of the cache it reads
        return G.restrict_representation(subgroup_id, repr)
    key, H, shift = G._subgroup(subgroup_id)
    if H is G and shift == 0.0:
        return repr
    cached = G._restrictions.get((key, repr))
    if cached is not None:
        return cached
    name = f"{G.name}:{repr.name}"  # as e2cnn, for every subgroup (names need not be unique)
    supported = set(repr.supported_nonlinearities) - {"vectorfield"}
    if repr._parts is not None:  # a direct sum: restrict the summands, keep the outer change of basis
        parts = [restrict_representation(G, key, p) for p in repr._parts]
        irreps = [n for p in parts for n in p.irreps]
        out = Representation(H, name, irreps, None, supported, parts=parts, outer=repr._outer)
        G._restrictions[(key, repr)] = out
        return out
    _, pmap, _ = G.subgroup(key)
    samples = H.elements if not H.continuous else H._generators()
    parents = [pmap(h) for h in samples]
    names: list[str] = []
    Qs: list[np.ndarray] = []
    for irr in repr._irrep_objs:
        rk = ("irrep", key, irr.name if irr.id is not None else irr)  # a user-defined irrep: by identity
        dec = G._restrictions.get(rk)
        if dec is None:
            dec = _decompose_restriction(H, irr, shift, samples, parents)
            G._restrictions[rk] = dec  # type: ignore[assignment]
        names.extend(dec[0])
        Qs.append(dec[1])
    Qr = scipy.linalg.block_diag(*Qs)
    Q = repr.change_of_basis @ Qr
    Qinv = Qr.T @ repr.change_of_basis_inv
    source = None
    if not H.continuous and not G.continuous:
        source = (repr, np.array([G._index(G._parse(pmap(h))) for h in H.elements]))
    out = Representation(H, name, names, Q, supported, change_of_basis_inv=Qinv, source=source)
    G._restrictions[(key, repr)] = out
    return out
