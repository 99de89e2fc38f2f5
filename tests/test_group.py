"""Groups C_N, D_N, SO(2), O(2): axioms, elements, irreps, subgroups, value semantics, bad input."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from structconv.group import (
    O2,
    SO2,
    CyclicGroup,
    DihedralGroup,
    FlipGroup,
    Group,
    IrreducibleRepresentation,
    cyclic_group,
    dihedral_group,
    directsum,
    flip_group,
    o2_group,
    so2_group,
    trivial_group,
)
from structconv.group import cyclic as cyclic_module
from structconv.group import so2 as so2_module

CYCLIC_N = [1, 2, 3, 4, 5, 8, 16]
DIHEDRAL_N = [1, 2, 3, 4, 6, 8]
BAND_LIMITS = [0, 2, 5]

GROUPS = (
    [flip_group()]
    + [cyclic_group(n) for n in CYCLIC_N]
    + [dihedral_group(n) for n in DIHEDRAL_N]
    + [so2_group(L) for L in BAND_LIMITS]
    + [o2_group(L) for L in BAND_LIMITS]
)
GROUP_IDS = [f"{G.name}-{getattr(G, 'maximum_frequency', '')}" for G in GROUPS]


def _matrices(rho, elements):
    return rho.representation_matrices(elements)


@pytest.mark.parametrize("G", GROUPS, ids=GROUP_IDS)
def test_group_axioms(G: Group) -> None:
    els = G.testing_elements()
    e = G.identity
    for a in els:
        assert G.equal(G.combine(e, a), a) and G.equal(G.combine(a, e), a)
        assert G.equal(G.combine(a, G.inverse(a)), e) and G.equal(G.combine(G.inverse(a), a), e)
    sub = els[:: max(1, len(els) // 6)]
    for a in sub:
        for b in sub:
            for c in sub:
                assert G.equal(G.combine(G.combine(a, b), c), G.combine(a, G.combine(b, c)))


@pytest.mark.parametrize("G", GROUPS, ids=GROUP_IDS)
def test_irreps_are_orthogonal_homomorphisms(G: Group) -> None:
    els = G.testing_elements()
    prods = [(i, j, G.combine(a, b)) for i, a in enumerate(els) for j, b in enumerate(els)]
    irreps = list(G.irreps.values())
    if G.continuous:
        irreps.append(G.irrep(7) if isinstance(G, SO2) else G.irrep(1, 7))
    for irr in irreps:
        M = _matrices(irr, els)
        d = irr.size
        assert M.shape == (len(els), d, d)
        np.testing.assert_allclose(M @ M.transpose(0, 2, 1), np.broadcast_to(np.eye(d), M.shape), atol=1e-12)
        P = _matrices(irr, [p for _, _, p in prods])
        ii = [i for i, _, _ in prods]
        jj = [j for _, j, _ in prods]
        np.testing.assert_allclose(P, M[ii] @ M[jj], atol=1e-10)
        np.testing.assert_allclose(irr(G.identity), np.eye(d), atol=0)


@pytest.mark.parametrize("G", [g for g in GROUPS if not g.continuous], ids=lambda G: G.name)
def test_irrep_characters_are_orthonormal(G: Group) -> None:
    els = G.elements
    chars = np.stack([np.trace(_matrices(irr, els), axis1=1, axis2=2) for irr in G.irreps.values()])
    gram = chars @ chars.T / len(els)
    # over the reals a complex-type irrep has <χ, χ> = 2 (sum_of_squares_constituents)
    expected = np.diag([irr.sum_of_squares_constituents for irr in G.irreps.values()]).astype(float)
    np.testing.assert_allclose(gram, expected, atol=1e-10)
    # the irreps exhaust the group: sum over irreps of d²/c equals |G|
    assert sum(irr.size**2 // irr.sum_of_squares_constituents for irr in G.irreps.values()) == G.order()


def test_irrep_matrices_match_the_documented_formulas() -> None:
    def R(phi):
        return np.array([[np.cos(phi), -np.sin(phi)], [np.sin(phi), np.cos(phi)]])

    S = np.diag([1.0, -1.0])
    C8 = cyclic_group(8)
    np.testing.assert_allclose(C8.irrep(3)(5), R(3 * 5 * 2 * np.pi / 8), atol=1e-12)
    assert C8.irrep(4)(3)[0, 0] == -1.0
    D6 = dihedral_group(6)
    np.testing.assert_allclose(D6.irrep(1, 2)((1, 4)), R(2 * 4 * 2 * np.pi / 6) @ S, atol=1e-12)
    assert D6.irrep(1, 0)((1, 3))[0, 0] == -1.0
    assert D6.irrep(0, 3)((1, 3))[0, 0] == -1.0 and D6.irrep(1, 3)((1, 3))[0, 0] == 1.0
    np.testing.assert_allclose(o2_group(3).irrep(1, 2)((1, 0.7)), R(1.4) @ S, atol=1e-12)
    np.testing.assert_allclose(so2_group(3).irrep(2)(0.7), R(1.4), atol=1e-12)
    # rotations by 90 degrees are exact
    assert np.array_equal(cyclic_group(4).irrep(1)(1), np.array([[0.0, -1.0], [1.0, 0.0]]))


def test_irrep_names_and_attributes_follow_the_reference_library() -> None:
    assert list(cyclic_group(8).irreps) == ["irrep_0", "irrep_1", "irrep_2", "irrep_3", "irrep_4"]
    assert list(dihedral_group(4).irreps) == ["irrep_0,0", "irrep_1,0", "irrep_1,1", "irrep_1,2", "irrep_0,2"]
    assert list(dihedral_group(2).irreps) == ["irrep_0,0", "irrep_1,0", "irrep_1,1", "irrep_0,1"]
    assert list(so2_group(2).irreps) == ["irrep_0", "irrep_1", "irrep_2"]
    assert list(o2_group(1).irreps) == ["irrep_0,0", "irrep_1,0", "irrep_1,1"]
    psi = cyclic_group(8).irrep(3)
    assert psi.id == (3,) and psi.attributes == {"frequency": 3} and psi.sum_of_squares_constituents == 2
    phi = dihedral_group(8).irrep(1, 3)
    assert phi.attributes == {"frequency": 3, "flip_frequency": 1} and phi.sum_of_squares_constituents == 1
    assert cyclic_group(8).irrep(4).size == 1 and cyclic_group(8).irrep(4).sum_of_squares_constituents == 1
    assert cyclic_group(3).trivial_representation is cyclic_group(3).irrep(0)
    assert dihedral_group(3).trivial_representation.name == "irrep_0,0"
    assert cyclic_group(4).irrep(1).supported_nonlinearities == {"norm", "gated"}
    assert "pointwise" in cyclic_group(4).irrep(0).supported_nonlinearities
    assert so2_group(2).irrep(5).name == "irrep_5" and "irrep_5" not in list(so2_group(2).irreps)
    assert (
        so2_group(2).irreps["irrep_6"] is so2_group(2).irrep(6) and o2_group(1).irreps["irrep_1,4"].size == 2
    )
    with pytest.raises(KeyError):
        so2_group(2).irreps["irrep_1,1"]


def test_elements_and_plain_forms() -> None:
    C8, D4, S, O = cyclic_group(8), dihedral_group(4), so2_group(3), o2_group(3)
    assert C8.elements == list(range(8)) and C8.identity == 0 and C8.order() == 8
    assert D4.elements[:2] == [(0, 0), (0, 1)] and D4.elements[4] == (1, 0) and D4.order() == 8
    assert S.elements is None and S.order() == -1 and len(S.testing_elements()) == 52
    assert O.elements is None and len(O.testing_elements()) == 104
    assert C8.combine(7, 3) == 2 and C8.combine(-1, np.int64(2)) == 1 and C8.inverse(3) == 5
    # (f1, k1)(f2, k2) = (f1 + f2, k1 + (-1)^f1 k2): "reflect then rotate"
    assert D4.combine((1, 1), (0, 1)) == (1, 0) and D4.combine((0, 1), (1, 0)) == (1, 1)
    assert D4.combine([True, 1], (1, 2)) == (0, 3) and D4.inverse((1, 3)) == (1, 3)
    assert S.equal(S.combine(np.pi, 1.5 * np.pi), 0.5 * np.pi) and S.equal(S.inverse(0.5), 2 * np.pi - 0.5)
    assert S.equal(0.0, 2 * np.pi) and not S.equal(0.0, 1e-3)
    assert O.equal(O.combine((1, 0.5), (0, 0.2)), (1, 0.3))
    assert O.is_element((1, 0.3)) and not O.is_element(0.3) and not C8.is_element((1, 2))


@pytest.mark.parametrize(
    ("G", "element", "match"),
    [
        (cyclic_group(8), (1, 2), r"not an element of C8; expected an int k"),
        (cyclic_group(8), 1.5, r"not an element of C8"),
        (dihedral_group(4), 3, r"not an element of D4; expected a pair \(flip, k\)"),
        (dihedral_group(4), (2, 1), r"the flip must be 0 or 1, got 2"),
        (dihedral_group(4), (1, 0.5), r"not an element of D4"),
        (so2_group(2), (0, 1.0), r"not an element of SO\(2\); expected a finite angle"),
        (so2_group(2), float("nan"), r"expected a finite angle"),
        (o2_group(2), 0.3, r"not an element of O\(2\); expected a pair \(flip, angle\)"),
    ],
)
def test_bad_elements_raise(G: Group, element, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        G.combine(element, G.identity)
    with pytest.raises(ValueError, match=match):
        G.irrep(*next(iter(G.irreps.values())).id)(element)


@pytest.mark.parametrize(
    ("factory", "arg", "match"),
    [
        (cyclic_group, -3, r"N: expected a positive integer, got -3"),
        (cyclic_group, 0, r"N: expected a positive integer, got 0"),
        (cyclic_group, 4.0, r"N: expected a positive integer, got 4.0"),
        (dihedral_group, -1, r"N: expected a positive integer, got -1"),
        (so2_group, -1, r"maximum_frequency: expected a non-negative integer, got -1"),
        (o2_group, 2.5, r"maximum_frequency: expected a non-negative integer, got 2.5"),
    ],
)
def test_bad_factory_arguments_raise(factory, arg, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        factory(arg)


def test_bad_irrep_ids_raise() -> None:
    with pytest.raises(ValueError, match=r"irrep\(5\) is not an irrep of C8; expected 0 <= k <= 4"):
        cyclic_group(8).irrep(5)
    with pytest.raises(ValueError, match=r"not an irrep of D4; expected irrep\(j, k\)"):
        dihedral_group(4).irrep(0, 1)
    with pytest.raises(ValueError, match=r"not an irrep of D4"):
        dihedral_group(4).irrep(1)
    with pytest.raises(ValueError, match=r"not an irrep of SO\(2\)"):
        so2_group(2).irrep(-1)
    with pytest.raises(ValueError, match=r"not an irrep of O\(2\)"):
        o2_group(2).irrep(0, 2)


def test_singletons_equality_hash_pickle_repr() -> None:
    assert cyclic_group(8) is cyclic_group(np.int64(8)) and dihedral_group(3) is dihedral_group(3)
    assert so2_group() is so2_group(10) and o2_group() is o2_group(10)
    assert trivial_group() is cyclic_group(1)
    assert so2_group(3) != so2_group(4) and cyclic_group(2) != dihedral_group(1)
    assert len({cyclic_group(4), cyclic_group(4), dihedral_group(4)}) == 2
    for G in [cyclic_group(8), dihedral_group(4), so2_group(3), o2_group(5)]:
        assert pickle.loads(pickle.dumps(G)) is G
        assert copy.deepcopy(G) is G and copy.copy(G) is G
    assert repr(cyclic_group(8)) == "CyclicGroup(C8)" and repr(o2_group(3)) == "O2(maximum_frequency=3)"
    assert [type(G) for G in (cyclic_group(2), dihedral_group(2), so2_group(1), o2_group(1))] == [
        CyclicGroup,
        DihedralGroup,
        SO2,
        O2,
    ]
    assert so2_group(3).name == "SO(2)" and o2_group(3).name == "O(2)" and dihedral_group(6).name == "D6"


SUBGROUP_CASES = [
    (cyclic_group(8), 4, "C4"),
    (cyclic_group(8), 1, "C1"),
    (cyclic_group(6), 3, "C3"),
    (dihedral_group(8), (None, 4), "C4"),
    (dihedral_group(8), (0, 4), "D4"),
    (dihedral_group(8), (1, 4), "D4"),
    (dihedral_group(8), (3, 1), "C2"),
    (dihedral_group(1), (0, 1), "C2"),
    (flip_group(), 1, "C1"),
    (flip_group(), 2, "C2"),
    (dihedral_group(6), (1, 2), "D2"),
    (dihedral_group(4), (0, 4), "D4"),
    (so2_group(4), 6, "C6"),
    (so2_group(4), -1, "SO(2)"),
    (o2_group(4), (None, -1), "SO(2)"),
    (o2_group(4), (None, 3), "C3"),
    (o2_group(4), (0.3, 4), "D4"),
    (o2_group(4), (1.1, 1), "C2"),
    (o2_group(4), (0.5, -1), "O(2)"),
]


@pytest.mark.parametrize(("G", "sid", "name"), SUBGROUP_CASES, ids=lambda x: str(x))
def test_subgroup_maps_are_embeddings(G: Group, sid, name: str) -> None:
    H, parent, child = G.subgroup(sid)
    assert H.name == name
    hs = H.testing_elements()
    for a in hs:
        pa = parent(a)
        assert G.is_element(pa)
        assert H.equal(child(pa), a)
        for b in hs[:: max(1, len(hs) // 5)]:
            assert G.equal(parent(H.combine(a, b)), G.combine(pa, parent(b)))
    assert G.equal(parent(H.identity), G.identity)
    # elements outside the subgroup map to None
    outside = [g for g in G.testing_elements() if child(g) is None]
    if not H.continuous and not G.continuous:
        assert len(outside) == G.order() - H.order()
    for g in outside[:4]:
        assert all(not G.equal(g, parent(h)) for h in hs)
    assert pickle.loads(pickle.dumps(parent)) == parent and pickle.loads(pickle.dumps(child)) == child
    assert G.subgroup(sid)[1] is parent


def test_dihedral_subgroup_reflections() -> None:
    _, parent, _ = dihedral_group(8).subgroup((1, 4))
    assert [parent(e) for e in dihedral_group(4).elements if e[0] == 1] == [(1, 1), (1, 3), (1, 5), (1, 7)]
    _, parent, _ = o2_group(3).subgroup((0.4, 2))
    assert o2_group(3).equal(parent((1, 1)), (1, 0.4 + np.pi))


@pytest.mark.parametrize(
    ("G", "sid", "match"),
    [
        (cyclic_group(8), 3, r"subgroup_id: 3 is not a subgroup of C8; expected an int M dividing 8"),
        (cyclic_group(8), (None, 4), r"not a subgroup of C8"),
        (dihedral_group(8), 4, r"not a subgroup of D8; expected \(None, M\) or \(axis, M\)"),
        (dihedral_group(8), (2, 4), r"not a subgroup of D8"),
        (dihedral_group(8), (None, 3), r"not a subgroup of D8"),
        (so2_group(2), 0, r"not a subgroup of SO\(2\)"),
        (o2_group(2), 3, r"not a subgroup of O\(2\)"),
        (o2_group(2), (None, 0), r"not a subgroup of O\(2\)"),
    ],
)
def test_bad_subgroup_ids_raise(G: Group, sid, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        G.subgroup(sid)
    with pytest.raises(ValueError, match=match):
        G.trivial_representation.restrict(sid)


def test_flip_group_is_c2_acting_by_a_reflection() -> None:
    F, C2 = flip_group(), cyclic_group(2)
    assert isinstance(F, FlipGroup) and isinstance(F, CyclicGroup) and F is flip_group()
    assert (F.name, F.order(), F.elements, list(F.irreps)) == (C2.name, 2, [0, 1], ["irrep_0", "irrep_1"])
    assert (
        F != C2 and hash(F) != hash(C2) and pickle.loads(pickle.dumps(F)) is F and repr(F) == "FlipGroup(C2)"
    )
    for name in ("irrep_0", "irrep_1", "regular"):  # the same matrices as C2's
        np.testing.assert_array_equal(
            F.representations[name].representation_matrices(F.elements),
            C2.representations[name].representation_matrices(C2.elements),
        )
    # but 1 is the reflection: it is D_N's reflection (1, axis) as a subgroup, never a rotation
    assert F._to_flip_angle(1) == (1, 0.0) and C2._to_flip_angle(1) == (0, np.pi)
    H, parent, child = dihedral_group(6).subgroup((2, 1))
    assert H is F and parent(1) == (1, 2) and child((1, 2)) == 1 and child((0, 3)) is None
    assert cyclic_group(4).subgroup(2)[0] is C2  # rotations stay rotations
    reg = dihedral_group(4).regular_representation.restrict((1, 1))
    assert reg.group is F and reg.irreps.count("irrep_1") == 4
    for h in F.elements:
        np.testing.assert_array_equal(reg(h), dihedral_group(4).regular_representation(parent_map_d4(h)))


def parent_map_d4(h):
    return dihedral_group(4).subgroup((1, 1))[1](h)


@pytest.mark.parametrize(
    ("G", "yes", "no"),
    [
        (cyclic_group(4), [0, 3, True, np.int64(2)], [4, -1, 1.0, 2.5, "a", (0, 1), None]),
        (
            dihedral_group(4),
            [(0, 0), (1, 3), (True, 1)],
            [(2, 0), (0, 4), (0, -1), (1, 1.0), [1, 1], (0,), 3],
        ),
        (so2_group(2), [0.0, 7.0, -1.0, 2 * np.pi, np.float64(3.0)], [3, (0, 1.0), float("nan"), "a"]),
        (o2_group(2), [(0, 0.0), (1, 7.0), (0, -1.0)], [(2, 0.0), (1, 3), [1, 1.0], 1.0, (0, float("inf"))]),
        (flip_group(), [0, 1], [2, -1, (1, 0)]),
    ],
    ids=lambda x: getattr(x, "name", None),
)
def test_is_element_accepts_canonical_elements_only(G: Group, yes, no) -> None:
    """As e2cnn: in range, the right structure (numpy scalars count as python ones; angles finite)."""
    assert all(G.is_element(e) for e in yes), yes
    assert not any(G.is_element(e) for e in no), no
    G.combine(G.identity, yes[0])  # the operations take them


def test_continuous_operations_normalise_angles_as_e2cnn() -> None:
    S, O = so2_group(3), o2_group(3)
    assert S.combine(3.0, 4.0) == (7.0 % (2 * np.pi)) and S.combine(-1.0, -2.0) == (-3.0) % (2 * np.pi)
    assert S.inverse(-7.0) == 7.0 % (2 * np.pi) and S.identity == 0.0
    # O(2) keeps the angles as they come: (f1, t1)(f2, t2) = (f1 + f2, t1 + (-1)^f1 t2), not reduced
    assert O.combine((1, 1.0), (0, 2.0)) == (1, -1.0) and O.combine((1, 6.0), (1, 0.5)) == (0, 5.5)
    assert O.inverse((0, 7.0)) == (0, -7.0) and O.inverse((1, 7.0)) == (1, 7.0) and O.identity == (0, 0.0)
    # equality modulo 2π, symmetric, within 2π·1e-9
    assert S.equal(0.0, 2 * np.pi) and S.equal(1e-9, 0.0) and S.equal(0.0, 1e-9) and not S.equal(0.0, 1e-8)
    assert O.equal((1, -1.0), (1, 2 * np.pi - 1.0)) and not O.equal((1, 1.0), (0, 1.0))
    # finite groups reduce rotation indices in every operation (equal included)
    assert cyclic_group(4).equal(5, 1) and dihedral_group(4).equal((0, 5), (0, 1))
    assert len(S.testing_elements()) == 52 and S.testing_elements()[13] == 2 * np.pi * 13 / 52
    assert O.testing_elements() == [(f, a) for f in (0, 1) for a in S.testing_elements()]


def test_size_limits_fire_before_anything_is_built(monkeypatch) -> None:
    from structconv.gspaces import FlipRot2dOnR2, Rot2dOnR2

    for make in (
        lambda: so2_group(10**6),
        lambda: o2_group(10**6),
        lambda: Rot2dOnR2(-1, maximum_frequency=10**6),
        lambda: FlipRot2dOnR2(-1, maximum_frequency=10**6),
    ):
        with pytest.raises(ValueError, match=r"maximum_frequency: 1000000 exceeds the limit of 1024"):
            make()
    for make in (lambda: cyclic_group(10**9), lambda: Rot2dOnR2(10**9), lambda: FlipRot2dOnR2(10**9)):
        with pytest.raises(ValueError, match=r"N: 1000000000 rotations exceed the limit of 4096"):
            make()
    with pytest.raises(ValueError, match=r"the regular representation of C2000 \(order 2000\)"):
        Rot2dOnR2(2000).regular_repr  # a table of 2000 matrices 2000 x 2000: refused before allocation
    # the limit is read at call time, before the group (its irreps) is built
    built = []
    monkeypatch.setattr(cyclic_module.CyclicGroup, "_build_irreps", lambda self: built.append(self))
    monkeypatch.setattr(cyclic_module, "MAX_ROTATIONS", 8)
    monkeypatch.setattr(so2_module, "MAX_MAXIMUM_FREQUENCY", 4)
    with pytest.raises(ValueError, match="limit of 8"):
        cyclic_group(9)
    with pytest.raises(ValueError, match="limit of 4"):
        so2_group(5)
    assert built == []


def test_group_factories_are_bounded_lrus(monkeypatch) -> None:
    import functools

    from structconv.group import dihedral as dihedral_module
    from structconv.group import o2 as o2_module
    from structconv.group.group import GROUP_CACHE_SIZE

    for cached in (
        cyclic_module._cyclic_group,
        dihedral_module._dihedral_group,
        so2_module._so2_group,
        o2_module._o2_group,
    ):
        assert cached.cache_info().maxsize == GROUP_CACHE_SIZE == 128
    # the eviction, on a small private copy of the cache (the process-wide one is left alone)
    small = functools.lru_cache(maxsize=3)(cyclic_module._cyclic_group.__wrapped__)
    monkeypatch.setattr(cyclic_module, "_cyclic_group", small)
    before = cyclic_group(5)
    assert cyclic_group(5) is before
    for n in (6, 7, 9):  # evicts C5
        cyclic_group(n)
    assert small.cache_info().currsize == 3
    again = cyclic_group(5)
    assert again is not before and again == before and hash(again) == hash(before)  # equal, a new object
    assert before.irrep(1) == again.irrep(1) and cyclic_group(5) is again


def test_user_defined_irreps_take_e2cnns_arguments() -> None:
    G = cyclic_group(6)
    psi1 = G.irrep(1)
    my = IrreducibleRepresentation(G, "my", lambda k: psi1(k), 2, 2, ["norm"], frequency=1, tag="x")
    assert (my.name, my.size, my.sum_of_squares_constituents, my.irreps) == ("my", 2, 2, ["my"])
    assert my.attributes == {"frequency": 1, "tag": "x"} and my.supported_nonlinearities == {"norm"}
    assert my.irreducible and not my.is_trivial() and my.id is None and "my" not in G.representations
    for k in G.elements:
        np.testing.assert_allclose(my(k), psi1(k), atol=1e-15)
    assert my.character(1) == pytest.approx(1.0) and callable(my.representation)
    assert my.restrict(3).irreps == psi1.restrict(3).irreps
    sign = {k: np.array([[(-1.0) ** k]]) for k in G.elements}
    chars = {k: (-1.0) ** k for k in G.elements}
    s = IrreducibleRepresentation(G, "sign", sign, 1, 1, ["pointwise"], character=chars)
    assert s.representation is sign and s.character(3) == -1.0 and s(3)[0, 0] == -1.0
    triv = IrreducibleRepresentation(G, "ones", lambda k: np.eye(1), 1, 1, ["pointwise"])
    assert triv.is_trivial() and triv != IrreducibleRepresentation(G, "ones", lambda k: np.eye(1), 1, 1, [])
    O = o2_group(3)
    flip = IrreducibleRepresentation(O, "f", lambda e: O.irrep(1, 2)(e), 2, 1, ["norm"], frequency=2)
    np.testing.assert_allclose(flip((1, 0.7)), O.irrep(1, 2)((1, 0.7)), atol=1e-15)
    assert flip.restrict((None, -1)).irreps == ["irrep_2"]
    with pytest.raises(ValueError, match=r"name: 'irrep_1' is already a representation of C6"):
        IrreducibleRepresentation(G, "irrep_1", lambda k: psi1(k), 2, 2, ["norm"])
    with pytest.raises(ValueError, match=r"representation: expected \(3, 3\) matrices"):
        IrreducibleRepresentation(G, "bad", lambda k: psi1(k), 3, 1, [])
    with pytest.raises(ValueError, match=r"sum_of_squares_constituents: expected a positive int"):
        IrreducibleRepresentation(G, "bad", lambda k: psi1(k), 2, 0, [])
    with pytest.raises(TypeError, match=r"representation: expected a dict or a callable"):
        IrreducibleRepresentation(G, "bad", 3, 2, 2, [])
    with pytest.raises(ValueError, match=r"irreps: 'my' is not an irrep of C6"):
        directsum([my, G.irrep(0)])  # as in e2cnn, not one of the group's irreps
