"""Representations: regular, quotient, induced, restricted, direct sums, change of basis, disentangle."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from structconv.group import (
    Group,
    Representation,
    change_basis,
    cyclic_group,
    dihedral_group,
    directsum,
    disentangle,
    o2_group,
    so2_group,
)

CYCLIC_N = [1, 2, 3, 4, 5, 8, 16]
DIHEDRAL_N = [1, 2, 3, 4, 6, 8]
FINITE = [cyclic_group(n) for n in CYCLIC_N] + [dihedral_group(n) for n in DIHEDRAL_N]


def _irrep(G: Group, name: str):
    return G.irrep(*(int(p) for p in name[len("irrep_") :].split(",")))


def _reference_matrix(rho: Representation, g) -> np.ndarray:
    """``Q (⊕ ψ_i(g)) Q^{-1}`` built by explicit loops (the slow, obviously correct reference)."""
    G = rho.group
    blocks = [_irrep(G, n)(g) for n in rho.irreps]
    return rho.change_of_basis @ scipy.linalg.block_diag(*blocks) @ rho.change_of_basis_inv


def check_representation(rho: Representation, elements=None, pairs_stride: int = 1) -> None:
    """Orthogonal homomorphism whose change of basis is orthogonal and reproduces ρ."""
    G = rho.group
    els = G.testing_elements() if elements is None else elements
    M = rho.representation_matrices(els)
    n = rho.size
    assert M.shape == (len(els), n, n)
    eye = np.broadcast_to(np.eye(n), M.shape)
    np.testing.assert_allclose(M @ M.transpose(0, 2, 1), eye, atol=1e-10)
    Q = rho.change_of_basis
    np.testing.assert_allclose(Q @ Q.T, np.eye(n), atol=1e-10)
    np.testing.assert_allclose(rho.change_of_basis_inv, Q.T, atol=1e-10)
    assert sum(_irrep(G, nm).size for nm in rho.irreps) == n
    for g, m in zip(els, M):
        np.testing.assert_allclose(_reference_matrix(rho, g), m, atol=1e-10)
    np.testing.assert_allclose(rho(els[-1]), M[-1], atol=1e-12)
    sub = list(range(0, len(els), pairs_stride))
    prods = [G.combine(els[i], els[j]) for i in sub for j in sub]
    P = rho.representation_matrices(prods).reshape(len(sub), len(sub), n, n)
    np.testing.assert_allclose(P, M[sub][:, None] @ M[sub][None, :], atol=1e-10)


def _multiplicities(rho: Representation) -> dict[str, int]:
    out: dict[str, int] = {}
    for n in rho.irreps:
        out[n] = out.get(n, 0) + 1
    return out


@pytest.mark.parametrize("G", FINITE, ids=lambda G: G.name)
def test_regular_representation(G: Group) -> None:
    rho = G.regular_representation
    assert rho is G.regular_representation and rho.name == "regular" and rho.size == G.order()
    check_representation(rho)
    # ρ(g) e_h = e_{gh}: exact permutation matrices
    els = G.elements
    M = rho.representation_matrices(els)
    for i, g in enumerate(els):
        for j, h in enumerate(els):
            k = els.index(G.combine(g, h))
            assert M[i][k, j] == 1.0 and M[i][:, j].sum() == 1.0
    # each irrep with multiplicity dim / sum_of_squares_constituents (a complex-type irrep of C_N once)
    mult = _multiplicities(rho)
    assert list(mult) == list(G.irreps)
    for name, irr in G.irreps.items():
        assert mult[name] == irr.size // irr.sum_of_squares_constituents
    chars = np.trace(M, axis1=1, axis2=2)
    assert chars[0] == G.order() and np.all(chars[1:] == 0)
    assert rho.supported_nonlinearities >= {"pointwise", "norm", "gated", "concatenated"}
    assert ("vectorfield" in rho.supported_nonlinearities) == (G.name[0] == "C")
    assert rho.is_trivial() == (G.order() == 1) and rho.contains_trivial()


QUOTIENT_CASES = [
    (cyclic_group(8), 2, ["irrep_0", "irrep_2", "irrep_4"]),
    (cyclic_group(8), 8, ["irrep_0"]),
    (cyclic_group(6), 3, ["irrep_0", "irrep_3"]),
    (dihedral_group(4), (None, 4), ["irrep_0,0", "irrep_1,0"]),
    (dihedral_group(4), (0, 1), ["irrep_0,0", "irrep_1,1", "irrep_0,2"]),
    (dihedral_group(4), (1, 2), ["irrep_0,0", "irrep_1,2"]),
    (dihedral_group(6), (0, 3), None),
    (dihedral_group(8), (1, 2), None),
    (dihedral_group(3), (None, 1), None),
]


@pytest.mark.parametrize(("G", "sid", "irreps"), QUOTIENT_CASES, ids=lambda x: str(x))
def test_quotient_representation(G: Group, sid, irreps) -> None:
    rho = G.quotient_representation(sid)
    H, parent, _ = G.subgroup(sid)
    assert rho.size == G.order() // H.order() and rho.name == f"quotient[{sid!r}]"
    if irreps is not None:
        assert rho.irreps == irreps
    check_representation(rho)
    M = rho.representation_matrices(G.elements)
    assert set(np.unique(M)) <= {0.0, 1.0}
    # the character counts the cosets fixed by g: |{x : x^-1 g x in H}| / |H|
    hs = [parent(h) for h in H.elements]
    for g, m in zip(G.elements, M):
        fixed = sum(G.combine(G.inverse(x), G.combine(g, x)) in hs for x in G.elements) // H.order()
        assert np.trace(m) == fixed
    assert "pointwise" in rho.supported_nonlinearities and G.quotient_representation(sid) is rho


INDUCED_CASES = [
    (dihedral_group(4), (None, 4), lambda H: H.irrep(1), ["irrep_1,1", "irrep_1,1"]),
    (dihedral_group(8), (0, 2), lambda H: H.irrep(1, 1), None),
    (dihedral_group(6), (1, 3), lambda H: H.regular_representation, None),
    (cyclic_group(8), 4, lambda H: H.irrep(1), None),
    (cyclic_group(6), 2, lambda H: H.irrep(1), None),
    (dihedral_group(4), (None, 2), lambda H: H.trivial_representation, None),
]


@pytest.mark.parametrize(
    ("G", "sid", "make", "irreps"),
    INDUCED_CASES,
    ids=[f"{c[0].name}-{c[1]}-{i}" for i, c in enumerate(INDUCED_CASES)],
)
def test_induced_representation(G: Group, sid, make, irreps) -> None:
    H, parent, child = G.subgroup(sid)
    sigma = make(H)
    rho = G.induced_representation(sid, sigma)
    assert rho.size == sigma.size * G.order() // H.order()
    assert rho.name == f"induced[{sid!r}][{sigma.name}]"
    if irreps is not None:
        assert rho.irreps == irreps
    check_representation(rho)
    # Frobenius formula: χ(g) = 1/|H| Σ_{x in G, x^-1 g x in H} χ_σ(x^-1 g x)
    for g in G.elements:
        total = 0.0
        for x in G.elements:
            h = child(G.combine(G.inverse(x), G.combine(g, x)))
            if h is not None:
                total += sigma.character(h)
        assert rho.character(g) == pytest.approx(total / H.order(), abs=1e-9)
    assert "induced_norm" in rho.supported_nonlinearities and "norm" in rho.supported_nonlinearities
    assert G.induced_representation(sid, sigma) is rho


def test_induced_from_trivial_is_the_quotient_and_regular() -> None:
    G = dihedral_group(4)
    ind = G.induced_representation((1, 2), dihedral_group(2).trivial_representation)
    np.testing.assert_array_equal(
        ind.representation_matrices(G.elements),
        G.quotient_representation((1, 2)).representation_matrices(G.elements),
    )
    reg = G.induced_representation((None, 1), cyclic_group(1).trivial_representation)
    assert sorted(reg.irreps) == sorted(G.regular_representation.irreps)


@pytest.mark.parametrize("L", [1, 3])
def test_o2_induced_and_quotient_from_so2(L: int) -> None:
    O, S = o2_group(L), so2_group(L)
    for k in range(L + 1):
        rho = O.induced_representation((None, -1), S.irrep(k))
        assert rho.irreps == (["irrep_0,0", "irrep_1,0"] if k == 0 else [f"irrep_1,{k}"] * 2)
        check_representation(rho, pairs_stride=3)
    q = O.quotient_representation((None, -1))
    assert q.irreps == ["irrep_0,0", "irrep_1,0"] and q.size == 2
    check_representation(q, pairs_stride=3)
    np.testing.assert_allclose(q((1, 0.4)), [[0.0, 1.0], [1.0, 0.0]], atol=1e-12)


RESTRICT_CASES = [
    (cyclic_group(8), 4, "regular"),
    (cyclic_group(8), 2, "regular"),
    (cyclic_group(16), 4, "irrep_3"),
    (cyclic_group(6), 3, "regular"),
    (dihedral_group(8), (None, 4), "regular"),
    (dihedral_group(8), (1, 4), "regular"),
    (dihedral_group(8), (3, 1), "regular"),
    (dihedral_group(6), (1, 2), "regular"),
    (dihedral_group(4), (0, 2), "irrep_1,1"),
    (dihedral_group(4), (1, 2), "irrep_1,1"),
    (dihedral_group(2), (None, 1), "regular"),
    (so2_group(5), 4, "irrep_3"),
    (so2_group(5), 3, "irrep_5"),
    (o2_group(4), (None, -1), "irrep_1,3"),
    (o2_group(4), (None, 4), "irrep_1,2"),
    (o2_group(4), (0.3, 4), "irrep_1,2"),
    (o2_group(4), (0.7, 1), "irrep_1,3"),
    (o2_group(4), (0.7, -1), "irrep_1,3"),
]


@pytest.mark.parametrize(("G", "sid", "name"), RESTRICT_CASES, ids=lambda x: str(x))
def test_restriction_matches_the_parent(G: Group, sid, name: str) -> None:
    rho = G.regular_representation if name == "regular" else _irrep(G, name)
    rho = directsum([rho, G.trivial_representation])  # a reducible representation with a change of basis
    H, parent, _ = G.subgroup(sid)
    res = rho.restrict(sid)
    assert res.group == H and res.size == rho.size
    assert res is G.restrict_representation(sid, rho)
    hs = H.testing_elements()
    np.testing.assert_allclose(
        res.representation_matrices(hs), rho.representation_matrices([parent(h) for h in hs]), atol=1e-10
    )
    check_representation(res, pairs_stride=1 if not H.continuous else 3)
    assert res.contains_trivial()


def test_restriction_follows_branching_rules() -> None:
    # C8 regular restricted to C4 is twice the regular representation of C4 (irrep by irrep, in order)
    assert cyclic_group(8).regular_representation.restrict(4).irreps == [
        "irrep_0",
        "irrep_1",
        "irrep_2",
        "irrep_2",
        "irrep_1",
        "irrep_0",
    ]
    O = o2_group(3)
    assert O.irrep(1, 2).restrict((None, -1)).irreps == ["irrep_2"]
    assert O.irrep(1, 0).restrict((None, -1)).irreps == ["irrep_0"]
    assert O.irrep(1, 3).restrict((None, 4)).irreps == ["irrep_1"]
    assert O.irrep(1, 2).restrict((0.0, 4)).irreps == ["irrep_0,2", "irrep_1,2"]
    assert dihedral_group(4).irrep(1, 1).restrict((0, 2)).irreps == ["irrep_0,1", "irrep_1,1"]
    np.testing.assert_array_equal(dihedral_group(4).irrep(1, 1).restrict((0, 2)).change_of_basis, np.eye(2))
    assert dihedral_group(4).irrep(1, 1).restrict((None, 4)).irreps == ["irrep_1"]
    assert so2_group(3).irrep(2).restrict(-1) is so2_group(3).irrep(2)
    assert cyclic_group(4).regular_representation.restrict(4) is cyclic_group(4).regular_representation
    assert dihedral_group(8).irrep(1, 1).restrict((1, 4)).name == "D8:irrep_1,1"  # as e2cnn, any axis
    assert dihedral_group(8).irrep(1, 1).restrict((0, 4)).name == "D8:irrep_1,1"


def test_bl_regular_representation() -> None:
    S = so2_group(4)
    rho = S.bl_regular_representation(2)
    assert rho.irreps == ["irrep_0", "irrep_1", "irrep_2"] and rho.size == 5
    check_representation(rho, pairs_stride=2)
    for r in range(5):
        np.testing.assert_allclose(
            rho(2 * np.pi * r / 5), cyclic_group(5).regular_representation(r), atol=1e-10
        )
    O = o2_group(4)
    rho = O.bl_regular_representation(1)
    assert rho.irreps == ["irrep_0,0", "irrep_1,0", "irrep_1,1", "irrep_1,1"]
    check_representation(rho, pairs_stride=3)
    for e in dihedral_group(3).elements:
        np.testing.assert_allclose(
            rho((e[0], 2 * np.pi * e[1] / 3)), dihedral_group(3).regular_representation(e), atol=1e-10
        )
    with pytest.raises(ValueError, match=r"only defined for SO\(2\) and O\(2\), not C4"):
        cyclic_group(4).bl_regular_representation(2)
    with pytest.raises(ValueError, match=r"L: expected a non-negative integer"):
        S.bl_regular_representation(-1)


def test_directsum_change_basis_and_disentangle() -> None:
    G = dihedral_group(4)
    a, b = G.regular_representation, G.irrep(1, 1)
    s = directsum([a, b])
    assert s == a + b and s.name == "[regular]_[irrep_1,1]" and s.size == 10
    assert s.irreps == a.irreps + b.irreps
    assert s.supported_nonlinearities == {"norm", "gated"}
    check_representation(s)
    np.testing.assert_allclose(s((1, 3)), scipy.linalg.block_diag(a((1, 3)), b((1, 3))), atol=0)
    # change of basis
    rng = np.random.default_rng(0)
    C = np.linalg.qr(rng.normal(size=(10, 10)))[0]
    t = directsum([a, b], change_of_basis=C, name="mixed")
    check_representation(t)
    np.testing.assert_allclose(t((0, 1)), C @ s((0, 1)) @ C.T, atol=1e-12)
    u = change_basis(b, np.array([[0.0, 1.0], [1.0, 0.0]]), name="swapped", supported_nonlinearities=["norm"])
    np.testing.assert_allclose(u((1, 1)), [[0.0, 1.0], [1.0, 0.0]] @ b((1, 1)) @ [[0.0, 1.0], [1.0, 0.0]])
    assert u.supported_nonlinearities == {"norm"}
    check_representation(u)
    # disentangle finds the summands (a permutation P with ρ = P^T (⊕ parts) P, e2cnn's convention)
    P, parts = disentangle(s)
    assert parts == [a, b]
    for g in G.elements:
        np.testing.assert_allclose(
            s(g), P.T @ scipy.linalg.block_diag(*[p(g) for p in parts]) @ P, atol=1e-12
        )
    P, parts = disentangle(t)
    assert parts == [t] and np.array_equal(P, np.eye(10))
    perm = np.eye(10)[[9, 0, 1, 2, 3, 4, 5, 6, 7, 8]]
    v = directsum([a, b], change_of_basis=perm, name="permuted")
    P, parts = disentangle(v)
    assert sorted(p.size for p in parts) == [2, 8]
    for g in G.elements:
        np.testing.assert_allclose(
            v(g), P.T @ scipy.linalg.block_diag(*[p(g) for p in parts]) @ P, atol=1e-12
        )


def test_bad_representation_input() -> None:
    G, H = dihedral_group(4), cyclic_group(4)
    with pytest.raises(ValueError, match=r"all representations must be of the same group, got D4 and C4"):
        directsum([G.irrep(1, 1), H.irrep(1)])
    with pytest.raises(ValueError, match=r"reprs: expected a non-empty list"):
        directsum([])
    with pytest.raises(TypeError, match=r"expected Representation objects, got int"):
        directsum([G.irrep(1, 1), 3])
    with pytest.raises(ValueError, match=r"change_of_basis: expected a \(3, 3\) matrix, got shape \(2, 2\)"):
        directsum([G.irrep(1, 1), G.irrep(0, 0)], change_of_basis=np.eye(2))
    with pytest.raises(ValueError, match=r"change_of_basis: expected an invertible matrix"):
        change_basis(G.irrep(1, 1), np.zeros((2, 2)), name="bad")
    with pytest.raises(ValueError, match=r"irreps: 'irrep_9' is not an irrep of C4"):
        Representation(H, "nope", ["irrep_9"], np.eye(2))
    # names are not unique (e2cnn code reuses them): a new 'regular' is not registered, the real one stays
    other = Representation(G, "regular", ["irrep_1,1"], np.eye(2))
    assert other != G.regular_representation and G.representations["regular"].size == 8
    with pytest.raises(ValueError, match=r"repr: expected a representation of the subgroup C4"):
        G.induced_representation((None, 4), G.irrep(1, 1))
    with pytest.raises(ValueError, match=r"subgroup_id: 3 is not a subgroup of C8"):
        cyclic_group(8).regular_representation.restrict(3)
    with pytest.raises(ValueError, match=r"regular representation is only defined for finite groups"):
        so2_group(2).regular_representation
    with pytest.raises(ValueError, match=r"has infinite index in SO\(2\)"):
        so2_group(2).quotient_representation(4)


def test_representation_value_semantics() -> None:
    G = dihedral_group(6)
    registered = [
        G.regular_representation,
        G.irrep(1, 2),
        G.quotient_representation((0, 3)),
        o2_group(3).induced_representation((None, -1), so2_group(3).irrep(2)),
    ]
    unregistered = [G.regular_representation.restrict((1, 3)), directsum([G.irrep(1, 1), G.irrep(1, 0)])]
    for rho in registered + unregistered:
        again = pickle.loads(pickle.dumps(rho))
        assert again == rho and hash(again) == hash(rho)
        assert (again is rho) == (rho in registered)
        assert copy.deepcopy(rho) is rho
        with pytest.raises(ValueError):
            rho.change_of_basis[0, 0] = 3.0
    assert repr(G.regular_representation) == "D6|regular:12"
    assert G.irrep(1, 1) != G.irrep(1, 2) and G.irrep(1, 1) != cyclic_group(6).irrep(1)
    assert G.representations["regular"] is G.regular_representation
    m = G.regular_representation((1, 1))
    m[0, 0] = 5.0  # a copy: the cached table is untouched
    assert G.regular_representation((1, 1))[0, 0] != 5.0
    assert G.trivial_representation.is_trivial() and not G.irrep(1, 0).is_trivial()


def test_large_direct_sums_are_evaluated_block_by_block() -> None:
    G = cyclic_group(4)
    parts = [G.regular_representation] * 70 + [G.irrep(1)] * 3
    big = directsum(parts, name="big_c4")
    assert big.size == 286 and big._Q is None  # the change of basis is only built when asked for
    blocks = scipy.linalg.block_diag(*[p(3) for p in parts])
    np.testing.assert_array_equal(big(3), blocks)
    np.testing.assert_array_equal(big.representation_matrices([1, 3])[1], blocks)
    again = pickle.loads(pickle.dumps(big))
    assert again == big and big._Q is None and again._Q is None
    res = big.restrict(2)
    np.testing.assert_array_equal(res(1), big(2))
    np.testing.assert_allclose(res.change_of_basis @ res.change_of_basis.T, np.eye(286), atol=1e-10)
    np.testing.assert_allclose(_reference_matrix(big, 1), big(1), atol=1e-10)
    # continuous groups too
    S = so2_group(3)
    cont = directsum([S.irrep(1), S.irrep(3), S.trivial_representation] * 2)
    np.testing.assert_allclose(_reference_matrix(cont, 0.7), cont(0.7), atol=1e-12)


@settings(max_examples=12, deadline=None)
@given(
    group_index=st.integers(0, len(FINITE) - 1),
    choice=st.lists(st.integers(0, 10), min_size=1, max_size=4),
    seed=st.integers(0, 2**16),
)
def test_random_direct_sums_with_a_change_of_basis(group_index: int, choice: list[int], seed: int) -> None:
    G = FINITE[group_index]
    pool = [G.regular_representation, *G.irreps.values()]
    reprs = [pool[c % len(pool)] for c in choice]
    size = sum(r.size for r in reprs)
    C = np.linalg.qr(np.random.default_rng(seed).normal(size=(size, size)))[0]
    rho = directsum(reprs, change_of_basis=C)
    check_representation(rho)
    # restriction to a proper subgroup keeps ρ(parent(h))
    N = G.N
    M = max([m for m in range(1, N) if N % m == 0], default=1)
    sid = M if G.name.startswith("C") else (seed % (N // M), M)
    H, parent, _ = G.subgroup(sid)
    res = rho.restrict(sid)
    np.testing.assert_allclose(
        res.representation_matrices(H.elements),
        rho.representation_matrices([parent(h) for h in H.elements]),
        atol=1e-10,
    )
    np.testing.assert_allclose(res.change_of_basis @ res.change_of_basis.T, np.eye(size), atol=1e-10)


# ---------------------------------------------------------------------------------------- oracle
def _e2cnn_group():
    e2cnn = pytest.importorskip("e2cnn")
    return e2cnn.group


def _char(rho, elements):
    return np.array([np.trace(rho(e)) for e in elements])


@pytest.mark.oracle
@pytest.mark.parametrize(
    ("kind", "N"), [("C", 1), ("C", 2), ("C", 5), ("C", 8), ("D", 1), ("D", 2), ("D", 3), ("D", 6)]
)
def test_regular_irreps_match_e2cnn(kind: str, N: int) -> None:
    eg = _e2cnn_group()
    if kind == "C":
        ours, theirs = cyclic_group(N), eg.cyclic_group(N)
    else:
        ours, theirs = dihedral_group(N), eg.dihedral_group(N)
    assert list(ours.irreps) == list(theirs.irreps)
    assert ours.regular_representation.irreps == theirs.regular_representation.irreps
    els = ours.elements
    for name in ours.irreps:
        np.testing.assert_allclose(_char(ours.irreps[name], els), _char(theirs.irreps[name], els), atol=1e-9)


@pytest.mark.oracle
@pytest.mark.parametrize(
    ("N", "sid", "kind"),
    [(8, 2, "C"), (6, 3, "C"), (4, (None, 4), "D"), (4, (1, 2), "D"), (6, (0, 3), "D"), (8, (1, 2), "D")],
)
def test_quotient_and_induced_match_e2cnn(N: int, sid, kind: str) -> None:
    eg = _e2cnn_group()
    ours, theirs = (
        (cyclic_group(N), eg.cyclic_group(N)) if kind == "C" else (dihedral_group(N), eg.dihedral_group(N))
    )
    q, tq = ours.quotient_representation(sid), theirs.quotient_representation(sid)
    assert q.name == tq.name and q.irreps == tq.irreps
    np.testing.assert_allclose(_char(q, ours.elements), _char(tq, ours.elements), atol=1e-9)
    H, tH = ours.subgroup(sid)[0], theirs.subgroup(sid)[0]
    for name in list(H.irreps)[:3]:
        ind, tind = (
            ours.induced_representation(sid, H.irreps[name]),
            theirs.induced_representation(sid, tH.irreps[name]),
        )
        assert ind.name == tind.name and sorted(ind.irreps) == sorted(tind.irreps)
        np.testing.assert_allclose(_char(ind, ours.elements), _char(tind, ours.elements), atol=1e-9)
        res, tres = (
            ours.regular_representation.restrict(sid),
            theirs.restrict_representation(sid, theirs.regular_representation),
        )
        assert res.irreps == tres.irreps


@pytest.mark.oracle
def test_o2_induced_matches_e2cnn() -> None:
    eg = _e2cnn_group()
    O, tO = o2_group(3), eg.o2_group(3)
    els = O.testing_elements()
    for k in range(3):
        ind = O.induced_representation((None, -1), so2_group(3).irrep(k))
        # the subgroup object e2cnn itself returns (its so2_group factory may hand out another cached SO(2)
        # instance, depending on which tests ran before in this process, and then e2cnn's own assert fails)
        tind = tO.induced_representation((None, -1), tO.subgroup((None, -1))[0].irrep(k))
        assert ind.name == tind.name and ind.irreps == tind.irreps
        np.testing.assert_allclose(_char(ind, els), _char(tind, els), atol=1e-9)
